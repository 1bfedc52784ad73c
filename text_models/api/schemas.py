"""Request serializers (validation and documentation) and response serializers (documentation).

Request fields are strict: a string field takes a JSON string only (DRF's ``CharField``
would turn ``1`` into ``"1"``), as the established service's pydantic models do.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictStr(serializers.CharField):
    """A JSON string, kept as sent (no trimming; blank names are the services' call)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value: str = super().to_internal_value(data)
        return value


class StrictBool(serializers.BooleanField):
    """A JSON ``true``/``false`` only."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _optional_str(**kwargs: Any) -> StrictStr:
    return StrictStr(required=False, allow_null=True, **kwargs)


def _str_list(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=StrictStr(max_length=1000), max_length=1000, **kwargs)


# --- requests -----------------------------------------------------------------------


class ComposeNameRequest(serializers.Serializer[Any]):
    author = _optional_str(max_length=200)
    base_name = StrictStr(max_length=1000)
    size = StrictStr(max_length=200)
    variant = _optional_str(max_length=200)
    version = _optional_str(max_length=200)
    quant = _optional_str(max_length=200)
    separator = _optional_str(max_length=8, help_text='Default "-".')
    part_order = _str_list(
        required=False, allow_null=True, help_text="Default: base, size, variant, version, quant."
    )


class CommonFieldsUpdateRequest(serializers.Serializer[Any]):
    baseline = _optional_str(max_length=200)
    description = _optional_str(max_length=100_000)
    url = _optional_str(max_length=2000)
    nsfw = StrictBool(required=False, allow_null=True)
    tags = _str_list(required=False, allow_null=True)
    style = _optional_str(max_length=200)  # type: ignore[assignment]  # DRF's Field.style is a dict
    instruct_format = _optional_str(max_length=200)


class GroupNameSchemaUpdateRequest(serializers.Serializer[Any]):
    separator = _optional_str(max_length=8)
    part_order = _str_list(required=False, allow_null=True)
    author_included = StrictBool(required=False, allow_null=True)
    common_author = _optional_str(max_length=200)
    template = _optional_str(max_length=1000)
    extra_parts = _str_list(required=False, allow_null=True)


class NameExceptionRequest(serializers.Serializer[Any]):
    reason = StrictStr(allow_null=True, max_length=10_000)


class SetAliasesRequest(serializers.Serializer[Any]):
    aliases = _str_list()


class AliasRequest(serializers.Serializer[Any]):
    alias = StrictStr(max_length=1000)


class SetFamilyRequest(serializers.Serializer[Any]):
    members = _str_list()


class FamilyMemberRequest(serializers.Serializer[Any]):
    group_name = StrictStr(max_length=1000)


# --- responses (documentation only) -------------------------------------------------


class ExtraPartInfo(serializers.Serializer[Any]):
    value = serializers.CharField()
    position = serializers.IntegerField()
    inferred_type = serializers.CharField()


class ParsedNameResponse(serializers.Serializer[Any]):
    original_name = serializers.CharField()
    base_name = serializers.CharField()
    size = serializers.CharField(allow_null=True)
    variant = serializers.CharField(allow_null=True)
    quant = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    suggested_group = serializers.CharField()
    extras = ExtraPartInfo(many=True)


class ParsedNameInfo(serializers.Serializer[Any]):
    base_name = serializers.CharField()
    size = serializers.CharField(allow_null=True)
    variant = serializers.CharField(allow_null=True)
    quant = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    extras = ExtraPartInfo(many=True)


class GroupMemberInfo(serializers.Serializer[Any]):
    name = serializers.CharField()
    parsed = ParsedNameInfo()
    parameters = serializers.IntegerField(allow_null=True)
    baseline = serializers.CharField(allow_null=True)
    nsfw = serializers.BooleanField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    style = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # as above
    tags = serializers.ListField(child=serializers.CharField(), allow_null=True)
    display_name = serializers.CharField(allow_null=True)
    instruct_format = serializers.CharField(allow_null=True)
    is_backend_duplicate = serializers.BooleanField()
    backend_prefix = serializers.CharField(allow_null=True)


class NameFormatInfo(serializers.Serializer[Any]):
    separator = serializers.CharField()
    part_order = serializers.ListField(child=serializers.CharField())
    author_included = serializers.BooleanField()
    common_author = serializers.CharField(allow_null=True)
    template = serializers.CharField(allow_null=True)
    extra_parts = serializers.ListField(child=serializers.CharField())


class NameExceptionInfo(serializers.Serializer[Any]):
    name = serializers.CharField()
    reason = serializers.CharField()


class GroupFamilyResponse(serializers.Serializer[Any]):
    family_name = serializers.CharField()
    members = serializers.ListField(child=serializers.CharField())


class GroupMembersResponse(serializers.Serializer[Any]):
    group_name = serializers.CharField()
    members = GroupMemberInfo(many=True)
    common_fields = serializers.DictField()
    available_sizes = serializers.ListField(child=serializers.CharField())
    available_variants = serializers.ListField(child=serializers.CharField(allow_null=True))
    available_quants = serializers.ListField(child=serializers.CharField(allow_null=True))
    available_versions = serializers.ListField(child=serializers.CharField(allow_null=True))
    size_usage = serializers.DictField(child=serializers.IntegerField())
    variant_usage = serializers.DictField(child=serializers.IntegerField())
    quant_usage = serializers.DictField(child=serializers.IntegerField())
    name_format = NameFormatInfo()
    canonical_count = serializers.IntegerField()
    backend_duplicate_count = serializers.IntegerField()
    name_schema_is_custom = serializers.BooleanField()
    exception_members = NameExceptionInfo(many=True)
    related_family = GroupFamilyResponse(allow_null=True)


class DistinctBaselinesResponse(serializers.Serializer[Any]):
    baselines = serializers.ListField(child=serializers.CharField())


class ComposeNameResponse(serializers.Serializer[Any]):
    composed_name = serializers.CharField()
    already_exists = serializers.BooleanField()
    suggested_group = serializers.CharField()


class CommonFieldsUpdateResponse(serializers.Serializer[Any]):
    updated_count = serializers.IntegerField()
    batch_id = serializers.CharField()
    pending_change_ids = serializers.ListField(child=serializers.IntegerField())


class GroupListResponse(serializers.Serializer[Any]):
    groups = serializers.ListField(child=serializers.CharField())


class GroupHealthIssue(serializers.Serializer[Any]):
    group_name = serializers.CharField()
    issue_type = serializers.CharField()
    message = serializers.CharField()
    severity = serializers.CharField()


class GroupSummaryEntry(serializers.Serializer[Any]):
    group_name = serializers.CharField()
    canonical_count = serializers.IntegerField()
    backend_duplicate_count = serializers.IntegerField()
    has_custom_schema = serializers.BooleanField()
    family_name = serializers.CharField(allow_null=True)
    alias_canonical = serializers.CharField(allow_null=True)
    aliases = serializers.ListField(child=serializers.CharField())
    available_sizes = serializers.ListField(child=serializers.CharField())
    health_issues = GroupHealthIssue(many=True)


class GroupsSummaryResponse(serializers.Serializer[Any]):
    groups = GroupSummaryEntry(many=True)
    total_groups = serializers.IntegerField()
    total_models = serializers.IntegerField()
    groups_with_families = serializers.IntegerField()
    groups_with_aliases = serializers.IntegerField()
    groups_with_issues = serializers.IntegerField()


class GroupHealthResponse(serializers.Serializer[Any]):
    issues = GroupHealthIssue(many=True)
    total_groups_checked = serializers.IntegerField()
    groups_with_issues = serializers.IntegerField()
    issue_counts_by_type = serializers.DictField(child=serializers.IntegerField())


class GroupNameSchemaResponse(serializers.Serializer[Any]):
    group_name = serializers.CharField()
    name_schema = NameFormatInfo()
    is_custom = serializers.BooleanField()


class NameExceptionResponse(serializers.Serializer[Any]):
    pending_change_id = serializers.IntegerField()


class GroupAliasResponse(serializers.Serializer[Any]):
    canonical = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())


class GroupAliasListResponse(serializers.Serializer[Any]):
    entries = GroupAliasResponse(many=True)


class GroupFamilyListResponse(serializers.Serializer[Any]):
    families = GroupFamilyResponse(many=True)


class DetectFamiliesResponse(serializers.Serializer[Any]):
    suggestions = GroupFamilyResponse(many=True)
    total_groups_analyzed = serializers.IntegerField()
    groups_in_families = serializers.IntegerField()
    standalone_groups = serializers.IntegerField()
