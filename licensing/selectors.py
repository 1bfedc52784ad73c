"""Reads of the licensing catalog, and the licensing of every model resolved from its record.

Every read goes to SQL (the tables are small: tens of rows), so there is no process-local
copy to invalidate: a write committed by one process is what the next read of any other
process sees. Model assets come from the records through ``references.selectors``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import PermissionStatus
from licensing.models import LicensedAsset, LicenseDefinition, LicensingDataset
from licensing.schemas import (
    SCHEMA_VERSION,
    ModelLicensing,
    unknown_model_licensing,
)
from references.selectors import record_get, record_list

logger = logging.getLogger(__name__)

LICENSES_PATH = "/model_references/v2/licensing/licenses/"
EXPORT_FILE_NAME = "licensing.json"


def licensing_dataset_metadata() -> dict[str, Any]:
    """``LicensingDatasetMetadata``: the catalog's revision (1 and no time before any write)."""
    row = LicensingDataset.objects.filter(id=1).first()
    if row is None:
        return {"schema_version": SCHEMA_VERSION, "revision": 1, "updated_at": None}
    return {"schema_version": row.schema_version, "revision": row.revision, "updated_at": row.updated_at}


def license_definition_wire(row: LicenseDefinition) -> dict[str, Any]:
    """A definition as 8.6.2 answers it: its fields, then ``metadata``."""
    return {**row.body, "metadata": row.metadata()}


def licensed_asset_wire(row: LicensedAsset) -> dict[str, Any]:
    """A stored non-model asset in 8.6.2's ``LicensedAsset`` shape."""
    return {**row.body, "metadata": row.metadata()}


def license_definition_list(*, include_deprecated: bool = True) -> list[dict[str, Any]]:
    """Definitions ordered by id, case-insensitively (as the established service orders them)."""
    rows = LicenseDefinition.objects.all()
    if not include_deprecated:
        rows = rows.filter(deprecated=False)
    ordered = sorted(rows, key=lambda row: (row.license_id.casefold(), row.license_id))
    return [license_definition_wire(row) for row in ordered]


def license_definition_get(*, license_id: str) -> dict[str, Any] | None:
    row = LicenseDefinition.objects.filter(license_id=license_id).first()
    return license_definition_wire(row) if row is not None else None


def licensed_asset_get(*, asset_kind: str, asset_identifier: str) -> dict[str, Any] | None:
    row = LicensedAsset.objects.filter(asset_kind=asset_kind, asset_identifier=asset_identifier).first()
    return licensed_asset_wire(row) if row is not None else None


def definition_urls(licensing: dict[str, Any]) -> dict[str, str]:
    """Relative links to the definitions an assignment (and its file overrides) names, by id."""
    identifiers = set(licensing.get("license_ids") or [])
    for file_assignment in (licensing.get("files") or {}).values():
        identifiers.update(file_assignment.get("license_ids") or [])
    return {license_id: LICENSES_PATH + quote(license_id, safe="") for license_id in sorted(identifiers)}


def record_licensing(payload: dict[str, Any]) -> dict[str, Any]:
    """The licensing block of a record payload, normalised; NOASSERTION when it has none.

    A block that does not validate (it should not: record writes validate it) is served
    as NOASSERTION, failing closed rather than passing on a conclusion nobody can parse.
    """
    block = payload.get("licensing")
    if isinstance(block, dict):
        try:
            return ModelLicensing.model_validate(block).model_dump(mode="json")
        except ValidationError:
            logger.warning("a record's licensing block does not validate; serving NOASSERTION")
    return unknown_model_licensing().model_dump(mode="json")


def _primary_download_url(payload: dict[str, Any]) -> str | None:
    config = payload.get("config")
    downloads = config.get("download") if isinstance(config, dict) else None
    if isinstance(downloads, list) and downloads and isinstance(downloads[0], dict):
        url = downloads[0].get("file_url")
        return url if isinstance(url, str) else None
    return None


