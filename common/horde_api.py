"""The AI Horde API adapter: identifying API keys (``GET /v2/find_user``), and the model
statistics (status, usage, workers) the statistics task stores.

Results are cached briefly under a hash of the key (never the key itself), invalid
keys included, so one client cannot make us hammer the AI Horde. Timeouts and
errors open a circuit breaker; while it is open, callers fail fast.

A hung AI Horde must not take the web threads with it: at most
``AI_HORDE_MAX_CONCURRENT_LOOKUPS`` threads per process wait on it at a time (a
caller that finds every slot taken is refused at once, never queued), and
concurrent look-ups of one key share a single request.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urljoin

import httpx
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from common.cache_keys import horde_user_key
from common.health import CircuitBreaker
from common.shared_cache import cache_get, cache_set

logger = logging.getLogger(__name__)

#: After three consecutive failures, identity look-ups and statistics fetches fail fast
#: (503) for a cool-down instead of piling requests onto a struggling upstream; then one
#: probe at a time. ``/heartbeat`` shows its state.
AI_HORDE_BREAKER = CircuitBreaker(
    "the AI Horde API", failure_threshold=3, cool_down_seconds=settings.AI_HORDE_COOL_DOWN_SECONDS
)

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
    cache_key = horde_user_key(apikey)
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


# --- Statistics: model status, usage and workers (the sync.fetch_statistics task) ---
#
# One httpx.Client per run, retries with back-off, a 429's Retry-After honoured, and the
# same breaker as the key look-ups: a Horde that fails the statistics run is down for
# the key checks too, and vice versa.

HordeModelType = Literal["image", "text"]
#: The AI Horde's path segment of each model type under /v2/stats.
STATS_PATH_SEGMENT: dict[HordeModelType, str] = {"image": "img", "text": "text"}
#: Beyond any counter the AI Horde keeps, and what every consumer can parse (DECISIONS 33).
_MAX_COUNT = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=_MAX_COUNT)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class HordeModelStatus(BaseModel):
    """One entry of ``GET /v2/status/models``: a model's workers, queue and speed."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=1000)]
    count: Count = 0
    performance: Amount = 0.0
    queued: Amount = 0.0
    jobs: Amount = 0.0
    eta: Count = 0
    type: str | None = None


class HordeModelUsage(BaseModel):
    """``GET /v2/stats/{img|text}/models``: requests per model name in each period."""

    model_config = ConfigDict(extra="ignore")

    day: dict[str, Count]
    month: dict[str, Count]
    total: dict[str, Count]


class HordeWorker(BaseModel):
    """One entry of ``GET /v2/workers``: what the statistics keep of a worker."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=1000)] = ""
    type: str | None = None
    # The AI Horde reports speed as text ("1.2 megapixelsteps per second").
    performance: str | None = None
    threads: Count | None = None
    uptime: Count | None = None
    online: bool | None = None
    trusted: bool | None = None
    max_pixels: Count | None = None
    max_length: Count | None = None
    models: list[str] = Field(default_factory=list)


STATUS_LIST = TypeAdapter(list[HordeModelStatus])
WORKER_LIST = TypeAdapter(list[HordeWorker])
USAGE = TypeAdapter(HordeModelUsage)


class HordeAnswerError(Exception):
    """The AI Horde answered, but not with what its API promises (bad JSON, wrong shape)."""


def horde_statistics_client() -> httpx.Client:
    """The client one statistics run uses for every request (caller closes it)."""
    base = settings.AI_HORDE_URL if settings.AI_HORDE_URL.endswith("/") else settings.AI_HORDE_URL + "/"
    return httpx.Client(
        base_url=base,
        timeout=httpx.Timeout(settings.AI_HORDE_STATISTICS_TIMEOUT_SECONDS),
        headers={"Client-Agent": "horde-model-reference:2:statistics", "Accept": "application/json"},
        follow_redirects=False,
    )


def _retry_after_seconds(response: httpx.Response, fallback: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        seconds = fallback
    if not math.isfinite(seconds) or seconds < 0:
        seconds = fallback
    return min(seconds, float(settings.AI_HORDE_RETRY_AFTER_MAX_SECONDS))


def _horde_get(client: httpx.Client, path: str, params: dict[str, str]) -> bytes:
    """The body of a successful GET, after retries; HordeUnavailableError when none came."""
    attempts = max(1, int(settings.AI_HORDE_STATISTICS_ATTEMPTS))
    backoff = float(settings.AI_HORDE_RETRY_BACKOFF_SECONDS)
    problem = ""
    for attempt in range(attempts):
        if not AI_HORDE_BREAKER.allow_request():
            raise HordeUnavailableError(
                f"the AI Horde is unavailable (circuit open) for {path}",
                retry_after=AI_HORDE_BREAKER.seconds_until_retry() or 1.0,
            )
        wait = backoff * (2**attempt)
        try:
            response = client.get(path, params=params)
        except httpx.HTTPError as error:
            AI_HORDE_BREAKER.record_failure(error)
            problem = f"{type(error).__name__}: {error}"
        else:
            if response.status_code == 200:
                AI_HORDE_BREAKER.record_success()
                return response.content
            if response.status_code == 429:
                # Rate limited: not the Horde failing, so the breaker stays as it is.
                wait = _retry_after_seconds(response, wait)
                problem = f"HTTP 429 (Retry-After {response.headers.get('Retry-After', '-')})"
            elif response.status_code >= 500:
                AI_HORDE_BREAKER.record_failure(f"HTTP {response.status_code}")
                problem = f"HTTP {response.status_code}"
            else:
                raise HordeAnswerError(f"{path} answered HTTP {response.status_code}")
        if attempt + 1 < attempts:
            time.sleep(wait)
    raise HordeUnavailableError(f"{path}: {problem} after {attempts} attempts")


def _parse(adapter: TypeAdapter[Any], body: bytes, path: str) -> Any:
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise HordeAnswerError(f"{path}: unexpected answer ({where}: {first.get('msg')})") from error


def fetch_model_status(client: httpx.Client, horde_type: HordeModelType) -> list[HordeModelStatus]:
    """``GET /v2/status/models?type=...&model_state=known``."""
    path = "v2/status/models"
    body = _horde_get(client, path, {"type": horde_type, "model_state": "known"})
    result: list[HordeModelStatus] = _parse(STATUS_LIST, body, path)
    return result


def fetch_model_usage(client: httpx.Client, horde_type: HordeModelType) -> HordeModelUsage:
    """``GET /v2/stats/img/models`` or ``/v2/stats/text/models``."""
    path = f"v2/stats/{STATS_PATH_SEGMENT[horde_type]}/models"
    body = _horde_get(client, path, {"model_state": "known"})
    result: HordeModelUsage = _parse(USAGE, body, path)
    return result


def fetch_workers(client: httpx.Client, horde_type: HordeModelType) -> list[HordeWorker]:
    """``GET /v2/workers?type=...``."""
    path = "v2/workers"
    body = _horde_get(client, path, {"type": horde_type})
    result: list[HordeWorker] = _parse(WORKER_LIST, body, path)
    return result
