"""Every key this service stores in the shared cache, built in one place.

The cache is shared by every web process and worker (and, with a shared Redis, by
other deployments behind another ``KEY_PREFIX``), so a key's spelling is a contract
between writers and readers: changing one here changes it for all of them at once.
"""

from __future__ import annotations

import hashlib

from django.conf import settings


def category_pointer_key(category: str) -> str:
    """The revision pointer of one category (``references.document_cache``)."""
    return f"category-pointer:{category}"


def category_pointer_channel() -> str:
    """The publish/subscribe channel of pointer updates.

    Channels are not keys, so Django's ``KEY_PREFIX`` is not applied by the cache: add it
    here, so two deployments sharing one Redis never hear each other's pointers.
    """
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:category-pointers"


def horde_user_key(apikey: str) -> str:
    """Whose AI Horde key this is: stored under the key's SHA-256, never the key itself."""
    digest = hashlib.sha256(apikey.encode("utf-8", "surrogatepass")).hexdigest()
    return f"horde-user:{digest}"


def key_checks_key(address: str, window: int) -> str:
    """How many unknown API keys one client address had checked in one minute."""
    return f"auth-checks:{address}:{window}"


def health_probe_key(nonce: str) -> str:
    """A throw-away key the health check writes and reads back."""
    return f"health:{nonce}"