def _model_view(category: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    licensing = record_licensing(payload)
    return {
        "asset_kind": "model",
        "asset_identifier": f"{category}:{name}",
        "display_name": name,
        "category": category,
        "source_url": _primary_download_url(payload),
        "version": None,
        "locations": [],
        "related_assets": [],
        "licensing": licensing,
        "definition_urls": definition_urls(licensing),
        "notes": None,
        "metadata": None,
    }


def _non_model_view(row: LicensedAsset) -> dict[str, Any]:
    body = row.body
    licensing = {**body["licensing"], "files": {}}
    return {
        "asset_kind": row.asset_kind,
        "asset_identifier": row.asset_identifier,
        "display_name": body["display_name"],
        "category": None,
        "source_url": body.get("source_url"),
        "version": body.get("version"),
        "locations": body.get("locations", []),
        "related_assets": body.get("related_assets", []),
        "licensing": licensing,
        "definition_urls": definition_urls(licensing),
        "notes": body.get("notes"),
        "metadata": row.metadata(),
    }


def model_licensing_view(*, category: str, name: str) -> dict[str, Any] | None:
    """``LicensedAssetView`` of one model, from its record; None when no such record exists."""
    record = record_get(category=category, name=name)
    if record is None:
        return None
    return _model_view(category, record.name, record.payload)


def _model_licensing_views() -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = []
    for category in sorted(c.value for c in MODEL_REFERENCE_CATEGORY):
        rows = record_list(category=category).values_list("name", "payload")
        for name, payload in sorted(rows, key=lambda row: row[0].casefold()):
            views.append(_model_view(category, name, payload))
    return views


def licensed_asset_views() -> list[dict[str, Any]]:
    """Every asset (models from their records, then the stored ones) ordered by kind and id."""
    views = _model_licensing_views() + [_non_model_view(row) for row in LicensedAsset.objects.all()]
    return sorted(
        views, key=lambda view: (view["asset_kind"].casefold(), view["asset_identifier"].casefold())
    )


@dataclass(frozen=True)
class AssetFilters:
    asset_kind: str | None = None
    category: str | None = None
    license_id: str | None = None
    commercial_use: str | None = None
    redistribution: str | None = None
    name_contains: str | None = None


def licensed_asset_search(filters: AssetFilters) -> list[dict[str, Any]]:
    """The asset views matching every given filter (``license_id``: model-level ids only, as 8.6.2)."""
    views = licensed_asset_views()
    if filters.asset_kind is not None:
        views = [view for view in views if view["asset_kind"] == filters.asset_kind]
    if filters.category is not None:
        views = [view for view in views if view["category"] == filters.category]
    if filters.license_id is not None:
        views = [view for view in views if filters.license_id in view["licensing"]["license_ids"]]
    if filters.commercial_use is not None:
        views = [view for view in views if view["licensing"]["commercial_use"] == filters.commercial_use]
    if filters.redistribution is not None:
        views = [view for view in views if view["licensing"]["redistribution"] == filters.redistribution]
    if filters.name_contains is not None:
        needle = filters.name_contains.casefold()
        views = [view for view in views if needle in view["display_name"].casefold()]
    return views


def licensing_summary_of(views: list[dict[str, Any]]) -> dict[str, Any]:
    """``LicensingSummary``: counts per permission (every status listed) and per model-level license id."""
    commercial = Counter(view["licensing"]["commercial_use"] for view in views)
    redistribution = Counter(view["licensing"]["redistribution"] for view in views)
    licenses: Counter[str] = Counter()
    for view in views:
        licenses.update(view["licensing"]["license_ids"])
    return {
        "total_assets": len(views),
        "commercial_use": {status.value: commercial[status.value] for status in PermissionStatus},
        "redistribution": {status.value: redistribution[status.value] for status in PermissionStatus},
        "licenses": dict(sorted(licenses.items())),
    }


def licensing_summary() -> dict[str, Any]:
    return licensing_summary_of(licensed_asset_views())


def licensing_export() -> dict[str, Any]:
    """``LicensingExport``: the whole catalog and every asset view, deterministic."""
    views = licensed_asset_views()
    return {
        "schema_version": SCHEMA_VERSION,
        "metadata": licensing_dataset_metadata(),
        "licenses": license_definition_list(),
        "assets": views,
        "summary": licensing_summary_of(views),
    }


def licensing_export_documents() -> dict[str, object]:
    """The files every export writes for this app (file name → JSON-able document)."""
    return {EXPORT_FILE_NAME: licensing_export()}


def license_references(*, license_id: str) -> list[str]:
    """Who uses a definition: stored assets (``kind:id``) and models (``category:name``), sorted."""
    users = [
        row.asset_key
        for row in LicensedAsset.objects.all()
        if license_id in row.body["licensing"]["license_ids"]
    ]
    for view in _model_licensing_views():
        licensing = view["licensing"]
        file_ids = {i for assignment in licensing["files"].values() for i in assignment["license_ids"]}
        if license_id in licensing["license_ids"] or license_id in file_ids:
            users.append(view["asset_identifier"])
    return sorted(users)
