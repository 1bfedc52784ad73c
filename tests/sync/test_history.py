"""Replay how the real registry evolved: import each snapshot oldest first.

After every step the importer must report exactly the differences between the
two snapshots, and the legacy export must equal the snapshot just imported.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from audit.selectors import audit_chain_verify, audit_replay_record_state
from sync.services import legacy_import
from tests.factories import category_legacy_document, live_record_state

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PREFIXES = ("aphrodite/", "koboldcpp/")


def snapshots(reference_data: Path, kind: str) -> list[Path]:
    found = sorted((reference_data / "history" / kind).glob("*.json.gz"))
    assert len(found) == 10
    return found


def ordered(value: Any) -> str:
    """A comparison that sees key order: exports reproduce it, so a reorder is a change."""
    return json.dumps(value)


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    created = set(new) - set(old)
    deleted = set(old) - set(new)
    updated = {k for k in set(old) & set(new) if ordered(old[k]) != ordered(new[k])}
    return created, updated, deleted


def text_models(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Group db.json keys by model, by the rule convert.py writes them with.

    A bare key is a model; ``aphrodite/K`` belongs to K; ``koboldcpp/M`` belongs to
    the last bare key whose part after the slash is M, or stands alone as M.
    """
    bases = [k for k in document if not k.startswith(PREFIXES)]
    by_short_name = {}
    for key in bases:
        by_short_name[key.split("/")[1] if "/" in key else key] = key
    models: dict[str, dict[str, Any]] = {key: {} for key in bases}
    for key, record in document.items():
        if key.startswith("aphrodite/") and key[len("aphrodite/") :] in models:
            owner = key[len("aphrodite/") :]
        elif key.startswith("koboldcpp/"):
            short = key[len("koboldcpp/") :]
            owner = by_short_name.get(short, short)
        else:
            owner = key
        models.setdefault(owner, {})[key] = record
    return models


def run_import(tmp_path: Path, relative: str, document: dict[str, Any]) -> Any:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document))
    report = legacy_import(source=str(tmp_path), allow_mass_delete=True)
    assert report.ok, report.lines()
    (outcome,) = report.outcomes
    assert outcome.report is not None
    return outcome.report


def test_stable_diffusion_history(reference_data: Path, tmp_path: Path) -> None:
    previous: dict[str, Any] = {}
    for path in snapshots(reference_data, "image"):
        document = json.loads(gzip.decompress(path.read_bytes()))
        report = run_import(tmp_path, "image/stable_diffusion.json", document)
        created, updated, deleted = diff(previous, document)
        assert set(report.created) == created, path.name
        assert set(report.updated) == updated, path.name
        assert set(report.deleted) == deleted, path.name
        assert ordered(category_legacy_document("image_generation")) == ordered(document), path.name
        previous = document
    assert audit_chain_verify().ok


def test_text_db_history(reference_data: Path, tmp_path: Path) -> None:
    previous: dict[str, dict[str, Any]] = {}
    for path in snapshots(reference_data, "text"):
        document = json.loads(gzip.decompress(path.read_bytes()))
        report = run_import(tmp_path, "text/db.json", document)
        models = text_models(document)
        created, updated, deleted = diff(previous, models)
        assert set(report.created) == created, path.name
        assert set(report.updated) == updated, path.name
        assert set(report.deleted) == deleted, path.name
        exported = category_legacy_document("text_generation")
        assert exported == document, path.name
        # Each entry keeps its key order. The order of entries in the oldest,
        # hand-kept files (all bare keys, then all variants) is not reproduced:
        # generated files group each model's three entries, as convert.py does.
        assert [ordered(exported[k]) for k in document] == [ordered(v) for v in document.values()]
        previous = models
    live = live_record_state()
    assert audit_replay_record_state() == live


def test_early_2023_folder_paths_import_and_export_losslessly(reference_data: Path, tmp_path: Path) -> None:
    from tests.client.test_legacy_image import _early_2023_shape

    for path in snapshots(reference_data, "image")[:3]:
        document = json.loads(gzip.decompress(path.read_bytes()))
        assert sum(_early_2023_shape(record) for record in document.values()) > 50
        report = run_import(tmp_path, "image/stable_diffusion.json", document)
        assert report.created or report.updated
        assert ordered(category_legacy_document("image_generation")) == ordered(document), path.name
