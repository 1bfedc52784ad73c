"""Category documents rendered once per revision, and the pointer that says which.

The authoritative revision is in SQL (``CategoryState``). The shared cache (Redis
in production) holds a small *pointer* per category: the revision token, written
on commit of every change. Each process keeps the rendered bytes (plain and gzip)
of the revision it last served and renders again only when the pointer moves:
once per revision, lazily, one thread at a time. So the 200 path costs one cache
read and no SQL, and a conditional request is answered from the pointer alone.

Every cache key this project uses is built in this module.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.core.cache import cache

from common.errors import DomainError

if TYPE_CHECKING:
    from references.models import CategoryState

logger = logging.getLogger(__name__)

#: A pointer is refreshed from SQL at least this often, so a lost invalidation
#: (the cache unreachable at commit time) heals by itself.
POINTER_TTL_SECONDS = 300
EMPTY_TOKEN = "0-empty"


def category_pointer_key(category: str) -> str:
    return f"category-pointer:{category}"


@dataclass(frozen=True)
class CategoryPointer:
    """Which revision of a category is current, as every process should serve it."""

    token: str
    revision: int
    last_updated: float | None
    records: int = 0

    def encode(self) -> str:
        stamp = "" if self.last_updated is None else repr(self.last_updated)
        return f"{self.token}|{self.revision}|{stamp}|{self.records}"

    @classmethod
    def decode(cls, raw: str) -> CategoryPointer | None:
        try:
            token, revision, stamp, records = raw.split("|")
            return cls(
                token=token,
                revision=int(revision),
                last_updated=float(stamp) if stamp else None,
                records=int(records),
            )
        except ValueError:
            return None


def category_pointer_from_state(state: CategoryState | None) -> CategoryPointer:
    if state is None or not state.etag:
        return CategoryPointer(token=EMPTY_TOKEN, revision=0, last_updated=None)
    stamp = state.last_updated.timestamp() if state.last_updated else None
    return CategoryPointer(
        token=state.etag, revision=state.revision, last_updated=stamp, records=state.record_count
    )


class PointerFeed:
    """Process-local copies of the pointers, kept current by Redis publish/subscribe.

    Reading the pointer from Redis on every request costs a network round trip,
    which dominates the hot path. Instead each process subscribes to a channel on
    which writers publish every new pointer (after setting it). Before answering
    from its local copy, a request drains whatever has arrived on the
    subscription without blocking; a writer's publish is answered only after
    Redis has queued the message to every subscriber, so a request that starts
    after a change was applied sees it. While the subscription is down, or for
    an entry older than ``LOCAL_MAX_AGE_SECONDS``, the pointer is read from Redis
    as before. Without Redis (the local-memory cache) the feed is off.
    """

    LOCAL_MAX_AGE_SECONDS = 30.0
    RETRY_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._pubsub: Any = None
        self._retry_at = 0.0
        self._local: dict[str, tuple[CategoryPointer, float]] = {}

    @staticmethod
    def channel() -> str:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        return f"{prefix}:category-pointers"

    @staticmethod
    def enabled() -> bool:
        return bool(getattr(settings, "REDIS_URL", ""))

    def _connect(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        try:
            from django_redis import get_redis_connection

            pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self.channel())
        except Exception:
            logger.warning("cannot subscribe to revision updates; reading pointers from the cache")
            self._retry_at = now + self.RETRY_SECONDS
            return
        self._pubsub = pubsub
        # Anything published before the subscription was missed: start empty.
        self._local.clear()

    def _drain(self, *, connect: bool = True) -> None:
        if os.getpid() != self._pid:  # forked (a new server worker): start over
            self._pid, self._pubsub = os.getpid(), None
            self._local.clear()
        if self._pubsub is None:
            if not connect:
                return
            self._connect()
            if self._pubsub is None:
                return
        try:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                self._apply(message)
        except Exception:
            logger.warning("revision subscription lost; reading pointers from the cache until it is back")
            self._pubsub = None
            self._local.clear()

    def _apply(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str) or "|" not in data:
            return
        category, _, encoded = data.partition("|")
        pointer = CategoryPointer.decode(encoded)
        if pointer is not None:
            self._local[category] = (pointer, time.monotonic())

    def get(self, category: str) -> CategoryPointer | None:
        return self._lookup(category, connect=True)

    def peek(self, category: str) -> CategoryPointer | None:
        """As ``get``, but never opens a connection: safe to call on an event loop."""
        return self._lookup(category, connect=False)

    def _lookup(self, category: str, *, connect: bool) -> CategoryPointer | None:
        if not self.enabled():
            return None
        with self._lock:
            self._drain(connect=connect)
            entry = self._local.get(category)
            if self._pubsub is None or entry is None:
                return None
            if time.monotonic() - entry[1] > self.LOCAL_MAX_AGE_SECONDS:
                del self._local[category]
                return None
            return entry[0]

    def remember(self, category: str, pointer: CategoryPointer) -> None:
        """Keep a pointer read from the cache; one that arrived by message meanwhile wins."""
        if not self.enabled():
            return
        with self._lock:
            if self._pubsub is not None:
                self._local.setdefault(category, (pointer, time.monotonic()))

    def publish(self, category: str, pointer: CategoryPointer) -> None:
        if not self.enabled():
            return
        from django_redis import get_redis_connection

        get_redis_connection("default").publish(self.channel(), f"{category}|{pointer.encode()}")

    def reset(self) -> None:
        """Forget every local pointer, including messages already on their way."""
        if not self.enabled():
            return
        with self._lock:
            self._drain()
            self._local.clear()


POINTER_FEED = PointerFeed()


def category_pointer_publish(category: str, pointer: CategoryPointer) -> None:
    """Called on commit of a change: every process serves the new revision next."""
    try:
        cache.set(category_pointer_key(category), pointer.encode(), POINTER_TTL_SECONDS)
        POINTER_FEED.publish(category, pointer)
    except Exception:  # the cache being down must not fail a committed change
        logger.exception("could not publish the new revision of %s; it heals within the TTL", category)


def _pointer_from_cache(category: str) -> tuple[CategoryPointer | None, bool]:
    """The pointer from the local feed or the shared cache, and whether the cache answered."""
    local = POINTER_FEED.get(category)
    if local is not None:
        return local, True
    try:
        raw = cache.get(category_pointer_key(category))
    except Exception:
        return None, False
    pointer = CategoryPointer.decode(raw) if isinstance(raw, str) else None
    if pointer is not None:
        POINTER_FEED.remember(category, pointer)
    return pointer, True


def category_pointer_cached(category: str) -> CategoryPointer | None:
    """The pointer if the shared cache has it; never touches the database."""
    return _pointer_from_cache(category)[0]


def category_pointer_in_memory(category: str) -> CategoryPointer | None:
    """The pointer if this process knows it without waiting on the network, else None.

    With Redis, that is the pub/sub-fed local copy (draining the subscription does
    not block); with the local-memory cache (no Redis), the cache itself.
    """
    if POINTER_FEED.enabled():
        return POINTER_FEED.peek(category)
    return category_pointer_cached(category)


def category_pointer_get(category: str) -> CategoryPointer:
    """The current pointer: from the cache, else from SQL (and then cached)."""
    found, cache_reachable = _pointer_from_cache(category)
    if found is not None:
        return found
    if not cache_reachable:
        logger.warning("cache unreachable; reading the revision of %s from the database", category)
    from references.selectors import category_state_find

    pointer = category_pointer_from_state(category_state_find(category=category))
    if cache_reachable:
        # add, not set: a writer's newer pointer, published meanwhile, must win.
        try:
            cache.add(category_pointer_key(category), pointer.encode(), POINTER_TTL_SECONDS)
        except Exception:
            logger.warning("cache unreachable while caching the revision of %s", category)
    return pointer


@dataclass(frozen=True)
class Representation:
    """One rendered document, in both encodings, with its strong ETags."""

    body: bytes
    gzip_body: bytes
    etag: str
    gzip_etag: str
    # Response headers, built on first use per encoding (the hot path reuses them).
    header_cache: dict[Any, list[tuple[str, str]]] = field(default_factory=dict, compare=False, repr=False)


def representation_etags(category: str, fmt: str, token: str) -> tuple[str, str]:
    """The ETags of a representation, derivable from the pointer without rendering."""
    base = f"{category}.{fmt}.{token}"
    return f'"{base}"', f'"{base}.gz"'


@lru_cache(maxsize=4096)
def model_representation_format(model_name: str) -> str:
    return "model-" + hashlib.sha256(model_name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_representation(category: str, fmt: str, token: str, body: bytes) -> Representation:
    etag, gzip_etag = representation_etags(category, fmt, token)
    return Representation(body, gzip.compress(body, compresslevel=6, mtime=0), etag, gzip_etag)


#: format name -> function(category) building the document bytes and the parsed v2
#: records; registered by the API modules that own each format.
Renderer = Callable[["CategorySnapshot"], bytes]
RENDERERS: dict[str, Renderer] = {}


def register_renderer(fmt: str, renderer: Renderer) -> None:
    RENDERERS[fmt] = renderer


@dataclass
class CategorySnapshot:
    """Everything a process has rendered of one category at one revision."""

    category: str
    pointer: CategoryPointer
    entries: list[Any]
    representations: dict[str, Representation] = field(default_factory=dict)
    cached: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The snapshot served before this one: what every format falls back to together
    # if this one turns out not to render.
    previous: CategorySnapshot | None = field(default=None, repr=False)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """Compute a value once per snapshot (parsed documents, indexes...)."""
        if key not in self.cached:
            self.cached[key] = build()
        return self.cached[key]

    def representation(self, fmt: str) -> Representation:
        found = self.representations.get(fmt)
        if found is not None:
            return found
        with self.lock:
            found = self.representations.get(fmt)
            if found is None:
                found = make_representation(self.category, fmt, self.pointer.token, RENDERERS[fmt](self))
                self.representations[fmt] = found
        return found

    def model_representation(
        self, model_name: str, body_of: Callable[[], bytes | None]
    ) -> Representation | None:
        fmt = model_representation_format(model_name)
        found = self.representations.get(fmt)
        if found is None:
            body = body_of()
            if body is None:
                return None
            found = make_representation(self.category, fmt, self.pointer.token, body)
            with self.lock:
                self.representations[fmt] = found
        return found


_snapshots: dict[str, CategorySnapshot] = {}
#: Per category, the token of a revision that failed to render: requests for it are
#: answered from the snapshot served before it, in every format alike.
_broken_tokens: dict[str, str] = {}
_snapshot_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def _snapshot_lock(category: str) -> threading.Lock:
    with _registry_lock:
        return _snapshot_locks.setdefault(category, threading.Lock())


def category_snapshot_loaded(category: str, pointer: CategoryPointer) -> CategorySnapshot | None:
    """The process's snapshot for this pointer if it is already loaded (no database work)."""
    current = _snapshots.get(category)
    return current if current is not None and current.pointer.token == pointer.token else None


