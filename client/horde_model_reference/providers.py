"""Record providers: sources of records beside the canonical reference.

A provider serves ``{name: record}`` for the categories it covers, under its own source
id (``pending`` for proposals not applied yet, anything else for third parties). The
canonical ids ``horde`` and ``any`` are reserved. :class:`ModelProviderRegistry` keeps
providers in registration order, which is the order ``any`` expands to.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import GenericModelRecord, get_record_type_for_category
from horde_model_reference.source_consts import ANY_SOURCE, HORDE_SOURCE_ID, PENDING_SOURCE_ID

logger = logging.getLogger(__name__)

RESERVED_SOURCE_IDS = frozenset({HORDE_SOURCE_ID, ANY_SOURCE})

Records = dict[str, GenericModelRecord]


def _category_key(category: MODEL_REFERENCE_CATEGORY | str) -> MODEL_REFERENCE_CATEGORY | str:
    # Known categories compare as the enum member, so "blip" and the member are one key.
    try:
        return MODEL_REFERENCE_CATEGORY(category)
    except ValueError:
        return category


class ModelProvider(ABC):
    """A source of records for some categories."""

    @property
    @abstractmethod
    def source_id(self) -> str:
        """The id queries select this provider by; not ``horde`` or ``any``."""

    @abstractmethod
    def provided_categories(self) -> set[MODEL_REFERENCE_CATEGORY | str]:
        """The categories this provider serves."""

    @abstractmethod
    def fetch_category(
        self, category: MODEL_REFERENCE_CATEGORY | str, *, force_refresh: bool = False
    ) -> Records | None:
        """The category's records, or None when unavailable (or not served)."""

    async def fetch_category_async(
        self, category: MODEL_REFERENCE_CATEGORY | str, *, force_refresh: bool = False
    ) -> Records | None:
        """:meth:`fetch_category` without blocking the event loop (run in a worker thread)."""
        return await asyncio.to_thread(self.fetch_category, category, force_refresh=force_refresh)

    def serves_category(self, category: MODEL_REFERENCE_CATEGORY | str) -> bool:
        return _category_key(category) in {_category_key(c) for c in self.provided_categories()}

    def supports_writes(self) -> bool:
        """Providers are read-only; records change through the reference's proposals."""
        return False

    def cache_ttl_seconds(self) -> float | None:
        """How long a fetched result may be reused (advisory); None: no opinion."""
        return None

    def validate_source_id(self) -> None:
        """Raises ValueError for an empty or reserved source id."""
        source_id = self.source_id
        if not source_id or not source_id.strip():
            raise ValueError("A provider's source_id must not be empty.")
        if source_id in RESERVED_SOURCE_IDS:
            raise ValueError(f"The source_id {source_id!r} is reserved.")


class ModelProviderRegistry:
    """Providers by source id, in registration order (thread-safe)."""

    def __init__(self) -> None:
        self._providers: dict[str, ModelProvider] = {}
        self._lock = threading.Lock()

    def register(self, provider: ModelProvider, *, replace: bool = False) -> None:
        """Add ``provider``; ValueError for a bad id, or a taken one unless ``replace``."""
        provider.validate_source_id()
        with self._lock:
            if provider.source_id in self._providers and not replace:
                raise ValueError(f"A provider with source_id {provider.source_id!r} is already registered.")
            self._providers[provider.source_id] = provider

    def unregister(self, source_id: str) -> bool:
        """Remove a provider; whether there was one."""
        with self._lock:
            return self._providers.pop(source_id, None) is not None

    def get(self, source_id: str) -> ModelProvider | None:
        with self._lock:
            return self._providers.get(source_id)

    def has(self, source_id: str) -> bool:
        with self._lock:
            return source_id in self._providers

    def source_ids(self) -> list[str]:
        with self._lock:
            return list(self._providers)

    def all(self) -> list[ModelProvider]:
        with self._lock:
            return list(self._providers.values())

    def providers_for(self, category: MODEL_REFERENCE_CATEGORY | str) -> list[ModelProvider]:
        return [provider for provider in self.all() if provider.serves_category(category)]

    def clear(self) -> None:
        with self._lock:
            self._providers.clear()


