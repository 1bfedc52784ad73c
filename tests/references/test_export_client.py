"""Approve → apply → export, then a fresh client process reads the change unchanged.

The client package runs in its own process (no Django), reading through its export
source only (primary API and GitHub fallback off): once from the live server's
`/api/model_references/export` URL, once from the export directory (`EXPORT_DIR`,
whose `current` link it resolves itself).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from tests.conftest import REPO_ROOT
from tests.factories import sd_payload
from tests.servers import web_server

pytestmark = pytest.mark.django_db

NAME = "Exported Through The Queue"
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")

CLIENT = r"""
import json, sys
from horde_model_reference import ModelReferenceManager
manager = ModelReferenceManager()
models = manager.get_model_reference("image_generation")
record = models.get(sys.argv[1])
print(json.dumps({
    "source": manager.data_source("image_generation"),
    "count": len(models),
    "description": None if record is None else record.description,
    "text": len(manager.get_model_reference("text_generation")),
}))
"""


def client_reads(export_source: str, cache_dir: Path) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HORDE_MODEL_REFERENCE_")}
    env.update(
        {
            "HORDE_MODEL_REFERENCE_PRIMARY_API_URL": "",
            "HORDE_MODEL_REFERENCE_ENABLE_GITHUB_FALLBACK": "false",
            "HORDE_MODEL_REFERENCE_EXPORT_SOURCE": export_source,
            "HORDE_MODEL_REFERENCE_CACHE_DIR": str(cache_dir),
            # The client package alone: it must not need the server's code.
            "PYTHONPATH": str(REPO_ROOT / "client"),
        }
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, NAME],
        env=env,
        cwd=cache_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_an_applied_change_reaches_a_fresh_client_through_the_export(
    real_reference: Path, settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    export_dir = tmp_path / "export"
    settings.EXPORT_DIR = export_dir
    call_command("sync", "export")
    before = client_reads(str(export_dir), tmp_path)
    assert before["source"] == "export" and before["description"] is None

    proposal = proposal_create_v2(
        category="image_generation",
        operation="create",
        body=sd_payload(NAME, description="approved, applied, exported"),
        path_name=None,
        actor=ALICE,
    )
    batch_review(title="export", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    # On commit, the apply asks for an export; eager here, so it runs at once.
    settings.EXPORT_ON_CHANGE = True
    settings.EXPORT_DEBOUNCE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        proposal_apply(change_id=proposal.pk, actor=BOB)

    # The web server only reads files: its own empty database is enough.
    server_env = {"EXPORT_DIR": str(export_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}"}
    with web_server(server_env) as base:
        for source in (f"{base}/api/model_references/export", f"{base}/model_references/export/"):
            cache = tmp_path / f"cache-{len(source)}"
            cache.mkdir()
            over_http = client_reads(source, cache)
            assert over_http["source"] == "export"
            assert over_http["description"] == "approved, applied, exported"
            assert over_http["count"] == before["count"] + 1
            assert over_http["text"] == before["text"] > 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    from_disk = client_reads(str(export_dir), fresh)
    assert from_disk["description"] == "approved, applied, exported"
    assert from_disk["count"] == before["count"] + 1
