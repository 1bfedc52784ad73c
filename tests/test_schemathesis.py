"""Schemathesis against a live server: the OpenAPI document tells the truth.

A real gunicorn process on PostgreSQL + Redis serves a small slice of the real data;
every operation of its own ``/api/openapi.json`` is called with generated requests
(valid and invalid), once anonymously and once with a requestor's AI Horde key (the
AI Horde is a local stand-in). Every answer must be below 500 and must match what the
document says: status code, content type and body schema.

Deterministic and bounded: hypothesis runs derandomized (a fixed seed) with a small
number of examples per operation, and without shrinking, so the whole run fits the
test budget and every distinct failure is listed at once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err

from audit.services import Actor
from tests.factories import sd_payload
from tests.horde_stub import HordeStub
from tests.record_writes import record_create
from tests.servers import database_url, web_servers

GenerationMode = schemathesis.GenerationMode


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="runs in the PostgreSQL + Redis pass: a live server process shares the test database",
    ),
]

REQUESTOR_KEY = "schemathesis-requestor-key-0001"
REQUESTOR_ID = 4242
APPROVER_ID = 4343
#: Per operation and generation mode (valid, invalid); about a minute per key on two cores.
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
SMALL_CATEGORIES = ("blip", "clip", "codeformer", "controlnet", "esrgan", "gfpgan", "safety_checker")

#: Deliberate exclusions, each with its reason. Keys are "METHOD /path" as documented.
#: None today: every operation is exercised.
EXCLUDED_OPERATIONS: dict[str, str] = {}


@pytest.fixture
def horde() -> Iterator[HordeStub]:
    stub = HordeStub()
    stub.add_user(REQUESTOR_KEY, "Requestor", REQUESTOR_ID)
    with stub.running():
        yield stub


@pytest.fixture
def seeded(tmp_path: Path, reference_data: Path) -> None:
    """A small slice of the real data (the small image files) and one model of our own."""
    from sync.services import legacy_import

    source = tmp_path / "source"
    (source / "image").mkdir(parents=True)
    for category in SMALL_CATEGORIES:
        shutil.copy(reference_data / "image" / f"{category}.json", source / "image" / f"{category}.json")
    report = legacy_import(source=str(source))
    assert report.ok, report.lines()
    record_create(
        category="image_generation",
        name="Schemathesis Model",
        payload=sd_payload("Schemathesis Model"),
        actor=Actor.system("test"),
        source="api",
    )


@pytest.fixture
def live_server_url(seeded: None, horde: HordeStub, tmp_path: Path) -> Iterator[str]:
    from django.test import override_settings

    from references.exports import export_release_publish
    from sync.services.statistics import statistics_fetch

    # A published release, so the export routes answer with files (503 is for no release).
    export_dir = tmp_path / "export"
    export_release_publish(export_dir=export_dir, keep=2)
    # A statistics snapshot, so the statistics routes answer with bodies to check (their
    # 503 without one is documented and tested in tests/sync/test_statistics.py).
    horde.load_reference_statistics(image_names=["Schemathesis Model"], text_names=[], workers=5)
    with override_settings(AI_HORDE_URL=horde.url):
        statistics_fetch(trigger="command")
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "AI_HORDE_URL": horde.url,
        "REQUESTOR_IDS": str(REQUESTOR_ID),
        "APPROVER_IDS": str(APPROVER_ID),
        # Generated traffic is a burst from one address: the throttles would answer 429
        # (documented, but it would hide every other answer).
        "AUTH_CHECKS_PER_MINUTE": "100000",
        "WRITE_RATE": "100000/min",
        "CELERY_BROKER_URL": "",
        "EXPORT_DIR": str(export_dir),
    }
    set_up = [
        "config.wsgi:application",
        # Sync workers close every connection after its answer, and the arbiter restarts
        # a worker stuck past --timeout: one odd request cannot stall the rest of the run.
        "--worker-class",
        "sync",
        "--workers",
        "3",
        "--timeout",
        "15",
        # Generated queries can be long; gunicorn's own HTML 400 for a long request line is
        # the front server's answer, not the application's, which is what is documented.
        "--limit-request-line",
        "0",
    ]
    with web_servers(env, [set_up]) as bases:
        yield bases[0]


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


def _run_operation(
    operation: Any, mode: Any, base: str, headers: dict[str, str], failures: dict[str, str]
) -> None:
    checks = _checks()
    session = requests.Session()

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        try:
            response = case.call(base_url=base, session=session, headers=headers, timeout=10)
        except requests.RequestException as error:
            key = f"{operation.label} -> no answer: {type(error).__name__}"
            failures.setdefault(key, f"{case.as_curl_command(headers=headers)}\n{error}")
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        # Schemathesis raises a BaseExceptionGroup; one entry per distinct finding, keep generating.
        except (Exception, BaseExceptionGroup) as error:
            found = error.exceptions if isinstance(error, BaseExceptionGroup) else (error,)
            for failure in found:
                title = getattr(failure, "title", None) or type(failure).__name__
                key = f"{operation.label} -> {response.status_code}: {title}"
                failures.setdefault(key, f"{case.as_curl_command(headers=headers)}\n{str(failure)[:1200]}")

    try:
        exercise()
    except Unsatisfiable:
        # Nothing invalid to send (an operation without parameters or body).
        if mode == GenerationMode.POSITIVE:
            raise
    finally:
        session.close()


@pytest.mark.parametrize("with_key", [False, True], ids=["anonymous", "requestor"])
def test_every_operation_conforms_to_the_document(live_server_url: str, with_key: bool) -> None:
    base = live_server_url
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    headers = {"apikey": REQUESTOR_KEY} if with_key else {}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"schemathesis cannot use an operation: {result.err()}")
        operation = result.ok()
        if f"{operation.method.upper()} {operation.path}" in EXCLUDED_OPERATIONS:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(operation, mode, base, headers, failures)
    assert operations > 40
    assert not failures, (
        f"{len(failures)} finding(s):\n"
        + "\n".join(sorted(failures))
        + "\n\n"
        + ("\n\n".join(f"{key}\n{detail}" for key, detail in sorted(failures.items())))
    )
