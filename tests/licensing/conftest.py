"""Fixtures of the licensing tests: an editor on the AI Horde stand-in, records, recorded answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.services import Actor
from references.models import ModelRecord
from tests.record_writes import record_create

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "/api/model_references/v2/licensing"
SYSTEM = Actor.system("test")

#: The two codeformer records the oracle answers were recorded over (scripts/record_licensing_oracle.py).
CODEFORMERS_LICENSING = {
    "license_expression": "LicenseRef-S-Lab-1.0",
    "license_ids": ["LicenseRef-S-Lab-1.0"],
    "commercial_use": "prohibited",
    "redistribution": "allowed_with_conditions",
    "obligations": ["attribution", "include_license"],
    "reviewed_by": "hordelib-license-audit",
    "reviewed_at": "2026-06-29",
    "files": {
        "CodeFormers.pth": {
            "license_expression": "LicenseRef-S-Lab-1.0 AND MIT",
            "license_ids": ["LicenseRef-S-Lab-1.0", "MIT"],
            "commercial_use": "prohibited",
            "redistribution": "allowed_with_conditions",
        }
    },
}


def oracle(name: str) -> dict[str, Any]:
    """A recorded 8.6.2 answer: ``{"status": int, "body": ...}``."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def codeformer_payload(name: str, url: str | None) -> dict[str, Any]:
    download = (
        [{"file_name": f"{name}.pth", "file_url": url, "sha256sum": "1" * 64}] if url is not None else []
    )
    return {"name": name, "description": "Upscaler.", "version": "0.1.0", "config": {"download": download}}


def record_with_licensing(
    category: str, name: str, payload: dict[str, Any], licensing: dict[str, Any]
) -> None:
    """A record carrying a ``licensing`` block.

    The record contract gains ``licensing`` in another branch (issue #15, "the record");
    until then the block is put into the stored payload here, exactly where that branch
    stores it, so these tests exercise the resolution either way.
    """
    record_create(category=category, name=name, payload=payload, actor=SYSTEM, source="sync")
    stored = ModelRecord.objects.get(category=category, name=name)
    if stored.payload.get("licensing") != licensing:
        ModelRecord.objects.filter(pk=stored.pk).update(payload={**stored.payload, "licensing": licensing})


@pytest.fixture
def oracle_records(db: None) -> None:
    """The records of the recorded answers: one reviewed (with a file override), one not."""
    record_with_licensing(
        "codeformer",
        "CodeFormers",
        codeformer_payload(
            "CodeFormers", "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth"
        ),
        CODEFORMERS_LICENSING,
    )
    record_create(
        category="codeformer",
        name="codeformer-unreviewed",
        payload=codeformer_payload("codeformer-unreviewed", None),
        actor=SYSTEM,
        source="sync",
    )


@pytest.fixture
def editor(horde: Any, settings: Any) -> Any:
    """``editor-key`` (dora#4) is the one licensing editor; the queue's roles are not editors."""
    horde.add_user("editor-key", "dora", 4)
    settings.LICENSING_EDITOR_IDS = ["4"]
    return horde
