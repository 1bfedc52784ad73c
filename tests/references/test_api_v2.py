from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from audit.services import Actor
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import validate_payload
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
ACTOR = Actor.system("test")
EXPECTED_COUNTS = {
    "image_generation": 161,
    "text_generation": 719,
    "controlnet": 18,
    "esrgan": 6,
    "blip": 2,
    "clip": 2,
    "miscellaneous": 2,
    "gfpgan": 1,
    "codeformer": 1,
    "safety_checker": 1,
}


@pytest.mark.parametrize("category", [c.value for c in MODEL_REFERENCE_CATEGORY])
def test_every_category_parses_with_the_record_models(
    client: Client, real_reference: Path, category: str
) -> None:
    response = client.get(f"{V2}/{category}")
    assert response.status_code == 200
    document = response.json()
    assert len(document) == EXPECTED_COUNTS.get(category, 0)
    for name, record in document.items():
        parsed = validate_payload(category, record)
        assert parsed.name == name or category == "controlnet"


def test_text_records_use_parameters_and_carry_their_group(client: Client, real_reference: Path) -> None:
    record = client.get(f"{V2}/text_generation").json()["acrastt/Marx-3B-V3"]
    assert record["parameters"] == 3_000_000_000
    assert "parameters_count" not in record
    assert record["text_model_group"] == "Marx"


def test_controlnet_keeps_the_file_key_as_identity(client: Client, real_reference: Path) -> None:
    document = client.get(f"{V2}/controlnet").json()
    assert document["control_qr_sdxl"]["name"] == "control_qr_xl"
    assert client.get(f"{V2}/controlnet/model/control_qr_sdxl").json()["name"] == "control_qr_xl"


def test_empty_category_is_an_empty_object(client: Client) -> None:
    for category in ("image_generation", "lora", "video_generation"):
        response = client.get(f"{V2}/{category}")
        assert response.status_code == 200
        assert response.json() == {}


def test_model_categories_leave_out_the_ones_managed_elsewhere(client: Client) -> None:
    categories = client.get(f"{V2}/model_categories").json()
    assert "image_generation" in categories and "lora" not in categories and "ti" not in categories


