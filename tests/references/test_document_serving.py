"""The hot path: pre-rendered bytes, strong ETags, 304s, gzip, and no SQL when warm."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from references import document_cache
from references.selectors import record_get
from tests.record_writes import record_update

pytestmark = pytest.mark.django_db

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
ACTOR = Actor.system("test")
HOT_ROUTES = [
    f"{V2}/image_generation",
    f"{V2}/text_generation",
    f"{V1}/image_generation",
    f"{V1}/text_generation",
    f"{V2}/image_generation/model/Deliberate",
    f"{V2}/model_categories",
    f"{V1}/text_generation?include_group=true",
]


@pytest.mark.parametrize("url", HOT_ROUTES)
def test_warm_hot_path_runs_no_sql(
    client: Client, real_reference: Path, url: str, django_assert_num_queries: Any
) -> None:
    assert client.get(url).status_code == 200  # warms the pointer and renders
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200
    if "model_categories" not in url:
        with django_assert_num_queries(0):
            assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_cache_headers(client: Client, real_reference: Path) -> None:
    response = client.get(f"{V2}/image_generation")
    assert response["ETag"].startswith('"image_generation.v2.') and response["ETag"].endswith('"')
    assert response["Vary"] == "Accept-Encoding"
    assert "must-revalidate" in response["Cache-Control"]
    assert response["Last-Modified"].endswith("GMT")
    assert response["Content-Type"] == "application/json"


def test_if_none_match_gives_304_with_no_body(client: Client, real_reference: Path) -> None:
    etag = client.get(f"{V2}/image_generation")["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(f"{V2}/image_generation", HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 304, header
        assert response.content == b""
        assert response["ETag"] == etag
    assert client.get(f"{V2}/image_generation", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_gzip_is_served_precompressed_with_its_own_etag(client: Client, real_reference: Path) -> None:
    plain = client.get(f"{V2}/text_generation")
    zipped = client.get(f"{V2}/text_generation", HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] != plain["ETag"]
    assert len(zipped.content) < len(plain.content) / 4
    refused = client.get(f"{V2}/text_generation", HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert "Content-Encoding" not in refused and refused.content == plain.content
    assert (
        client.get(
            f"{V2}/text_generation", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"]
        ).status_code
        == 304
    )


def test_bytes_are_deterministic_across_processes_renders(client: Client, real_reference: Path) -> None:
    first = client.get(f"{V2}/image_generation")
    document_cache.document_cache_reset()
    again = client.get(f"{V2}/image_generation")
    assert first.content == again.content and first["ETag"] == again["ETag"]


def test_a_change_is_served_on_the_next_request(
    client: Client, real_reference: Path, django_capture_on_commit_callbacks: Any
) -> None:
    before = client.get(f"{V2}/image_generation")
    v1_before = client.get(f"{V1}/image_generation")
    model_before = client.get(f"{V2}/image_generation/model/Deliberate")
    record = record_get(category="image_generation", name="Deliberate")
    assert record is not None
    with django_capture_on_commit_callbacks(execute=True):
        record_update(
            category="image_generation",
            name="Deliberate",
            payload={**record.payload, "description": "Curated anew"},
            actor=ACTOR,
            source="api",
        )
    after = client.get(f"{V2}/image_generation")
    assert after["ETag"] != before["ETag"]
    assert after.json()["Deliberate"]["description"] == "Curated anew"
    assert client.get(f"{V2}/image_generation", HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 200
    v1_after = client.get(f"{V1}/image_generation", HTTP_IF_NONE_MATCH=v1_before["ETag"])
    assert v1_after.status_code == 200
    assert json.loads(v1_after.content)["Deliberate"]["description"] == "Curated anew"
    model_after = client.get(
        f"{V2}/image_generation/model/Deliberate", HTTP_IF_NONE_MATCH=model_before["ETag"]
    )
    assert model_after.status_code == 200 and model_after.json()["description"] == "Curated anew"
    # Other categories keep their ETags.
    assert client.get(f"{V2}/controlnet")["ETag"] == client.get(f"{V2}/controlnet")["ETag"]


def test_a_lost_pointer_is_rebuilt_from_sql(client: Client, real_reference: Path) -> None:
    from django.core.cache import cache

    etag = client.get(f"{V2}/image_generation")["ETag"]
    cache.clear()
    assert client.get(f"{V2}/image_generation")["ETag"] == etag


def test_a_failed_render_keeps_serving_the_last_good_revision(
    client: Client,
    real_reference: Path,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = client.get(f"{V2}/image_generation")
    record = record_get(category="image_generation", name="Deliberate")
    assert record is not None

    def broken(snapshot: document_cache.CategorySnapshot) -> bytes:
        raise RuntimeError("renderer bug")

    monkeypatch.setitem(document_cache.RENDERERS, "v2", broken)
    with django_capture_on_commit_callbacks(execute=True):
        record_update(
            category="image_generation",
            name="Deliberate",
            payload={**record.payload, "description": "x"},
            actor=ACTOR,
            source="api",
        )
    response = client.get(f"{V2}/image_generation")
    assert response.status_code == 200
    assert response.content == good.content and response["ETag"] == good["ETag"]
