"""The sync runtime: one shared ``httpx.Client`` and one refresh per category at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from horde_model_reference.backends.base import drive_sync_lazy
from horde_model_reference.manager.core import USER_AGENT, ReferenceCore
from horde_model_reference.manager.state import MANAGED_ELSEWHERE_STATE, CategoryState
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, MODEL_REFERENCE_CATEGORY

if TYPE_CHECKING:
    import httpx


class SyncRuntime:
    """Runs the core's refresh steps on the calling thread."""

    def __init__(self, core: ReferenceCore) -> None:
        self._core = core
        self._refresh_locks = {category: threading.Lock() for category in MODEL_REFERENCE_CATEGORY}
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def client(self) -> httpx.Client:
        """The shared client, created (and httpx imported) at the first request."""
        client = self._client
        if client is None:
            with self._client_lock:
                client = self._client
                if client is None:
                    import httpx

                    client = httpx.Client(
                        timeout=self._core.settings.primary_api_timeout,
                        follow_redirects=True,
                        headers={"User-Agent": USER_AGENT},
                    )
                    self._client = client
        return client

    def state(self, category: MODEL_REFERENCE_CATEGORY, force: bool) -> CategoryState:
        """The category's state, refreshed first when it expired (or ``force``)."""
        # The hot path (fresh data) is written out rather than calling the core's
        # state_without_refresh: a cached read is a few dictionary lookups, not more calls.
        if not force:
            state = self._core.fresh_state(category)
            if state is not None:
                return state
        elif category in CATEGORIES_MANAGED_ELSEWHERE:
            return MANAGED_ELSEWHERE_STATE
        # One refresh per category at a time: concurrent readers wait for it and reuse it.
        with self._refresh_locks[category]:
            if not force:
                state = self._core.fresh_state(category)
                if state is not None:
                    return state
            # The client is created at the first request: reading a local export sends none.
            return drive_sync_lazy(self._core.refresh_steps(category, force=force), self.client)

    def states(
        self, categories: Iterable[MODEL_REFERENCE_CATEGORY], force: bool
    ) -> dict[MODEL_REFERENCE_CATEGORY, CategoryState]:
        """:meth:`state` of each category, one after the other."""
        return {category: self.state(category, force) for category in categories}

    def close(self) -> None:
        """Close the shared client (a later request would open a new one)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
