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

This module is the facade: the singleton, its configuration and the warm-up. The work is
done by :mod:`horde_model_reference.manager` (the sans-I/O core, the sync and async
runtimes, the reads and the typed accessors).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from horde_model_reference import settings as settings_module
from horde_model_reference.backends.base import ReferenceSource
from horde_model_reference.manager.async_runtime import AsyncRuntime
from horde_model_reference.manager.core import ReferenceCore, build_sources
from horde_model_reference.manager.freshness import FreshnessReads
from horde_model_reference.manager.metadata import MetadataReads
from horde_model_reference.manager.prefetch import PrefetchStrategy, schedule_async_prefetch
from horde_model_reference.manager.state import DataSource
from horde_model_reference.manager.sync_runtime import SyncRuntime
from horde_model_reference.manager.typed import TypedReads
from horde_model_reference.meta_consts import ReplicateMode
from horde_model_reference.settings import HordeModelReferenceSettings

if TYPE_CHECKING:
    import asyncio

    import httpx

    from horde_model_reference.disk_cache import DiskCache
    from horde_model_reference.popular import HordeStatsCache


class _Unset:
    """Marks a constructor argument the caller did not pass (so it is not compared)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


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


class ModelReferenceManager(TypedReads, MetadataReads, FreshnessReads):
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

    _prefetch_strategy: PrefetchStrategy
    _deferred_prefetch_handle: DeferredPrefetchHandle | None
    _async_prefetch_task: asyncio.Task[None] | None
    _popular_cache: HordeStatsCache | None

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
        self._core = ReferenceCore(settings, sources=sources)
        self._sync = SyncRuntime(self._core)
        self._async = AsyncRuntime(self._core)
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
        current = self._core.settings
        differences: list[str] = []
        if not isinstance(offline, _Unset) and bool(offline) != current.offline:
            differences.append(f"offline={current.offline} (requested {bool(offline)})")
        if not isinstance(strategy, _Unset) and strategy != self._prefetch_strategy:
            differences.append(
                f"prefetch_strategy={self._prefetch_strategy.value} (requested {strategy.value})"
            )
        if not isinstance(settings, _Unset):
            expected = settings
            if not isinstance(base_path, _Unset):
                expected = expected.model_copy(update={"cache_dir": Path(base_path)})
            if expected != current:
                differences.append("settings")
        elif not isinstance(base_path, _Unset) and Path(base_path) != current.cache_dir:
            differences.append(f"base_path={current.cache_dir} (requested {base_path})")
        if not isinstance(sources, _Unset) and (
            not self._core.custom_sources or tuple(sources) != self._core.sources
        ):
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
        instance._sync.close()

    # ------------------------------------------------------------------ configuration

    @property
    def settings(self) -> HordeModelReferenceSettings:
        """The configuration this manager was created with."""
        return self._core.settings

    @property
    def sources(self) -> tuple[ReferenceSource, ...]:
        """The network sources, in the order they are tried."""
        return self._core.sources

    @property
    def disk_cache(self) -> DiskCache:
        """The on-disk store of the last good data."""
        return self._core.disk

    @property
    def offline(self) -> bool:
        """Whether only the disk cache is served (no network access at all)."""
        return self._core.settings.offline

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
        return self._core.is_warm()

    @property
    def prefetch_pending(self) -> bool:
        """Whether an automatic warm-up is scheduled or waiting to be triggered."""
        task = self._async_prefetch_task
        if task is not None and not task.done():
            return True
        handle = self._deferred_prefetch_handle
        return handle is not None and not handle.done and not self.is_warm

    # ------------------------------------------------------------------ warm-up

    def _apply_prefetch_strategy(self, strategy: PrefetchStrategy) -> None:
        self._prefetch_strategy = strategy
        if strategy in (PrefetchStrategy.LAZY, PrefetchStrategy.NONE):
            return
        if strategy is PrefetchStrategy.SYNC:
            self.ensure_ready()
            return
        handle = self.create_deferred_prefetch_handle()
        if strategy is PrefetchStrategy.ASYNC:
            self._async_prefetch_task = schedule_async_prefetch(handle.run_async)

    def create_deferred_prefetch_handle(self, *, force_refresh: bool = False) -> DeferredPrefetchHandle:
        """Create (and remember as :attr:`deferred_prefetch_handle`) a warm-up handle.

        Args:
            force_refresh: Whether running it refetches data that is still cached.
        """
        handle = DeferredPrefetchHandle(manager=self, force_refresh=force_refresh)
        self._deferred_prefetch_handle = handle
        return handle

    @property
    def async_prefetch_task(self) -> asyncio.Task[None] | None:
        """The background warm-up task of the ASYNC strategy, if one was scheduled."""
        return self._async_prefetch_task


__all__ = [
    "DataSource",
    "DeferredPrefetchHandle",
    "ModelReferenceManager",
    "PrefetchStrategy",
    "build_sources",
]
