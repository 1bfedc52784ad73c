"""The canonical (v2) record models for every model reference category.

One pydantic model per category, all derived from :class:`GenericModelRecord`.
Field declaration order is also the serialisation order, and that order is part
of the contract (documents and exports reproduce it), so fields must not be
reordered.

Validation policy:

* **Lenient by default.** Unknown image baselines and styles are kept as plain
  strings and unknown keys are ignored, so a client keeps reading data written
  by a newer server.
* **Strict on request.** Validating with the context ``{"strict_kinds": True}``
  rejects an unknown image-generation baseline or style; ``{"forbid_extra":
  True}`` rejects unknown keys at every level. :func:`validate_payload` with
  ``strict=True`` sets both; the server uses that for write routes.

:func:`record_to_payload` produces the one canonical JSON shape a record is
stored and served in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from horde_model_reference.meta_consts import (
    CONTROLNET_STYLE,
    KNOWN_IMAGE_GENERATION_BASELINE,
    MODEL_CLASSIFICATION_LOOKUP,
    MODEL_DOMAIN,
    MODEL_PURPOSE,
    MODEL_REFERENCE_CATEGORY,
    MODEL_STYLE,
    is_known_image_baseline,
)

logger = logging.getLogger(__name__)

#: The schema version stamped into record metadata: 2.1 added ``licensing`` (as the
#: established 8.6 records are stamped).
SCHEMA_VERSION = "2.1.0"

#: Validation-context key: reject unknown image baselines / styles.
STRICT_KINDS_CONTEXT_KEY = "strict_kinds"
#: Validation-context key: reject keys the model does not declare.
FORBID_EXTRA_CONTEXT_KEY = "forbid_extra"
#: The context :func:`validate_payload` uses for ``strict=True``.
STRICT_CONTEXT: dict[str, bool] = {STRICT_KINDS_CONTEXT_KEY: True, FORBID_EXTRA_CONTEXT_KEY: True}

JsonScalar = bool | int | float | str
#: The flat value type of ``requirements`` / ``settings``. ``bool`` comes first and the
#: list items are a scalar union (not ``list[int] | list[float]``) so that values keep
#: their JSON type exactly: ``[1, 2.5]`` must not come back as ``[1.0, 2.5]``.
FlatSettingValue = JsonScalar | list[JsonScalar]


def get_default_config() -> ConfigDict:
    """The model config every record model shares (lenient: unknown keys are ignored)."""
    return ConfigDict(extra="ignore", populate_by_name=True)


def _context_flag(info: ValidationInfo, key: str) -> bool:
    context = info.context
    return isinstance(context, Mapping) and bool(context.get(key))


class _RecordBaseModel(BaseModel):
    """Shared base: lenient config, plus unknown-key rejection when the context asks for it.

    Extra keys are checked on the raw input (before validation) because with
    ``extra="ignore"`` pydantic discards them and ``model_extra`` stays empty; a
    separate ``extra="forbid"`` copy of every model would double the class tree.
    """

    model_config = get_default_config()

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any, info: ValidationInfo) -> Any:
        # Runs for every (nested) model of every record: the usual, context-free case
        # returns at once.
        if info.context is None or not _context_flag(info, FORBID_EXTRA_CONTEXT_KEY):
            return data
        if not isinstance(data, Mapping):
            return data
        allowed: set[str] = set()
        for field_name, field_info in cls.model_fields.items():
            allowed.add(field_name)
            if field_info.alias:
                allowed.add(field_info.alias)
        unknown = [str(key) for key in data if key not in allowed]
        if unknown:
            raise ValueError(f"Unknown field(s): {', '.join(sorted(unknown))}")
        return data


class DownloadRecord(_RecordBaseModel):
    """One file a worker downloads for a model (an item of ``config.download``)."""

    file_name: str
    """The horde-specific file name (not necessarily the name on the host)."""
    file_url: str
    sha256sum: str = "FIXME"
    """``"FIXME"`` is the sentinel for an unknown hash."""
    content_hash: str | None = None
    file_purpose: str | None = None
    """``None`` means the primary file; otherwise e.g. ``"vae"`` or ``"text_encoders"``."""
    known_slow_download: bool | None = None
    size_bytes: int | None = None


class GenericModelRecordConfig(_RecordBaseModel):
    """The download configuration of a record."""

    download: list[DownloadRecord] = Field(default_factory=list)
    embedded_component_hashes: dict[str, str] | None = None


class GenericModelRecordMetadata(_RecordBaseModel):
    """Bookkeeping about the record itself (not the model)."""

    schema_version: str = SCHEMA_VERSION
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None


class FineTuneSeriesInfo(_RecordBaseModel):
    """The fine-tune family a model belongs to."""

    name: str
    version: str | None = None
    author: str | None = None
    description: str | None = None
    homepage: str | None = None


class PermissionStatus(StrEnum):
    """The reviewed status of one activity (commercial use, redistribution) under a licence."""

    ALLOWED = "allowed"
    ALLOWED_WITH_CONDITIONS = "allowed_with_conditions"
    PROHIBITED = "prohibited"
    UNKNOWN = "unknown"


class LicenseObligation(StrEnum):
    """An obligation a licence puts on whoever uses or redistributes the model."""

    ATTRIBUTION = "attribution"
    INCLUDE_LICENSE = "include_license"
    SHARE_ALIKE = "share_alike"
    DISCLOSE_SOURCE = "disclose_source"
    NETWORK_SOURCE_DISCLOSURE = "network_source_disclosure"
    RESPONSIBLE_USE_RESTRICTIONS = "responsible_use_restrictions"
    OTHER = "other"


#: The SPDX sentinel for "no licensing conclusion has been reached".
NOASSERTION = "NOASSERTION"


def _check_kind(value: StrEnum | str, kind: type[StrEnum], what: str, info: ValidationInfo) -> StrEnum | str:
    """The enum member for a known value; an unknown one stays a string unless strict.

    (Pydantic's smart union prefers the exact ``str`` branch for string input, so
    known values are turned into members here.)
    """
    if not isinstance(value, kind) and value in kind._value2member_map_:
        return kind(value)
    if not isinstance(value, kind):
        if _context_flag(info, STRICT_KINDS_CONTEXT_KEY):
            raise ValueError(f"Unknown {what}: {value}")
        logger.debug("Unknown %s kept as a string: %s", what, value)
    return value


class LicenseEvidence(_RecordBaseModel):
    """One source supporting a licensing conclusion (a licence file, a model card...)."""

    source: str = Field(min_length=1)
    description: str | None = None
    checked_at: date | None = None


class LicenseAssignment(_RecordBaseModel):
    """A reviewed licensing conclusion for one scope (a model, or one of its files).

    ``license_expression`` is an SPDX expression (``"Apache-2.0"``,
    ``"MIT OR Apache-2.0"``, ``"LicenseRef-..."``) or ``"NOASSERTION"`` when nobody
    has reviewed it; ``license_ids`` lists the identifiers the expression uses. The
    client accepts unknown permission and obligation values as strings; the server
    checks the expression's syntax and these invariants on every write.
    """

    license_expression: str = Field(min_length=1)
    license_ids: list[str] = Field(default_factory=list)
    commercial_use: PermissionStatus | str
    redistribution: PermissionStatus | str
    obligations: list[LicenseObligation | str] = Field(default_factory=list)
    attribution: str | None = None
    evidence: list[LicenseEvidence] = Field(default_factory=list)
    reviewed_by: str | None = None
    reviewed_at: date | None = None
    notes: str | None = None

    @field_validator("commercial_use", "redistribution", mode="after")
    @classmethod
    def _check_permission(cls, value: PermissionStatus | str, info: ValidationInfo) -> StrEnum | str:
        return _check_kind(value, PermissionStatus, "permission status", info)

    @field_validator("obligations", mode="after")
    @classmethod
    def _check_obligations(
        cls, values: list[LicenseObligation | str], info: ValidationInfo
    ) -> list[LicenseObligation | str]:
        return [_check_kind(value, LicenseObligation, "license obligation", info) for value in values]

    @property
    def is_unknown(self) -> bool:
        """True when no licensing conclusion has been reached (``NOASSERTION``)."""
        return self.license_expression == NOASSERTION


class ModelLicensing(LicenseAssignment):
    """A model's licensing conclusion, with optional overrides per download file.

    ``files`` maps a ``config.download`` ``file_name`` to the conclusion for that
    file when it differs from the model's (a VAE under another licence, say).
    """

    files: dict[str, LicenseAssignment] = Field(default_factory=dict)

    def assignment_for_file(self, file_name: str) -> LicenseAssignment:
        """The conclusion that applies to one download file (its override, else the model's)."""
        return self.files.get(file_name, self)


def unknown_model_licensing(*, note: str | None = None) -> ModelLicensing:
    """The explicit "not reviewed" conclusion: ``NOASSERTION``, use and redistribution unknown.

    Records without licensing (every record imported from the legacy files) are
    served with this, as the established service does.
    """
    return ModelLicensing(
        license_expression=NOASSERTION,
        commercial_use=PermissionStatus.UNKNOWN,
        redistribution=PermissionStatus.UNKNOWN,
        notes=note or UNKNOWN_LICENSING_NOTE,
    )


#: The note of the default conclusion (the established service's wording, which
#: its clients display).
UNKNOWN_LICENSING_NOTE = "No reviewed licensing conclusion is currently available."


class TextGuidanceStatus(StrEnum):
    """Whether usage guidance exists for a text model."""

    PUBLISHED = "published"
    LEGACY_LABEL = "legacy_label"
    UNDOCUMENTED = "undocumented"


class TextGuidanceSummary(_RecordBaseModel):
    """The guidance reference a text record carries when read (derived, never stored).

    ``published`` names the guidance profiles assigned to the model; ``legacy_label``
    means only the legacy ``instruct_format`` label is known; ``undocumented`` means
    neither.
    """

    status: TextGuidanceStatus | str
    primary_profile_id: str | None = None
    supplemental_profile_ids: list[str] = Field(default_factory=list)


class SupportStatus(StrEnum):
    """The reviewed conclusion of a durable support claim."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class TextInteractionMode(StrEnum):
    """A durable way in which a text model accepts prompts (a key of ``interaction_modes``)."""

    COMPLETION = "completion"
    INSTRUCTION = "instruction"
    CHAT = "chat"


class TextCapability(StrEnum):
    """A machine-consumable text capability (a key of ``capabilities``)."""

    TOOL_CALLING = "tool_calling"
    STRUCTURED_OUTPUT = "structured_output"


class GuidanceSource(_RecordBaseModel):
    # Evidence or documentation for a durable claim, the URL kept as the writer spelled
    # it. No docstring and ``additionalProperties: false`` (what the server enforces on
    # writes): its JSON Schema is the catalogs' ``GuidanceSource`` component, one name
    # in the OpenAPI document.
    model_config = ConfigDict(**get_default_config(), json_schema_extra={"additionalProperties": False})

    url: str = Field(min_length=1, max_length=2083)
    title: str | None = None
    note: str | None = None

    @field_validator("url", mode="after")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        if _context_flag(info, STRICT_KINDS_CONTEXT_KEY):
            AnyUrl(value)  # raises on a malformed URL; the text is kept as spelled
        return value


class SupportClaim(_RecordBaseModel):
    """A reviewed support conclusion (an interaction mode, a capability) with optional evidence."""

    status: SupportStatus | str
    sources: list[GuidanceSource] = Field(default_factory=list)
    qualification: str | None = None

    @field_validator("status", mode="after")
    @classmethod
    def _check_status(cls, value: SupportStatus | str, info: ValidationInfo) -> StrEnum | str:
        return _check_kind(value, SupportStatus, "support status", info)


class TextContextWindow(_RecordBaseModel):
    """The publisher-advertised maximum context window of a text model."""

    maximum_tokens: int = Field(ge=1)
    sources: list[GuidanceSource] = Field(default_factory=list)
    qualification: str | None = None


def _check_claim_keys(
    claims: Mapping[Any, SupportClaim] | None, kind: type[StrEnum], what: str, info: ValidationInfo
) -> dict[Any, SupportClaim] | None:
    """The claims keyed by enum members where known; an unknown key stays a string unless strict."""
    if claims is None:
        return None
    return {_check_kind(key, kind, what, info): claim for key, claim in claims.items()}


_CLASSIFICATION_ENUMS = (MODEL_DOMAIN, MODEL_PURPOSE)


class ModelClassification(_RecordBaseModel):
    """The domain and purpose of a model; unknown values are kept as strings."""

    domain: MODEL_DOMAIN | str
    purpose: MODEL_PURPOSE | str

    @field_validator("domain", "purpose", mode="after")
    @classmethod
    def _note_unknown(cls, value: MODEL_DOMAIN | MODEL_PURPOSE | str) -> MODEL_DOMAIN | MODEL_PURPOSE | str:
        if not isinstance(value, _CLASSIFICATION_ENUMS):
            logger.debug("Unknown model classification value: %s", value)
        return value


def _classification_for(category: MODEL_REFERENCE_CATEGORY) -> Callable[[], ModelClassification]:
    values = MODEL_CLASSIFICATION_LOOKUP[category]

    def factory() -> ModelClassification:
        return ModelClassification(domain=values["domain"], purpose=values["purpose"])

    return factory


def _strip_list(values: list[str] | None) -> list[str] | None:
    return None if values is None else [value.strip() for value in values]


class GenericModelRecord(_RecordBaseModel):
    """Fields every category shares. Subclasses add category-specific fields after these."""

    record_type: MODEL_REFERENCE_CATEGORY | str
    name: str
    description: str | None = None
    version: str | None = None
    finetune_series: FineTuneSeriesInfo | None = None
    metadata: GenericModelRecordMetadata = Field(default_factory=GenericModelRecordMetadata)
    config: GenericModelRecordConfig = Field(default_factory=GenericModelRecordConfig)
    model_classification: ModelClassification
    size_on_disk_bytes: int | None = None
    licensing: ModelLicensing | None = None
    """The reviewed licensing conclusion. ``None`` (legacy-derived records) is served
    as :func:`unknown_model_licensing`."""

    @model_validator(mode="after")
    def _license_overrides_name_downloads(self) -> GenericModelRecord:
        # An override for a file the record does not download would silently never apply.
        if self.licensing is not None and self.licensing.files:
            declared = {download.file_name for download in self.config.download}
            unknown = sorted(set(self.licensing.files) - declared)
            if unknown:
                raise ValueError(f"Licensing file overrides are not declared downloads: {', '.join(unknown)}")
        return self

    @property
    def category(self) -> MODEL_REFERENCE_CATEGORY | None:
        """The record's category, or None when ``record_type`` is not a known category."""
        try:
            return MODEL_REFERENCE_CATEGORY(self.record_type)
        except ValueError:
            return None

    @property
    def declared_total_size_bytes(self) -> int | None:
        """Sum of the downloads' ``size_bytes`` when all declare one, else ``size_on_disk_bytes``."""
        downloads = self.config.download
        sizes = [d.size_bytes for d in downloads]
        if downloads and all(size is not None for size in sizes):
            return sum(size for size in sizes if size is not None)
        return self.size_on_disk_bytes

    @property
    def primary_download_url(self) -> str | None:
        """The URL of the first download, or None when there is none."""
        return self.config.download[0].file_url if self.config.download else None

    @property
    def all_download_urls(self) -> list[str]:
        """Every download URL, in order."""
        return [d.file_url for d in self.config.download]

    @property
    def download_count(self) -> int:
        """How many files the record downloads."""
        return len(self.config.download)


RecordT = TypeVar("RecordT", bound=type[GenericModelRecord])

MODEL_RECORD_TYPE_LOOKUP: dict[MODEL_REFERENCE_CATEGORY, type[GenericModelRecord]] = {}


def register_record_type(
    category: MODEL_REFERENCE_CATEGORY | str,
) -> Callable[[RecordT], RecordT]:
    """Class decorator: make ``cls`` the record type of ``category`` (a later registration wins)."""
    key = MODEL_REFERENCE_CATEGORY(category)

    def decorator(cls: RecordT) -> RecordT:
        if key in MODEL_RECORD_TYPE_LOOKUP and MODEL_RECORD_TYPE_LOOKUP[key] is not cls:
            logger.warning(
                "Record type for %s overridden: %s -> %s",
                key.value,
                MODEL_RECORD_TYPE_LOOKUP[key].__name__,
                cls.__name__,
            )
        MODEL_RECORD_TYPE_LOOKUP[key] = cls
        return cls

    return decorator


def get_record_type_for_category(
    category: MODEL_REFERENCE_CATEGORY | str,
) -> type[GenericModelRecord]:
    """The registered record class for ``category`` (``GenericModelRecord`` if none)."""
    try:
        key = MODEL_REFERENCE_CATEGORY(category)
    except ValueError:
        return GenericModelRecord
    return MODEL_RECORD_TYPE_LOOKUP.get(key, GenericModelRecord)


_C = MODEL_REFERENCE_CATEGORY


@register_record_type(_C.image_generation)
class ImageGenerationModelRecord(GenericModelRecord):
    """An image generation model (legacy ``stable_diffusion.json``)."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.image_generation
    model_classification: ModelClassification = Field(
        default_factory=_classification_for(_C.image_generation)
    )
    inpainting: bool | None = False
    baseline: KNOWN_IMAGE_GENERATION_BASELINE | str
    optimization: str | None = None
    tags: list[str] | None = None
    showcases: list[str] | None = None
    min_bridge_version: int | None = None
    trigger: list[str] | None = None
    homepage: str | None = None
    nsfw: bool
    style: MODEL_STYLE | str | None = None
    requirements: dict[str, FlatSettingValue] | None = None

    @field_validator("tags", mode="after")
    @classmethod
    def _strip_tags(cls, value: list[str] | None) -> list[str] | None:
        return _strip_list(value)

    @field_validator("style", mode="after")
    @classmethod
    def _strip_style(cls, value: MODEL_STYLE | str | None) -> MODEL_STYLE | str | None:
        if value is None or isinstance(value, MODEL_STYLE):
            return value
        stripped = value.strip()
        # Stripping may turn " anime" into a known style; prefer the enum then.
        return MODEL_STYLE(stripped) if stripped in MODEL_STYLE.__members__ else stripped

    @field_validator("baseline", mode="after")
    @classmethod
    def _check_baseline(
        cls, value: KNOWN_IMAGE_GENERATION_BASELINE | str, info: ValidationInfo
    ) -> KNOWN_IMAGE_GENERATION_BASELINE | str:
        if not isinstance(value, KNOWN_IMAGE_GENERATION_BASELINE) and not is_known_image_baseline(value):
            if _context_flag(info, STRICT_KINDS_CONTEXT_KEY):
                raise ValueError(f"Unknown baseline: {value}")
            logger.debug("Unknown baseline kept as a string: %s", value)
        return value

    @field_validator("style", mode="after")
    @classmethod
    def _check_style(cls, value: MODEL_STYLE | str | None, info: ValidationInfo) -> MODEL_STYLE | str | None:
        if value is not None and not isinstance(value, MODEL_STYLE):
            if _context_flag(info, STRICT_KINDS_CONTEXT_KEY):
                raise ValueError(f"Unknown style: {value}")
            logger.debug("Unknown style kept as a string: %s", value)
        return value

    @model_validator(mode="after")
    def _lists_never_none(self) -> ImageGenerationModelRecord:
        # Readers index these lists without None checks; the established writer
        # therefore always emits them, even when empty.
        if self.tags is None:
            self.tags = []
        if self.showcases is None:
            self.showcases = []
        if self.trigger is None:
            self.trigger = []
        return self


@register_record_type(_C.controlnet)
class ControlNetModelRecord(GenericModelRecord):
    """A ControlNet model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.controlnet
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.controlnet))
    controlnet_style: CONTROLNET_STYLE | str | None = None

    @field_validator("controlnet_style", mode="after")
    @classmethod
    def _note_unknown_style(cls, value: CONTROLNET_STYLE | str | None) -> CONTROLNET_STYLE | str | None:
        if value is not None and not isinstance(value, CONTROLNET_STYLE):
            logger.debug("Unknown controlnet style kept as a string: %s", value)
        return value


