"""Per-category metadata from the reference API, and popularity from the AI Horde."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from horde_model_reference.backends.base import drive_async_lazy, drive_sync_lazy
from horde_model_reference.manager.core import USER_AGENT
from horde_model_reference.manager.reads import ReferenceReads
from horde_model_reference.manager.state import logger
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

if TYPE_CHECKING:
    import httpx

    from horde_model_reference.model_reference_metadata import CategoryMetadata
    from horde_model_reference.popular import HordeStatsCache, PopularModelResult, PopularSortKey


class MetadataReads(ReferenceReads):
    """``get_metadata`` (and its async twin), ``last_updated`` and ``get_popular_models``."""

    _popular_cache: HordeStatsCache | None

    def supports_metadata(self) -> bool:
        """Whether per-category metadata can be asked for (a primary API is configured, not offline)."""
        return self._core.primary_base_url() is not None

    def _metadata_url(self, category: MODEL_REFERENCE_CATEGORY, raise_if_unsupported: bool) -> str | None:
        from horde_model_reference.model_reference_metadata import metadata_url

        base_url = self._core.primary_base_url()
        if base_url is None:
            if raise_if_unsupported:
                reason = "offline mode" if self._core.settings.offline else "no primary API is configured"
                raise NotImplementedError(f"Metadata is not available: {reason}.")
            return None
        return metadata_url(base_url, category.value)

    @staticmethod
    def _parse_metadata(url: str, body: Any) -> CategoryMetadata | None:
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
            body = drive_sync_lazy(json_steps(url), self._sync.client)
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
        async with self._async.client_scope(httpx_client) as scope:
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

        settings = self._core.settings
        if settings.offline:
            raise HordeUnavailableError(
                "Offline mode (HORDE_MODEL_REFERENCE_OFFLINE): the AI Horde is not asked."
            )
        if self._popular_cache is None:
            self._popular_cache = HordeStatsCache(
                base_url=settings.ai_horde_url,
                timeout=settings.primary_api_timeout,
                user_agent=USER_AGENT,
            )
        member = self._category(category)
        return await rank_popular_models(
            member,
            records_loader=self.get_model_reference_or_none_async,
            cache=self._popular_cache,
            limit=limit,
            sort_by=sort_by,
            include_workers=include_workers,
        )
