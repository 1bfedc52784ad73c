"""The licensing catalog in every export release (file + manifest entry), and in the admin."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from licensing import selectors, services
from references.exports import CURRENT_LINK, MANIFEST_NAME, RELEASES_DIR, reference_export
from sync.models import SyncRun
from sync.services import export_publish
from tests.licensing.conftest import BASE, oracle

pytestmark = pytest.mark.django_db

EDITOR = Actor(kind="horde", id="4", display_name="dora")
CATALOG_FILE = "catalogs/licensing.json"


def releases(export_dir: Path) -> list[str]:
    folder = export_dir / RELEASES_DIR
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def test_every_release_carries_the_licensing_export_and_lists_it(settings: Any, tmp_path: Path) -> None:
    settings.EXPORT_DIR = tmp_path / "export"
    services.licensing_catalog_import(
        document=copy.deepcopy(oracle("licensing_export.json")["body"]), actor=Actor.system("test")
    )
    assert export_publish(trigger=SyncRun.Trigger.BEAT).status == SyncRun.Status.SUCCEEDED
    current = Path(settings.EXPORT_DIR) / CURRENT_LINK
    content = (current / CATALOG_FILE).read_bytes()
    assert json.loads(content) == selectors.licensing_export()
    entry = json.loads((current / MANIFEST_NAME).read_bytes())["documents"]["licensing.json"]
    assert entry["path"] == CATALOG_FILE and entry["sha256"] == hashlib.sha256(content).hexdigest()

    # Nothing changed: no new release. A licensing change alone (no category revision moves): a new one.
    export_publish(trigger=SyncRun.Trigger.BEAT)
    assert len(releases(Path(settings.EXPORT_DIR))) == 1
    services.license_replace(
        license_id="MIT",
        body={**selectors.license_definition_get(license_id="MIT"), "notes": "changed"},  # type: ignore[dict-item]
        actor=EDITOR,
    )
    export_publish(trigger=SyncRun.Trigger.BEAT)
    assert len(releases(Path(settings.EXPORT_DIR))) == 2
    served = json.loads((current / CATALOG_FILE).read_bytes())
    assert next(item for item in served["licenses"] if item["license_id"] == "MIT")["notes"] == "changed"


def test_the_published_catalog_file_is_served_by_the_export_route(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_DIR = tmp_path / "export"
    export_publish(trigger=SyncRun.Trigger.BEAT)
    response = client.get(f"/api/model_references/export/{CATALOG_FILE}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert json.loads(body) == client.get(f"{BASE}/export").json()


def test_a_plain_export_writes_the_licensing_catalog(tmp_path: Path) -> None:
    result = reference_export(dest=tmp_path, fmt="v2")
    assert CATALOG_FILE in result.files
    entry = result.manifest["documents"]["licensing.json"]
    assert entry["path"] == CATALOG_FILE
    assert json.loads((tmp_path / CATALOG_FILE).read_bytes())["licenses"] == []


def test_admin_shows_the_catalog_read_only(admin_client: Client) -> None:
    services.licensing_catalog_import(
        document=copy.deepcopy(oracle("licensing_export.json")["body"]), actor=Actor.system("test")
    )
    for model in ("licensedefinition", "licensedasset", "licensingdataset"):
        listing = admin_client.get(f"/admin/licensing/{model}/")
        assert listing.status_code == 200, model
        assert admin_client.get(f"/admin/licensing/{model}/add/").status_code == 403
    page = admin_client.get("/admin/licensing/licensedefinition/?q=Apache").content.decode()
    assert "Apache-2.0" in page