@register_record_type(_C.controlnet_annotator)
class ControlNetAnnotatorModelRecord(GenericModelRecord):
    """A ControlNet annotator (preprocessor weights)."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.controlnet_annotator
    model_classification: ModelClassification = Field(
        default_factory=_classification_for(_C.controlnet_annotator)
    )
    control_types: list[str] = Field(default_factory=list)
    preprocessors: list[str] = Field(default_factory=list)


@register_record_type(_C.text_generation)
class TextGenerationModelRecord(GenericModelRecord):
    """A text generation model. ``parameters_count`` is serialised as ``parameters``."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.text_generation
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.text_generation))
    baseline: str | None = None
    parameters_count: int = Field(alias="parameters")
    nsfw: bool = False
    style: str | None = None
    display_name: str | None = None
    url: str | None = None
    tags: list[str] | None = None
    instruct_format: str | None = None
    settings: dict[str, FlatSettingValue] | None = None
    text_model_group: str | None = None
    name_schema_exception: str | None = None
    context_window: TextContextWindow | None = None
    """v2-only (see :data:`V2_ONLY_FIELDS`), like ``licensing``."""
    interaction_modes: dict[TextInteractionMode | str, SupportClaim] | None = None
    """v2-only: the reviewed support of each interaction mode."""
    capabilities: dict[TextCapability | str, SupportClaim] | None = None
    """v2-only: the reviewed support of each capability."""
    guidance: TextGuidanceSummary | None = None
    """Derived from the guidance catalog when served; ignored (not stored) on writes."""

    @field_validator("tags", mode="after")
    @classmethod
    def _strip_tags(cls, value: list[str] | None) -> list[str] | None:
        return _strip_list(value)

    @field_validator("interaction_modes", mode="after")
    @classmethod
    def _check_interaction_modes(
        cls, value: dict[TextInteractionMode | str, SupportClaim] | None, info: ValidationInfo
    ) -> dict[TextInteractionMode | str, SupportClaim] | None:
        return _check_claim_keys(value, TextInteractionMode, "text interaction mode", info)

    @field_validator("capabilities", mode="after")
    @classmethod
    def _check_capabilities(
        cls, value: dict[TextCapability | str, SupportClaim] | None, info: ValidationInfo
    ) -> dict[TextCapability | str, SupportClaim] | None:
        return _check_claim_keys(value, TextCapability, "text capability", info)


