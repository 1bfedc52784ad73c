"""The wire contract of the two catalogs, as the established 8.6.2 service documents it.

Written from its OpenAPI components (`TextGuidanceCatalog`, `ImageBaselineCatalog` and the
change-set bodies). Unknown fields are refused everywhere (the documented schemas say
``additionalProperties: false``), so a typo never disappears silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, field_validator

from horde_model_reference.model_reference_records import TextGuidanceSummary

#: Identities are columns of their own (``catalogs.models``): longer ones are refused here.
PROFILE_ID_MAX = 200
MODEL_NAME_MAX = 255
BASELINE_NAME_MAX = 200

SettingValue = int | float | str | bool | list[int] | list[float] | list[str]
Role = Literal["system", "user", "assistant", "tool"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- text guidance ---------------------------------------------------------------


#: The catalog metadata is stored in integer columns (``CatalogState``): bounded to fit them.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


class TextGuidanceCatalogMetadata(_Strict):
    schema_version: int = Field(default=1, ge=-INT32_MAX, le=INT32_MAX)
    revision: int = Field(default=1, ge=1, le=INT32_MAX)
    updated_at: int | None = Field(default=None, ge=-INT64_MAX, le=INT64_MAX)


class GuidanceRecordMetadata(_Strict):
    revision: int = Field(default=1, ge=1)
    created_at: int | None = None
    created_by: str | None = None
    updated_at: int | None = None
    updated_by: str | None = None


class GuidanceAudienceContent(_Strict):
    overview: str = ""
    use_cases: list[str] = Field(default_factory=list)
    tips: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


class PromptMessage(_Strict):
    role: Role
    content: str


class PromptExample(_Strict):
    title: str
    description: str | None = None
    messages: list[PromptMessage] = Field(min_length=1)
    rendered_prompt: str | None = None


class AIHordeRequestExample(_Strict):
    title: str
    prompt: str
    parameters: dict[str, SettingValue] = Field(default_factory=dict)
    notes: str | None = None


class GuidanceSource(_Strict):
    # Kept as the caller spelled it (pydantic's URL type would normalise it, and an
    # export -> import -> export round trip must give back the same text).
    url: str = Field(min_length=1, max_length=2083)
    title: str | None = None
    note: str | None = None

    @field_validator("url")
    @classmethod
    def _is_url(cls, value: str) -> str:
        AnyUrl(value)
        return value


class TemplateVariable(_Strict):
    name: str = Field(min_length=1)
    description: str
    required: bool = True


class RawPromptTemplate(_Strict):
    template_id: str = Field(min_length=1)
    name: str
    syntax: Literal["jinja2", "handlebars", "python_format", "literal", "other"]
    syntax_name: str | None = None
    template: str
    variables: list[TemplateVariable] = Field(default_factory=list)


class _ProfileBase(_Strict):
    profile_id: str = Field(max_length=PROFILE_ID_MAX)
    display_name: str
    aliases: list[str] = Field(default_factory=list)
    summary: str
    user: GuidanceAudienceContent = Field(default_factory=GuidanceAudienceContent)
    developer: GuidanceAudienceContent = Field(default_factory=GuidanceAudienceContent)
    examples: list[PromptExample] = Field(default_factory=list)
    recommended_settings: dict[str, SettingValue] = Field(default_factory=dict)
    ai_horde_examples: list[AIHordeRequestExample] = Field(default_factory=list)
    sources: list[GuidanceSource] = Field(default_factory=list)
    deprecated: bool = False
    metadata: GuidanceRecordMetadata = Field(default_factory=GuidanceRecordMetadata)


class TextPromptContract(_ProfileBase):
    kind: Literal["prompt_contract"] = "prompt_contract"
    interaction_modes: list[Literal["completion", "instruction", "chat"]] = Field(min_length=1)
    accepted_roles: list[Role] = Field(default_factory=list)
    role_markers: dict[str, str] = Field(default_factory=dict)
    stop_sequences: list[str] = Field(default_factory=list)
    templates: list[RawPromptTemplate] = Field(default_factory=list)


class TextUsageRecipe(_ProfileBase):
    kind: Literal["usage_recipe"] = "usage_recipe"
    capability: Literal["tool_calling", "structured_output"] | None = None
    scenario: str | None = None


TextUsageProfile = Annotated[TextPromptContract | TextUsageRecipe, Field(discriminator="kind")]


class TextGuidanceAssignment(_Strict):
    model_name: str = Field(min_length=1, max_length=MODEL_NAME_MAX)
    primary_profile_id: str = Field(max_length=PROFILE_ID_MAX)
    supplemental_profile_ids: list[str] = Field(default_factory=list)
    metadata: GuidanceRecordMetadata = Field(default_factory=GuidanceRecordMetadata)


class TextGuidanceCatalog(_Strict):
    metadata: TextGuidanceCatalogMetadata = Field(default_factory=TextGuidanceCatalogMetadata)
    profiles: dict[str, TextUsageProfile] = Field(default_factory=dict)
    assignments: dict[str, TextGuidanceAssignment] = Field(default_factory=dict)


class GuidanceProfileChange(_Strict):
    operation: Literal["create", "update", "deprecate"]
    profile_id: str = Field(max_length=PROFILE_ID_MAX)
    profile: TextUsageProfile | None = None
    expected_before: TextUsageProfile | None = None


class GuidanceAssignmentChange(_Strict):
    model_name: str = Field(max_length=MODEL_NAME_MAX)
    assignment: TextGuidanceAssignment | None = None
    expected_before: TextGuidanceAssignment | None = None


class TextGuidanceChangeSet(_Strict):
    title: str = Field(min_length=1, max_length=160)
    profile_changes: list[GuidanceProfileChange] = Field(default_factory=list)
    assignment_changes: list[GuidanceAssignmentChange] = Field(default_factory=list)


# --- image baselines ---------------------------------------------------------------


class BaselineCapabilities(_Strict):
    controlnet: bool = False
    controlnet_types_unavailable: list[str] = Field(default_factory=list)
    transparent: bool = False
    qr_code: bool = False
    remix: bool = False
    flow_matching: bool = False


class HordeBaselinePolicy(_Strict):
    kudos: float = 1.0
    kudos_qr_code: float | None = None
    kudos_hires: float | None = None
    batching: int = Field(default=1, ge=1)
    ttl: int = Field(default=1, ge=1)
    resolution_floor: int = Field(default=0, ge=0)


class BaselineRecordMetadata(GuidanceRecordMetadata):
    pass


class ImageBaselineRecord(_Strict):
    name: str = Field(min_length=1, max_length=BASELINE_NAME_MAX)
    display_name: str | None = None
    native_resolution: int | None = Field(default=None, ge=1)
    alternative_names: list[str] = Field(default_factory=list)
    capabilities: BaselineCapabilities = Field(default_factory=BaselineCapabilities)
    horde_policy: HordeBaselinePolicy = Field(default_factory=HordeBaselinePolicy)
    metadata: BaselineRecordMetadata = Field(default_factory=BaselineRecordMetadata)


class ImageBaselineCatalogMetadata(TextGuidanceCatalogMetadata):
    pass


class ImageBaselineCatalog(_Strict):
    metadata: ImageBaselineCatalogMetadata = Field(default_factory=ImageBaselineCatalogMetadata)
    baselines: dict[str, ImageBaselineRecord] = Field(default_factory=dict)


class ImageBaselineChange(_Strict):
    operation: Literal["upsert", "delete"]
    name: str = Field(min_length=1, max_length=BASELINE_NAME_MAX)
    record: ImageBaselineRecord | None = None
    expected_before: ImageBaselineRecord | None = None


class ImageBaselineChangeSet(_Strict):
    title: str = Field(min_length=1, max_length=160)
    changes: list[ImageBaselineChange] = Field(default_factory=list)


# --- answers -------------------------------------------------------------------------


class TextUsageProfileSummary(BaseModel):
    profile_id: str
    kind: Literal["prompt_contract", "usage_recipe"]
    display_name: str
    summary: str
    aliases: list[str]
    deprecated: bool
    assigned_model_count: int


class TextUsageProfilePage(BaseModel):
    items: list[TextUsageProfileSummary]
    total: int
    metadata: TextGuidanceCatalogMetadata


class TextGuidanceAssignmentPage(BaseModel):
    items: list[TextGuidanceAssignment]
    total: int
    metadata: TextGuidanceCatalogMetadata


class ResolvedTextGuidance(_Strict):
    model_name: str
    summary: TextGuidanceSummary
    primary_profile: TextPromptContract | None = None
    supplemental_profiles: list[TextUsageRecipe] = Field(default_factory=list)
    legacy_instruct_format: str | None = None
    catalog_metadata: TextGuidanceCatalogMetadata


class GuidanceMigrationPreview(BaseModel):
    change_set: TextGuidanceChangeSet | None
    source_model_count: int
    format_count: int


class ImageBaselinePage(BaseModel):
    items: list[ImageBaselineRecord]
    total: int
    metadata: ImageBaselineCatalogMetadata


class CatalogChangeRecord(BaseModel):
    """The established ``PendingChangeRecord`` shape of an applied catalog change set.

    Change sets are applied at once here (see ``catalogs.services``), so the record is
    born ``applied``: requester, approver and applier are the caller, ``change_id`` is the
    audit event's sequence number.
    """

    change_id: int
    resource_kind: Literal["text_guidance", "image_baseline"]
    resource_id: str
    category: Literal["text_generation", "image_generation"]
    model_name: str
    operation: Literal["update"]
    payload: dict[str, Any]
    requested_by: str
    requested_username: str
    requested_at: int
    status: Literal["applied"]
    notes: str | None
    batch_id: int | None
    batch_title: str | None
    approved_by: str
    approved_username: str
    approved_at: int
    rejected_by: None
    rejected_username: None
    rejected_at: None
    reject_reason: None
    applied_at: int
    applied_by: str
    applied_username: str
    applied_job_id: None
    updated_at: int
    request_metadata: dict[str, Any]
    related_models: list[str]


#: The models documented as OpenAPI components (their JSON Schemas, by class name).
DOCUMENTED_MODELS: tuple[type[BaseModel], ...] = (
    TextUsageProfilePage,
    TextGuidanceAssignmentPage,
    ResolvedTextGuidance,
    GuidanceMigrationPreview,
    TextGuidanceCatalog,
    TextGuidanceChangeSet,
    TextPromptContract,
    TextUsageRecipe,
    ImageBaselinePage,
    ImageBaselineRecord,
    ImageBaselineCatalog,
    ImageBaselineChangeSet,
    CatalogChangeRecord,
)
