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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REPO_ROOT
from tests.references.test_multiprocess import free_port, get

URL = "/api/model_references/v2/image_generation"
WRITER = """
import sys
import django
django.setup()
from audit.services import Actor
from references.services import record_create, record_update
from tests.factories import sd_payload
operation, description = sys.argv[1], sys.argv[2]
write = record_create if operation == "create" else record_update
write(category="image_generation", name="Shared", payload=sd_payload("Shared", description=description),
      actor=Actor.system("test"), source="api")
"""


def _environment(database_url: str, signal_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL", "REVISION_SIGNAL_DIR", "DJANGO_SETTINGS_MODULE")
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REVISION_SIGNAL_DIR": str(signal_dir),
        "DEBUG": "false",
        "SECRET_KEY": "multi-process-test-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        env = _environment(f"sqlite:///{tmp_path / 'shared.sqlite3'}", tmp_path / "revisions")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True)
        return env
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL variant runs in the PostgreSQL pass")
    request.getfixturevalue("transactional_db")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return _environment(url, tmp_path / "unused")


@pytest.fixture
def two_servers(environment: dict[str, str]) -> Iterator[list[str]]:
    processes, bases = [], []
    set_ups = [
        ["config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"],
        ["config.wsgi:application", "--worker-class", "gthread", "--threads", "2"],
    ]
    try:
        for set_up in set_ups:
            port = free_port()
            command = [sys.executable, "-m", "gunicorn", *set_up, "--bind", f"127.0.0.1:{port}"]
            processes.append(
                subprocess.Popen(
                    [*command, "--workers", "1", "--log-level", "warning"], cwd=REPO_ROOT, env=environment
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for base in bases:
            while True:
                try:
                    if get(f"{base}/api/heartbeat")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"server at {base} did not start")
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


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
