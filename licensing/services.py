"""Writes to the licensing catalog: direct and audited, as the established service does.

8.6.2 lets an allowlisted licensing editor change definitions and non-model assets
directly (no review queue); each change is audited. Here too: every function below runs
in one transaction, serialised on the catalog's single ``LicensingDataset`` row, bumps
the catalog revision and appends its audit event (``licensing.*``) in that transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction

from audit.models import EventSource
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from licensing.models import LicensedAsset, LicenseDefinition, LicensingAction, LicensingDataset
from licensing.schemas import (
    LicensedAsset as LicensedAssetBody,
)
from licensing.schemas import (
    LicenseDefinition as LicenseDefinitionBody,
)
from licensing.schemas import (
    LicensingDatasetMetadata,
    LicensingRecordMetadata,
    parse_body,
)
from licensing.selectors import license_definition_wire, license_references, licensed_asset_wire
from references.services import exported_documents_changed


def _now() -> int:
    return int(time.time())


def _dataset_lock() -> LicensingDataset:
    """The catalog's revision row, locked: one licensing write at a time."""
    LicensingDataset.objects.get_or_create(id=1)
    return LicensingDataset.objects.select_for_update().get(id=1)


def _dataset_advance(dataset: LicensingDataset, *, timestamp: int) -> None:
    LicensingDataset.objects.filter(id=1).update(revision=dataset.revision + 1, updated_at=timestamp)


def _definition_fields(definition: LicenseDefinitionBody) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude={"metadata"})


def _asset_fields(asset: LicensedAssetBody) -> dict[str, Any]:
    return asset.model_dump(mode="json", exclude={"metadata"})


def _unprocessable(message: str, loc: list[str | int]) -> DomainError:
    return DomainError([{"loc": loc, "msg": message, "type": "value_error"}], status=422)


def _check_assignable(license_ids: list[str], *, loc: list[str | int]) -> None:
    """Every id must name a definition, and a deprecated one cannot be assigned."""
    known = dict(
        LicenseDefinition.objects.filter(license_id__in=license_ids).values_list("license_id", "deprecated")
    )
    for license_id in license_ids:
        if license_id not in known:
            raise _unprocessable(f"Unknown license definition: {license_id}", loc)
        if known[license_id]:
            raise _unprocessable(f"Deprecated license definition cannot be newly assigned: {license_id}", loc)


def _append(action: str, *, actor: Actor, source: str, key: str, before: Any, after: Any) -> None:
    audit_events_append(
        events=[PendingEvent(action=action, model_name=key, before=before, after=after)],
        actor=actor,
        source=source,
    )
    # The catalog is part of every export: a change asks for one, as a record change does.
    exported_documents_changed()


def _changed(
    dataset: LicensingDataset,
    action: str,
    *,
    timestamp: int,
    actor: Actor,
    source: str,
    key: str,
    before: Any,
    after: Any,
) -> None:
    """Every direct write ends so: the catalog revision advances and the change is audited."""
    _dataset_advance(dataset, timestamp=timestamp)
    _append(action, actor=actor, source=source, key=key, before=before, after=after)


def _created_fields(*, timestamp: int, actor: Actor) -> dict[str, Any]:
    return {
        "revision": 1,
        "created_at": timestamp,
        "created_by": actor.id,
        "updated_at": timestamp,
        "updated_by": actor.id,
    }


def _revise(row: LicenseDefinition | LicensedAsset, *, timestamp: int, actor: Actor, **fields: Any) -> None:
    """Replace a row's fields as its next revision (creation metadata kept); ``row`` is reloaded."""
    type(row).objects.filter(pk=row.pk).update(
        **fields, revision=row.revision + 1, updated_at=timestamp, updated_by=actor.id
    )
    row.refresh_from_db()


def _definition_or_404(license_id: str) -> LicenseDefinition:
    row = LicenseDefinition.objects.filter(license_id=license_id).first()
    if row is None:
        raise DomainError(f"License definition not found: {license_id}", status=404)
    return row


def _asset_or_404(asset_kind: str, asset_identifier: str) -> LicensedAsset:
    row = LicensedAsset.objects.filter(asset_kind=asset_kind, asset_identifier=asset_identifier).first()
    if row is None:
        raise DomainError(f"Licensed asset not found: {asset_kind}:{asset_identifier}", status=404)
    return row


