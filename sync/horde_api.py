"""The AI Horde API adapter: identifying API keys (``GET /v2/find_user``).

Results are cached briefly under a hash of the key (never the key itself), invalid
keys included, so one client cannot make us hammer the AI Horde. Timeouts and
errors open a circuit breaker; while it is open, callers fail fast.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from django.conf import settings

from common.shared_cache import cache_get, cache_set
from sync.circuit_breaker import AI_HORDE_BREAKER

logger = logging.getLogger(__name__)

VALID_KEY_CACHE_SECONDS = 300
INVALID_KEY_CACHE_SECONDS = 60


class HordeUnavailableError(Exception):
    """The AI Horde did not answer usefully (timeout, error, circuit open)."""


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


def _cache_get(key: str) -> object:
    # A cache outage must not lock everyone out: a miss means asking the AI Horde.
    return cache_get(key)


def _cache_set(key: str, value: object, timeout: int) -> None:
    cache_set(key, value, timeout)


def find_user(apikey: str) -> HordeUser | None:
    """The AI Horde user owning ``apikey``; None if the key is invalid.

    Raises ``HordeUnavailableError`` when the AI Horde cannot say.
    """
    cache_key = horde_user_cache_key(apikey)
    cached = _cache_get(cache_key)
    if isinstance(cached, dict):
        if cached.get("invalid"):
            return None
        return HordeUser(user_id=str(cached["user_id"]), username=str(cached["username"]))
    if not AI_HORDE_BREAKER.allow_request():
        raise HordeUnavailableError("the AI Horde is unavailable (circuit open); try again shortly")
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
        AI_HORDE_BREAKER.record_failure()
        raise HordeUnavailableError("the AI Horde timed out while checking the API key") from error
    except httpx.HTTPError as error:
        AI_HORDE_BREAKER.record_failure()
        raise HordeUnavailableError("the AI Horde is unavailable to check the API key") from error
    if response.status_code >= 500 or response.status_code == 429:
        AI_HORDE_BREAKER.record_failure()
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