@register_record_type(_C.clip)
class ClipModelRecord(GenericModelRecord):
    """A CLIP model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.clip
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.clip))
    pretrained_name: str | None = None


@register_record_type(_C.video_generation)
class VideoGenerationModelRecord(GenericModelRecord):
    """A video generation model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.video_generation
    model_classification: ModelClassification = Field(
        default_factory=_classification_for(_C.video_generation)
    )
    baseline: str | None = None
    nsfw: bool = False
    tags: list[str] | None = None


@register_record_type(_C.audio_generation)
class AudioGenerationModelRecord(GenericModelRecord):
    """An audio generation model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.audio_generation
    model_classification: ModelClassification = Field(
        default_factory=_classification_for(_C.audio_generation)
    )
    baseline: str | None = None
    nsfw: bool = False
    tags: list[str] | None = None


@register_record_type(_C.lora)
class LoraModelRecord(GenericModelRecord):
    """A LoRA (managed elsewhere; the type exists for third-party providers)."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.lora
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.lora))
    baseline: str | None = None
    nsfw: bool = False
    tags: list[str] | None = None
    trigger: list[str] | None = None
    homepage: str | None = None
    showcases: list[str] | None = None


@register_record_type(_C.ti)
class TextualInversionModelRecord(GenericModelRecord):
    """A textual inversion embedding (managed elsewhere)."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.ti
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.ti))
    baseline: str | None = None
    nsfw: bool = False
    tags: list[str] | None = None
    trigger: list[str] | None = None
    homepage: str | None = None
    showcases: list[str] | None = None


@register_record_type(_C.blip)
class BlipModelRecord(GenericModelRecord):
    """A BLIP captioning model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.blip
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.blip))