@pytest.mark.parametrize(
    "name",
    [
        "org/model-7B",
        "a/b/c",
        "with space",
        "dots.v1.5.safetensors",
        "plus+one",
        "hash#tag",
        "percent%20literal",
        "ümlaut-模型-🚀",
        "search",
        "model",
        "trailing/",
    ],
)
def test_single_model_with_awkward_names(
    client: Client, name: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record_create(
            category="image_generation", name=name, payload=sd_payload(name), actor=ACTOR, source="api"
        )
    response = client.get(f"{V2}/image_generation/model/{quote(name, safe='/')}")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == name


def test_unknown_model_is_404_with_detail(client: Client, real_reference: Path) -> None:
    response = client.get(f"{V2}/image_generation/model/No%20Such%20Model")
    assert response.status_code == 404
    assert response.json() == {"detail": "Model 'No Such Model' not found in category 'image_generation'"}


@pytest.mark.parametrize("path", ["nope", "nope/model/x", "nope/search", "Image_Generation"])
def test_unknown_category_is_422_with_detail(client: Client, path: str) -> None:
    response = client.get(f"{V2}/{path}")
    assert response.status_code == 422
    assert "detail" in response.json()


class TestSearch:
    def test_category_search_envelope_and_paging(self, client: Client, real_reference: Path) -> None:
        body = client.get(f"{V2}/image_generation/search", {"limit": 10, "offset": 155}).json()
        assert body["total"] == 161 and body["offset"] == 155 and body["limit"] == 10
        assert len(body["results"]) == 6 and body["has_more"] is False
        first = client.get(f"{V2}/image_generation/search", {"limit": 10}).json()
        assert first["has_more"] is True

    def test_filters_and_sorting(self, client: Client, real_reference: Path) -> None:
        body = client.get(
            f"{V2}/image_generation/search",
            {"nsfw": "false", "baseline": "stable_diffusion_xl", "sort_by": "name", "limit": "500"},
        ).json()
        names = [record["name"] for record in body["results"]]
        assert names == sorted(names) and body["total"] == len(names) > 0
        assert all(r["nsfw"] is False and r["baseline"] == "stable_diffusion_xl" for r in body["results"])

    def test_cross_category_search(self, client: Client, real_reference: Path) -> None:
        body = client.get(f"{V2}/search", {"name_contains": "CONTROL_CANNY", "limit": "500"}).json()
        assert body["total"] >= 1
        assert all("control_canny" in r["name"].lower() for r in body["results"])

    def test_cross_category_search_applies_baseline_and_inpainting(
        self, client: Client, real_reference: Path
    ) -> None:
        # It used to ignore both and answer every record (913) for ?baseline=foo.
        assert client.get(f"{V2}/search", {"baseline": "foo"}).json()["total"] == 0
        xl = client.get(f"{V2}/search", {"baseline": "stable_diffusion_xl", "limit": "500"}).json()
        per_category = client.get(
            f"{V2}/image_generation/search", {"baseline": "stable_diffusion_xl", "limit": "500"}
        ).json()
        assert xl["total"] > 0 and {r["baseline"] for r in xl["results"]} == {"stable_diffusion_xl"}
        assert xl["total"] >= per_category["total"]
        inpainting = client.get(f"{V2}/search", {"inpainting": "true", "limit": "500"}).json()
        assert inpainting["total"] > 0 and all(r["inpainting"] is True for r in inpainting["results"])

    @pytest.mark.parametrize(
        ("route", "name"),
        [
            ("search", "backend"),
            ("search", "quantized"),
            ("search", "exclude_backend_variations"),
            ("search", "source"),
            ("search", "nsfw_only"),
            ("image_generation/search", "bogus"),
            ("text_generation/search", "tag"),
        ],
    )
    def test_parameters_a_search_does_not_apply_are_422(
        self, client: Client, real_reference: Path, route: str, name: str
    ) -> None:
        response = client.get(f"{V2}/{route}", {name: "true"})
        assert response.status_code == 422, response.content
        [item] = response.json()["detail"]
        assert item["loc"] == ["query", name] and item["type"] == "extra_forbidden"

    def test_text_sort_accepts_both_parameter_names(self, client: Client, real_reference: Path) -> None:
        by_new = client.get(f"{V2}/text_generation/search", {"sort_by": "parameters", "limit": "5"}).json()
        by_old = client.get(
            f"{V2}/text_generation/search", {"sort_by": "parameters_count", "limit": "5"}
        ).json()
        assert by_new["results"] == by_old["results"]

    @pytest.mark.parametrize(
        ("params", "status"),
        [
            ({"limit": 0}, 422),
            ({"limit": 501}, 422),
            ({"offset": -1}, 422),
            ({"limit": "ten"}, 422),
            ({"nsfw": "perhaps"}, 422),
            ({"name_contains": "a\x00b"}, 422),
            ({"sort_by": "no_such_field"}, 400),
            ({"source": "civitai"}, 400),
            ({"backend": "vllm"}, 400),
        ],
    )
    def test_bad_parameters(
        self, client: Client, real_reference: Path, params: dict[str, str | int], status: int
    ) -> None:
        category = "text_generation" if "backend" in params else "image_generation"
        response = client.get(f"{V2}/{category}/search", params)
        assert response.status_code == status, response.content
        assert "detail" in response.json()

    def test_filter_on_a_field_the_category_lacks_is_400(self, client: Client, real_reference: Path) -> None:
        response = client.get(f"{V2}/clip/search", {"nsfw": "true"})
        assert response.status_code == 400
        assert "Filter not supported" in response.json()["detail"]

    def test_unknown_category_search_is_422(self, client: Client) -> None:
        response = client.get(f"{V2}/nope/search")
        assert response.status_code == 422
        assert "Unknown category" in response.json()["detail"]
