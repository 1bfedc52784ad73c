"""Circuit breakers: what this process knows about its dependencies, without asking them.

Every dependency reached over the network (the AI Horde, the shared cache, the
database) has one breaker, fed by the code that calls it. After
``failure_threshold`` consecutive failures the breaker opens: callers that can do
without the dependency skip it (or fail fast) for ``cool_down_seconds`` instead of
paying a timeout on every request. After the cool-down the breaker is half-open:
exactly one caller is let through as a probe; its success closes the breaker, its
failure opens it for another cool-down. Everyone else keeps skipping meanwhile, so
a hung dependency costs one bounded wait per cool-down, not one per request.

The state is per process, which is what protects that process's threads, and it is
what ``/api/heartbeat`` reports: no extra round trip per poll. Warnings about a
failing dependency are rate-limited, so an outage logs a line every few seconds
rather than one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class CircuitBreaker:
    name: str
    failure_threshold: int = 3
    cool_down_seconds: float = 30.0
    warn_every_seconds: float = 10.0
    consecutive_failures: int = 0
    opened_at: float | None = None
    last_error: str = ""
    probe_started_at: float | None = None
    _last_warning_at: float | None = field(default=None, repr=False)
    _suppressed_warnings: int = field(default=0, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def seconds_until_retry(self, now: float | None = None) -> float | None:
        """Seconds left in the cool-down; None when closed or half-open."""
        if self.opened_at is None:
            return None
        remaining = self.cool_down_seconds - ((time.monotonic() if now is None else now) - self.opened_at)
        return remaining if remaining > 0 else None

    def allow_request(self, now: float | None = None) -> bool:
        """True when closed; after the cool-down, True for one probe at a time.

        A probe that never reports back (its thread died) is given up after one
        more cool-down, so the breaker cannot stay stuck half-open.
        """
        now = time.monotonic() if now is None else now
        with self.lock:
            if self.opened_at is None:
                return True
            if self.seconds_until_retry(now) is not None:
                return False
            if self.probe_started_at is not None and now - self.probe_started_at < self.cool_down_seconds:
                return False
            self.probe_started_at = now
            return True

    @property
    def is_open(self) -> bool:
        """Open or half-open: the last calls failed and no probe has succeeded since."""
        return self.opened_at is not None

    def record_success(self) -> None:
        with self.lock:
            recovered = self.opened_at is not None
            self.consecutive_failures = 0
            self.opened_at = None
            self.probe_started_at = None
            self.last_error = ""
            self._last_warning_at = None
            self._suppressed_warnings = 0
        if recovered:
            logger.warning("%s is reachable again", self.name)

    def record_failure(self, error: BaseException | str = "", now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            self.consecutive_failures += 1
            self.last_error = str(error)[:300] if error else self.last_error
            if self.probe_started_at is not None or self.consecutive_failures >= self.failure_threshold:
                self.opened_at = now
            self.probe_started_at = None
        self.warn(f"{self.name} failed: {error}" if error else f"{self.name} failed", now=now)

    def warn(self, message: str, *, now: float | None = None) -> None:
        """Log ``message`` at most once per ``warn_every_seconds``, counting the rest."""
        now = time.monotonic() if now is None else now
        with self.lock:
            if self._last_warning_at is not None and now - self._last_warning_at < self.warn_every_seconds:
                self._suppressed_warnings += 1
                return
            suppressed, self._suppressed_warnings = self._suppressed_warnings, 0
            self._last_warning_at = now
        if suppressed:
            message = f"{message} ({suppressed} similar warnings suppressed)"
        logger.warning(message)

    def state(self) -> dict[str, object]:
        """The established heartbeat shape of the AI Horde's breaker."""
        with self.lock:
            remaining = self.seconds_until_retry()
            return {
                "degraded": self.opened_at is not None,
                "consecutive_failures": self.consecutive_failures,
                "seconds_until_retry": round(remaining, 1) if remaining else None,
            }


#: The shared cache (Redis). While open, cache reads and writes are skipped and the
#: database answers instead: a dead or hung Redis costs one timeout per cool-down.
CACHE_BREAKER = CircuitBreaker("the shared cache", failure_threshold=1, cool_down_seconds=5.0)
#: The database. Fed by the API's error handling; reported by the heartbeat.
DATABASE_BREAKER = CircuitBreaker("the database", failure_threshold=1, cool_down_seconds=5.0)
