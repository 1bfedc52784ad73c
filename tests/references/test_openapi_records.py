"""The OpenAPI document describes v2 records with the record contract itself, and real records fit it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.test import Client

from horde_model_reference.model_reference_records import MODEL_RECORD_TYPE_LOOKUP

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"


@pytest.fixture
def openapi(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content)
    return document


def validator_for(openapi: dict[str, Any], component: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": openapi["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_v2_routes_refer_to_the_record_components(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1")
    record_names = {record_class.__name__ for record_class in MODEL_RECORD_TYPE_LOOKUP.values()}
    assert record_names <= set(openapi["components"]["schemas"])
    paths = openapi["paths"]
    single = paths["/api/model_references/v2/{model_category_name}/model/{model_name}"]
    refs = {
        item["$ref"].rsplit("/", 1)[-1]
        for item in single["get"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    }
    assert refs == record_names
    create = paths["/api/model_references/v2/{model_category_name}/add"]["post"]["requestBody"]
    assert create["content"]["application/json"]["schema"]["anyOf"]
    document = paths["/api/model_references/v2/{model_category_name}"]["get"]["responses"]["200"]
    assert "additionalProperties" in document["content"]["application/json"]["schema"]


def test_every_real_record_fits_its_documented_schema(
    client: Client, real_reference: Path, openapi: dict[str, Any]
) -> None:
    checked = 0
    for category, record_class in MODEL_RECORD_TYPE_LOOKUP.items():
        response = client.get(f"{V2}/{category.value}")
        assert response.status_code == 200
        validator = validator_for(openapi, record_class.__name__)
        for name, record in json.loads(response.content).items():
            errors = [error.message for error in validator.iter_errors(record)]
            assert not errors, (category.value, name, errors[:3])
            checked += 1
    assert checked > 900  # the whole reference, not a sample


def test_the_documented_schema_rejects_what_the_server_rejects(openapi: dict[str, Any]) -> None:
    validator = validator_for(openapi, "ImageGenerationModelRecord")
    assert not validator.is_valid({"baseline": "stable_diffusion_1"})  # no name
    assert not validator.is_valid({"name": "x", "nsfw": "maybe"})


def test_search_results_fit_the_documented_response(
    client: Client, real_reference: Path, openapi: dict[str, Any]
) -> None:
    operation = openapi["paths"]["/api/model_references/v2/search"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": openapi["components"]})
    response = client.get(f"{V2}/search", {"name_contains": "stable", "limit": "5"})
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["results"] and body["has_more"] is True
    assert not [error.message for error in validator.iter_errors(body)]
