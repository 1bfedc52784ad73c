"""Licensing: the conclusions every record carries, and the catalog's definitions and assets.

The record-level models (``record.licensing``) live with the other record models
(:mod:`model_reference_records`); this module gives them the import path the established
package uses (``from horde_model_reference.licensing import ModelLicensing``) and adds the
licensing catalog's shapes: :class:`LicenseDefinition` (one reusable licence) and
:class:`LicensedAsset` (a non-model asset with its conclusion).

Like the records, these models are lenient: unknown keys are ignored and unknown
permission, obligation or asset-kind values are kept as strings (the validation context
``{"strict_kinds": True}`` refuses them). The server checks SPDX syntax on every write.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from horde_model_reference.model_reference_records import (
    NOASSERTION,
    UNKNOWN_LICENSING_NOTE,
    LicenseAssignment,
    LicenseEvidence,
    LicenseObligation,
    ModelLicensing,
    PermissionStatus,
    _check_kind,
    _RecordBaseModel,
    get_default_config,
    unknown_model_licensing,
)


class LicensedAssetKind(StrEnum):
    """Kinds of non-model assets (a model's licensing lives on its record)."""

    SOFTWARE_COMPONENT = "software_component"
    CUSTOM_NODE = "custom_node"
    OTHER = "other"


class _FrozenLenient(_RecordBaseModel):
    model_config = ConfigDict(**{**get_default_config(), "frozen": True})


class LicensingRecordMetadata(_FrozenLenient):
    """Bookkeeping of one licensing catalog entry."""

    revision: int = Field(default=1, ge=1)
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None


class LicenseDefinition(_FrozenLenient):
    """One reusable licence: its identifier, its text's URL and what it permits."""

    license_id: str = Field(min_length=1)
    """An atomic SPDX identifier or ``LicenseRef-...``."""
    name: str = Field(min_length=1)
    spdx_identifier: str | None = None
    canonical_url: str = Field(min_length=1)
    commercial_use: PermissionStatus | str
    redistribution: PermissionStatus | str
    obligations: tuple[LicenseObligation | str, ...] = ()
    restrictions: tuple[str, ...] = ()
    notes: str | None = None
    deprecated: bool = False
    metadata: LicensingRecordMetadata = Field(default_factory=LicensingRecordMetadata)

    @field_validator("commercial_use", "redistribution", mode="after")
    @classmethod
    def _check_permission(cls, value: PermissionStatus | str, info: ValidationInfo) -> StrEnum | str:
        return _check_kind(value, PermissionStatus, "permission status", info)

    @field_validator("obligations", mode="after")
    @classmethod
    def _check_obligations(
        cls, values: tuple[LicenseObligation | str, ...], info: ValidationInfo
    ) -> tuple[LicenseObligation | str, ...]:
        return tuple(_check_kind(value, LicenseObligation, "license obligation", info) for value in values)


class LicensedAsset(_FrozenLenient):
    """A non-model asset (a software component, a custom node...) and its licensing conclusion."""

    asset_kind: LicensedAssetKind | str
    asset_identifier: str = Field(min_length=1)
    display_name: str = Field(min_length=1)
    source_url: str | None = None
    version: str | None = None
    locations: tuple[str, ...] = ()
    related_assets: tuple[str, ...] = ()
    licensing: LicenseAssignment
    notes: str | None = None
    metadata: LicensingRecordMetadata = Field(default_factory=LicensingRecordMetadata)

    @field_validator("asset_kind", mode="after")
    @classmethod
    def _check_asset_kind(cls, value: LicensedAssetKind | str, info: ValidationInfo) -> StrEnum | str:
        return _check_kind(value, LicensedAssetKind, "licensed asset kind", info)

    @property
    def asset_key(self) -> str:
        """The asset's stable key, ``<asset_kind>:<asset_identifier>``."""
        return f"{self.asset_kind}:{self.asset_identifier}"


__all__ = [
    "NOASSERTION",
    "UNKNOWN_LICENSING_NOTE",
    "LicenseAssignment",
    "LicenseDefinition",
    "LicenseEvidence",
    "LicenseObligation",
    "LicensedAsset",
    "LicensedAssetKind",
    "LicensingRecordMetadata",
    "ModelLicensing",
    "PermissionStatus",
    "unknown_model_licensing",
]
