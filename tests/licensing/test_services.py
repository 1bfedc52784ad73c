"""The licensing services: import of an 8.6.2 export (idempotent, validated), round trip, audit."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from common.errors import DomainError
from licensing import selectors, services
from licensing.models import LicensedAsset, LicenseDefinition, LicensingDataset
from tests.licensing.conftest import oracle

pytestmark = pytest.mark.django_db

IMPORTER = Actor.system("import_catalogs")
EDITOR = Actor(kind="horde", id="4", display_name="dora")


def export_body() -> dict[str, Any]:
    return copy.deepcopy(oracle("licensing_export.json")["body"])


def catalog_state() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], int]:
    return (
        selectors.license_definition_list(),
        [
            selectors.licensed_asset_wire(row)
            for row in LicensedAsset.objects.order_by("asset_kind", "asset_identifier")
        ],
        selectors.licensing_dataset_metadata(),
        AuditEvent.objects.count(),
    )


def test_import_loads_the_established_export_and_a_second_run_changes_nothing() -> None:
    body = export_body()
    first = services.licensing_catalog_import(document=body, actor=IMPORTER)
    non_model_assets = [a for a in body["assets"] if a["asset_kind"] != "model"]
    assert first.created == len(body["licenses"]) + len(non_model_assets)
    assert (first.updated, first.unchanged, first.skipped_model_assets) == (0, 0, 2)
    assert selectors.license_definition_list() == body["licenses"]
    assert selectors.licensing_dataset_metadata() == body["metadata"]
    events = list(AuditEvent.objects.order_by("sequence").values_list("action", "source"))
    assert events[-1] == ("licensing.catalog_imported", "sync")
    assert {action for action, _ in events[:-1]} == {"licensing.license_created", "licensing.asset_created"}

    before = catalog_state()
    second = services.licensing_catalog_import(document=body, actor=IMPORTER)
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert catalog_state() == before  # nothing written, no audit event


def test_import_updates_changed_rows_and_keeps_rows_the_document_lacks() -> None:
    body = export_body()
    services.licensing_catalog_import(document=body, actor=IMPORTER)
    services.license_create(
        body={
            "license_id": "LicenseRef-Local-1.0",
            "name": "Local",
            "canonical_url": "https://example.invalid/local",
            "commercial_use": "unknown",
            "redistribution": "unknown",
        },
        actor=EDITOR,
    )
    body["licenses"][0]["name"] = "Renamed upstream"
    result = services.licensing_catalog_import(document=body, actor=IMPORTER)
    assert (result.created, result.updated) == (0, 1)
    first_id = body["licenses"][0]["license_id"]
    assert selectors.license_definition_get(license_id=first_id)["name"] == "Renamed upstream"  # type: ignore[index]
    assert selectors.license_definition_get(license_id="LicenseRef-Local-1.0") is not None
    event = AuditEvent.objects.filter(action="licensing.license_updated").get()
    assert event.model_name == first_id and event.before["name"] != event.after["name"]


BAD_DOCUMENTS = [
    ("licenses not a list", lambda d: d.update(licenses={})),
    ("assets missing", lambda d: d.pop("assets")),
    ("invalid definition id", lambda d: d["licenses"][0].update(license_id="MIT OR Apache-2.0")),
    ("duplicate definition", lambda d: d["licenses"].append(copy.deepcopy(d["licenses"][0]))),
    (
        "asset naming an unknown license",
        lambda d: d["assets"][0]["licensing"].update(license_expression="Nope-1.0", license_ids=["Nope-1.0"]),
    ),
    ("asset with an unknown field", lambda d: d["assets"][0].update(colour="blue")),
    ("bad metadata", lambda d: d.update(metadata={"revision": 0})),
]


@pytest.mark.parametrize(("label", "spoil"), BAD_DOCUMENTS, ids=[case[0] for case in BAD_DOCUMENTS])
def test_an_invalid_document_is_refused_whole_and_changes_nothing(label: str, spoil: Any) -> None:
    services.licensing_catalog_import(document=export_body(), actor=IMPORTER)
    body = export_body()
    body["licenses"][0]["name"] = "would change"
    spoil(body)
    before = catalog_state()
    with pytest.raises(DomainError) as refused:
        services.licensing_catalog_import(document=body, actor=IMPORTER)
    assert refused.value.status == 422
    assert catalog_state() == before


def test_export_import_export_round_trip_is_lossless(oracle_records: None) -> None:
    services.licensing_catalog_import(document=export_body(), actor=IMPORTER)
    services.asset_create(
        body={
            "asset_kind": "software_component",
            "asset_identifier": "local/tool",
            "display_name": "Local tool",
            "licensing": {
                "license_expression": "MIT OR Apache-2.0",
                "license_ids": ["Apache-2.0", "MIT"],
                "commercial_use": "allowed",
                "redistribution": "allowed_with_conditions",
                "evidence": [{"source": "https://example.invalid/LICENSE", "checked_at": "2026-07-01"}],
            },
        },
        actor=EDITOR,
    )
    first = selectors.licensing_export()
    # An empty catalog (the records stay: model views come from them, not from the catalog).
    LicensedAsset.objects.all().delete()
    LicenseDefinition.objects.all().delete()
    LicensingDataset.objects.all().delete()
    assert selectors.licensing_export()["licenses"] == []
    services.licensing_catalog_import(document=first, actor=IMPORTER)
    assert selectors.licensing_export() == first


def test_the_export_equals_the_established_one_over_the_same_data(oracle_records: None) -> None:
    expected = oracle("licensing_export.json")["body"]
    services.licensing_catalog_import(document=copy.deepcopy(expected), actor=IMPORTER)
    assert selectors.licensing_export() == expected
    assert selectors.licensing_export_documents() == {"licensing.json": expected}


def test_writes_bump_revisions_and_keep_creation_metadata() -> None:
    created = services.license_create(
        body={
            "license_id": "MIT",
            "name": "MIT License",
            "canonical_url": "https://spdx.org/licenses/MIT.html",
            "commercial_use": "allowed",
            "redistribution": "allowed_with_conditions",
            "metadata": {"revision": 9, "created_by": "someone else"},  # ignored: the server keeps it
        },
        actor=EDITOR,
    )
    assert created["metadata"]["revision"] == 1 and created["metadata"]["created_by"] == "4"
    dataset_before = selectors.licensing_dataset_metadata()["revision"]
    replaced = services.license_replace(
        license_id="MIT", body={**created, "name": "The MIT License", "metadata": {}}, actor=EDITOR
    )
    assert replaced["metadata"]["revision"] == 2
    assert replaced["metadata"]["created_at"] == created["metadata"]["created_at"]
    assert selectors.licensing_dataset_metadata()["revision"] == dataset_before + 1
    actions = list(AuditEvent.objects.order_by("sequence").values_list("action", "actor_id", "model_name"))
    assert actions == [("licensing.license_created", "4", "MIT"), ("licensing.license_updated", "4", "MIT")]


def test_the_server_shares_the_clients_asset_kinds() -> None:
    import horde_model_reference as hmr
    from licensing.schemas import LicensedAssetKind

    assert LicensedAssetKind is hmr.LicensedAssetKind
