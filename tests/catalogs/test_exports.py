"""Every export writes the catalogs and lists them in its manifest; a catalog change publishes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from catalogs import selectors
from catalogs.schemas import ImageBaselineChangeSet
from catalogs.services import baseline_change_set_apply
from references.exports import CURRENT_LINK, MANIFEST_NAME, export_release_publish, reference_export
from tests.catalogs.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def assert_documents_listed(directory: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((directory / MANIFEST_NAME).read_bytes())
    documents = manifest["documents"]
    ours = selectors.catalogs_export_documents()
    # Other apps' documents (the licensing catalog) are listed beside these.
    assert list(ours) == ["text_guidance.json", "image_baselines.json"]
    assert set(ours) <= set(documents)
    for name in ours:
        entry = documents[name]
        content = (directory / entry["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert json.loads(content) == ours[name]
    return manifest


def test_reference_export_writes_the_catalogs(tmp_path: Path, baselines: dict[str, Any]) -> None:
    reference_export(dest=tmp_path)
    manifest = assert_documents_listed(tmp_path)
    assert (
        json.loads((tmp_path / manifest["documents"]["image_baselines.json"]["path"]).read_bytes())
        == baselines
    )


def test_a_legacy_only_export_leaves_the_catalogs_out(tmp_path: Path, baselines: dict[str, Any]) -> None:
    result = reference_export(dest=tmp_path, fmt="legacy")
    assert result.manifest["documents"] == {} and not (tmp_path / "catalogs").exists()


def test_a_catalog_change_alone_publishes_a_new_release(
    tmp_path: Path,
    baselines: dict[str, Any],
    client: Client,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = export_release_publish(export_dir=tmp_path, keep=5)
    assert first.created
    assert not export_release_publish(export_dir=tmp_path, keep=5).created
    before = baselines["baselines"]["flux_1"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        baseline_change_set_apply(
            change_set=ImageBaselineChangeSet.model_validate(
                {
                    "title": "t",
                    "changes": [
                        {
                            "operation": "upsert",
                            "name": "flux_1",
                            "record": {**before, "display_name": "FLUX.1"},
                            "expected_before": before,
                        }
                    ],
                }
            ),
            actor=SYSTEM,
        )
    # The change asks for an export on commit, as a record change does.
    assert callbacks
    second = export_release_publish(export_dir=tmp_path, keep=5)
    assert second.created
    assert_documents_listed(tmp_path / CURRENT_LINK)
    # Served from the release, like every other exported file.
    settings.EXPORT_DIR = tmp_path
    served: Any = client.get("/api/model_references/export/catalogs/image_baselines.json")
    assert served.status_code == 200
    assert (
        json.loads(b"".join(served.streaming_content) if served.streaming else served.content)["baselines"][
            "flux_1"
        ]["display_name"]
        == "FLUX.1"
    )
