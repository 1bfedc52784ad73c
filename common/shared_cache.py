"""The shared cache (Redis in production) behind ``CACHE_BREAKER``.

Everything cached here is an accelerator: a request can always be answered
without it. So every access on a request path goes through these helpers: when
the cache fails (refused, timed out) the breaker opens and, for its cool-down,
the helpers answer "unavailable" at once instead of making every request pay a
socket timeout. The caller falls back (to the database, to the AI Horde, to no
throttling) exactly as for a cache miss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from common.health import CACHE_BREAKER

T = TypeVar("T")


class CacheUnavailableError(Exception):
    """The shared cache failed, or its breaker is open."""


def cache_call(operation: Callable[[], T]) -> T:
    """Run one cache operation through the breaker; ``CacheUnavailableError`` if it cannot."""
    if not CACHE_BREAKER.allow_request():
        raise CacheUnavailableError("the shared cache is unavailable (circuit open)")
    try:
        result = operation()
    except Exception as error:
        CACHE_BREAKER.record_failure(error)
        raise CacheUnavailableError(str(error)) from error
    if CACHE_BREAKER.consecutive_failures or CACHE_BREAKER.opened_at is not None:
        CACHE_BREAKER.record_success()
    return result


def cache_get(key: str, default: object = None) -> object:
    """The cached value, or ``default`` on a miss or when the cache is unavailable."""
    try:
        return cache_call(lambda: cache.get(key, default))
    except CacheUnavailableError:
        return default


def cache_set(key: str, value: object, timeout: int) -> bool:
    """Store a value; False (and nothing else happens) when the cache is unavailable."""
    try:
        cache_call(lambda: cache.set(key, value, timeout))
    except CacheUnavailableError:
        return False
    return True