# --- license definitions ---------------------------------------------------------------


@transaction.atomic
def license_create(*, body: object, actor: Actor, source: str = EventSource.API) -> dict[str, Any]:
    """Create a definition (422 invalid, 409 when the id exists); returns its wire shape."""
    definition = parse_body(LicenseDefinitionBody, body)
    dataset = _dataset_lock()
    if LicenseDefinition.objects.filter(license_id=definition.license_id).exists():
        raise DomainError(f"License definition already exists: {definition.license_id}", status=409)
    timestamp = _now()
    row = LicenseDefinition.objects.create(
        license_id=definition.license_id,
        deprecated=definition.deprecated,
        body=_definition_fields(definition),
        **_created_fields(timestamp=timestamp, actor=actor),
    )
    wire = license_definition_wire(row)
    _changed(
        dataset,
        LicensingAction.LICENSE_CREATED,
        timestamp=timestamp,
        actor=actor,
        source=source,
        key=row.license_id,
        before=None,
        after=wire,
    )
    return wire


@transaction.atomic
def license_replace(
    *, license_id: str, body: object, actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Replace a definition (400 path/body id mismatch, 404 missing); creation metadata is kept."""
    definition = parse_body(LicenseDefinitionBody, body)
    if definition.license_id != license_id:
        raise DomainError("Path and body license identifiers must match.", status=400)
    dataset = _dataset_lock()
    row = _definition_or_404(license_id)
    before = license_definition_wire(row)
    timestamp = _now()
    _revise(
        row,
        timestamp=timestamp,
        actor=actor,
        deprecated=definition.deprecated,
        body=_definition_fields(definition),
    )
    wire = license_definition_wire(row)
    _changed(
        dataset,
        LicensingAction.LICENSE_UPDATED,
        timestamp=timestamp,
        actor=actor,
        source=source,
        key=license_id,
        before=before,
        after=wire,
    )
    return wire


@transaction.atomic
def license_delete(*, license_id: str, actor: Actor, source: str = EventSource.API) -> None:
    """Delete a definition nobody uses (404 missing; 409 while a model, file or asset names it)."""
    dataset = _dataset_lock()
    row = _definition_or_404(license_id)
    users = license_references(license_id=license_id)
    if users:
        shown = ", ".join(users[:10]) + (" ..." if len(users) > 10 else "")
        raise DomainError(f"License definition is still referenced: {license_id} ({shown})", status=409)
    before = license_definition_wire(row)
    LicenseDefinition.objects.filter(pk=row.pk).delete()
    _changed(
        dataset,
        LicensingAction.LICENSE_DELETED,
        timestamp=_now(),
        actor=actor,
        source=source,
        key=license_id,
        before=before,
        after=None,
    )


# --- licensed (non-model) assets -------------------------------------------------------


@transaction.atomic
def asset_create(*, body: object, actor: Actor, source: str = EventSource.API) -> dict[str, Any]:
    """Create a non-model asset (422 invalid or naming an unknown/deprecated license, 409 exists)."""
    asset = parse_body(LicensedAssetBody, body)
    dataset = _dataset_lock()
    kind, identifier = asset.asset_kind.value, asset.asset_identifier
    if LicensedAsset.objects.filter(asset_kind=kind, asset_identifier=identifier).exists():
        raise DomainError(f"Licensed asset already exists: {kind}:{identifier}", status=409)
    _check_assignable(asset.licensing.license_ids, loc=["body", "licensing", "license_ids"])
    timestamp = _now()
    row = LicensedAsset.objects.create(
        asset_kind=kind,
        asset_identifier=identifier,
        body=_asset_fields(asset),
        **_created_fields(timestamp=timestamp, actor=actor),
    )
    wire = licensed_asset_wire(row)
    _changed(
        dataset,
        LicensingAction.ASSET_CREATED,
        timestamp=timestamp,
        actor=actor,
        source=source,
        key=row.asset_key,
        before=None,
        after=wire,
    )
    return wire


@transaction.atomic
def asset_replace(
    *, asset_kind: str, asset_identifier: str, body: object, actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Replace a non-model asset (400 path/body identity mismatch, 404 missing, 422 invalid)."""
    asset = parse_body(LicensedAssetBody, body)
    if asset.asset_kind.value != asset_kind or asset.asset_identifier != asset_identifier:
        raise DomainError("Path and body asset identities must match.", status=400)
    dataset = _dataset_lock()
    row = _asset_or_404(asset_kind, asset_identifier)
    _check_assignable(asset.licensing.license_ids, loc=["body", "licensing", "license_ids"])
    before = licensed_asset_wire(row)
    timestamp = _now()
    _revise(row, timestamp=timestamp, actor=actor, body=_asset_fields(asset))
    wire = licensed_asset_wire(row)
    _changed(
        dataset,
        LicensingAction.ASSET_UPDATED,
        timestamp=timestamp,
        actor=actor,
        source=source,
        key=row.asset_key,
        before=before,
        after=wire,
    )
    return wire


@transaction.atomic
def asset_delete(
    *, asset_kind: str, asset_identifier: str, actor: Actor, source: str = EventSource.API
) -> None:
    """Delete a non-model asset (404 missing)."""
    dataset = _dataset_lock()
    row = _asset_or_404(asset_kind, asset_identifier)
    before = licensed_asset_wire(row)
    LicensedAsset.objects.filter(pk=row.pk).delete()
    _changed(
        dataset,
        LicensingAction.ASSET_DELETED,
        timestamp=_now(),
        actor=actor,
        source=source,
        key=row.asset_key,
        before=before,
        after=None,
    )


# --- import of an established export -----------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import did, per row (definitions and non-model assets together)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_model_assets: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped_model_assets": self.skipped_model_assets,
        }


