"""Catalog reads are SQL per request: a change committed anywhere is what every process serves next."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from catalogs.schemas import ImageBaselineChangeSet
from catalogs.services import baseline_catalog_import, baseline_change_set_apply
from tests.catalogs.conftest import SYSTEM, fixture
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
