"""Category documents rendered once per revision, and the pointer that says which.

The authoritative revision is in SQL (``CategoryState``). A small *pointer* per
category (the revision token) is published on commit of every change: to Redis
when it is configured, else, on SQLite, to a file per category. Each process
keeps the rendered bytes (plain and gzip) of the revision it last served and
renders again only when the pointer moves: once per revision, lazily, one thread
at a time. So the 200 path costs no SQL, and a conditional request is answered
from the pointer alone. Redis is an accelerator: while it fails, ``CACHE_BREAKER``
sends pointer reads to SQL; with a server database and no Redis, every read that
memory cannot answer checks SQL.

Every cache key this project uses is built in this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.core.cache import cache

from common.cache_keys import category_pointer_channel, category_pointer_key
from common.errors import DomainError
from common.health import CACHE_BREAKER
from common.shared_cache import CacheUnavailableError, cache_call

if TYPE_CHECKING:
    from references.models import CategoryState

logger = logging.getLogger(__name__)

#: A pointer is refreshed from SQL at least this often, so a lost invalidation
#: (the cache unreachable at commit time) heals by itself.
POINTER_TTL_SECONDS = 300
EMPTY_TOKEN = "0-empty"


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
    subscription without blocking. Redis answers a writer's publish once the
    message is queued to every subscriber, which on loopback is microseconds
    before it arrives; the writing process itself takes its new pointer at once
    (``accept``), so its own next read never races the message. While the subscription is down, or for
    an entry older than ``LOCAL_MAX_AGE_SECONDS``, the pointer is read from Redis
    as before. Without Redis (the local-memory cache) the feed is off.
    """

    # Also bounds how long a process that never touched a hung Redis keeps
    # trusting its copies while writers' publishes fail.
    LOCAL_MAX_AGE_SECONDS = 5.0
    RETRY_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._pubsub: Any = None
        self._retry_at = 0.0
        self._local: dict[str, tuple[CategoryPointer, float]] = {}

    @staticmethod
    def channel() -> str:
        return category_pointer_channel()

    @staticmethod
    def enabled() -> bool:
        return bool(getattr(settings, "REDIS_URL", ""))

    def _connect(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        try:
            from django_redis import get_redis_connection

            def subscribe() -> Any:
                pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel())
                return pubsub

            pubsub = cache_call(subscribe)
        except CacheUnavailableError:
            CACHE_BREAKER.warn("cannot subscribe to revision updates; reading pointers from the cache")
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
        except Exception as error:
            CACHE_BREAKER.record_failure(error)
            CACHE_BREAKER.warn("revision subscription lost; reading pointers from the cache until it is back")
            self._pubsub = None
            self._local.clear()

    def _apply(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str) or "|" not in data:
            return
        category, _, encoded = data.partition("|")
        pointer = CategoryPointer.decode(encoded) if encoded else None
        if pointer is not None:
            self._local[category] = (pointer, time.monotonic())
        else:  # "forget": a publish was lost; read the pointer again
            self._local.pop(category, None)

    def get(self, category: str) -> CategoryPointer | None:
        return self._lookup(category, connect=True)

    def peek(self, category: str) -> CategoryPointer | None:
        """As ``get``, but never opens a connection: safe to call on an event loop."""
        return self._lookup(category, connect=False)

    def _lookup(self, category: str, *, connect: bool) -> CategoryPointer | None:
        if not self.enabled():
            return None
        with self._lock:
            if CACHE_BREAKER.is_open:
                # Publishes fail meanwhile, so the copies may be stale; the
                # subscription is re-established (and starts empty) once Redis is back.
                self._pubsub = None
                self._local.clear()
                return None
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

    def accept(self, category: str, pointer: CategoryPointer) -> None:
        """Take this process's own newly published pointer at once.

        Redis answers a PUBLISH once the message is queued for the subscribers, not
        once it has reached their sockets, so the writer's own next read could
        otherwise drain an empty subscription and serve the previous revision.
        """
        if not self.enabled():
            return
        with self._lock:
            if self._pubsub is None:
                return
            known = self._local.get(category)
            if known is None or known[0].revision <= pointer.revision:
                self._local[category] = (pointer, time.monotonic())

    def publish(self, category: str, pointer: CategoryPointer | None) -> None:
        """Send the new pointer to every process; None tells them to forget theirs."""
        if not self.enabled():
            return
        from django_redis import get_redis_connection

        encoded = "" if pointer is None else pointer.encode()
        get_redis_connection("default").publish(self.channel(), f"{category}|{encoded}")

    def disconnect(self) -> None:
        """Drop the subscription and every local copy (a test switching caches)."""
        with self._lock:
            self._pubsub = None
            self._local.clear()
            self._retry_at = 0.0

    def reset(self) -> None:
        """Forget every local pointer, including messages already on their way."""
        if not self.enabled():
            return
        with self._lock:
            self._drain()
            self._local.clear()