def _validate_records(
    category: MODEL_REFERENCE_CATEGORY | str, raw: Mapping[str, Any], *, what: str
) -> Records:
    """Validate ``{name: dict}`` with the category's record class; an invalid entry is skipped."""
    record_type = get_record_type_for_category(category)
    records: Records = {}
    for name, value in raw.items():
        if not isinstance(value, Mapping):
            logger.warning("Skipping %s record %r from %s: not an object", category, name, what)
            continue
        try:
            records[name] = record_type.model_validate({**value, "name": value.get("name", name)})
        except ValidationError as error:
            logger.warning("Skipping %s record %r from %s: %s", category, name, what, error)
    return records


class StaticModelProvider(ModelProvider):
    """Serves records held in memory."""

    def __init__(
        self,
        source_id: str,
        records_by_category: Mapping[MODEL_REFERENCE_CATEGORY | str, Mapping[str, GenericModelRecord]],
        cache_ttl_seconds: float | None = None,
    ) -> None:
        self._source_id = source_id
        self._records = {_category_key(c): dict(records) for c, records in records_by_category.items()}
        self._ttl = cache_ttl_seconds
        self.validate_source_id()

    @classmethod
    def from_raw(
        cls,
        source_id: str,
        raw_by_category: Mapping[MODEL_REFERENCE_CATEGORY | str, Mapping[str, Any]],
        cache_ttl_seconds: float | None = None,
    ) -> StaticModelProvider:
        """Build from plain dicts (``{category: {name: record dict}}``), the key naming each record."""
        records = {
            category: _validate_records(category, raw, what=f"provider {source_id}")
            for category, raw in raw_by_category.items()
        }
        return cls(source_id, records, cache_ttl_seconds)

    @property
    def source_id(self) -> str:
        return self._source_id

    def provided_categories(self) -> set[MODEL_REFERENCE_CATEGORY | str]:
        return set(self._records)

    def fetch_category(
        self, category: MODEL_REFERENCE_CATEGORY | str, *, force_refresh: bool = False
    ) -> Records | None:
        records = self._records.get(_category_key(category))
        return None if records is None else dict(records)

    def cache_ttl_seconds(self) -> float | None:
        return self._ttl


class PendingModelProvider(ModelProvider):
    """The "beta" records: proposals not applied yet, from ``GET .../v2/{category}/pending``.

    The route needs an API key. A failed request gives None (and is retried next call);
    a good answer is reused for ``cache_ttl_seconds``.
    """

    def __init__(
        self,
        primary_api_url: str,
        apikey: str,
        categories: Iterable[MODEL_REFERENCE_CATEGORY | str],
        cache_ttl_seconds: float = 60,
        timeout_seconds: float = 10,
    ) -> None:
        self._base_url = primary_api_url.rstrip("/")
        self._apikey = apikey
        self._categories = {_category_key(c) for c in categories}
        self._ttl = cache_ttl_seconds
        self._timeout = timeout_seconds
        self._cache: dict[MODEL_REFERENCE_CATEGORY | str, tuple[float, Records]] = {}
        self._lock = threading.Lock()

    @property
    def source_id(self) -> str:
        return PENDING_SOURCE_ID

    def provided_categories(self) -> set[MODEL_REFERENCE_CATEGORY | str]:
        return set(self._categories)

    def cache_ttl_seconds(self) -> float | None:
        return self._ttl

    def fetch_category(
        self, category: MODEL_REFERENCE_CATEGORY | str, *, force_refresh: bool = False
    ) -> Records | None:
        key = _category_key(category)
        if key not in self._categories:
            return None
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and not force_refresh and time.monotonic() < cached[0]:
            return dict(cached[1])
        import httpx

        url = f"{self._base_url}/model_references/v2/{key}/pending"
        try:
            response = httpx.get(url, headers={"apikey": self._apikey}, timeout=self._timeout)
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("Could not read pending records from %s: %s", url, error)
            return None
        if not isinstance(body, dict):
            logger.warning("Pending records from %s unavailable (status %s)", url, response.status_code)
            return None
        records = _validate_records(key, body, what=url)
        with self._lock:
            self._cache[key] = (time.monotonic() + self._ttl, records)
        return dict(records)


__all__ = [
    "RESERVED_SOURCE_IDS",
    "ModelProvider",
    "ModelProviderRegistry",
    "PendingModelProvider",
    "StaticModelProvider",
]