def _unrenderable(entries: list[Any]) -> list[Any]:
    """The entries orjson refuses (an integer beyond 64 bits, say): one bad row behind
    the services' back must not make the v2 document, single records and search fail
    while the legacy document (``json``) still renders."""
    try:
        orjson.dumps([(entry.payload, entry.legacy_residue) for entry in entries])
        return []
    except orjson.JSONEncodeError:
        pass
    bad = []
    for entry in entries:
        try:
            orjson.dumps((entry.payload, entry.legacy_residue))
        except orjson.JSONEncodeError:
            bad.append(entry)
    return bad


def category_snapshot(category: str, pointer: CategoryPointer) -> CategorySnapshot:
    """The process's snapshot for this pointer, loading the records once if it moved.

    A revision that cannot render is never served in part: every format, single
    records and search keep answering from the snapshot served before it.
    """
    current = _snapshots.get(category)
    if current is not None and (
        current.pointer.token == pointer.token or _broken_tokens.get(category) == pointer.token
    ):
        return current
    with _snapshot_lock(category):
        current = _snapshots.get(category)
        if current is not None and (
            current.pointer.token == pointer.token or _broken_tokens.get(category) == pointer.token
        ):
            return current
        from references.selectors import category_entries_at

        loaded_pointer, entries = category_entries_at(category=category)
        bad = _unrenderable(entries)
        if bad:
            names = ", ".join(entry.name for entry in bad)
            if current is not None:
                logger.error(
                    "%s at %s cannot be rendered (%s); serving revision %s",
                    category,
                    loaded_pointer.token,
                    names,
                    current.pointer.token,
                )
                _broken_tokens[category] = loaded_pointer.token
                return current
            # Nothing served before in this process: serve what renders rather than nothing.
            logger.error(
                "%s at %s: leaving out records that cannot be rendered: %s",
                category,
                loaded_pointer.token,
                names,
            )
            left_out = {id(entry) for entry in bad}
            entries = [entry for entry in entries if id(entry) not in left_out]
        # The records read may be newer than the pointer that led here (a change
        # committed in between); label them with what was actually read.
        snapshot = CategorySnapshot(
            category=category, pointer=loaded_pointer, entries=entries, previous=current
        )
        if current is not None:
            current.previous = None  # keep one generation, not the whole history
        _snapshots[category] = snapshot
        return snapshot