@register_record_type(_C.codeformer)
class CodeformerModelRecord(GenericModelRecord):
    """A CodeFormer face restoration model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.codeformer
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.codeformer))


@register_record_type(_C.esrgan)
class EsrganModelRecord(GenericModelRecord):
    """An ESRGAN upscaler."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.esrgan
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.esrgan))


@register_record_type(_C.gfpgan)
class GfpganModelRecord(GenericModelRecord):
    """A GFPGAN face restoration model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.gfpgan
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.gfpgan))


@register_record_type(_C.safety_checker)
class SafetyCheckerModelRecord(GenericModelRecord):
    """A safety checker model."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.safety_checker
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.safety_checker))


@register_record_type(_C.miscellaneous)
class MiscellaneousModelRecord(GenericModelRecord):
    """Any other auxiliary model (e.g. layer_diffuse)."""

    record_type: MODEL_REFERENCE_CATEGORY | str = _C.miscellaneous
    model_classification: ModelClassification = Field(default_factory=_classification_for(_C.miscellaneous))


for _category in MODEL_REFERENCE_CATEGORY:
    MODEL_RECORD_TYPE_LOOKUP.setdefault(_category, GenericModelRecord)
del _category


class TextModelGroupNameSchema(BaseModel):
    """The naming convention persisted for a text model group (not a record)."""

    model_config = ConfigDict(extra="forbid")

    separator: str = "-"
    part_order: list[str] = Field(default_factory=lambda: ["base", "size", "variant", "version", "quant"])
    author_included: bool = True
    common_author: str | None = None
    template: str | None = None
    extra_parts: list[str] = Field(default_factory=list)


