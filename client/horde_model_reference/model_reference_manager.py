"""The process-wide manager of model reference data: fetching, caching and the public API.

:class:`ModelReferenceManager` reads every category from, in order:

1. the **primary API** (``{PRIMARY_API_URL}/model_references/v2/{category}``), revalidated
   with ``If-None-Match`` so an unchanged category costs a 304;
2. an **export** (``EXPORT_SOURCE``: a directory or URL with ``manifest.json``), whose
   files are checked against the manifest's sha256;
3. the **legacy GitHub files**, converted to v2 on the fly;
4. the **disk cache**: the last good copy, kept so a process that starts while every
   source is down still has data (and says how old it is).

Fetched data is kept in memory for ``CACHE_TTL_SECONDS``; within that time a read is a
dictionary lookup (no network, no re-validation). A record that cannot be parsed is
skipped with a warning; the rest of its category is kept.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast, overload

from pydantic import ValidationError

from horde_model_reference import settings as settings_module
from horde_model_reference.backends.base import (
    NotModified,
    ReferenceSource,
    Steps,
    drive_async_lazy,
    drive_sync_lazy,
)
from horde_model_reference.backends.export import ExportSource
from horde_model_reference.backends.github import GitHubLegacySource
from horde_model_reference.backends.primary import PrimaryApiSource
from horde_model_reference.disk_cache import CachedDocument, DiskCache
from horde_model_reference.meta_consts import (
    CATEGORIES_MANAGED_ELSEWHERE,
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
    ReplicateMode,
)
from horde_model_reference.model_reference_records import (
    AudioGenerationModelRecord,
    BlipModelRecord,
    ClipModelRecord,
    CodeformerModelRecord,
    ControlNetAnnotatorModelRecord,
    ControlNetModelRecord,
    EsrganModelRecord,
    GenericModelRecord,
    GfpganModelRecord,
    ImageGenerationModelRecord,
    MiscellaneousModelRecord,
    SafetyCheckerModelRecord,
    TextGenerationModelRecord,
    VideoGenerationModelRecord,
    get_record_type_for_category,
)
from horde_model_reference.settings import HordeModelReferenceSettings

if TYPE_CHECKING:
    # Both are imported where they are used: a process that reads a local export
    # directory with the sync API needs neither (together ~90 ms of import time).
    import asyncio

    import httpx
    from pydantic import TypeAdapter

    from horde_model_reference.model_reference_metadata import CategoryMetadata
    from horde_model_reference.popular import PopularModelResult, PopularSortKey
    from horde_model_reference.query import (
        AnyFieldName,
        AudioGenFieldName,
        ClipFieldName,
        ControlNetQuery,
        GenericFieldName,
        ImageGenerationQuery,
        ModelQuery,
        TextModelQuery,
        VideoGenFieldName,
    )

logger = logging.getLogger(__name__)

TModelRecord = TypeVar("TModelRecord", bound=GenericModelRecord)

_CLIENT_VERSION = "0.1.0"
_USER_AGENT = f"horde-model-reference-client/{_CLIENT_VERSION}"

#: Where a category's current data came from (see :meth:`ModelReferenceManager.data_source`).
DataSource = Literal["primary", "export", "github", "disk_cache", "empty", "unavailable", "managed_elsewhere"]


class PrefetchStrategy(StrEnum):
    """Controls when and how the manager fetches model references."""

    LAZY = "lazy"
    """Defer fetching until the first read (the default)."""

    SYNC = "sync"
    """Fetch every category on the calling thread during construction."""

    DEFERRED = "deferred"
    """Expose a :class:`DeferredPrefetchHandle` the caller runs later (sync or async)."""

    ASYNC = "async"
    """Schedule a background warm-up on the running event loop (a deferred handle without one)."""

    NONE = "none"
    """No automatic warm-up; reads still fetch on demand."""


class _Unset:
    """Marks a constructor argument the caller did not pass (so it is not compared)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class _CategoryState:
    """Everything the manager holds for one category; replaced whole, never mutated."""

    document: dict[str, Any] | None
    """The raw v2 document (``{key: record dict}``), or None when nothing is available."""
    records: dict[str, GenericModelRecord] | None
    """Parsed records keyed by ``record.name``."""
    skipped: tuple[str, ...]
    """Keys of records that could not be parsed."""
    origin: str | None
    """The live source the data came from (kept when it is later served from disk)."""
    validator: str | None
    """That source's validator (ETag or ``sha256:``) of the data."""
    served_from: DataSource
    confirmed_at: float | None
    """Unix time a live source last delivered or confirmed the data."""
    expires_at: float
    """``time.monotonic()`` after which the data is revalidated."""


_MANAGED_ELSEWHERE_STATE: Final = _CategoryState(
    document=None,
    records=None,
    skipped=(),
    origin=None,
    validator=None,
    served_from="managed_elsewhere",
    confirmed_at=None,
    expires_at=float("inf"),
)


@functools.cache
def _document_adapter(record_type: type[GenericModelRecord]) -> TypeAdapter[dict[str, GenericModelRecord]]:
    """Validates a whole ``{key: record}`` document of ``record_type`` in one call (cached per type)."""
    from pydantic import TypeAdapter

    return TypeAdapter(dict[str, record_type])  # type: ignore[valid-type]