def _fall_back(snapshot: CategorySnapshot) -> CategorySnapshot | None:
    """Retire a snapshot that failed to render; the one served before it takes over."""
    with _snapshot_lock(snapshot.category):
        _broken_tokens[snapshot.category] = snapshot.pointer.token
        fallback = snapshot.previous
        if _snapshots.get(snapshot.category) is snapshot and fallback is not None:
            _snapshots[snapshot.category] = fallback
        return _snapshots.get(snapshot.category) if fallback is None else fallback


def representation_or_last_good(
    snapshot: CategorySnapshot, fmt: str
) -> tuple[CategoryPointer, Representation]:
    """The snapshot's representation; if rendering fails, the last snapshot that worked.

    A bug or bad record that breaks rendering must not take a category offline:
    clients keep getting the previous revision, in every format, single records and
    search alike (the whole snapshot is retired, not one format), and the error is
    logged.
    """
    try:
        return snapshot.pointer, snapshot.representation(fmt)
    except Exception:
        fallback = _fall_back(snapshot)
        if fallback is None or fallback is snapshot:
            logger.exception("rendering %s/%s at %s failed", snapshot.category, fmt, snapshot.pointer.token)
            raise DomainError(
                f"The '{snapshot.category}' document cannot be rendered right now.", status=503
            ) from None
        logger.exception(
            "rendering %s/%s at %s failed; serving revision %s",
            snapshot.category,
            fmt,
            snapshot.pointer.token,
            fallback.pointer.token,
        )
        return fallback.pointer, fallback.representation(fmt)


def document_cache_reset() -> None:
    """Forget every rendered document of this process (tests, and after restores)."""
    with _registry_lock:
        _snapshots.clear()
        _broken_tokens.clear()
    POINTER_FEED.reset()