def validate_payload(
    category: MODEL_REFERENCE_CATEGORY | str,
    payload: Mapping[str, Any],
    *,
    strict: bool = False,
) -> GenericModelRecord:
    """Validate a v2 payload as a record of ``category``.

    Lenient by default. ``strict=True`` additionally rejects unknown keys at any
    level, unknown image baselines and styles, and a ``record_type`` that names a
    different category. Raises :class:`pydantic.ValidationError` (a ``ValueError``)
    on invalid input, and ``ValueError`` for an unknown category.
    """
    key = MODEL_REFERENCE_CATEGORY(category)
    record_cls = get_record_type_for_category(key)
    context = STRICT_CONTEXT if strict else None
    record = record_cls.model_validate(payload, context=context)
    if strict and record.record_type != key:
        raise ValueError(f"record_type {str(record.record_type)!r} does not match category {key.value!r}")
    return record


#: Fields only v2 can carry: the legacy files (and models.csv) have no place for them, so
#: a payload converted from a legacy entry (a v1 write, an import, an upstream change)
#: keeps the record's current values, and the upstream comparison ignores them.
V2_ONLY_FIELDS: tuple[str, ...] = ("licensing", "context_window", "interaction_modes", "capabilities")

_ALWAYS_PRESENT_IMAGE_LISTS: tuple[str, ...] = ("tags", "showcases", "trigger")
#: Fields computed when a record is served, never stored: a writer that sends a record
#: back as it read it must not freeze them (the established service drops them too).
_DERIVED_FIELDS: set[str] = {"guidance"}


