"""When the manager warms its cache: the strategies and the background task of ``ASYNC``.

``DeferredPrefetchHandle`` stays in the facade module: it names the manager in its
signature, and a type-only import of the facade from here would be a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from horde_model_reference.manager.state import logger

if TYPE_CHECKING:
    import asyncio


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


def schedule_async_prefetch(warm_up: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None] | None:
    """Run ``warm_up()`` as a task on the running loop; None (and a warning) when none runs."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        logger.warning(
            "PrefetchStrategy.ASYNC requested but no event loop is running; run "
            "manager.deferred_prefetch_handle (run_sync() or await it) to warm the cache."
        )
        return None
    task = loop.create_task(warm_up(), name="horde-model-reference-prefetch")

    def _report(completed: asyncio.Task[None]) -> None:
        if completed.cancelled():
            return
        error = completed.exception()
        if error is not None:
            logger.error("Background prefetch of the model reference failed: %s", error)

    task.add_done_callback(_report)
    return task
