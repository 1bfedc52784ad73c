"""A curation change made in one process is served by every other process on its next request.

The group tool reads run SQL on each request (``text_models.selectors``): there is no
process-local copy to invalidate. Runs once, in the PostgreSQL pass (DECISIONS 26).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import REPO_ROOT
from tests.references.test_multiprocess import get
from tests.servers import ASGI_SET_UP, WSGI_SET_UP, database_url, server_environment, web_servers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="multi-process tests run in the PostgreSQL pass"
    ),
]
BASE = "/api/model_references/v2/text_generation"
WRITER = """
import sys
import django
django.setup()
from audit.services import Actor
from text_models import services
actor = Actor.system("other-process")
operation, argument = sys.argv[1], sys.argv[2]
if operation == "aliases":
    services.aliases_set(canonical="Llama-3", aliases=argument.split(","), actor=actor)
elif operation == "family":
    services.family_set(family_name=argument, members=["Llama-3"], actor=actor)
else:
    services.family_delete(family_name=argument, actor=actor)
"""
SEED = """
import django
django.setup()
from audit.services import Actor
from tests.record_writes import record_create
record_create(category="text_generation", name="Llama-3-8B",
              payload={"name": "Llama-3-8B", "parameters": 8000000000, "baseline": "llama3", "nsfw": False},
              actor=Actor.system("test"), source="sync")
"""


@pytest.fixture
def environment() -> dict[str, str]:
    env = {"DATABASE_URL": database_url()}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
        env["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
    return server_environment(env)


@pytest.fixture
def two_servers(environment: dict[str, str]) -> Iterator[list[str]]:
    with web_servers(environment, [ASGI_SET_UP, WSGI_SET_UP]) as bases:
        yield bases


def run(environment: dict[str, str], script: str, *args: str) -> None:
    subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, env=environment, check=True)


def read(url: str) -> Any:
    status, body, _ = get(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def test_curation_written_elsewhere_is_served_by_every_process(
    environment: dict[str, str], two_servers: list[str]
) -> None:
    run(environment, SEED)
    for base in two_servers:
        assert read(base + BASE + "/aliases") == {"entries": []}
        assert read(base + BASE + "/group?name=Llama-3")["related_family"] is None
    for round_ in range(2):
        letter = "ab"[round_]
        aliases = [f"Lthree{letter}", f"Llamathree{letter}"]
        run(environment, WRITER, "aliases", ",".join(aliases))
        run(environment, WRITER, "family", f"Llama-{round_}")
        for base in two_servers:
            assert read(base + BASE + "/aliases") == {
                "entries": [{"canonical": "Llama-3", "aliases": aliases}]
            }
            assert read(base + BASE + f"/parse_name?name=Lthree{letter}")["suggested_group"] == "Llama-3"
            family = read(base + BASE + "/group?name=Llama-3")["related_family"]
            assert family == {"family_name": f"Llama-{round_}", "members": ["Llama-3"]}
        # Free the group for the next round's family.
        run(environment, WRITER, "delete-family", f"Llama-{round_}")