def record_to_payload(record: GenericModelRecord) -> dict[str, Any]:
    """The canonical JSON shape of a record, as stored and served.

    ``image_generation`` uses the established converter's compact shape: defaults
    and None dropped (so ``record_type``, ``model_classification`` and default
    ``metadata`` are omitted, ``inpainting`` appears only when true) but ``tags``,
    ``showcases`` and ``trigger`` always present. Every other category keeps
    defaults and drops only None, with aliases (text: ``parameters``).
    Round-tripping through :func:`validate_payload` gives the same dict.
    """
    if isinstance(record, ImageGenerationModelRecord):
        payload = record.model_dump(
            mode="json", exclude_none=True, exclude_defaults=True, by_alias=True, exclude=_DERIVED_FIELDS
        )
        if record.licensing is not None:
            # exclude_defaults would also strip the defaults inside the licensing block
            # (empty ``license_ids``, ``files``...); it keeps the full shape every
            # category and the established service use. Assigning keeps the key's place.
            payload["licensing"] = record.licensing.model_dump(mode="json", exclude_none=True)
        missing = [name for name in _ALWAYS_PRESENT_IMAGE_LISTS if name not in payload]
        if missing:
            # exclude_defaults drops a list only when it equals the default (None),
            # which the after-validator prevents; this guards records built with
            # model_construct, so the shape stays fixed either way.
            full = record.model_dump(mode="json", by_alias=True)
            payload = {
                key: (full[key] or [] if key in missing else payload[key])
                for key in full
                if key in payload or key in missing
            }
        return payload
    return record.model_dump(mode="json", exclude_none=True, by_alias=True, exclude=_DERIVED_FIELDS)