def _import_items(document: dict[str, Any], key: str) -> list[Any]:
    items = document.get(key)
    if not isinstance(items, list):
        raise DomainError(
            [{"loc": [key], "msg": "Input should be a valid list", "type": "list_type"}], status=422
        )
    return items


def _parse_definitions(document: dict[str, Any]) -> list[LicenseDefinitionBody]:
    definitions: dict[str, LicenseDefinitionBody] = {}
    for index, raw in enumerate(_import_items(document, "licenses")):
        definition = parse_body(LicenseDefinitionBody, raw, loc=["licenses", index])
        if definition.license_id in definitions:
            raise _unprocessable(
                f"Duplicate license definition: {definition.license_id}", ["licenses", index]
            )
        definitions[definition.license_id] = definition
    return list(definitions.values())


def _parse_assets(document: dict[str, Any], known_ids: set[str]) -> tuple[list[LicensedAssetBody], int]:
    """The non-model assets of an export's ``assets`` (its model views come from records, not from here)."""
    assets: dict[str, LicensedAssetBody] = {}
    skipped = 0
    for index, raw in enumerate(_import_items(document, "assets")):
        if isinstance(raw, dict) and raw.get("asset_kind") == "model":
            skipped += 1
            continue
        if not isinstance(raw, dict):
            raise _unprocessable("Input should be a valid dictionary", ["assets", index])
        # A view carries derived fields (category, definition_urls, licensing.files):
        # keep what a stored asset holds.
        body = {key: value for key, value in raw.items() if key not in ("category", "definition_urls")}
        licensing = body.get("licensing")
        if isinstance(licensing, dict):
            if licensing.get("files"):
                raise _unprocessable(
                    "A non-model asset has no per-file licensing", ["assets", index, "licensing"]
                )
            body["licensing"] = {key: value for key, value in licensing.items() if key != "files"}
        if body.get("metadata") is None:
            body.pop("metadata", None)
        asset = parse_body(LicensedAssetBody, body, loc=["assets", index])
        key = f"{asset.asset_kind.value}:{asset.asset_identifier}"
        if key in assets:
            raise _unprocessable(f"Duplicate licensed asset: {key}", ["assets", index])
        for license_id in asset.licensing.license_ids:
            if license_id not in known_ids:
                raise _unprocessable(
                    f"Unknown license definition: {license_id}", ["assets", index, "licensing"]
                )
        assets[key] = asset
    return list(assets.values()), skipped


def _lifecycle(metadata: LicensingRecordMetadata) -> dict[str, Any]:
    return metadata.model_dump()


_Row = TypeVar("_Row", LicenseDefinition, LicensedAsset)


