"""The manager's state, refresh and fallback chain, written once and free of I/O.

:meth:`ReferenceCore.refresh_steps` is a step generator (see
:mod:`horde_model_reference.backends.base`): it yields the requests the sources need and
is run by the sync runtime with an ``httpx.Client`` or by the async runtime with an
``httpx.AsyncClient``, so the fallback logic exists once. Locking and clients live in
those runtimes; this class only decides what a category's state becomes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from horde_model_reference.backends.base import NotModified, ReferenceSource, Steps
from horde_model_reference.backends.export import ExportSource
from horde_model_reference.backends.github import GitHubLegacySource
from horde_model_reference.backends.primary import PrimaryApiSource
from horde_model_reference.disk_cache import CachedDocument, DiskCache
from horde_model_reference.manager.state import (
    MANAGED_ELSEWHERE_STATE,
    CategoryState,
    DataSource,
    empty_state,
    logger,
    no_data_state,
    parse_records,
)
from horde_model_reference.meta_consts import (
    CATEGORIES_MANAGED_ELSEWHERE,
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
)
from horde_model_reference.settings import HordeModelReferenceSettings

_CLIENT_VERSION = "0.1.0"
#: Sent with every request of the sync and async runtimes and of the popularity cache.
USER_AGENT = f"horde-model-reference-client/{_CLIENT_VERSION}"


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


class ReferenceCore:
    """Per-category states, and the one refresh that replaces them (no locks, no clients)."""

    def __init__(
        self, settings: HordeModelReferenceSettings, *, sources: tuple[ReferenceSource, ...] | None
    ) -> None:
        self.settings = settings
        self.custom_sources = sources is not None
        if settings.offline:
            self.sources: tuple[ReferenceSource, ...] = ()  # nothing can open a connection
        else:
            self.sources = sources if sources is not None else build_sources(settings)
        self.disk = DiskCache(settings.cache_dir)
        self.states: dict[MODEL_REFERENCE_CATEGORY, CategoryState] = {}

    # ------------------------------------------------------------------ reading the states

    def fresh_state(self, category: MODEL_REFERENCE_CATEGORY) -> CategoryState | None:
        """The held state when it is still within its TTL (the hot path: no I/O, no lock)."""
        if category in CATEGORIES_MANAGED_ELSEWHERE:
            return MANAGED_ELSEWHERE_STATE
        state = self.states.get(category)
        if state is not None and state.expires_at > time.monotonic():
            return state
        return None

    def state_without_refresh(self, category: MODEL_REFERENCE_CATEGORY, force: bool) -> CategoryState | None:
        """What a read may return without refreshing: fresh data, or ``managed_elsewhere``.

        None means the runtime must refresh (under its per-category lock, then ask again).
        """
        if not force:
            return self.fresh_state(category)
        if category in CATEGORIES_MANAGED_ELSEWHERE:
            return MANAGED_ELSEWHERE_STATE
        return None

    def is_warm(self) -> bool:
        """Whether every category has been loaded (or found unavailable) at least once."""
        return all(
            category in self.states
            for category in MODEL_REFERENCE_CATEGORY
            if category not in CATEGORIES_MANAGED_ELSEWHERE
        )

    def data_age_seconds(self, category: MODEL_REFERENCE_CATEGORY) -> float | None:
        """Seconds since a live source last delivered or confirmed the data, or None."""
        state = self.states.get(category)
        if state is None or state.confirmed_at is None:
            return None
        return max(0.0, time.time() - state.confirmed_at)

    def data_source(self, category: MODEL_REFERENCE_CATEGORY) -> DataSource | None:
        """Where the category's current data came from, or None before it was loaded."""
        if category in CATEGORIES_MANAGED_ELSEWHERE:
            return "managed_elsewhere"
        state = self.states.get(category)
        return None if state is None else state.served_from

    def skipped_records(self, category: MODEL_REFERENCE_CATEGORY) -> tuple[str, ...]:
        """Keys of the category's records that could not be parsed at the last load."""
        state = self.states.get(category)
        return () if state is None else state.skipped

    def invalidate(self, category: MODEL_REFERENCE_CATEGORY) -> None:
        """Expire the held data but keep it (and its validator): unchanged data costs a 304."""
        state = self.states.get(category)
        if state is not None:
            self.states[category] = replace(state, expires_at=0.0)

    def primary_base_url(self) -> str | None:
        """The API root of the primary source, if one is configured (never when offline)."""
        if self.settings.offline:
            return None
        for source in self.sources:
            if isinstance(source, PrimaryApiSource):
                return source.base_url
        return None

    def unavailable_message(self, category: MODEL_REFERENCE_CATEGORY) -> str:
        """The ``RuntimeError`` text of a raising read of a category without data."""
        if self.settings.offline:
            return (
                f"Model reference for category {category.value} is not in the disk cache "
                f"({self.settings.cache_dir}) and offline mode (HORDE_MODEL_REFERENCE_OFFLINE) "
                "forbids downloading it; run once online to fill the cache."
            )
        return f"Model reference for category {category.value} not found or could not be parsed."

    # ------------------------------------------------------------------ the refresh

    def refresh_steps(self, category: MODEL_REFERENCE_CATEGORY, *, force: bool) -> Steps[CategoryState]:
        """Refresh one category: the sources in order, then held data, the disk cache, nothing.

        Sans I/O: run by ``drive_sync_lazy`` or ``drive_async_lazy``. The new state is
        stored before it is returned.
        """
        if self.settings.offline:
            return self._store(category, self._offline_state(category))
        current = self.states.get(category)
        if current is not None and current.document is None:
            current = None
        cached: CachedDocument | None = None
        if current is None:
            cached = self.disk.read(category.value)
            if (
                cached is not None
                and not force
                and time.time() - cached.confirmed_at < self.settings.cache_ttl_seconds
            ):
                # Another process confirmed this data moments ago: reuse it instead of asking again.
                served_from = cast(DataSource, cached.source)
                return self._store(
                    category, self._from_disk(category, cached, served_from, cached.confirmed_at)
                )

        held_origin = current.origin if current is not None else (cached.source if cached else None)
        held_validator = current.validator if current is not None else (cached.validator if cached else None)
        failures: list[str] = []
        for source in self.sources:
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
                self.disk.touch(category.value)
                if current is not None:
                    confirmed = replace(
                        current,
                        served_from=cast(DataSource, source.name),
                        confirmed_at=now,
                        expires_at=self._expiry(),
                    )
                    return self._store(category, confirmed)
                if cached is not None:
                    served_from = cast(DataSource, source.name)
                    return self._store(category, self._from_disk(category, cached, served_from, now))
                failures.append(f"{source.describe()}: answered 'not modified' for data we do not hold")
                continue
            self.disk.write(category.value, outcome.body, source=outcome.source, validator=outcome.validator)
            fetched = self._from_document(
                category,
                outcome.document,
                origin=outcome.source,
                validator=outcome.validator,
                served_from=cast(DataSource, outcome.source),
                confirmed_at=now,
            )
            return self._store(category, fetched)

        return self._store(category, self._fallback_state(category, current, cached, failures))

    def _expiry(self) -> float:
        return time.monotonic() + self.settings.cache_ttl_seconds

    def _store(self, category: MODEL_REFERENCE_CATEGORY, state: CategoryState) -> CategoryState:
        self.states[category] = state
        return state

    def _from_document(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        document: dict[str, Any],
        *,
        origin: str,
        validator: str | None,
        served_from: DataSource,
        confirmed_at: float,
    ) -> CategoryState:
        records, skipped = parse_records(category, document, what=served_from)
        return CategoryState(
            document=document,
            records=records,
            skipped=skipped,
            origin=origin,
            validator=validator,
            served_from=served_from,
            confirmed_at=confirmed_at,
            expires_at=self._expiry(),
        )

    def _from_disk(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        cached: CachedDocument,
        served_from: DataSource,
        confirmed_at: float,
    ) -> CategoryState:
        return self._from_document(
            category,
            cached.document,
            origin=cached.source,
            validator=cached.validator,
            served_from=served_from,
            confirmed_at=confirmed_at,
        )

    def _offline_state(self, category: MODEL_REFERENCE_CATEGORY) -> CategoryState:
        """The disk cache's copy, re-read each TTL so another process's refresh is picked up."""
        cached = self.disk.read(category.value)
        if cached is not None:
            return self._from_disk(category, cached, "disk_cache", cached.confirmed_at)
        logger.error(
            "Offline mode: no cached data for %s in %s (run once online to fill the cache)",
            category.value,
            self.settings.cache_dir,
        )
        return no_data_state("unavailable", expires_at=self._expiry())

    def _fallback_state(
        self,
        category: MODEL_REFERENCE_CATEGORY,
        current: CategoryState | None,
        cached: CachedDocument | None,
        failures: list[str],
    ) -> CategoryState:
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
        cached = cached if cached is not None else self.disk.read(category.value)
        if cached is not None:
            logger.warning(
                "Every source failed for %s (%s); serving the disk cache from %s, %.0f s old",
                category.value,
                reasons,
                cached.source,
                time.time() - cached.confirmed_at,
            )
            return self._from_disk(category, cached, "disk_cache", cached.confirmed_at)
        descriptor = CATEGORY_DESCRIPTORS[category]
        if descriptor.legacy_filename is None and any(s.name == "github" for s in self.sources):
            # No public repository has this category (video, audio, annotators): from the
            # fallback's point of view it is empty, which is not the same as unreachable.
            logger.info(
                "No data for %s from any source (%s); it has no legacy file, so it is empty",
                category,
                reasons,
            )
            return empty_state(expires_at=self._expiry())
        logger.error("No data available for %s: %s", category.value, reasons)
        return no_data_state("unavailable", expires_at=self._expiry())


def check_safe_mode(states: Mapping[MODEL_REFERENCE_CATEGORY, CategoryState]) -> None:
    """``ValueError`` naming every category whose last load skipped unparseable records."""
    broken = {c.value: s.skipped for c, s in states.items() if s.skipped}
    if broken:
        raise ValueError(f"Some records could not be parsed: {broken}")
