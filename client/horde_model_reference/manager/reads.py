"""The public reads: each comes as ``*_or_none``, raising, and ``_async`` twins of both.

Every variant is one line over two primitives, :meth:`ReferenceReads._records` (sync)
and :meth:`ReferenceReads._records_async`, plus :meth:`ReferenceReads._require`, which
turns "no data" into the ``RuntimeError`` of the raising variants. So the four variants
of a read cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from horde_model_reference.manager.core import ReferenceCore, check_safe_mode
from horde_model_reference.manager.state import logger, to_category
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import GenericModelRecord

if TYPE_CHECKING:
    import httpx

    from horde_model_reference.manager.async_runtime import AsyncRuntime
    from horde_model_reference.manager.sync_runtime import SyncRuntime

Records = dict[str, GenericModelRecord]


class ReferenceReads:
    """The read half of :class:`~horde_model_reference.ModelReferenceManager`."""

    _core: ReferenceCore
    _sync: SyncRuntime
    _async: AsyncRuntime

    # ------------------------------------------------------------------ primitives

    # The function itself, not a method calling it: it is on every read's hot path.
    _category = staticmethod(to_category)

    def _records(self, category: MODEL_REFERENCE_CATEGORY | str, force: bool) -> Records | None:
        return self._sync.state(self._category(category), force).records

    async def _records_async(
        self, category: MODEL_REFERENCE_CATEGORY | str, force: bool, client: httpx.AsyncClient | None
    ) -> Records | None:
        member = self._category(category)
        states = await self._async.states((member,), force, client)
        return states[member].records

    def _require(self, category: MODEL_REFERENCE_CATEGORY | str, records: Records | None) -> Records:
        if records is None:
            raise RuntimeError(self._core.unavailable_message(self._category(category)))
        return records

    def _require_model(
        self, category: MODEL_REFERENCE_CATEGORY | str, records: Records, name: str
    ) -> GenericModelRecord:
        record = records.get(name)
        if record is None:
            raise RuntimeError(f"Model {name} not found in category {self._category(category).value}.")
        return record

    @staticmethod
    def _safe_view(
        references: Mapping[MODEL_REFERENCE_CATEGORY, Records | None],
    ) -> dict[MODEL_REFERENCE_CATEGORY, Records]:
        missing = [
            c.value for c, r in references.items() if r is None and c not in CATEGORIES_MANAGED_ELSEWHERE
        ]
        if missing:
            logger.error("Missing model references for categories: %s", missing)
        return {category: reference or {} for category, reference in references.items()}

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
        states = self._sync.states(MODEL_REFERENCE_CATEGORY, overwrite_existing)
        if safe_mode:
            check_safe_mode(states)
        return {category: state.records for category, state in states.items()}

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
        states = await self._async.states(MODEL_REFERENCE_CATEGORY, overwrite_existing, httpx_client)
        if safe_mode:
            check_safe_mode(states)
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
        return self._records(category, overwrite_existing)

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
        return self._require(category, self._records(category, overwrite_existing))

    async def get_model_reference_or_none_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> dict[str, GenericModelRecord] | None:
        """Async :meth:`get_model_reference_or_none`."""
        return await self._records_async(category, overwrite_existing, httpx_client)

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
        return self._require(category, await self._records_async(category, overwrite_existing, httpx_client))

    def get_model_names_or_none(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> list[str] | None:
        """The category's model names, or None when nothing is available."""
        records = self._records(category, overwrite_existing)
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
        return list(self._require(category, self._records(category, overwrite_existing)))

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
        records = self._records(category, overwrite_existing)
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
        records = self._require(category, self._records(category, overwrite_existing))
        return self._require_model(category, records, model_name)

    async def get_model_async(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        model_name: str,
        overwrite_existing: bool = False,
        *,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> GenericModelRecord:
        """Async :meth:`get_model`."""
        records = await self.get_model_reference_async(
            category, overwrite_existing, httpx_client=httpx_client
        )
        return self._require_model(category, records, model_name)

    def get_raw_model_reference_json(
        self,
        category: MODEL_REFERENCE_CATEGORY | str,
        overwrite_existing: bool = False,
    ) -> dict[str, Any] | None:
        """The category's v2 document as served (``{key: record dict}``), without validation.

        Keys are the document's keys (which, for a few records, differ from
        ``record.name``). None when nothing is available.
        """
        return self._sync.state(self._category(category), overwrite_existing).document

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
        result = ReferenceReads.model_reference_to_json_dict(model_reference, safe_mode=True)
        assert result is not None
        return result
