"""The async runtime: a client per batch of reads and per-loop locks, over the same core."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from horde_model_reference.backends.base import drive_async_lazy
from horde_model_reference.manager.core import USER_AGENT, ReferenceCore
from horde_model_reference.manager.state import CategoryState
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

if TYPE_CHECKING:
    import asyncio

    import httpx


class AsyncClientScope:
    """The async client of one batch of reads: the caller's, or one made at the first request.

    A client this scope made is closed by :meth:`aclose`; the caller's is left open.
    """

    __slots__ = ("_client", "_factory", "_owned")

    def __init__(self, client: httpx.AsyncClient | None, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._client = client
        self._factory = factory
        self._owned = False

    def get(self) -> httpx.AsyncClient:
        """The scope's client, made now if the caller passed none."""
        if self._client is None:
            self._client = self._factory()
            self._owned = True
        return self._client

    async def aclose(self) -> None:
        """Close the client if this scope made it."""
        client, self._client = self._client, None
        if client is not None and self._owned:
            await client.aclose()


class AsyncRuntime:
    """Runs the core's refresh steps on the running event loop, categories concurrently."""

    def __init__(self, core: ReferenceCore) -> None:
        self._core = core
        self._locks: dict[MODEL_REFERENCE_CATEGORY, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    def _new_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            timeout=self._core.settings.primary_api_timeout,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    @contextlib.asynccontextmanager
    async def client_scope(self, client: httpx.AsyncClient | None) -> AsyncIterator[AsyncClientScope]:
        """A scope lending ``client`` (or one made on demand and closed on exit)."""
        scope = AsyncClientScope(client, self._new_client)
        try:
            yield scope
        finally:
            await scope.aclose()

    def _lock(self, category: MODEL_REFERENCE_CATEGORY) -> asyncio.Lock:
        import asyncio

        # asyncio locks belong to one event loop; a new loop (a new asyncio.run) gets new ones.
        loop = asyncio.get_running_loop()
        entry = self._locks.get(category)
        if entry is None or entry[0] is not loop:
            entry = (loop, asyncio.Lock())
            self._locks[category] = entry
        return entry[1]

    async def _state(
        self, category: MODEL_REFERENCE_CATEGORY, force: bool, scope: AsyncClientScope
    ) -> CategoryState:
        async with self._lock(category):
            if not force:
                state = self._core.fresh_state(category)
                if state is not None:
                    return state
            return await drive_async_lazy(self._core.refresh_steps(category, force=force), scope.get)

    async def states(
        self,
        categories: Iterable[MODEL_REFERENCE_CATEGORY],
        force: bool,
        client: httpx.AsyncClient | None,
    ) -> dict[MODEL_REFERENCE_CATEGORY, CategoryState]:
        """Each category's state; the expired ones are refreshed concurrently."""
        states: dict[MODEL_REFERENCE_CATEGORY, CategoryState] = {}
        pending: list[MODEL_REFERENCE_CATEGORY] = []
        for category in categories:
            state = self._core.state_without_refresh(category, force)
            if state is not None:
                states[category] = state
            else:
                pending.append(category)
        if pending:
            import asyncio

            # The client is only created when something actually needs the network.
            async with self.client_scope(client) as scope:
                results = await asyncio.gather(*(self._state(c, force, scope) for c in pending))
            states.update(zip(pending, results, strict=True))
        return states
