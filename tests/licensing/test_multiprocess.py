"""A licensing write committed by one process is what every other server process reads next.

The catalog reads SQL on every request (no process-local copy), so there is nothing to
invalidate; this holds that promise against two real server processes (ASGI and WSGI).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.licensing.conftest import BASE
from tests.references.test_multiprocess import get
from tests.references.test_multiprocess_without_redis import environment, two_servers

__all__ = ["environment", "two_servers"]  # fixtures, shared with the records' test

WRITER = """
import sys
import django
django.setup()
from audit.services import Actor
from licensing.services import license_create, license_replace
body = {"license_id": "MIT", "name": sys.argv[2], "canonical_url": "https://spdx.org/licenses/MIT.html",
        "commercial_use": "allowed", "redistribution": "allowed_with_conditions"}
write = license_create if sys.argv[1] == "create" else license_replace
kwargs = {} if sys.argv[1] == "create" else {"license_id": "MIT"}
write(body=body, actor=Actor(kind="horde", id="4", display_name="dora"), **kwargs)
"""


def write(env: dict[str, str], operation: str, name: str) -> None:
    subprocess.run([sys.executable, "-c", WRITER, operation, name], cwd=REPO_ROOT, env=env, check=True)


def test_a_write_in_one_process_is_read_by_every_server_process(
    environment: dict[str, str], two_servers: list[str]
) -> None:
    for base in two_servers:
        status, body, _ = get(base + BASE + "/licenses/MIT")
        assert status == 404, body
    write(environment, "create", "first")
    for round_, name in enumerate(["first", "second", "third"]):
        if round_:
            write(environment, "update", name)
        for base in two_servers:
            status, body, _ = get(base + BASE + "/licenses/MIT")
            assert status == 200 and json.loads(body)["name"] == name, (base, round_)
            export = json.loads(get(base + BASE + "/export")[1])
            assert [item["name"] for item in export["licenses"]] == [name]
