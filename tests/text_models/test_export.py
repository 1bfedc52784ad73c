"""Aliases, families and naming schemas go out with every export and come back intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from audit.services import Actor
from references.exports import CURRENT_LINK, MANIFEST_NAME, export_release_publish, reference_export
from tests.text_models.conftest import add_text
from text_models import selectors, services
from text_models.models import TextGroupAlias, TextGroupNameSchema, TextModelFamily

pytestmark = pytest.mark.django_db
CURATOR = Actor.system("curator")
FILES = ("text_group_aliases.json", "text_model_families.json", "text_group_name_schemas.json")


def curate() -> None:
    add_text("Llama-3-8B")
    services.aliases_set(canonical="Llama-3", aliases=["Llama3", "L3"], actor=CURATOR)
    services.family_set(family_name="Llama", members=["Llama-3", "Llama-2"], actor=CURATOR)
    services.name_schema_set(
        group_name="Llama-3", changes={"separator": "_", "extra_parts": ["date"]}, actor=CURATOR
    )


def load_documents(directory: Path) -> dict[str, Any]:
    return {name: json.loads((directory / "catalogs" / name).read_bytes()) for name in FILES}


def test_export_writes_the_documents_and_lists_them_in_the_manifest(tmp_path: Path) -> None:
    curate()
    result = reference_export(dest=tmp_path)
    listed = {name: info for name, info in result.manifest["documents"].items() if name in FILES}
    assert sorted(listed) == sorted(FILES)
    for name, info in listed.items():
        content = (tmp_path / info["path"]).read_bytes()
        assert info["path"] == f"catalogs/{name}"
        assert hashlib.sha256(content).hexdigest() == info["sha256"]
    documents = load_documents(tmp_path)
    assert documents["text_group_aliases.json"] == {"Llama-3": ["Llama3", "L3"]}
    assert documents["text_model_families.json"] == {"Llama": ["Llama-2", "Llama-3"]}
    assert documents["text_group_name_schemas.json"]["Llama-3"]["separator"] == "_"
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_bytes())
    assert {name: manifest["documents"][name] for name in FILES} == listed


def test_export_round_trip_restores_the_same_data(tmp_path: Path) -> None:
    curate()
    reference_export(dest=tmp_path)
    exported = load_documents(tmp_path)
    # Wipe the curation data, then rebuild it from the exported files through the services.
    TextGroupAlias.objects.all().delete()
    TextModelFamily.objects.all().delete()
    TextGroupNameSchema.objects.all().delete()
    assert selectors.text_models_export_documents() != exported
    for canonical, aliases in exported["text_group_aliases.json"].items():
        services.aliases_set(canonical=canonical, aliases=aliases, actor=CURATOR)
    for family, members in exported["text_model_families.json"].items():
        services.family_set(family_name=family, members=members, actor=CURATOR)
    for group, schema in exported["text_group_name_schemas.json"].items():
        services.name_schema_set(group_name=group, changes=schema, actor=CURATOR)
    assert selectors.text_models_export_documents() == exported


def test_export_is_deterministic(tmp_path: Path) -> None:
    curate()
    reference_export(dest=tmp_path / "a")
    reference_export(dest=tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / "catalogs" / name).read_bytes() == (
            tmp_path / "b" / "catalogs" / name
        ).read_bytes()


def test_a_curation_change_alone_publishes_a_new_release(tmp_path: Path) -> None:
    add_text("Llama-3-8B")
    first = export_release_publish(export_dir=tmp_path, keep=5)
    assert first.created
    unchanged = export_release_publish(export_dir=tmp_path, keep=5)
    assert not unchanged.created
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR)
    second = export_release_publish(export_dir=tmp_path, keep=5)
    assert second.created
    current = tmp_path / CURRENT_LINK
    assert json.loads((current / "catalogs" / "text_group_aliases.json").read_bytes()) == {"Llama-3": ["L3"]}
    manifest = json.loads((current / MANIFEST_NAME).read_bytes())
    assert manifest["documents"]["text_group_aliases.json"]["path"] == "catalogs/text_group_aliases.json"


def test_a_legacy_only_export_holds_the_legacy_files_only(tmp_path: Path) -> None:
    curate()
    result = reference_export(dest=tmp_path, fmt="legacy")
    assert all(path.startswith("legacy/") for path in result.files)
    assert result.manifest["documents"] == {}
