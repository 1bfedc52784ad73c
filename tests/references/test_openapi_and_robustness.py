from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db


def test_openapi_schema_validates_without_warnings(tmp_path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/model_references/v2/{model_category_name}" in (tmp_path / "schema.yaml").read_text()


def test_openapi_json_and_docs_pages(client: Client) -> None:
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/model_references/v1/{model_category_name}" in paths
    assert not any(p.startswith("/model_references") for p in paths)
    for page in ("/api/docs", "/api/redoc"):
        response = client.get(page)
        assert response.status_code == 200 and b"<html" in response.content.lower()


@pytest.mark.parametrize(
    "path",
    ["/api/nope", "/api/model_references/v3/image_generation", "/model_references/v2/image_generation/x/y"],
)
def test_unknown_api_paths_are_json_404(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_service_routes(client: Client) -> None:
    assert "docs" in client.get("/api/").json()["message"]
    heartbeat = client.get("/api/heartbeat").json()
    assert heartbeat["status"] == "ok"
    assert set(heartbeat["ai_horde"]) == {"degraded", "consecutive_failures", "seconds_until_retry"}
    assert heartbeat["cache"]["degraded"] is False and heartbeat["database"]["degraded"] is False
    assert client.get("/heartbeat").status_code == 200
    assert client.get("/api/replicate_mode").json() == {
        "replicate_mode": "PRIMARY",
        "canonical_format": "v2",
        "writable": True,
    }


def test_metadata_routes(client: Client, real_reference: Path) -> None:
    for version in ("v1", "v2"):
        base = f"/api/model_references/{version}/metadata"
        overall = client.get(f"{base}/last_updated").json()["last_updated"]
        assert isinstance(overall, int)
        one = client.get(f"{base}/image_generation").json()
        assert one["category"] == "image_generation"
        assert one["total_creates"] == 161 and one["total_models"] == 161
        assert one["last_operation_type"] == "create"
        assert client.get(f"{base}/image_generation/last_updated").json() == {
            "category": "image_generation",
            "last_updated": one["last_updated"],
        }
        everything = client.get(f"{base}/metadata").json()
        assert len(everything) == 15 and everything["lora"]["last_updated"] is None
        assert client.get(f"{base}/nope").status_code == 422
        assert client.get(f"{base}/nope/last_updated").status_code == 422


def test_metadata_reads_never_write(client: Client, django_assert_num_queries: object) -> None:
    from references.models import CategoryState

    client.get("/api/model_references/v2/metadata/metadata")
    client.get("/api/model_references/v1/metadata/blip")
    assert not CategoryState.objects.exists()


ROUTES = [
    "/api/model_references/v1/{}",
    "/api/model_references/v2/{}",
    "/api/model_references/v2/image_generation/model/{}",
    "/api/model_references/v2/{}/search",
    "/api/model_references/v2/metadata/{}",
    "/api/model_references/v1/metadata/{}/last_updated",
]


@given(
    route=st.sampled_from(ROUTES),
    segment=st.text(min_size=1, max_size=40),
    query=st.dictionaries(
        st.sampled_from(
            ["limit", "offset", "nsfw", "sort_by", "tags_any", "include_group", "source", "backend"]
        ),
        st.text(max_size=12),
        max_size=4,
    ),
)
def test_no_input_gives_a_server_error(route: str, segment: str, query: dict[str, str]) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(route.format(quote(segment, safe="")), query)
    assert response.status_code < 500, (route, segment, query, response.content[:200])
    if response.status_code >= 400:
        assert "detail" in response.json()
