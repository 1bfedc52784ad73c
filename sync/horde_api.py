"""The AI Horde API adapter: identifying API keys (``GET /v2/find_user``).

Results are cached briefly under a hash of the key (never the key itself), invalid
keys included, so one client cannot make us hammer the AI Horde. Timeouts and
errors open a circuit breaker; while it is open, callers fail fast.

A hung AI Horde must not take the web threads with it: at most
``AI_HORDE_MAX_CONCURRENT_LOOKUPS`` threads per process wait on it at a time (a
caller that finds every slot taken is refused at once, never queued), and
concurrent look-ups of one key share a single request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx
from django.conf import settings

from common.shared_cache import cache_get, cache_set
from sync.circuit_breaker import AI_HORDE_BREAKER

logger = logging.getLogger(__name__)

VALID_KEY_CACHE_SECONDS = 300
INVALID_KEY_CACHE_SECONDS = 60


#: What an API key may look like before it is sent anywhere: visible ASCII (a valid
#: header value), of a sane length. The AI Horde's keys are 22 characters.
API_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")


class HordeUnavailableError(Exception):
    """The AI Horde did not answer usefully (timeout, error, circuit open, too busy)."""

    def __init__(self, message: str, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass
class _Flight:
    """One look-up in progress; callers asking for the same key wait for its outcome."""

    done: threading.Event = field(default_factory=threading.Event)
    user: HordeUser | None = None
    error: HordeUnavailableError | None = None


class _LookupSlots:
    """Bounds the threads of this process that wait on the AI Horde.

    A semaphore taken without waiting: when every slot is busy the AI Horde is
    slow, and queueing more threads behind it is what would starve the server.
    Its size follows the setting (a caller releases the semaphore it acquired).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._semaphore = threading.BoundedSemaphore(1)
        self._size = 0
        self.flights: dict[str, _Flight] = {}

    def semaphore(self) -> threading.BoundedSemaphore:
        # Never every thread of the ASGI set-up: the public reads need one.
        size = max(1, min(int(settings.AI_HORDE_MAX_CONCURRENT_LOOKUPS), int(settings.WSGI_THREADS) - 1))
        with self.lock:
            if size != self._size:
                self._semaphore, self._size = threading.BoundedSemaphore(size), size
            return self._semaphore


LOOKUP_SLOTS = _LookupSlots()


@dataclass(frozen=True)
class HordeUser:
    user_id: str
    username: str


def _key_digest(apikey: str) -> str:
    return hashlib.sha256(apikey.encode("utf-8", "surrogatepass")).hexdigest()


def horde_user_cache_key(apikey: str) -> str:
    return f"horde-user:{_key_digest(apikey)}"


def _parse_user(body: object) -> HordeUser | None:
    if not isinstance(body, dict):
        return None
    username = body.get("username")
    if not isinstance(username, str) or "#" not in username:
        return None
    user_id = username.rsplit("#", 1)[1].strip()
    return HordeUser(user_id=user_id, username=username) if user_id else None


def is_well_formed_key(apikey: str) -> bool:
    """False for a key no AI Horde could have issued (and no header may carry)."""
    return API_KEY_PATTERN.fullmatch(apikey) is not None


def _cache_get(key: str) -> object:
    # A cache outage must not lock everyone out: a miss means asking the AI Horde.
    return cache_get(key)


def _cache_set(key: str, value: object, timeout: int) -> None:
    cache_set(key, value, timeout)


def find_user(apikey: str) -> HordeUser | None:
    """The AI Horde user owning ``apikey``; None if the key is invalid.

    Raises ``HordeUnavailableError`` when the AI Horde cannot say (or is already
    kept busy by as many look-ups as this process allows).
    """
    if not is_well_formed_key(apikey):
        return None
    cache_key = horde_user_cache_key(apikey)
    cached = _cache_get(cache_key)
    if isinstance(cached, dict):
        if cached.get("invalid"):
            return None
        return HordeUser(user_id=str(cached["user_id"]), username=str(cached["username"]))
    slots = LOOKUP_SLOTS.semaphore()
    if not slots.acquire(blocking=False):
        raise HordeUnavailableError(
            "the AI Horde is slow to answer: too many API key checks are waiting on it; try again shortly",
            retry_after=settings.AI_HORDE_TIMEOUT_SECONDS,
        )
    try:
        with LOOKUP_SLOTS.lock:
            flight = LOOKUP_SLOTS.flights.get(cache_key)
            leader = flight is None
            if flight is None:
                flight = LOOKUP_SLOTS.flights[cache_key] = _Flight()
        if not leader:
            return _follow(flight)
        try:
            flight.user = _lookup(apikey, cache_key)
        except HordeUnavailableError as error:
            flight.error = error
            raise
        finally:
            with LOOKUP_SLOTS.lock:
                LOOKUP_SLOTS.flights.pop(cache_key, None)
            flight.done.set()
        return flight.user
    finally:
        slots.release()


def _follow(flight: _Flight) -> HordeUser | None:
    # The leader's request is bounded by the timeout; a little slack covers its bookkeeping.
    if not flight.done.wait(settings.AI_HORDE_TIMEOUT_SECONDS + 1.0):
        raise HordeUnavailableError("the AI Horde timed out while checking the API key")
    if flight.error is not None:
        raise HordeUnavailableError(str(flight.error), retry_after=flight.error.retry_after)
    return flight.user


def _lookup(apikey: str, cache_key: str) -> HordeUser | None:
    if not AI_HORDE_BREAKER.allow_request():
        raise HordeUnavailableError(
            "the AI Horde is unavailable (circuit open); try again shortly",
            retry_after=AI_HORDE_BREAKER.seconds_until_retry() or 1.0,
        )
    url = urljoin(
        settings.AI_HORDE_URL if settings.AI_HORDE_URL.endswith("/") else settings.AI_HORDE_URL + "/",
        "v2/find_user",
    )
    try:
        response = httpx.get(
            url,
            headers={"apikey": apikey, "Client-Agent": "horde-model-reference:2:server"},
            timeout=settings.AI_HORDE_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException as error:
        AI_HORDE_BREAKER.record_failure(error)
        raise HordeUnavailableError("the AI Horde timed out while checking the API key") from error
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        AI_HORDE_BREAKER.record_failure(error)
        raise HordeUnavailableError("the AI Horde is unavailable to check the API key") from error
    if response.status_code >= 500 or response.status_code == 429:
        AI_HORDE_BREAKER.record_failure(f"HTTP {response.status_code}")
        raise HordeUnavailableError(
            f"the AI Horde answered {response.status_code} while checking the API key"
        )
    AI_HORDE_BREAKER.record_success()
    user = None
    if response.status_code == 200:
        try:
            user = _parse_user(response.json())
        except ValueError:
            user = None
    if user is None:
        _cache_set(cache_key, {"invalid": True}, INVALID_KEY_CACHE_SECONDS)
        return None
    _cache_set(cache_key, {"user_id": user.user_id, "username": user.username}, VALID_KEY_CACHE_SECONDS)
    return user