POINTER_FEED = PointerFeed()


class RevisionFiles:
    """Revision pointers shared through one small file per category (no Redis, SQLite).

    Without Redis every process has its own local-memory cache, so nothing would
    tell one process that another applied a change. On SQLite all processes are on
    one host, so a file is the cheapest shared signal: writers replace it
    atomically (temp file + rename) on commit, under a lock and only with a newer
    revision; readers ``stat`` it on each request and re-read it only when its
    identity (inode, mtime, size) changed, or while it is younger than the
    file system's time stamps can tell apart. A process checks the database at
    least every ``POINTER_TTL_SECONDS`` per category, so a publish lost to a crash
    between commit and write heals by itself.
    """

    RECENT_NS = 2_000_000_000

    def __init__(self) -> None:
        self._seen: dict[str, tuple[tuple[int, int, int], CategoryPointer]] = {}
        self._verified_at: dict[str, float] = {}

    @staticmethod
    def enabled() -> bool:
        return (
            not getattr(settings, "REDIS_URL", "")
            and bool(getattr(settings, "REVISION_SIGNAL_DIR", ""))
            and "sqlite" in settings.DATABASES["default"]["ENGINE"]
        )

    @staticmethod
    def directory() -> Path:
        return Path(settings.REVISION_SIGNAL_DIR)

    def read(self, category: str) -> CategoryPointer | None:
        path = self.directory() / category
        try:
            stat = os.stat(path)
        except OSError:
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        seen = self._seen.get(category)
        if seen is not None and seen[0] == identity and time.time_ns() - stat.st_mtime_ns > self.RECENT_NS:
            return seen[1]
        try:
            pointer = CategoryPointer.decode(path.read_text("utf-8"))
        except OSError:
            return None
        if pointer is not None:
            self._seen[category] = (identity, pointer)
        return pointer

    def verified_recently(self, category: str) -> bool:
        checked = self._verified_at.get(category)
        return checked is not None and time.monotonic() - checked < POINTER_TTL_SECONDS

    def mark_verified(self, category: str) -> None:
        self._verified_at[category] = time.monotonic()

    def write(self, category: str, pointer: CategoryPointer) -> None:
        """Publish ``pointer`` unless the file already holds a newer revision."""
        directory = self.directory()
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a") as lock:
            # Two writers' on-commit publishes may run in either order: the lock
            # plus the revision check keeps the newer one.
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = CategoryPointer.decode((directory / category).read_text("utf-8"))
            except OSError:
                current = None
            if current is not None and current.revision > pointer.revision:
                return
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{category}.")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(pointer.encode())
                os.replace(temporary, directory / category)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def reset(self) -> None:
        """Forget what this process read, and remove the files (tests, and after restores)."""
        self._seen.clear()
        self._verified_at.clear()
        if not self.enabled():
            return
        for path in self.directory().glob("[a-z]*"):
            path.unlink(missing_ok=True)


REVISION_FILES = RevisionFiles()

#: Categories whose new pointer this process could not publish to Redis. Redis
#: still holds the previous one, so once it answers again they are invalidated
#: there (by the next request, or by a retry timer if the process is idle), and
#: no process keeps serving the older revision.
_unpublished: set[str] = set()
_unpublished_lock = threading.Lock()
_invalidation_timer: threading.Timer | None = None


def _invalidate_unpublished() -> None:
    with _unpublished_lock:
        pending = sorted(_unpublished)
    for category in pending:
        try:
            # Deleting is always safe (readers fall back to SQL and cache what they
            # read with add); re-setting the old pointer could overwrite a newer one.
            cache_call(lambda category=category: cache.delete(category_pointer_key(category)))  # type: ignore[misc]
            cache_call(lambda category=category: POINTER_FEED.publish(category, None))  # type: ignore[misc]
        except CacheUnavailableError:
            return
        with _unpublished_lock:
            _unpublished.discard(category)


def _retry_invalidation() -> None:
    _invalidate_unpublished()
    if _unpublished:
        _schedule_invalidation()


def _schedule_invalidation() -> None:
    global _invalidation_timer
    with _unpublished_lock:
        if _invalidation_timer is not None and _invalidation_timer.is_alive():
            return
        _invalidation_timer = threading.Timer(CACHE_BREAKER.cool_down_seconds, _retry_invalidation)
        _invalidation_timer.daemon = True
        _invalidation_timer.start()