class _AsyncClientScope:
    """The async client of one batch of reads: the caller's, or one made at the first request.

    A client this scope made is closed by :meth:`aclose`; the caller's is left open.
    """

    __slots__ = ("_client", "_factory", "_owned")

    def __init__(self, client: httpx.AsyncClient | None, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._client = client
        self._factory = factory
        self._owned = False

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._factory()
            self._owned = True
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owned:
            await client.aclose()


class DeferredPrefetchHandle(Awaitable[None]):
    """A cache warm-up the caller triggers later.

    Run it with ``handle.run_sync()``, ``await handle.run_async()`` or ``await handle``.
    """

    def __init__(self, *, manager: ModelReferenceManager, force_refresh: bool) -> None:
        """Bind the handle to ``manager``; ``force_refresh`` refetches even cached data."""
        self._manager = manager
        self._force_refresh = force_refresh
        self._done = False

    @property
    def force_refresh(self) -> bool:
        """Whether running the handle bypasses cached data."""
        return self._force_refresh

    @property
    def done(self) -> bool:
        """Whether the warm-up has run to completion at least once."""
        return self._done

    def run_sync(self) -> None:
        """Warm every category now, on the calling thread (blocks; do not call from async code)."""
        self._manager.ensure_ready(overwrite_existing=self._force_refresh)
        self._done = True

    async def run_async(self, *, httpx_client: httpx.AsyncClient | None = None) -> None:
        """Warm every category concurrently on the running event loop.

        Args:
            httpx_client: An async client to reuse; by default one is created and closed.
        """
        await self._manager.ensure_ready_async(
            overwrite_existing=self._force_refresh,
            httpx_client=httpx_client,
        )
        self._done = True

    def __await__(self) -> Generator[Any, None, None]:
        """``await handle`` is ``await handle.run_async()``."""
        return self.run_async().__await__()


class ModelReferenceManager:
    """Singleton that fetches, caches and serves the model reference.

    The first construction fixes the configuration. Calling ``ModelReferenceManager()``
    again returns the same instance; passing an argument that differs from the first
    call raises ``RuntimeError``. Retrieve it anywhere with ``ModelReferenceManager()``
    or :meth:`get_instance`.

    Reads come in two flavours: ``get_model_reference(category)`` raises
    ``RuntimeError`` when a category is unavailable, ``get_model_reference_or_none``
    returns None instead (and never lets a network error escape). Each has an ``_async``
    twin; do not call the sync methods from inside a running event loop (they block it).

    Returned dictionaries and records are shared with the cache: treat them as
    read-only.
    """

    _instance: ModelReferenceManager | None = None
    _lock: threading.RLock = threading.RLock()

    _settings: HordeModelReferenceSettings
    _prefetch_strategy: PrefetchStrategy
    _sources: tuple[ReferenceSource, ...]
    _custom_sources: bool
    _disk: DiskCache
    _states: dict[MODEL_REFERENCE_CATEGORY, _CategoryState]
    _refresh_locks: dict[MODEL_REFERENCE_CATEGORY, threading.Lock]
    _async_locks: dict[MODEL_REFERENCE_CATEGORY, tuple[asyncio.AbstractEventLoop, asyncio.Lock]]
    _client: httpx.Client | None
    _client_lock: threading.Lock
    _deferred_prefetch_handle: DeferredPrefetchHandle | None
    _async_prefetch_task: asyncio.Task[None] | None
    _popular_cache: Any

    # ------------------------------------------------------------------ lifecycle

    def __new__(
        cls,
        *,
        backend: ReferenceSource | None = None,
        prefetch_strategy: PrefetchStrategy | str | _Unset = _UNSET,
        settings: HordeModelReferenceSettings | _Unset = _UNSET,
        base_path: str | Path | _Unset = _UNSET,
        sources: Sequence[ReferenceSource] | _Unset = _UNSET,
        replicate_mode: ReplicateMode | str | _Unset = _UNSET,
        offline: bool | _Unset = _UNSET,
    ) -> ModelReferenceManager:
        """Create the manager on first call; return the same instance afterwards.

        Args:
            backend: The one source to read from instead of the configured chain (the
                established meaning: None selects the backend from the settings). Any
                :class:`~horde_model_reference.backends.ReferenceSource`, e.g.
                ``PrimaryApiSource(url)``, ``ExportSource(path)`` or ``GitHubLegacySource(...)``;
                the disk cache is still used.
            prefetch_strategy: When to fetch (default :attr:`PrefetchStrategy.LAZY`).
            settings: Configuration; default: the ``HORDE_MODEL_REFERENCE_*`` environment
                variables as read at import (``settings.horde_model_reference_settings``).
            base_path: The disk cache directory, overriding ``settings.cache_dir``.
            sources: Custom sources replacing the configured primary/export/GitHub chain
                (the disk cache is still used).
            replicate_mode: Accepted for compatibility; only ``REPLICA`` (read-only) is
                supported by this client.
            offline: Serve only the disk cache and never touch the network (default:
                ``settings.offline``, i.e. ``HORDE_MODEL_REFERENCE_OFFLINE``).

        Raises:
            RuntimeError: When an instance exists and an argument differs from the first call.
            ValueError: For an unknown prefetch strategy, ``replicate_mode=PRIMARY``, both
                ``backend`` and ``sources``, or a backend or sources together with offline mode.
            TypeError: When ``backend`` is not a ``ReferenceSource``.
        """
        if backend is not None:
            if not isinstance(backend, ReferenceSource):
                raise TypeError(
                    "backend must be a horde_model_reference.backends.ReferenceSource "
                    f"(or None for the configured sources), not {type(backend).__name__}"
                )
            if not isinstance(sources, _Unset):
                raise ValueError("Pass either backend or sources, not both.")
            sources = (backend,)
        strategy: PrefetchStrategy | _Unset = _UNSET
        if not isinstance(prefetch_strategy, _Unset):
            try:
                strategy = PrefetchStrategy(prefetch_strategy)
            except ValueError as error:
                choices = ", ".join(s.value for s in PrefetchStrategy)
                raise ValueError(f"prefetch_strategy must be one of: {choices}") from error
        if not isinstance(replicate_mode, _Unset) and ReplicateMode(replicate_mode) != ReplicateMode.REPLICA:
            raise ValueError("This client is read-only: only replicate_mode=REPLICA is supported.")

        with cls._lock:
            existing = cls._instance
            if existing is not None:
                existing._check_same_configuration(strategy, settings, base_path, sources, offline)
                return existing

            resolved = (
                settings
                if not isinstance(settings, _Unset)
                else settings_module.horde_model_reference_settings
            )
            if not isinstance(base_path, _Unset):
                resolved = resolved.model_copy(update={"cache_dir": Path(base_path)})
            if not isinstance(offline, _Unset):
                resolved = resolved.model_copy(update={"offline": bool(offline)})
            if resolved.offline and not isinstance(sources, _Unset):
                raise ValueError(
                    "Offline mode reads only the disk cache; it cannot be combined with a backend or sources."
                )
            instance = super().__new__(cls)
            instance._setup(
                resolved,
                sources=None if isinstance(sources, _Unset) else tuple(sources),
            )
            cls._instance = instance
            # Applied after publishing the instance: a SYNC warm-up that fails midway must
            # not leave a half-built singleton that a retry would construct again.
            instance._apply_prefetch_strategy(
                PrefetchStrategy.LAZY if isinstance(strategy, _Unset) else strategy
            )
            return instance

    def _setup(
        self, settings: HordeModelReferenceSettings, *, sources: tuple[ReferenceSource, ...] | None
    ) -> None:
        self._settings = settings
        self._custom_sources = sources is not None
        if settings.offline:
            self._sources = ()  # no source at all: nothing can open a connection
        else:
            self._sources = sources if sources is not None else build_sources(settings)
        self._disk = DiskCache(settings.cache_dir)
        self._states = {}
        self._refresh_locks = {category: threading.Lock() for category in MODEL_REFERENCE_CATEGORY}
        self._async_locks = {}
        self._client = None
        self._client_lock = threading.Lock()
        self._deferred_prefetch_handle = None
        self._async_prefetch_task = None
        self._prefetch_strategy = PrefetchStrategy.LAZY
        self._popular_cache = None

    def _check_same_configuration(
        self,
        strategy: PrefetchStrategy | _Unset,
        settings: HordeModelReferenceSettings | _Unset,
        base_path: str | Path | _Unset,
        sources: Sequence[ReferenceSource] | _Unset,
        offline: bool | _Unset = _UNSET,
    ) -> None:
        differences: list[str] = []
        if not isinstance(offline, _Unset) and bool(offline) != self._settings.offline:
            differences.append(f"offline={self._settings.offline} (requested {bool(offline)})")
        if not isinstance(strategy, _Unset) and strategy != self._prefetch_strategy:
            differences.append(
                f"prefetch_strategy={self._prefetch_strategy.value} (requested {strategy.value})"
            )
        if not isinstance(settings, _Unset):
            expected = settings
            if not isinstance(base_path, _Unset):
                expected = expected.model_copy(update={"cache_dir": Path(base_path)})
            if expected != self._settings:
                differences.append("settings")
        elif not isinstance(base_path, _Unset) and Path(base_path) != self._settings.cache_dir:
            differences.append(f"base_path={self._settings.cache_dir} (requested {base_path})")
        if not isinstance(sources, _Unset) and (not self._custom_sources or tuple(sources) != self._sources):
            differences.append("sources")
        if differences:
            raise RuntimeError(
                "ModelReferenceManager is a singleton and was already created with different settings: "
                + "; ".join(differences)
                + ". Call ModelReferenceManager() without arguments (or get_instance()) to reuse it."
            )

    @classmethod
    def get_instance(cls) -> ModelReferenceManager:
        """Return the existing manager.

        Raises:
            RuntimeError: If no manager has been created yet.
        """
        with cls._lock:
            if cls._instance is None:
                raise RuntimeError("ModelReferenceManager instance has not been created yet.")
            return cls._instance

    @classmethod
    def has_instance(cls) -> bool:
        """Whether the manager has been created."""
        with cls._lock:
            return cls._instance is not None

    @classmethod
    def reset(cls) -> None:
        """Drop the singleton so a new one can be configured (tests and tools only).

        Cancels a pending async warm-up and closes the HTTP client. The disk cache is kept.
        """
        with cls._lock:
            instance, cls._instance = cls._instance, None
        if instance is None:
            return
        task = instance._async_prefetch_task
        if task is not None and not task.done():
            # The task's loop may already be closed (a finished test); then it cannot run anyway.
            with contextlib.suppress(RuntimeError):
                task.cancel()
        instance._async_prefetch_task = None
        instance._deferred_prefetch_handle = None
        with instance._client_lock:
            client, instance._client = instance._client, None
        if client is not None:
            client.close()

    # ------------------------------------------------------------------ configuration

    @property
    def settings(self) -> HordeModelReferenceSettings:
        """The configuration this manager was created with."""
        return self._settings

    @property
    def sources(self) -> tuple[ReferenceSource, ...]:
        """The network sources, in the order they are tried."""
        return self._sources

    @property
    def disk_cache(self) -> DiskCache:
        """The on-disk store of the last good data."""
        return self._disk

    @property
    def offline(self) -> bool:
        """Whether only the disk cache is served (no network access at all)."""
        return self._settings.offline

    @property
    def prefetch_strategy(self) -> PrefetchStrategy:
        """The prefetch strategy the manager was created with."""
        return self._prefetch_strategy

    @property
    def deferred_prefetch_handle(self) -> DeferredPrefetchHandle | None:
        """The handle of a DEFERRED (or loop-less ASYNC) warm-up, if any."""
        return self._deferred_prefetch_handle

    @property
    def is_warm(self) -> bool:
        """Whether every category has been loaded (or found unavailable) at least once."""
        return all(
            category in self._states
            for category in MODEL_REFERENCE_CATEGORY
            if category not in CATEGORIES_MANAGED_ELSEWHERE
        )

    @property
    def prefetch_pending(self) -> bool:
        """Whether an automatic warm-up is scheduled or waiting to be triggered."""
        task = self._async_prefetch_task
        if task is not None and not task.done():
            return True
        handle = self._deferred_prefetch_handle
        return handle is not None and not handle.done and not self.is_warm

    def _apply_prefetch_strategy(self, strategy: PrefetchStrategy) -> None:
        self._prefetch_strategy = strategy
        if strategy in (PrefetchStrategy.LAZY, PrefetchStrategy.NONE):
            return
        if strategy is PrefetchStrategy.SYNC:
            self.ensure_ready()
            return
        if strategy is PrefetchStrategy.DEFERRED:
            self.create_deferred_prefetch_handle()
            return
        self._schedule_async_prefetch()

    def create_deferred_prefetch_handle(self, *, force_refresh: bool = False) -> DeferredPrefetchHandle:
        """Create (and remember as :attr:`deferred_prefetch_handle`) a warm-up handle.

        Args:
            force_refresh: Whether running it refetches data that is still cached.
        """
        handle = DeferredPrefetchHandle(manager=self, force_refresh=force_refresh)
        self._deferred_prefetch_handle = handle
        return handle

    def _schedule_async_prefetch(self) -> None:
        import asyncio

        handle = self.create_deferred_prefetch_handle()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning(
                "PrefetchStrategy.ASYNC requested but no event loop is running; run "
                "manager.deferred_prefetch_handle (run_sync() or await it) to warm the cache."
            )
            return
        task = loop.create_task(handle.run_async(), name="horde-model-reference-prefetch")
        self._async_prefetch_task = task

        def _report(completed: asyncio.Task[None]) -> None:
            if completed.cancelled():
                return
            error = completed.exception()
            if error is not None:
                logger.error("Background prefetch of the model reference failed: %s", error)

        task.add_done_callback(_report)

    @property
    def async_prefetch_task(self) -> asyncio.Task[None] | None:
        """The background warm-up task of the ASYNC strategy, if one was scheduled."""
        return self._async_prefetch_task

    # ------------------------------------------------------------------ state machinery

    @staticmethod
    def _category(category: MODEL_REFERENCE_CATEGORY | str) -> MODEL_REFERENCE_CATEGORY:
        if isinstance(category, MODEL_REFERENCE_CATEGORY):
            return category
        try:
            return MODEL_REFERENCE_CATEGORY(category)
        except ValueError:
            known = ", ".join(c.value for c in MODEL_REFERENCE_CATEGORY)
            raise ValueError(
                f"Unknown model reference category {category!r}; expected one of: {known}"
            ) from None

    def _sync_client(self) -> httpx.Client:
        client = self._client
        if client is None:
            with self._client_lock:
                client = self._client
                if client is None:
                    import httpx

                    client = httpx.Client(
                        timeout=self._settings.primary_api_timeout,
                        follow_redirects=True,
                        headers={"User-Agent": _USER_AGENT},
                    )
                    self._client = client
        return client

    def _new_async_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            timeout=self._settings.primary_api_timeout,
            follow_redirects=True,
            headers={"User-Agent": _USER_AGENT},
        )

    def _fresh_state(self, category: MODEL_REFERENCE_CATEGORY) -> _CategoryState | None:
        """The cached state when it is still within its TTL (the hot path: no I/O)."""
        if category in CATEGORIES_MANAGED_ELSEWHERE:
            return _MANAGED_ELSEWHERE_STATE
        state = self._states.get(category)
        if state is not None and state.expires_at > time.monotonic():
            return state
        return None

    def _state(self, category: MODEL_REFERENCE_CATEGORY, force: bool) -> _CategoryState:
        if not force:
            state = self._fresh_state(category)
            if state is not None:
                return state
        elif category in CATEGORIES_MANAGED_ELSEWHERE:
            return _MANAGED_ELSEWHERE_STATE
        # One refresh per category at a time: concurrent readers wait for it and reuse it.
        with self._refresh_locks[category]:
            if not force:
                state = self._fresh_state(category)
                if state is not None:
                    return state
            # The client is created at the first request: reading a local export sends none.
            return drive_sync_lazy(self._refresh_steps(category, force=force), self._sync_client)

    def _async_lock(self, category: MODEL_REFERENCE_CATEGORY) -> asyncio.Lock:
        import asyncio

        # asyncio locks belong to one event loop; a new loop (a new asyncio.run) gets new ones.
        loop = asyncio.get_running_loop()
        entry = self._async_locks.get(category)
        if entry is None or entry[0] is not loop:
            entry = (loop, asyncio.Lock())
            self._async_locks[category] = entry
        return entry[1]

    async def _state_async(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        force: bool,
        client: _AsyncClientScope,
    ) -> _CategoryState:
        if not force:
            state = self._fresh_state(category)
            if state is not None:
                return state
        elif category in CATEGORIES_MANAGED_ELSEWHERE:
            return _MANAGED_ELSEWHERE_STATE
        async with self._async_lock(category):
            if not force:
                state = self._fresh_state(category)
                if state is not None:
                    return state
            return await drive_async_lazy(self._refresh_steps(category, force=force), client.get)

    @contextlib.asynccontextmanager
    async def _async_client_scope(self, client: httpx.AsyncClient | None) -> AsyncIterator[_AsyncClientScope]:
        scope = _AsyncClientScope(client, self._new_async_client)
        try:
            yield scope
        finally:
            await scope.aclose()

    async def _states_async(
        self,
        categories: Iterable[MODEL_REFERENCE_CATEGORY],
        force: bool,
        client: httpx.AsyncClient | None,
    ) -> dict[MODEL_REFERENCE_CATEGORY, _CategoryState]:
        states: dict[MODEL_REFERENCE_CATEGORY, _CategoryState] = {}
        pending: list[MODEL_REFERENCE_CATEGORY] = []
        for category in categories:
            fresh = None if force else self._fresh_state(category)
            if fresh is not None:
                states[category] = fresh
            elif category in CATEGORIES_MANAGED_ELSEWHERE:
                states[category] = _MANAGED_ELSEWHERE_STATE
            else:
                pending.append(category)
        if pending:
            import asyncio

            # The client is only created when something actually needs the network.
            async with self._async_client_scope(client) as active:
                results = await asyncio.gather(*(self._state_async(c, force, active) for c in pending))
            states.update(zip(pending, results, strict=True))
        return states

    def _expiry(self) -> float:
        return time.monotonic() + self._settings.cache_ttl_seconds

    def _store(self, category: MODEL_REFERENCE_CATEGORY, state: _CategoryState) -> _CategoryState:
        self._states[category] = state
        return state

    def _parse(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        document: Mapping[str, Any],
        *,
        what: str,
    ) -> tuple[dict[str, GenericModelRecord], tuple[str, ...]]:
        """Validate every record leniently: an invalid one is skipped, the rest kept."""
        record_type = get_record_type_for_category(category)
        records: dict[str, GenericModelRecord] = {}
        if not document:
            return records, ()
        if all(isinstance(value, dict) and "name" in value for value in document.values()):
            # The fast path: the whole document in one call into pydantic-core. Only when
            # some record is invalid does the record-by-record path below run (again).
            try:
                parsed = _document_adapter(record_type).validate_python(document)
            except ValidationError:
                pass
            else:
                for record in parsed.values():
                    self._keep(records, record, category, what)
                return records, ()
        skipped: list[str] = []
        reasons: list[str] = []
        for key, value in document.items():
            if not isinstance(value, dict):
                skipped.append(key)
                reasons.append(f"{key}: not an object")
                continue
            if "name" not in value:
                # The key is the record's identity; a record that omits its name still has one.
                value = {**value, "name": key}
            try:
                record = record_type.model_validate(value)
            except ValidationError as error:
                skipped.append(key)
                reasons.append(f"{key}: {error.error_count()} error(s), first: {error.errors()[0]['msg']}")
                continue
            self._keep(records, record, category, what)
        if skipped:
            logger.warning(
                "Skipped %d of %d %s record(s) from %s that could not be parsed: %s",
                len(skipped),
                len(document),
                category.value,
                what,
                "; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else ""),
            )
        return records, tuple(skipped)

    @staticmethod
    def _keep(
        records: dict[str, GenericModelRecord],
        record: GenericModelRecord,
        category: MODEL_REFERENCE_CATEGORY,
        what: str,
    ) -> None:
        # Keyed by the record's own name, as the established library does (for a few
        # records the document key differs, e.g. controlnet control_qr_sdxl).
        if record.name in records:
            logger.warning(
                "Duplicate model name %r in %s (%s); the later record wins", record.name, category, what
            )
        records[record.name] = record

    def _state_from_document(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        document: dict[str, Any],
        *,
        origin: str,
        validator: str | None,
        served_from: DataSource,
        confirmed_at: float,
    ) -> _CategoryState:
        records, skipped = self._parse(category, document, what=served_from)
        return _CategoryState(
            document=document,
            records=records,
            skipped=skipped,
            origin=origin,
            validator=validator,
            served_from=served_from,
            confirmed_at=confirmed_at,
            expires_at=self._expiry(),
        )

    def _state_from_disk(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        cached: CachedDocument,
        *,
        served_from: DataSource,
        confirmed_at: float,
    ) -> _CategoryState:
        return self._state_from_document(
            category,
            cached.document,
            origin=cached.source,
            validator=cached.validator,
            served_from=served_from,
            confirmed_at=confirmed_at,
        )

    def _refresh_steps(self, category: MODEL_REFERENCE_CATEGORY, *, force: bool) -> Steps[_CategoryState]:
        """Refresh one category (sans I/O: run by :func:`drive_sync` or :func:`drive_async`)."""
        if self._settings.offline:
            return self._store(category, self._offline_state(category))
        ttl = self._settings.cache_ttl_seconds
        current = self._states.get(category)
        if current is not None and current.document is None:
            current = None
        cached: CachedDocument | None = None
        if current is None:
            cached = self._disk.read(category.value)
            if cached is not None and not force and time.time() - cached.confirmed_at < ttl:
                # Another process confirmed this data moments ago: reuse it instead of asking again.
                return self._store(
                    category,
                    self._state_from_disk(
                        category,
                        cached,
                        served_from=cast(DataSource, cached.source),
                        confirmed_at=cached.confirmed_at,
                    ),
                )

        held_origin = current.origin if current is not None else (cached.source if cached else None)
        held_validator = current.validator if current is not None else (cached.validator if cached else None)
        failures: list[str] = []
        for source in self._sources:
            validator = held_validator if not force and source.name == held_origin else None
            try:
                outcome = yield from source.steps(category.value, validator)
            except Exception as error:  # any failure of one source means: try the next
                failures.append(f"{source.describe()}: {type(error).__name__}: {error}")
                continue
            if outcome is None:
                continue
            now = time.time()
            if isinstance(outcome, NotModified):
                self._disk.touch(category.value)
                if current is not None:
                    return self._store(
                        category,
                        replace(
                            current,
                            served_from=cast(DataSource, source.name),
                            confirmed_at=now,
                            expires_at=self._expiry(),
                        ),
                    )
                if cached is not None:
                    return self._store(
                        category,
                        self._state_from_disk(
                            category, cached, served_from=cast(DataSource, source.name), confirmed_at=now
                        ),
                    )
                failures.append(f"{source.describe()}: answered 'not modified' for data we do not hold")
                continue
            self._disk.write(category.value, outcome.body, source=outcome.source, validator=outcome.validator)
            return self._store(
                category,
                self._state_from_document(
                    category,
                    outcome.document,
                    origin=outcome.source,
                    validator=outcome.validator,
                    served_from=cast(DataSource, outcome.source),
                    confirmed_at=now,
                ),
            )

        return self._store(category, self._fallback_state(category, current, cached, failures))

    def _offline_state(self, category: MODEL_REFERENCE_CATEGORY) -> _CategoryState:
        """The disk cache's copy, re-read each TTL so another process's refresh is picked up."""
        cached = self._disk.read(category.value)
        if cached is not None:
            return self._state_from_disk(
                category, cached, served_from="disk_cache", confirmed_at=cached.confirmed_at
            )
        logger.error(
            "Offline mode: no cached data for %s in %s (run once online to fill the cache)",
            category.value,
            self._disk_location(),
        )
        return _CategoryState(
            document=None,
            records=None,
            skipped=(),
            origin=None,
            validator=None,
            served_from="unavailable",
            confirmed_at=None,
            expires_at=self._expiry(),
        )

    def _disk_location(self) -> str:
        return str(self._settings.cache_dir)

    def _unavailable_message(self, category: MODEL_REFERENCE_CATEGORY) -> str:
        if self._settings.offline:
            return (
                f"Model reference for category {category.value} is not in the disk cache "
                f"({self._disk_location()}) and offline mode (HORDE_MODEL_REFERENCE_OFFLINE) "
                "forbids downloading it; run once online to fill the cache."
            )
        return f"Model reference for category {category.value} not found or could not be parsed."

    def _fallback_state(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        current: _CategoryState | None,
        cached: CachedDocument | None,
        failures: list[str],
    ) -> _CategoryState:
        """What to serve when no source delivered: held data, the disk cache, or nothing."""
        reasons = "; ".join(failures) if failures else "no source is configured for it"
        if current is not None and current.confirmed_at is not None:
            logger.warning(
                "Could not refresh %s (%s); still serving the data confirmed %.0f s ago",
                category.value,
                reasons,
                time.time() - current.confirmed_at,
            )
            # Retried after another TTL, so a dead source is not hammered on every read.
            return replace(current, expires_at=self._expiry())
        cached = cached if cached is not None else self._disk.read(category.value)
        if cached is not None:
            logger.warning(
                "Every source failed for %s (%s); serving the disk cache from %s, %.0f s old",
                category.value,
                reasons,
                cached.source,
                time.time() - cached.confirmed_at,
            )
            return self._state_from_disk(
                category, cached, served_from="disk_cache", confirmed_at=cached.confirmed_at
            )
        descriptor = CATEGORY_DESCRIPTORS[category]
        if descriptor.legacy_filename is None and any(s.name == "github" for s in self._sources):
            # No public repository has this category (video, audio, annotators): from the
            # fallback's point of view it is empty, which is not the same as unreachable.
            logger.info(
                "No data for %s from any source (%s); it has no legacy file, so it is empty",
                category,
                reasons,
            )
            return _CategoryState(
                document={},
                records={},
                skipped=(),
                origin=None,
                validator=None,
                served_from="empty",
                confirmed_at=None,
                expires_at=self._expiry(),
            )
        logger.error("No data available for %s: %s", category.value, reasons)
        return _CategoryState(
            document=None,
            records=None,
            skipped=(),
            origin=None,
            validator=None,
            served_from="unavailable",
            confirmed_at=None,
            expires_at=self._expiry(),
        )

    # ------------------------------------------------------------------ freshness

    def data_age_seconds(self, category: MODEL_REFERENCE_CATEGORY | str) -> float | None:
        """Seconds since a live source last delivered or confirmed the category's data.

        Grows while every source is down and the data is served from memory or the disk
        cache. None when nothing has been loaded, or the category has no data.
        """
        state = self._states.get(self._category(category))
        if state is None or state.confirmed_at is None:
            return None
        return max(0.0, time.time() - state.confirmed_at)

    def data_source(self, category: MODEL_REFERENCE_CATEGORY | str) -> DataSource | None:
        """Where the category's current data came from, or None before it was loaded.

        One of ``primary``, ``export``, ``github``, ``disk_cache`` (every source failed),
        ``empty`` (no source has this category), ``unavailable`` or ``managed_elsewhere``.
        """
        member = self._category(category)
        if member in CATEGORIES_MANAGED_ELSEWHERE:
            return "managed_elsewhere"
        state = self._states.get(member)
        return None if state is None else state.served_from

    def skipped_records(self, category: MODEL_REFERENCE_CATEGORY | str) -> tuple[str, ...]:
        """Keys of the category's records that could not be parsed at the last load."""
        state = self._states.get(self._category(category))
        return () if state is None else state.skipped

    def invalidate_category_cache(self, category: MODEL_REFERENCE_CATEGORY | str) -> None:
        """Make the next read of ``category`` revalidate with its source.

        The data is kept (and its validator), so an unchanged category costs a 304.
        """
        member = self._category(category)
        state = self._states.get(member)
        if state is not None:
            self._states[member] = replace(state, expires_at=0.0)

    def invalidate_all(self) -> None:
        """:meth:`invalidate_category_cache` for every category."""
        for category in list(self._states):
            self.invalidate_category_cache(category)

    # ------------------------------------------------------------------ warm-up

    def ensure_ready(self, *, overwrite_existing: bool = False) -> None:
        """Load every category now (blocking); with ``overwrite_existing``, refetch them all."""
        self.get_all_model_references_or_none(overwrite_existing=overwrite_existing)

    async def ensure_ready_async(
        self,
        *,
        overwrite_existing: bool = False,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> None:
        """Load every category concurrently; with ``overwrite_existing``, refetch them all.

        Args:
            overwrite_existing: Refetch even data that is still cached.
            httpx_client: An async client to reuse; by default one is created and closed.
        """
        await self.warm_cache_async(force_refresh=overwrite_existing, httpx_client=httpx_client)

    async def warm_cache_async(
        self,
        *,
        force_refresh: bool = False,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> None:
        """Warm the cache of every category concurrently (see :meth:`ensure_ready_async`)."""
        await self.get_all_model_references_or_none_async(
            overwrite_existing=force_refresh,
            httpx_client=httpx_client,
        )

    # ------------------------------------------------------------------ reads: all categories

    def _check_safe_mode(self, states: Mapping[MODEL_REFERENCE_CATEGORY, _CategoryState]) -> None:
        broken = {c.value: s.skipped for c, s in states.items() if s.skipped}
        if broken:
            raise ValueError(f"Some records could not be parsed: {broken}")

    def get_all_model_references_or_none(
        self,
        overwrite_existing: bool = False,
        *,
        safe_mode: bool = False,
    ) -> dict[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord] | None]:
        """Every category's records, ``{category: {name: record} | None}``.

        A value is None when nothing at all is available for the category (and always
        for ``lora`` and ``ti``, which are managed elsewhere). Network errors never
        escape.

        Args:
            overwrite_existing: Refetch every category even if cached.
            safe_mode: Raise ``ValueError`` when any record was skipped as unparseable
                (by default such records are skipped with a warning).
        """
        states = {
            category: self._state(category, overwrite_existing) for category in MODEL_REFERENCE_CATEGORY
        }
        if safe_mode:
            self._check_safe_mode(states)
        return {category: state.records for category, state in states.items()}

    @staticmethod
    def _safe_view(
        references: Mapping[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord] | None],
    ) -> dict[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord]]:
        missing = [
            c.value for c, r in references.items() if r is None and c not in CATEGORIES_MANAGED_ELSEWHERE
        ]
        if missing:
            logger.error("Missing model references for categories: %s", missing)
        return {category: reference or {} for category, reference in references.items()}

    def get_all_model_references(
        self,
        overwrite_existing: bool = False,
    ) -> dict[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord]]:
        """Every category's records; an unavailable category maps to ``{}`` (and is logged).

        Args:
            overwrite_existing: Refetch every category even if cached.
        """
        return self._safe_view(self.get_all_model_references_or_none(overwrite_existing=overwrite_existing))

    async def get_all_model_references_or_none_async(
        self,
        overwrite_existing: bool = False,
        *,
        safe_mode: bool = False,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> dict[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord] | None]:
        """Async :meth:`get_all_model_references_or_none`; categories are fetched concurrently.

        Args:
            overwrite_existing: Refetch every category even if cached.
            safe_mode: Raise ``ValueError`` when any record was skipped as unparseable.
            httpx_client: An async client to reuse; by default one is created and closed.
        """
        states = await self._states_async(MODEL_REFERENCE_CATEGORY, overwrite_existing, httpx_client)
        if safe_mode:
            self._check_safe_mode(states)
        return {category: states[category].records for category in MODEL_REFERENCE_CATEGORY}

    async def get_all_model_references_async(
        self,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> dict[MODEL_REFERENCE_CATEGORY, dict[str, GenericModelRecord]]:
        """Async :meth:`get_all_model_references` (unavailable categories map to ``{}``)."""
        return self._safe_view(
            await self.get_all_model_references_or_none_async(overwrite_existing, httpx_client=httpx_client)
        )

    # ------------------------------------------------------------------ reads: one category

    def get_model_reference_or_none(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> dict[str, GenericModelRecord] | None:
        """The category's records ``{name: record}``, or None when nothing is available.

        Args:
            category: A :class:`MODEL_REFERENCE_CATEGORY` member or its string value.
            overwrite_existing: Refetch even if cached.

        Raises:
            ValueError: For an unknown category name (a programming error, not a data one).
        """
        return self._state(self._category(category), overwrite_existing).records

    def get_model_reference(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> dict[str, GenericModelRecord]:
        """The category's records ``{name: record}``.

        The values are the category's record class (e.g. ``ImageGenerationModelRecord``);
        the typed properties (``manager.image_generation_models``) say so to type checkers.

        Args:
            category: A :class:`MODEL_REFERENCE_CATEGORY` member or its string value.
            overwrite_existing: Refetch even if cached.

        Raises:
            RuntimeError: When no data is available for the category (or it is managed elsewhere).
        """
        member = self._category(category)
        records = self._state(member, overwrite_existing).records
        if records is None:
            raise RuntimeError(self._unavailable_message(member))
        return records

    async def get_model_reference_or_none_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> dict[str, GenericModelRecord] | None:
        """Async :meth:`get_model_reference_or_none`."""
        member = self._category(category)
        states = await self._states_async((member,), overwrite_existing, httpx_client)
        return states[member].records

    async def get_model_reference_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> dict[str, GenericModelRecord]:
        """Async :meth:`get_model_reference`.

        Raises:
            RuntimeError: When no data is available for the category.
        """
        member = self._category(category)
        records = await self.get_model_reference_or_none_async(
            member, overwrite_existing, httpx_client=httpx_client
        )
        if records is None:
            raise RuntimeError(self._unavailable_message(member))
        return records

    def get_model_names_or_none(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> list[str] | None:
        """The category's model names, or None when nothing is available."""
        records = self.get_model_reference_or_none(category, overwrite_existing)
        return None if records is None else list(records)

    def get_model_names(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> list[str]:
        """The category's model names.

        Raises:
            RuntimeError: When no data is available for the category.
        """
        return list(self.get_model_reference(category, overwrite_existing))

    async def get_model_names_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> list[str]:
        """Async :meth:`get_model_names`."""
        return list(
            await self.get_model_reference_async(category, overwrite_existing, httpx_client=httpx_client)
        )

    def get_model_or_none(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        model_name: str,
        overwrite_existing: bool = False,
    ) -> GenericModelRecord | None:
        """One model's record, or None when it (or its category) is not available."""
        records = self.get_model_reference_or_none(category, overwrite_existing)
        return None if records is None else records.get(model_name)

    def get_model(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        model_name: str,
        overwrite_existing: bool = False,
    ) -> GenericModelRecord:
        """One model's record.

        Raises:
            RuntimeError: When the category is unavailable or has no such model.
        """
        member = self._category(category)
        record = self.get_model_reference(member, overwrite_existing).get(model_name)
        if record is None:
            raise RuntimeError(f"Model {model_name} not found in category {member.value}.")
        return record

    async def get_model_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        model_name: str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> GenericModelRecord:
        """Async :meth:`get_model`."""
        member = self._category(category)
        records = await self.get_model_reference_async(member, overwrite_existing, httpx_client=httpx_client)
        record = records.get(model_name)
        if record is None:
            raise RuntimeError(f"Model {model_name} not found in category {member.value}.")
        return record

    def get_raw_model_reference_json(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> dict[str, Any] | None:
        """The category's v2 document as served (``{key: record dict}``), without validation.

        Keys are the document's keys (which, for a few records, differ from
        ``record.name``). None when nothing is available.
        """
        return self._state(self._category(category), overwrite_existing).document

    def get_raw_model_json(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        model_name: str,
        overwrite_existing: bool = False,
    ) -> dict[str, Any] | None:
        """One record's raw v2 dict (looked up by document key, then by name), or None."""
        document = self.get_raw_model_reference_json(category, overwrite_existing)
        if document is None:
            return None
        raw = document.get(model_name)
        if raw is None:
            # Records are keyed by name elsewhere in the API; accept that spelling here too.
            raw = next(
                (v for v in document.values() if isinstance(v, dict) and v.get("name") == model_name), None
            )
        return raw if isinstance(raw, dict) else None

    # ------------------------------------------------------------------ serialisation helpers

    @staticmethod
    def model_reference_to_json_dict(
        model_reference: Mapping[str, GenericModelRecord],
        safe_mode: bool = False,
    ) -> dict[str, Any] | None:
        """``{name: record.model_dump(exclude_unset=True)}``; None on failure unless ``safe_mode``."""
        try:
            return {name: record.model_dump(exclude_unset=True) for name, record in model_reference.items()}
        except Exception:
            if safe_mode:
                raise
            logger.exception("Failed to convert a model reference to JSON")
            return None

    @staticmethod
    def model_reference_to_json_dict_safe(
        model_reference: Mapping[str, GenericModelRecord],
    ) -> dict[str, Any]:
        """:meth:`model_reference_to_json_dict` that raises instead of returning None."""
        result = ModelReferenceManager.model_reference_to_json_dict(model_reference, safe_mode=True)
        assert result is not None
        return result

    # ------------------------------------------------------------------ typed properties

    def _get_typed_models(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        *,
        record_type: type[TModelRecord],
    ) -> dict[str, TModelRecord]:
        # Every record was validated with the category's registered class, so this is a
        # view, not a copy: the typed properties cost no more than get_model_reference.
        del record_type
        return cast(dict[str, TModelRecord], self.get_model_reference(category))

    @property
    def blip_models(self) -> dict[str, BlipModelRecord]:
        """BLIP models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.blip, record_type=BlipModelRecord)

    @property
    def clip_models(self) -> dict[str, ClipModelRecord]:
        """CLIP models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.clip, record_type=ClipModelRecord)

    @property
    def codeformer_models(self) -> dict[str, CodeformerModelRecord]:
        """CodeFormer models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.codeformer, record_type=CodeformerModelRecord)

    @property
    def controlnet_models(self) -> dict[str, ControlNetModelRecord]:
        """ControlNet models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.controlnet, record_type=ControlNetModelRecord)

    @property
    def controlnet_annotator_models(self) -> dict[str, ControlNetAnnotatorModelRecord]:
        """ControlNet annotators by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.controlnet_annotator, record_type=ControlNetAnnotatorModelRecord
        )

    @property
    def esrgan_models(self) -> dict[str, EsrganModelRecord]:
        """ESRGAN models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.esrgan, record_type=EsrganModelRecord)

    @property
    def gfpgan_models(self) -> dict[str, GfpganModelRecord]:
        """GFPGAN models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(MODEL_REFERENCE_CATEGORY.gfpgan, record_type=GfpganModelRecord)

    @property
    def safety_checker_models(self) -> dict[str, SafetyCheckerModelRecord]:
        """Safety checker models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.safety_checker, record_type=SafetyCheckerModelRecord
        )

    @property
    def image_generation_models(self) -> dict[str, ImageGenerationModelRecord]:
        """Image generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.image_generation, record_type=ImageGenerationModelRecord
        )

    @property
    def text_generation_models(self) -> dict[str, TextGenerationModelRecord]:
        """Text generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.text_generation, record_type=TextGenerationModelRecord
        )

    @property
    def audio_generation_models(self) -> dict[str, AudioGenerationModelRecord]:
        """Audio generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.audio_generation, record_type=AudioGenerationModelRecord
        )

    @property
    def video_generation_models(self) -> dict[str, VideoGenerationModelRecord]:
        """Video generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.video_generation, record_type=VideoGenerationModelRecord
        )

    @property
    def miscellaneous_models(self) -> dict[str, MiscellaneousModelRecord]:
        """Miscellaneous models by name (raises ``RuntimeError`` when unavailable)."""
        return self._get_typed_models(
            MODEL_REFERENCE_CATEGORY.miscellaneous, record_type=MiscellaneousModelRecord
        )

    # ------------------------------------------------------------------ queries

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["image_generation", MODEL_REFERENCE_CATEGORY.image_generation]
    ) -> ImageGenerationQuery: ...

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["text_generation", MODEL_REFERENCE_CATEGORY.text_generation]
    ) -> TextModelQuery: ...

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["controlnet", MODEL_REFERENCE_CATEGORY.controlnet]
    ) -> ControlNetQuery: ...

    @overload
    def query(
        self, category: MODEL_REFERENCE_CATEGORY | str
    ) -> ModelQuery[GenericModelRecord, AnyFieldName]: ...

    def query(
        self, category: MODEL_REFERENCE_CATEGORY | str
    ) -> (
        ImageGenerationQuery | TextModelQuery | ControlNetQuery | ModelQuery[GenericModelRecord, AnyFieldName]
    ):
        """A query builder over one category's records.

        ``image_generation``, ``text_generation`` and ``controlnet`` give their typed
        builders (:class:`ImageGenerationQuery`, :class:`TextModelQuery`,
        :class:`ControlNetQuery`); other categories a plain :class:`ModelQuery`.
        Example: ``manager.query("image_generation").where(nsfw=False).limit(5).to_list()``.

        Raises:
            RuntimeError: When the category's data is unavailable.
        """
        from horde_model_reference.query import build_query

        member = self._category(category)
        if member == MODEL_REFERENCE_CATEGORY.image_generation:
            return self.query_image_generation()
        if member == MODEL_REFERENCE_CATEGORY.text_generation:
            return self.query_text_generation()
        if member == MODEL_REFERENCE_CATEGORY.controlnet:
            return self.query_controlnet()
        return build_query(self.get_model_reference(member), get_record_type_for_category(member))

    def query_all(self) -> ModelQuery[GenericModelRecord, AnyFieldName]:
        """A query builder over every available category at once (unavailable ones are left out)."""
        from horde_model_reference.query import build_cross_category_query

        return build_cross_category_query(self.get_all_model_references_or_none())

    def query_image_generation(self) -> ImageGenerationQuery:
        """A typed query builder over image generation models."""
        from horde_model_reference.query import build_image_query

        return build_image_query(self.image_generation_models)

    def query_text_generation(self) -> TextModelQuery:
        """A typed query builder over text generation models."""
        from horde_model_reference.query import build_text_query

        return build_text_query(self.text_generation_models)

    def query_controlnet(self) -> ControlNetQuery:
        """A typed query builder over ControlNet models."""
        from horde_model_reference.query import build_controlnet_query

        return build_controlnet_query(self.controlnet_models)

    def _plain_query(
        self, category: MODEL_REFERENCE_CATEGORY, record_type: type[TModelRecord]
    ) -> ModelQuery[TModelRecord, str]:
        from horde_model_reference.query import build_query

        return build_query(self._get_typed_models(category, record_type=record_type), record_type)

    def query_blip(self) -> ModelQuery[BlipModelRecord, GenericFieldName]:
        """A query builder over BLIP models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.blip, BlipModelRecord)

    def query_clip(self) -> ModelQuery[ClipModelRecord, ClipFieldName]:
        """A query builder over CLIP models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.clip, ClipModelRecord)

    def query_codeformer(self) -> ModelQuery[CodeformerModelRecord, GenericFieldName]:
        """A query builder over CodeFormer models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.codeformer, CodeformerModelRecord)

    def query_controlnet_annotator(self) -> ModelQuery[ControlNetAnnotatorModelRecord, str]:
        """A query builder over ControlNet annotators."""
        return self._plain_query(
            MODEL_REFERENCE_CATEGORY.controlnet_annotator, ControlNetAnnotatorModelRecord
        )

    def query_esrgan(self) -> ModelQuery[EsrganModelRecord, GenericFieldName]:
        """A query builder over ESRGAN models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.esrgan, EsrganModelRecord)

    def query_gfpgan(self) -> ModelQuery[GfpganModelRecord, GenericFieldName]:
        """A query builder over GFPGAN models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.gfpgan, GfpganModelRecord)

    def query_safety_checker(self) -> ModelQuery[SafetyCheckerModelRecord, GenericFieldName]:
        """A query builder over safety checker models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.safety_checker, SafetyCheckerModelRecord)

    def query_audio_generation(self) -> ModelQuery[AudioGenerationModelRecord, AudioGenFieldName]:
        """A query builder over audio generation models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.audio_generation, AudioGenerationModelRecord)

    def query_video_generation(self) -> ModelQuery[VideoGenerationModelRecord, VideoGenFieldName]:
        """A query builder over video generation models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.video_generation, VideoGenerationModelRecord)

    def query_miscellaneous(self) -> ModelQuery[MiscellaneousModelRecord, GenericFieldName]:
        """A query builder over miscellaneous models."""
        return self._plain_query(MODEL_REFERENCE_CATEGORY.miscellaneous, MiscellaneousModelRecord)

    # ------------------------------------------------------------------ popularity

    # ------------------------------------------------------------------ metadata

    def _metadata_base_url(self) -> str | None:
        """The API root that serves the metadata routes: the primary source's, if any."""
        if self._settings.offline:
            return None
        for source in self._sources:
            if isinstance(source, PrimaryApiSource):
                return source.base_url
        return None

    def supports_metadata(self) -> bool:
        """Whether per-category metadata can be asked for (a primary API is configured, not offline)."""
        return self._metadata_base_url() is not None

    def _metadata_url(self, category: MODEL_REFERENCE_CATEGORY, raise_if_unsupported: bool) -> str | None:
        from horde_model_reference.model_reference_metadata import metadata_url

        base_url = self._metadata_base_url()
        if base_url is None:
            if raise_if_unsupported:
                reason = "offline mode" if self._settings.offline else "no primary API is configured"
                raise NotImplementedError(f"Metadata is not available: {reason}.")
            return None
        return metadata_url(base_url, category.value)

    def _parse_metadata(self, url: str, body: Any) -> CategoryMetadata | None:
        from horde_model_reference.model_reference_metadata import CategoryMetadata

        try:
            return CategoryMetadata.model_validate(body)
        except ValidationError as error:
            logger.warning("Ignoring malformed metadata from %s: %s", url, error)
            return None

    def get_metadata(
        self, category: MODEL_REFERENCE_CATEGORY | str, *, raise_if_unsupported: bool = False
    ) -> CategoryMetadata | None:
        """The category's metadata from the reference API, or None when it cannot be had.

        Raises:
            NotImplementedError: With ``raise_if_unsupported``, when :meth:`supports_metadata`
                is false.
            ValueError: For an unknown category name.
        """
        from horde_model_reference.model_reference_metadata import json_steps

        url = self._metadata_url(self._category(category), raise_if_unsupported)
        if url is None:
            return None
        try:
            body = drive_sync_lazy(json_steps(url), self._sync_client)
        except Exception as error:  # a read helper: an unreachable server means "unknown"
            logger.warning("Could not read metadata from %s: %s: %s", url, type(error).__name__, error)
            return None
        return self._parse_metadata(url, body)

    async def get_metadata_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        *,
        raise_if_unsupported: bool = False,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> CategoryMetadata | None:
        """Async :meth:`get_metadata`."""
        from horde_model_reference.model_reference_metadata import json_steps

        url = self._metadata_url(self._category(category), raise_if_unsupported)
        if url is None:
            return None
        async with self._async_client_scope(httpx_client) as scope:
            try:
                body = await drive_async_lazy(json_steps(url), scope.get)
            except Exception as error:  # as in get_metadata
                logger.warning("Could not read metadata from %s: %s: %s", url, type(error).__name__, error)
                return None
        return self._parse_metadata(url, body)

    def last_updated(self, category: MODEL_REFERENCE_CATEGORY | str) -> int | None:
        """Unix seconds of the category's last change on the server, or None when unknown."""
        metadata = self.get_metadata(category)
        return None if metadata is None else metadata.last_updated

    async def get_popular_models(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        *,
        limit: int = 10,
        sort_by: PopularSortKey = "worker_count",
        include_workers: bool = False,
    ) -> list[PopularModelResult]:
        """The category's models ranked by live AI Horde statistics (descending).

        Only ``image_generation`` and ``text_generation`` have Horde statistics; other
        categories return ``[]``. Horde responses are cached briefly; when the Horde is
        down the last good statistics are used (with a warning).

        Args:
            category: The category to rank.
            limit: At most this many results.
            sort_by: ``worker_count``, ``usage_day``, ``usage_month`` or ``usage_total``.
            include_workers: Also fetch the worker list (per-model worker summaries).

        Raises:
            HordeUnavailableError: When the Horde cannot be reached and nothing is cached,
                or in offline mode.
        """
        from horde_model_reference.popular import HordeStatsCache, HordeUnavailableError, rank_popular_models

        if self._settings.offline:
            raise HordeUnavailableError(
                "Offline mode (HORDE_MODEL_REFERENCE_OFFLINE): the AI Horde is not asked."
            )
        if self._popular_cache is None:
            self._popular_cache = HordeStatsCache(
                base_url=self._settings.ai_horde_url,
                timeout=self._settings.primary_api_timeout,
                user_agent=_USER_AGENT,
            )
        member = self._category(category)
        return await rank_popular_models(
            member,
            records_loader=self.get_model_reference_or_none_async,
            cache=cast(HordeStatsCache, self._popular_cache),
            limit=limit,
            sort_by=sort_by,
            include_workers=include_workers,
        )


def build_sources(settings: HordeModelReferenceSettings) -> tuple[ReferenceSource, ...]:
    """The network sources the settings configure, in the order they are tried."""
    sources: list[ReferenceSource] = []
    if settings.primary_api_url:
        sources.append(PrimaryApiSource(settings.primary_api_url))
    if settings.export_source:
        sources.append(ExportSource(settings.export_source))
    if settings.enable_github_fallback:
        sources.append(GitHubLegacySource(settings.github_image_base_url, settings.github_text_base_url))
    return tuple(sources)


__all__ = [
    "DataSource",
    "DeferredPrefetchHandle",
    "ModelReferenceManager",
    "PrefetchStrategy",
    "build_sources",
]