def _import_row(
    model: type[_Row],
    row: _Row | None,
    *,
    identity: dict[str, str],
    body: dict[str, Any],
    columns: dict[str, Any],
    metadata: LicensingRecordMetadata,
    wire: Callable[[_Row], dict[str, Any]],
    key: str,
    actions: tuple[str, str],
    events: list[PendingEvent],
) -> str:
    """Create or replace one row as the document has it (lifecycle metadata included).

    Answers ``created``, ``updated`` or ``unchanged``; a change's event goes to ``events``
    (``actions``: the created and the updated action).
    """
    lifecycle = _lifecycle(metadata)
    fields = {**columns, "body": body, **lifecycle}
    created_action, updated_action = actions
    if row is None:
        row = model.objects.create(**identity, **fields)
        events.append(PendingEvent(created_action, "", key, None, wire(row)))
        return "created"
    before = wire(row)
    if before == {**body, "metadata": lifecycle}:
        return "unchanged"
    model.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    events.append(PendingEvent(updated_action, "", key, before, wire(row)))
    return "updated"


@transaction.atomic
def licensing_catalog_import(*, document: dict[str, Any], actor: Actor) -> ImportResult:
    """Load the body of 8.6.2's ``GET /v2/licensing/export`` into SQL, idempotently.

    Definitions and non-model assets are created or replaced as the document has them,
    lifecycle metadata included; the document's model views are skipped (a model's
    licensing is its record's). Rows the document does not name are kept: an import
    adds and corrects curated data, it never deletes it. The whole document is
    validated before anything is written (422, nothing changed). Each changed row gets
    its audit event (source ``sync``) and the catalog takes the document's revision
    metadata; an identical second run changes nothing and appends no event.
    """
    if not isinstance(document, dict):
        raise DomainError(
            [{"loc": [], "msg": "Input should be a valid dictionary", "type": "dict_type"}], status=422
        )
    metadata = parse_body(LicensingDatasetMetadata, document.get("metadata") or {}, loc=["metadata"])
    definitions = _parse_definitions(document)
    known_ids = {definition.license_id for definition in definitions} | set(
        LicenseDefinition.objects.values_list("license_id", flat=True)
    )
    assets, skipped = _parse_assets(document, known_ids)

    dataset = _dataset_lock()
    events: list[PendingEvent] = []
    outcomes: Counter[str] = Counter()
    existing_definitions = {row.license_id: row for row in LicenseDefinition.objects.all()}
    for definition in definitions:
        outcome = _import_row(
            LicenseDefinition,
            existing_definitions.get(definition.license_id),
            identity={"license_id": definition.license_id},
            body=_definition_fields(definition),
            columns={"deprecated": definition.deprecated},
            metadata=definition.metadata,
            wire=license_definition_wire,
            key=definition.license_id,
            actions=(LicensingAction.LICENSE_CREATED, LicensingAction.LICENSE_UPDATED),
            events=events,
        )
        outcomes[outcome] += 1

    existing_assets = {row.asset_key: row for row in LicensedAsset.objects.all()}
    for asset in assets:
        key = f"{asset.asset_kind.value}:{asset.asset_identifier}"
        outcome = _import_row(
            LicensedAsset,
            existing_assets.get(key),
            identity={"asset_kind": asset.asset_kind.value, "asset_identifier": asset.asset_identifier},
            body=_asset_fields(asset),
            columns={},
            metadata=asset.metadata,
            wire=licensed_asset_wire,
            key=key,
            actions=(LicensingAction.ASSET_CREATED, LicensingAction.ASSET_UPDATED),
            events=events,
        )
        outcomes[outcome] += 1

    result = ImportResult(
        created=outcomes["created"],
        updated=outcomes["updated"],
        unchanged=outcomes["unchanged"],
        skipped_model_assets=skipped,
    )
    target = {
        "schema_version": metadata.schema_version,
        "revision": metadata.revision,
        "updated_at": metadata.updated_at,
    }
    current = {
        "schema_version": dataset.schema_version,
        "revision": dataset.revision,
        "updated_at": dataset.updated_at,
    }
    if events or target != current:
        LicensingDataset.objects.filter(id=1).update(**target)
        events.append(
            PendingEvent(
                LicensingAction.CATALOG_IMPORTED,
                details={**result.as_dict(), "metadata_before": current, "metadata_after": target},
            )
        )
        audit_events_append(events=events, actor=actor, source=EventSource.SYNC)
        exported_documents_changed()
    return result
