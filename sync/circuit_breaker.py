"""The AI Horde's circuit breaker (see ``common.health``).

After three consecutive failures, identity look-ups fail fast (503) for a cool-down
instead of piling requests onto a struggling upstream; then one probe at a time.
"""

from __future__ import annotations

from django.conf import settings

from common.health import CircuitBreaker

AI_HORDE_BREAKER = CircuitBreaker(
    "the AI Horde API", failure_threshold=3, cool_down_seconds=settings.AI_HORDE_COOL_DOWN_SECONDS
)
