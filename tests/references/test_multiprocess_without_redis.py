"""Two web processes without Redis serve a change applied elsewhere on their next request.

Issue #9 item 4 (DECISIONS.md 31): Redis is an accelerator, not a correctness
dependency. On SQLite the processes share the revision files; on PostgreSQL every
read not answered from memory checks the revision in the database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REPO_ROOT
from tests.references.test_multiprocess import get
from tests.servers import ASGI_SET_UP, WSGI_SET_UP, database_url, server_environment, web_servers

URL = "/api/model_references/v2/image_generation"
WRITER = """
import sys
import django
django.setup()
from audit.services import Actor
from tests.record_writes import record_create, record_update
from tests.factories import sd_payload
operation, description = sys.argv[1], sys.argv[2]
write = record_create if operation == "create" else record_update
write(category="image_generation", name="Shared", payload=sd_payload("Shared", description=description),
      actor=Actor.system("test"), source="api")
"""


def _environment(database_url: str, signal_dir: Path) -> dict[str, str]:
    # Not inherited wholesale: the PostgreSQL pass sets REDIS_URL, which must stay unset here.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL", "REVISION_SIGNAL_DIR", "DJANGO_SETTINGS_MODULE")
    }
    return server_environment(
        {**env, "DATABASE_URL": database_url, "REVISION_SIGNAL_DIR": str(signal_dir)}, inherit=False
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        env = _environment(f"sqlite:///{tmp_path / 'shared.sqlite3'}", tmp_path / "revisions")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True)
        return env
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL variant runs in the PostgreSQL pass")
    request.getfixturevalue("transactional_db")
    return _environment(database_url(), tmp_path / "unused")


@pytest.fixture
def two_servers(environment: dict[str, str]) -> Iterator[list[str]]:
    with web_servers(environment, [ASGI_SET_UP, WSGI_SET_UP], inherit_environment=False) as bases:
        yield bases


def write(environment: dict[str, str], operation: str, description: str) -> None:
    subprocess.run(
        [sys.executable, "-c", WRITER, operation, description], cwd=REPO_ROOT, env=environment, check=True
    )


def test_a_change_reaches_every_process_at_once_without_redis(
    environment: dict[str, str], two_servers: list[str]
) -> None:
    write(environment, "create", "first")
    etags = []
    for base in two_servers:
        for _ in range(3):  # warm: the document is in memory and its pointer known
            status, body, etag = get(base + URL)
            assert status == 200 and json.loads(body)["Shared"]["description"] == "first"
        etags.append(etag)

    for round_ in range(3):
        description = f"changed in another process {round_}"
        write(environment, "update", description)
        for base in two_servers:
            status, body, etag = get(base + URL, etags[0])
            assert status == 200, (base, round_)
            assert json.loads(body)["Shared"]["description"] == description
            single = get(base + "/api/model_references/v2/image_generation/model/Shared")
            assert json.loads(single[1])["description"] == description
            assert get(base + URL) == (status, body, etag)  # warm again: the same answer
        etags = [etag]