def category_pointer_publish(category: str, pointer: CategoryPointer) -> None:
    """Called on commit of a change: every process serves the new revision next.

    Best effort: the change is committed whatever happens here. A pointer that
    cannot reach Redis is invalidated there as soon as Redis answers again (and
    expires within ``POINTER_TTL_SECONDS`` regardless); meanwhile the breaker
    sends this process's reads to the database.
    """
    if RevisionFiles.enabled():
        try:
            REVISION_FILES.write(category, pointer)
        except OSError:
            logger.exception("could not write the revision file of %s", category)
        return
    if not PointerFeed.enabled():
        return
    try:
        cache_call(lambda: cache.set(category_pointer_key(category), pointer.encode(), POINTER_TTL_SECONDS))
        cache_call(lambda: POINTER_FEED.publish(category, pointer))
    except CacheUnavailableError:
        with _unpublished_lock:
            _unpublished.add(category)
        CACHE_BREAKER.warn(
            f"could not publish the revision of {category}; invalidating it once Redis is back"
        )
        _schedule_invalidation()
        return
    POINTER_FEED.accept(category, pointer)
    if _unpublished:
        _invalidate_unpublished()


def _pointer_from_cache(category: str) -> tuple[CategoryPointer | None, bool]:
    """The pointer from the local feed or the shared cache, and whether the cache answered."""
    if _unpublished:
        # The first cache call after an outage doubles as the breaker's probe.
        _invalidate_unpublished()
        if category in _unpublished:
            return None, False  # Redis still holds an older pointer
    local = POINTER_FEED.get(category)
    if local is not None:
        return local, True
    try:
        raw = cache_call(lambda: cache.get(category_pointer_key(category)))
    except CacheUnavailableError:
        return None, False
    pointer = CategoryPointer.decode(raw) if isinstance(raw, str) else None
    if pointer is not None:
        POINTER_FEED.remember(category, pointer)
    return pointer, True


def category_pointer_cached(category: str) -> CategoryPointer | None:
    """The pointer if it is known without the database (shared cache or revision file)."""
    if RevisionFiles.enabled():
        return REVISION_FILES.read(category) if REVISION_FILES.verified_recently(category) else None
    if not PointerFeed.enabled():
        return None  # no shared signal: only the database can say
    return _pointer_from_cache(category)[0]


def category_pointer_in_memory(category: str) -> CategoryPointer | None:
    """The pointer if this process knows it without waiting on the network, else None.

    With Redis, that is the pub/sub-fed local copy (draining the subscription does
    not block); without Redis on SQLite, the revision file (a local ``stat``).
    """
    if POINTER_FEED.enabled():
        return POINTER_FEED.peek(category)
    return category_pointer_cached(category)


def _pointer_from_database(category: str) -> CategoryPointer:
    from references.selectors import category_state_find

    return category_pointer_from_state(category_state_find(category=category))


def category_pointer_get(category: str) -> CategoryPointer:
    """The current pointer: from the shared signal when it is trustworthy, else from SQL.

    Redis: the feed or the cache, SQL on a miss (then cached) or while the cache
    is unavailable. SQLite without Redis: the revision file, checked against SQL
    once per ``POINTER_TTL_SECONDS``. A server database without Redis: SQL, one
    primary-key read, because its processes may be on different hosts.
    """
    if RevisionFiles.enabled():
        shared = REVISION_FILES.read(category)
        if shared is not None and REVISION_FILES.verified_recently(category):
            return shared
        pointer = _pointer_from_database(category)
        REVISION_FILES.mark_verified(category)
        if shared is not None and shared.revision >= pointer.revision:
            return shared  # a writer committed after our read
        try:
            REVISION_FILES.write(category, pointer)
        except OSError:
            logger.exception("could not write the revision file of %s", category)
        return pointer
    if not PointerFeed.enabled():
        return _pointer_from_database(category)
    found, cache_reachable = _pointer_from_cache(category)
    if found is not None:
        return found
    if not cache_reachable:
        CACHE_BREAKER.warn(f"cache unreachable; reading the revision of {category} from the database")
    pointer = _pointer_from_database(category)
    if cache_reachable:
        # add, not set: a writer's newer pointer, published meanwhile, must win.
        encoded = pointer.encode()
        with contextlib.suppress(CacheUnavailableError):
            cache_call(lambda: cache.add(category_pointer_key(category), encoded, POINTER_TTL_SECONDS))
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

        loaded_state, entries = category_entries_at(category=category)
        loaded_pointer = category_pointer_from_state(loaded_state)
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
    REVISION_FILES.reset()
    with _unpublished_lock:
        _unpublished.clear()
