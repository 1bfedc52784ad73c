"""When the manager warms its cache: the strategies, the deferred handle, the background task."""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from horde_model_reference.manager.state import logger

if TYPE_CHECKING:
    import asyncio

    import httpx

    from horde_model_reference.model_reference_manager import ModelReferenceManager


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


def schedule_async_prefetch(handle: DeferredPrefetchHandle) -> asyncio.Task[None] | None:
    """Run ``handle`` as a task on the running loop; None (and a warning) when none runs."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        logger.warning(
            "PrefetchStrategy.ASYNC requested but no event loop is running; run "
            "manager.deferred_prefetch_handle (run_sync() or await it) to warm the cache."
        )
        return None
    task = loop.create_task(handle.run_async(), name="horde-model-reference-prefetch")

    def _report(completed: asyncio.Task[None]) -> None:
        if completed.cancelled():
            return
        error = completed.exception()
        if error is not None:
            logger.error("Background prefetch of the model reference failed: %s", error)

    task.add_done_callback(_report)
    return task
