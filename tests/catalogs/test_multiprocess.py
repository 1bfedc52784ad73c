"""Catalog reads are SQL per request: a change committed anywhere is what every process serves next."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from catalogs.schemas import ImageBaselineChangeSet, TextGuidanceChangeSet
from catalogs.services import baseline_catalog_import, baseline_change_set_apply, guidance_change_set_apply
from tests.catalogs.conftest import SYSTEM, contract, fixture, text_payload
from tests.record_writes import record_create
from tests.servers import ASGI_SET_UP, WSGI_SET_UP, database_url, web_servers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="runs in the PostgreSQL + Redis pass: processes must share a database",
    ),
]

URL = "/api/model_references/v2/image_generation/baselines/flux_1"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def two_servers() -> Iterator[list[str]]:
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    with web_servers(env, [ASGI_SET_UP, WSGI_SET_UP]) as bases:
        yield bases


def test_a_change_in_one_process_is_served_by_every_other(two_servers: list[str]) -> None:
    document: dict[str, Any] = fixture("image_baselines.json")
    baseline_catalog_import(document=document, actor=SYSTEM)
    before = document["baselines"]["flux_1"]
    for base in two_servers:
        assert get_json(base + URL) == before
    baseline_change_set_apply(
        change_set=ImageBaselineChangeSet.model_validate(
            {
                "title": "t",
                "changes": [
                    {
                        "operation": "upsert",
                        "name": "flux_1",
                        "record": {**before, "display_name": "changed elsewhere"},
                        "expected_before": before,
                    }
                ],
            }
        ),
        actor=SYSTEM,
    )
    for base in two_servers:
        assert get_json(base + URL)["display_name"] == "changed elsewhere"


def test_published_guidance_is_served_by_every_process_under_a_new_etag(two_servers: list[str]) -> None:
    name = "Org/Chatty-7B"
    record_create(
        category="text_generation",
        name=name,
        payload=text_payload(name, instruct_format="ChatML"),
        actor=SYSTEM,
        source="sync",
    )
    path = "/api/model_references/v2/text_generation"
    before: dict[str, str] = {}
    for base in two_servers:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            before[base] = response.headers["ETag"]
            assert json.loads(response.read())[name]["guidance"]["status"] == "legacy_label"
    guidance_change_set_apply(
        change_set=TextGuidanceChangeSet.model_validate(
            {
                "title": "t",
                "profile_changes": [
                    {"operation": "create", "profile_id": "chatml", "profile": contract("chatml")}
                ],
                "assignment_changes": [
                    {"model_name": name, "assignment": {"model_name": name, "primary_profile_id": "chatml"}}
                ],
            }
        ),
        actor=SYSTEM,
    )
    for base in two_servers:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            assert response.headers["ETag"] != before[base]
            assert json.loads(response.read())[name]["guidance"] == {
                "status": "published",
                "primary_profile_id": "chatml",
                "supplemental_profile_ids": [],
            }
        assert get_json(base + f"{path}/model/{name}")["guidance"]["status"] == "published"
