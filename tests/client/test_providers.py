"""Record providers: the base class's rules, the registry, static and pending providers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from horde_model_reference import (
    MODEL_REFERENCE_CATEGORY,
    ModelProviderRegistry,
    PendingModelProvider,
    StaticModelProvider,
)
from tests.client.conftest import LocalServer, Reply

C = MODEL_REFERENCE_CATEGORY


@pytest.fixture
def blip_document(v2_documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return v2_documents["blip"]


def test_static_provider_from_raw_skips_invalid_records(blip_document: dict[str, Any]) -> None:
    raw = {**blip_document, "broken": {"record_type": "blip", "config": {"download": "nope"}}}
    provider = StaticModelProvider.from_raw("mine", {"blip": raw}, cache_ttl_seconds=5)
    records = provider.fetch_category(C.blip)
    assert records is not None and sorted(records) == sorted(blip_document)
    assert provider.fetch_category("clip") is None
    assert provider.serves_category("blip") and provider.serves_category(C.blip)
    assert not provider.serves_category(C.clip)
    assert provider.supports_writes() is False
    assert provider.cache_ttl_seconds() == 5


@pytest.mark.parametrize("source_id", ["", "  ", "horde", "any"])
def test_reserved_or_empty_source_ids_are_refused(source_id: str) -> None:
    with pytest.raises(ValueError, match="source_id"):
        StaticModelProvider(source_id, {})


def test_registry_keeps_registration_order_and_refuses_duplicates(blip_document: dict[str, Any]) -> None:
    registry = ModelProviderRegistry()
    first = StaticModelProvider.from_raw("b-first", {"blip": blip_document})
    second = StaticModelProvider("a-second", {})
    registry.register(first)
    registry.register(second)
    assert registry.source_ids() == ["b-first", "a-second"]
    assert registry.providers_for("blip") == [first]
    with pytest.raises(ValueError, match="already registered"):
        registry.register(StaticModelProvider("b-first", {}))
    replacement = StaticModelProvider("b-first", {})
    registry.register(replacement, replace=True)
    assert registry.get("b-first") is replacement and registry.has("a-second")
    assert registry.unregister("a-second") is True
    assert registry.unregister("a-second") is False
    assert registry.all() == [replacement]
    registry.clear()
    assert registry.source_ids() == []


@pytest.fixture
def pending_server(blip_document: dict[str, Any]) -> Iterator[LocalServer]:
    body = json.dumps({**blip_document, "not-a-record": 3}).encode()

    def route(path: str, headers: dict[str, str]) -> Reply:
        if headers.get("apikey") != "good-key":
            return Reply(401, b'{"detail": "Invalid API key"}')
        if path == "/api/model_references/v2/blip/pending":
            return Reply(200, body, {"Content-Type": "application/json"})
        return Reply(404, b'{"detail": "Not Found"}')

    server = LocalServer(route).start()
    yield server
    server.stop()


def test_pending_provider_reads_the_pending_route(
    pending_server: LocalServer, blip_document: dict[str, Any]
) -> None:
    provider = PendingModelProvider(pending_server.url + "/api", "good-key", ["blip"], cache_ttl_seconds=60)
    assert provider.source_id == "pending"
    records = provider.fetch_category(C.blip)
    assert records is not None and sorted(records) == sorted(blip_document)  # the non-record skipped
    assert provider.fetch_category("blip") == records  # from its cache
    assert len(pending_server.requests_to("/pending")) == 1
    provider.fetch_category("blip", force_refresh=True)
    assert len(pending_server.requests_to("/pending")) == 2
    assert provider.fetch_category("clip") is None  # not configured: not even asked
    assert len(pending_server.requests_to("/pending")) == 2


@pytest.mark.anyio
async def test_pending_provider_failures_give_none(pending_server: LocalServer, dead_url: str) -> None:
    assert (
        PendingModelProvider(pending_server.url + "/api", "bad-key", ["blip"]).fetch_category("blip") is None
    )
    unreachable = PendingModelProvider(dead_url + "/api", "good-key", ["blip"], timeout_seconds=2)
    assert await unreachable.fetch_category_async("blip") is None
