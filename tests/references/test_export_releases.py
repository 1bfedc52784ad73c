"""Published export releases: one consistent snapshot, an atomic `current` switch, keep-N."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections, transaction

from audit.selectors import audit_chain_head_hash
from audit.services import Actor
from references.exports import (
    CURRENT_LINK,
    MANIFEST_NAME,
    RELEASES_DIR,
    export_release_publish,
    export_releases_prune,
)
from references.selectors import category_revisions
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update

ACTOR = Actor.system("test")
SD = "image_generation"


def releases(export_dir: Path) -> list[str]:
    if not (export_dir / RELEASES_DIR).exists():
        return []
    return sorted(p.name for p in (export_dir / RELEASES_DIR).iterdir() if not p.name.startswith("."))


def current_manifest(export_dir: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((export_dir / CURRENT_LINK / MANIFEST_NAME).read_bytes())
    return manifest


def assert_manifest_describes_its_bytes(release: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((release / MANIFEST_NAME).read_bytes())
    for info in manifest["categories"].values():
        for key in ("v2", "legacy", "legacy_csv"):
            if key in info:
                content = (release / info[key]["path"]).read_bytes()
                assert hashlib.sha256(content).hexdigest() == info[key]["sha256"]
    return manifest


@pytest.mark.django_db
def test_release_manifest_revisions_equal_the_records_state(tmp_path: Path) -> None:
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="sync")
    record_create(category=SD, name="Beta", payload=sd_payload("Beta"), actor=ACTOR, source="sync")
    result = export_release_publish(export_dir=tmp_path, keep=5)
    assert result.created
    release = tmp_path / RELEASES_DIR / str(result.name)
    manifest = assert_manifest_describes_its_bytes(release)
    assert {name: info["revision"] for name, info in manifest["categories"].items()} == category_revisions()
    assert manifest["audit_head_hash"] == audit_chain_head_hash()
    assert manifest["release"] == result.name
    assert list(json.loads((release / "v2" / "image_generation.json").read_bytes())) == ["Alpha", "Beta"]
    assert (release / "legacy" / "stable_diffusion.json").is_file()
    assert (release / "legacy" / "models.csv").read_bytes().startswith(b"name,parameters_bn,")
    # `current` is a relative symlink to the release, so the directory can be moved or served.
    assert os.readlink(tmp_path / CURRENT_LINK) == f"{RELEASES_DIR}/{result.name}"
    assert current_manifest(tmp_path) == manifest


@pytest.mark.django_db
def test_nothing_changed_means_no_new_release(tmp_path: Path) -> None:
    first = export_release_publish(export_dir=tmp_path, keep=5)
    again = export_release_publish(export_dir=tmp_path, keep=5)
    assert first.created and not again.created and again.name == first.name
    assert releases(tmp_path) == [first.name]
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="sync")
    changed = export_release_publish(export_dir=tmp_path, keep=5)
    assert changed.created and changed.name != first.name
    assert current_manifest(tmp_path)["categories"][SD]["records"] == 1


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = export_release_publish(export_dir=tmp_path, keep=5, dry_run=True)
    assert not result.created and "v2/image_generation.json" in result.files
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_keeps_the_last_n_releases_and_never_the_current_one(tmp_path: Path) -> None:
    names = []
    for index in range(4):
        record_create(
            category=SD, name=f"M{index}", payload=sd_payload(f"M{index}"), actor=ACTOR, source="sync"
        )
        names.append(export_release_publish(export_dir=tmp_path, keep=2).name)
    assert releases(tmp_path) == names[-2:]
    assert os.readlink(tmp_path / CURRENT_LINK) == f"{RELEASES_DIR}/{names[-1]}"
    # `current` pointing at an old release (an operator rolled back) keeps it alive.
    os.remove(tmp_path / CURRENT_LINK)
    os.symlink(f"{RELEASES_DIR}/{names[-2]}", tmp_path / CURRENT_LINK)
    assert export_releases_prune(tmp_path, keep=1) == []
    assert releases(tmp_path) == names[-2:]


@pytest.mark.django_db
def test_the_current_link_switches_atomically_under_a_reader(tmp_path: Path) -> None:
    """A reader polling `current` always finds a complete release, before and after each switch."""
    export_release_publish(export_dir=tmp_path, keep=3)
    problems: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                assert_manifest_describes_its_bytes((tmp_path / CURRENT_LINK).resolve(strict=True))
            except Exception as error:  # a missing link or file, a half-written one, a mismatch
                problems.append(repr(error))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for index in range(8):
            record_create(
                category=SD, name=f"M{index}", payload=sd_payload(f"M{index}"), actor=ACTOR, source="sync"
            )
            assert export_release_publish(export_dir=tmp_path, keep=3).created
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert len(releases(tmp_path)) == 3
    # No temporary link or build directory is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [CURRENT_LINK, RELEASES_DIR]
    assert not [p for p in (tmp_path / RELEASES_DIR).iterdir() if p.name.startswith(".")]


def _waiting_on_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_locks, not pg_stat_activity: the latter is a snapshot frozen per transaction.
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="runs in the PostgreSQL pass: the interleaving needs a table lock and a second connection",
)
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_during_an_export_cannot_split_the_manifest_from_the_bytes(tmp_path: Path) -> None:
    """The export has read the category states when an apply commits; its records must match them.

    The test holds an exclusive lock on the records table, so the export stops after
    its first reads (the states) and waits; the same transaction then applies an
    update and commits. Reading each category separately, the export would label the
    new records with the old revision.
    """
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="sync")
    before = category_revisions()[SD]
    outcome: dict[str, Any] = {}

    def export() -> None:
        try:
            outcome["result"] = export_release_publish(export_dir=tmp_path, keep=5)
        except Exception as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=export)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute('LOCK TABLE "references_modelrecord" IN ACCESS EXCLUSIVE MODE')
        thread.start()
        assert _waiting_on_a_lock(), "the export never reached the records"
        record_update(
            category=SD,
            name="Alpha",
            payload=sd_payload("Alpha", description="changed during the export"),
            actor=ACTOR,
            source="sync",
        )
    thread.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    release = tmp_path / RELEASES_DIR / str(outcome["result"].name)
    manifest = assert_manifest_describes_its_bytes(release)
    document = json.loads((release / "v2" / "image_generation.json").read_bytes())
    assert manifest["categories"][SD]["revision"] == before
    assert document["Alpha"]["description"] == "A test model"
    # The next export describes the change, with its own revision.
    after = export_release_publish(export_dir=tmp_path, keep=5)
    assert after.created and after.revisions[SD] == before + 1
    latest = json.loads((tmp_path / CURRENT_LINK / "v2" / "image_generation.json").read_bytes())
    assert latest["Alpha"]["description"] == "changed during the export"
