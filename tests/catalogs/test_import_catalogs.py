"""``manage.py import_catalogs``: from a directory or a URL, idempotent, round trip without loss."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from catalogs import selectors
from catalogs.schemas import TextGuidanceChangeSet
from catalogs.services import guidance_change_set_apply
from tests.catalogs.catalog_host import CatalogHost
from tests.catalogs.conftest import FIXTURES, SYSTEM, contract, fixture

pytestmark = pytest.mark.django_db

EXPORT_ROUTES = {
    "text_guidance.json": "/api/model_references/v2/text_generation/guidance/export",
    "image_baselines.json": "/api/model_references/v2/image_generation/baselines/export",
}


def write_exports(directory: Path, documents: dict[str, object]) -> Path:
    for name, document in documents.items():
        (directory / name).write_text(json.dumps(document), encoding="utf-8")
    return directory


def publish_guidance(text_models: list[str]) -> None:
    guidance_change_set_apply(
        change_set=TextGuidanceChangeSet.model_validate(
            {
                "title": "t",
                "profile_changes": [
                    {"operation": "create", "profile_id": "chatml", "profile": contract("chatml")}
                ],
                "assignment_changes": [
                    {
                        "model_name": "Org/Chatty-7B",
                        "assignment": {"model_name": "Org/Chatty-7B", "primary_profile_id": "chatml"},
                    }
                ],
            }
        ),
        actor=SYSTEM,
    )


def test_import_from_a_directory_and_again_changes_nothing(tmp_path: Path, capsys: Any) -> None:
    source = write_exports(tmp_path, {name: fixture(name) for name in EXPORT_ROUTES})
    call_command("import_catalogs", "--source", str(source))
    assert selectors.baselines_catalog() == fixture("image_baselines.json")
    out = capsys.readouterr().out
    assert "image_baselines: 13 created" in out and "licensing: not in the source" in out
    events = AuditEvent.objects.count()
    call_command("import_catalogs", "--source", str(source))
    assert AuditEvent.objects.count() == events
    assert "image_baselines: 0 created, 0 updated, 0 deleted, 13 unchanged" in capsys.readouterr().out


def test_import_from_a_url_reads_the_export_routes(db: None) -> None:
    routes = {path: (200, (FIXTURES / name).read_bytes()) for name, path in EXPORT_ROUTES.items()}
    with CatalogHost(routes).running() as host:
        call_command("import_catalogs", "--source", f"{host.url}/api/model_references/")
    assert selectors.baselines_catalog() == fixture("image_baselines.json")
    assert set(host.requests) == {*EXPORT_ROUTES.values(), "/api/model_references/v2/licensing/export"}


def test_export_import_export_round_trip_between_two_services(
    tmp_path: Path, text_models: list[str], baselines: dict[str, Any]
) -> None:
    publish_guidance(text_models)
    exported = selectors.catalogs_export_documents()
    source = write_exports(tmp_path, exported)
    # Another deployment starts empty (its text records absent: assignments still load).
    from catalogs.models import GuidanceAssignment, GuidanceProfile, ImageBaseline

    GuidanceAssignment.objects.all().delete()
    GuidanceProfile.objects.all().delete()
    ImageBaseline.objects.all().delete()
    call_command("import_catalogs", "--source", str(source))
    again = selectors.catalogs_export_documents()
    assert json.dumps(again) == json.dumps(exported)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b"oops", "answered 500"),
        (200, b"<html>", "is not JSON"),
        (200, b"[]", "not a JSON object"),
        (200, b'{"baselines": {"sd9": {"name": "sd9"}}}', "record contract"),
        (
            200,
            b'{"baselines": {"flux_1": {"name": "flux_1", "native_resolution": 0}}}',
            "greater than or equal",
        ),
    ],
)
def test_a_bad_catalog_is_reported_and_leaves_it_unchanged(
    baselines: dict[str, Any], status: int, body: bytes, message: str, capsys: Any
) -> None:
    events = AuditEvent.objects.count()
    routes = {EXPORT_ROUTES["image_baselines.json"]: (status, body)}
    with CatalogHost(routes).running() as host, pytest.raises(CommandError):
        call_command("import_catalogs", "--source", f"{host.url}/api/model_references")
    assert message in capsys.readouterr().err
    assert selectors.baselines_catalog() == baselines and AuditEvent.objects.count() == events


def test_an_unreachable_url_is_an_error_not_a_hang(db: None, capsys: Any) -> None:
    with pytest.raises(CommandError):
        call_command("import_catalogs", "--source", "http://127.0.0.1:9/api/model_references")
    assert "ConnectError" in capsys.readouterr().err


def test_a_source_that_is_neither_directory_nor_url(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("import_catalogs", "--source", str(tmp_path / "missing"))


def test_licensing_is_loaded_through_the_licensing_app_or_named_missing(tmp_path: Path, capsys: Any) -> None:
    source = write_exports(
        tmp_path,
        {"licensing.json": {"licenses": {}}, "image_baselines.json": fixture("image_baselines.json")},
    )
    if importlib.util.find_spec("licensing") is None:
        with pytest.raises(CommandError):
            call_command("import_catalogs", "--source", str(source))
        assert "the licensing app is not installed" in capsys.readouterr().err
        # The other catalogs were loaded all the same.
        assert selectors.baselines_catalog() == fixture("image_baselines.json")
    else:  # after the merge with the licensing app: its service judges the document
        with contextlib.suppress(CommandError):
            call_command("import_catalogs", "--source", str(source))
        assert "not installed" not in capsys.readouterr().err