__all__ = [
    "MODEL_RECORD_TYPE_LOOKUP",
    "NOASSERTION",
    "SCHEMA_VERSION",
    "STRICT_CONTEXT",
    "UNKNOWN_LICENSING_NOTE",
    "V2_ONLY_FIELDS",
    "AudioGenerationModelRecord",
    "BlipModelRecord",
    "ClipModelRecord",
    "CodeformerModelRecord",
    "ControlNetAnnotatorModelRecord",
    "ControlNetModelRecord",
    "DownloadRecord",
    "EsrganModelRecord",
    "FineTuneSeriesInfo",
    "GenericModelRecord",
    "GenericModelRecordConfig",
    "GenericModelRecordMetadata",
    "GfpganModelRecord",
    "GuidanceSource",
    "ImageGenerationModelRecord",
    "LicenseAssignment",
    "LicenseEvidence",
    "LicenseObligation",
    "LoraModelRecord",
    "MiscellaneousModelRecord",
    "ModelClassification",
    "ModelLicensing",
    "PermissionStatus",
    "SafetyCheckerModelRecord",
    "SupportClaim",
    "SupportStatus",
    "TextCapability",
    "TextContextWindow",
    "TextGenerationModelRecord",
    "TextGuidanceStatus",
    "TextGuidanceSummary",
    "TextInteractionMode",
    "TextModelGroupNameSchema",
    "TextualInversionModelRecord",
    "VideoGenerationModelRecord",
    "get_default_config",
    "get_record_type_for_category",
    "record_to_payload",
    "register_record_type",
    "unknown_model_licensing",
    "validate_payload",
]
