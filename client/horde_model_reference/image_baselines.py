"""The image baseline catalog: what each image baseline can do and how the AI Horde treats it.

The reference service publishes one :class:`ImageBaselineCatalog` (``name`` ->
:class:`ImageBaselineRecord`); curators change it with an :class:`ImageBaselineChangeSet`.
The models are lenient like the records (unknown keys are ignored), so a client keeps
reading a catalog written by a newer server.

:func:`register_image_baselines_from_catalog` makes the baselines a served catalog names
known to this package (:func:`~horde_model_reference.meta_consts.get_baseline_descriptor`
and the image records' baseline check), so records using a baseline published after this
release validate even with ``strict_kinds``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from horde_model_reference.meta_consts import IMAGE_BASELINE_DESCRIPTORS, BaselineDescriptor
from horde_model_reference.model_reference_records import _RecordBaseModel, get_default_config

IMAGE_BASELINE_SCHEMA_VERSION = 1


class _FrozenLenient(_RecordBaseModel):
    model_config = ConfigDict(**{**get_default_config(), "frozen": True})


class BaselineCapabilities(_FrozenLenient):
    """Features the AI Horde offers for models of a baseline."""

    controlnet: bool = False
    controlnet_types_unavailable: tuple[str, ...] = ()
    transparent: bool = False
    qr_code: bool = False
    remix: bool = False
    flow_matching: bool = False


class HordeBaselinePolicy(_FrozenLenient):
    """How the AI Horde prices and schedules jobs of a baseline."""

    kudos: float = 1
    kudos_qr_code: float | None = None
    kudos_hires: float | None = None
    batching: int = Field(default=1, ge=1)
    ttl: int = Field(default=1, ge=1)
    resolution_floor: int = Field(default=0, ge=0)


class BaselineRecordMetadata(_FrozenLenient):
    """Bookkeeping of one baseline record."""

    revision: int = Field(default=1, ge=1)
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None


class ImageBaselineRecord(_FrozenLenient):
    """One image baseline (``stable_diffusion_xl``, ``flux_dev``...)."""

    name: str = Field(min_length=1)
    display_name: str | None = None
    native_resolution: int | None = Field(default=None, ge=1)
    alternative_names: tuple[str, ...] = ()
    capabilities: BaselineCapabilities = BaselineCapabilities()
    horde_policy: HordeBaselinePolicy = HordeBaselinePolicy()
    metadata: BaselineRecordMetadata = Field(default_factory=BaselineRecordMetadata)


class ImageBaselineCatalogMetadata(_FrozenLenient):
    """The catalog's schema version and revision."""

    schema_version: int = IMAGE_BASELINE_SCHEMA_VERSION
    revision: int = Field(default=1, ge=1)
    updated_at: int | None = None


class ImageBaselineCatalog(_RecordBaseModel):
    """The whole published catalog: baseline name -> record."""

    metadata: ImageBaselineCatalogMetadata = Field(default_factory=ImageBaselineCatalogMetadata)
    baselines: dict[str, ImageBaselineRecord] = Field(default_factory=dict)


class ImageBaselineChange(_FrozenLenient):
    """One baseline operation and the value it was reviewed against."""

    operation: Literal["upsert", "delete"]
    name: str = Field(min_length=1)
    record: ImageBaselineRecord | None = None
    expected_before: ImageBaselineRecord | None = None


class ImageBaselineChangeSet(_FrozenLenient):
    """A titled batch of baseline changes (at least one)."""

    title: str = Field(min_length=1, max_length=160)
    changes: list[ImageBaselineChange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _require_changes(self) -> ImageBaselineChangeSet:
        if not self.changes:
            raise ValueError("A baseline change set must contain at least one change.")
        return self


def register_image_baselines_from_catalog(catalog: ImageBaselineCatalog) -> None:
    """Register every baseline a served catalog names, replacing any packaged descriptor.

    Each record becomes a :class:`~horde_model_reference.meta_consts.BaselineDescriptor`
    (its native resolution and alternative names) under the record's ``name``.
    """
    for record in catalog.baselines.values():
        IMAGE_BASELINE_DESCRIPTORS[record.name] = BaselineDescriptor(
            native_resolution=record.native_resolution,
            alternative_names=tuple(record.alternative_names),
        )


__all__ = [
    "IMAGE_BASELINE_SCHEMA_VERSION",
    "BaselineCapabilities",
    "BaselineRecordMetadata",
    "HordeBaselinePolicy",
    "ImageBaselineCatalog",
    "ImageBaselineCatalogMetadata",
    "ImageBaselineChange",
    "ImageBaselineChangeSet",
    "ImageBaselineRecord",
    "register_image_baselines_from_catalog",
]
