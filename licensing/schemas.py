"""The licensing catalog's contract: pydantic models of the 8.6.2 shapes, validated strictly.

SPDX expressions are parsed with ``license-expression`` (as the established service
does): a definition's id must be one atomic identifier or ``LicenseRef``; an
assignment's ``license_ids`` must be exactly the identifiers its expression names, and
``NOASSERTION`` means "nobody reviewed it" (no ids, both permissions ``unknown``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.errors import DomainError
from horde_model_reference.licensing import LicensedAssetKind as LicensedAssetKind
from horde_model_reference.model_reference_records import NOASSERTION, LicenseObligation, PermissionStatus
from references.licensing import expression_identifiers

SCHEMA_VERSION = 1
UNKNOWN_NOTE = "No reviewed licensing conclusion is currently available."

M = TypeVar("M", bound=BaseModel)


def spdx_symbols(expression: str) -> set[str]:
    """The license identifiers an SPDX expression names; ValueError when it does not parse.

    The one SPDX parse of the project (``references.licensing``), which records use too.
    """
    identifiers = expression_identifiers(expression)
    if identifiers is None:
        raise ValueError(f"Invalid license expression: {expression}")
    return identifiers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LicensingRecordMetadata(_Strict):
    revision: int = Field(default=1, ge=1, lt=2**63)
    created_at: int | None = Field(default=None, ge=0, lt=2**63)
    created_by: str | None = None
    updated_at: int | None = Field(default=None, ge=0, lt=2**63)
    updated_by: str | None = None


class LicensingDatasetMetadata(_Strict):
    schema_version: int = SCHEMA_VERSION
    revision: int = Field(default=1, ge=1, lt=2**63)
    updated_at: int | None = Field(default=None, ge=0, lt=2**63)


class LicenseEvidence(_Strict):
    source: str = Field(min_length=1)
    description: str | None = None
    checked_at: date | None = None


class LicenseDefinition(_Strict):
    license_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1)
    spdx_identifier: str | None = None
    canonical_url: str = Field(min_length=1)
    commercial_use: PermissionStatus
    redistribution: PermissionStatus
    obligations: list[LicenseObligation] = Field(default_factory=list)
    restrictions: list[str] = Field(default_factory=list)
    notes: str | None = None
    deprecated: bool = False
    metadata: LicensingRecordMetadata = Field(default_factory=LicensingRecordMetadata)

    @field_validator("license_id")
    @classmethod
    def _atomic_identifier(cls, license_id: str) -> str:
        if spdx_symbols(license_id) != {license_id}:
            raise ValueError("license_id must be one atomic SPDX identifier or LicenseRef")
        if license_id == NOASSERTION:
            raise ValueError("NOASSERTION is a conclusion, not a reusable license definition")
        return license_id


#: The parser's time grows with the expression (seconds at ~100 kB); real expressions are
#: a few licenses long, so longer ones are refused before they are parsed.
MAX_EXPRESSION_LENGTH = 2000


class LicenseAssignment(_Strict):
    license_expression: str = Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH)
    license_ids: list[str] = Field(default_factory=list)
    commercial_use: PermissionStatus
    redistribution: PermissionStatus
    obligations: list[LicenseObligation] = Field(default_factory=list)
    attribution: str | None = None
    evidence: list[LicenseEvidence] = Field(default_factory=list)
    reviewed_by: str | None = None
    reviewed_at: date | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _expression_matches_ids(self) -> LicenseAssignment:
        symbols = spdx_symbols(self.license_expression)
        declared = set(self.license_ids)
        if self.license_expression == NOASSERTION:
            if declared:
                raise ValueError("NOASSERTION must not reference license definitions")
            if self.commercial_use != PermissionStatus.UNKNOWN:
                raise ValueError("NOASSERTION requires commercial_use='unknown'")
            if self.redistribution != PermissionStatus.UNKNOWN:
                raise ValueError("NOASSERTION requires redistribution='unknown'")
            return self
        if symbols != declared:
            raise ValueError("license_ids must exactly match the identifiers in license_expression")
        if not declared:
            raise ValueError("A known license expression must reference at least one definition")
        return self

    def all_license_ids(self) -> set[str]:
        return set(self.license_ids)


class ModelLicensing(LicenseAssignment):
    files: dict[str, LicenseAssignment] = Field(default_factory=dict)

    def all_license_ids(self) -> set[str]:
        ids = set(self.license_ids)
        for assignment in self.files.values():
            ids.update(assignment.license_ids)
        return ids


class LicensedAsset(_Strict):
    asset_kind: LicensedAssetKind
    asset_identifier: str = Field(min_length=1, max_length=500)
    display_name: str = Field(min_length=1)
    source_url: str | None = None
    version: str | None = None
    locations: list[str] = Field(default_factory=list)
    related_assets: list[str] = Field(default_factory=list)
    licensing: LicenseAssignment
    notes: str | None = None
    metadata: LicensingRecordMetadata = Field(default_factory=LicensingRecordMetadata)


def unknown_model_licensing() -> ModelLicensing:
    """The established default of a record nobody reviewed (fail closed: nothing is allowed)."""
    return ModelLicensing(
        license_expression=NOASSERTION,
        commercial_use=PermissionStatus.UNKNOWN,
        redistribution=PermissionStatus.UNKNOWN,
        notes=UNKNOWN_NOTE,
    )


def validation_error_items(error: ValidationError, loc: list[str | int]) -> list[dict[str, Any]]:
    """pydantic's errors in the established ``{loc, msg, type}`` shape."""
    return [
        {"loc": [*loc, *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def parse_body(model: type[M], data: object, *, loc: list[str | int] | None = None) -> M:
    """Validate a JSON body against ``model``; anything wrong is a 422 with every problem listed."""
    if not isinstance(data, dict):
        raise DomainError(
            [{"loc": loc or ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}],
            status=422,
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise DomainError(validation_error_items(error, loc or ["body"]), status=422) from error


# --- response shapes (documentation: the selectors build these as plain dicts) ------------


class LicensedAssetView(_Strict):
    asset_kind: str
    asset_identifier: str
    display_name: str
    category: str | None = None
    source_url: str | None = None
    version: str | None = None
    locations: list[str] = Field(default_factory=list)
    related_assets: list[str] = Field(default_factory=list)
    licensing: ModelLicensing
    definition_urls: dict[str, str] = Field(default_factory=dict)
    notes: str | None = None
    metadata: LicensingRecordMetadata | None = None


class LicenseDefinitionPage(_Strict):
    items: list[LicenseDefinition]
    total: int
    offset: int
    limit: int
    metadata: LicensingDatasetMetadata


class LicensedAssetPage(_Strict):
    items: list[LicensedAssetView]
    total: int
    offset: int
    limit: int
    metadata: LicensingDatasetMetadata


class LicensingSummary(_Strict):
    total_assets: int
    commercial_use: dict[PermissionStatus, int]
    redistribution: dict[PermissionStatus, int]
    licenses: dict[str, int]


class LicensingExport(_Strict):
    schema_version: int = SCHEMA_VERSION
    metadata: LicensingDatasetMetadata
    licenses: list[LicenseDefinition]
    assets: list[LicensedAssetView]
    summary: LicensingSummary


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inline_refs(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inline_refs(value, definitions) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(value, definitions) for value in node]
    return node


def openapi_schema(model: type[BaseModel], *, mode: str = "serialization") -> dict[str, Any]:
    """A model's JSON Schema with every reference inlined (none of these models is recursive).

    Inlining keeps the licensing routes' documentation self-contained: no component
    names to reconcile with the rest of the API's schema.
    """
    schema = model.model_json_schema(mode="validation" if mode == "validation" else "serialization")
    return dict(_inline_refs(schema, schema.get("$defs", {})))
