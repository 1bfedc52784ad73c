"""How fresh each category's data is, and how to make the next read revalidate it."""

from __future__ import annotations

from horde_model_reference.manager.reads import ReferenceReads
from horde_model_reference.manager.state import DataSource
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY


class FreshnessReads(ReferenceReads):
    """``data_age_seconds``, ``data_source``, ``skipped_records`` and the invalidations."""

    def data_age_seconds(self, category: MODEL_REFERENCE_CATEGORY | str) -> float | None:
        """Seconds since a live source last delivered or confirmed the category's data.

        Grows while every source is down and the data is served from memory or the disk
        cache. None when nothing has been loaded, or the category has no data.
        """
        return self._core.data_age_seconds(self._category(category))

    def data_source(self, category: MODEL_REFERENCE_CATEGORY | str) -> DataSource | None:
        """Where the category's current data came from, or None before it was loaded.

        One of ``primary``, ``export``, ``github``, ``disk_cache`` (every source failed),
        ``empty`` (no source has this category), ``unavailable`` or ``managed_elsewhere``.
        """
        return self._core.data_source(self._category(category))

    def skipped_records(self, category: MODEL_REFERENCE_CATEGORY | str) -> tuple[str, ...]:
        """Keys of the category's records that could not be parsed at the last load."""
        return self._core.skipped_records(self._category(category))

    def invalidate_category_cache(self, category: MODEL_REFERENCE_CATEGORY | str) -> None:
        """Make the next read of ``category`` revalidate with its source.

        The data is kept (and its validator), so an unchanged category costs a 304.
        """
        self._core.invalidate(self._category(category))

    def invalidate_all(self) -> None:
        """:meth:`invalidate_category_cache` for every category."""
        for category in list(self._core.states):
            self._core.invalidate(category)
