"""The 25 ``/v2/text_generation`` group tool routes (upstream-api.md §2.8).

Reads are public. Writes need the requestor role (the ``apikey`` header, or a Django
user with the permission to propose), checked before anything else. Aliases, families
and naming schemas are written at once (audited); changes to records
(``common_fields``, ``name_exception``) are queued as proposals and answer 202.
Group names come from the query parameter ``name`` because they may contain ``/``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError
from common.openapi import ERROR_RESPONSE
from pending_queue.api.common import (
    AUTH_ERRORS,
    CurationView,
    ReadWriteView,
    request_body,
    text_param,
    validated,
)
from pending_queue.auth import REQUESTOR, identity_of
from references.api.params import QueryErrors, int_param
from text_models import selectors, services
from text_models.api import schemas

TAGS = ["v2 text_generation tools"]
NAME_PARAMETER = OpenApiParameter(
    "name",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=True,
    description="Group name; may contain '/'.",
)
PARSE_NAME_PARAMETER = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description="The model name to parse."
)
CANONICAL_PARAMETER = OpenApiParameter("canonical", OpenApiTypes.STR, OpenApiParameter.PATH)
FAMILY_PARAMETER = OpenApiParameter("family_name", OpenApiTypes.STR, OpenApiParameter.PATH)
MODEL_NAME_PARAMETER = OpenApiParameter("model_name", OpenApiTypes.STR, OpenApiParameter.PATH)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR_RESPONSE.response, description=description)


NOT_FOUND = _error("Not found; `detail` says what.")
CONFLICT = _error("Conflicts with other curation data; `detail` says which.")


def _writes(codes: dict[int, Any]) -> dict[int, Any]:
    """A write route's answers: its own and the authentication ones."""
    return {**codes, **AUTH_ERRORS}


def _query_name(request: Request, name: str = "name") -> str:
    """A required text query parameter, or the established 422."""
    value = request.query_params.get(name)
    if value is None:
        raise DomainError([{"loc": ["query", name], "msg": "Field required", "type": "missing"}], status=422)
    if "\x00" in value:
        raise DomainError(
            [{"loc": ["query", name], "msg": "NUL characters are not allowed", "type": "string_nul"}],
            status=422,
        )
    return value


def _body(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    return validated(serializer(data=request_body(request)), "body")


def _actor(request: Request) -> Any:
    return identity_of(request).actor


class ReadView(APIView):
    """A public read: no authentication, permissions or throttling."""

    authentication_classes = ()
    permission_classes = ()


# --- reads ---------------------------------------------------------------------------


class ParseNameView(ReadView):
    @extend_schema(
        operation_id="text_parse_name",
        parameters=[PARSE_NAME_PARAMETER],
        responses={200: schemas.ParsedNameResponse},
        tags=TAGS,
        description="Split a model name into base name, size, variant, quant, version and extras; "
        "`suggested_group` is resolved through the aliases.",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.parse_name(name=_query_name(request)))


class GroupView(ReadView):
    @extend_schema(
        operation_id="text_group",
        parameters=[NAME_PARAMETER],
        responses={200: schemas.GroupMembersResponse, 404: NOT_FOUND},
        tags=TAGS,
        description="The members of one group and what they have in common.",
    )
    def get(self, request: Request) -> Response:
        name = _query_name(request)
        answer = selectors.group_members(group_name=name)
        if answer is None:
            raise DomainError(f"No models found in group '{name}'", status=404)
        return Response(answer)


class DistinctBaselinesView(ReadView):
    @extend_schema(
        operation_id="text_distinct_baselines",
        responses={200: schemas.DistinctBaselinesResponse},
        tags=TAGS,
        description="Every baseline a text record uses, trimmed, sorted and unique.",
    )
    def get(self, request: Request) -> Response:
        return Response({"baselines": selectors.distinct_baselines()})


class ComposeNameView(ReadView):
    @extend_schema(
        operation_id="text_compose_name",
        request=schemas.ComposeNameRequest,
        responses={200: schemas.ComposeNameResponse},
        tags=TAGS,
        description="Compose a model name from its parts; says whether a record already has it.",
    )
    def post(self, request: Request) -> Response:
        data = _body(request, schemas.ComposeNameRequest)
        separator = data.get("separator")
        return Response(
            selectors.composed_name(
                base_name=data["base_name"],
                size=data["size"],
                variant=data.get("variant"),
                version=data.get("version"),
                quant=data.get("quant"),
                author=data.get("author"),
                separator="-" if separator is None else separator,
                part_order=data.get("part_order"),
            )
        )


class GroupsView(ReadView):
    @extend_schema(
        operation_id="text_groups",
        responses={200: schemas.GroupListResponse},
        tags=TAGS,
        description="Every text_model_group, sorted.",
    )
    def get(self, request: Request) -> Response:
        return Response({"groups": selectors.group_names()})


class GroupsSummaryView(ReadView):
    @extend_schema(
        operation_id="text_groups_summary",
        responses={200: schemas.GroupsSummaryResponse},
        tags=TAGS,
        description="One line per group: counts, sizes, family, aliases, custom schema and health.",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.groups_summary())


class GroupsHealthView(ReadView):
    @extend_schema(
        operation_id="text_groups_health",
        responses={200: schemas.GroupHealthResponse},
        tags=TAGS,
        description="Health issues of every group (singletons, inconsistent or missing fields).",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.groups_health())


class FamiliesDetectView(ReadView):
    @extend_schema(
        operation_id="text_families_detect",
        parameters=[
            OpenApiParameter(
                "min_prefix_length",
                {"type": "integer", "minimum": 2, "maximum": 20, "default": 3},
                OpenApiParameter.QUERY,
            ),
            OpenApiParameter(
                "min_family_size",
                {"type": "integer", "minimum": 2, "maximum": 50, "default": 2},
                OpenApiParameter.QUERY,
            ),
        ],
        responses={200: schemas.DetectFamiliesResponse},
        tags=TAGS,
        description="Suggested families (groups sharing a leading prefix); nothing is saved.",
    )
    def get(self, request: Request) -> Response:
        errors = QueryErrors()
        prefix = int_param(request.query_params, "min_prefix_length", 3, 2, 20, errors)
        size = int_param(request.query_params, "min_family_size", 2, 2, 50, errors)
        errors.raise_if_any()
        return Response(selectors.families_detect(min_prefix_length=prefix, min_family_size=size))


# --- naming schemas and record proposals ------------------------------------------------


class GroupNameSchemaView(ReadWriteView):
    @extend_schema(
        operation_id="text_group_name_schema",
        parameters=[NAME_PARAMETER],
        responses={200: schemas.GroupNameSchemaResponse, 404: NOT_FOUND},
        tags=TAGS,
        description="The group's naming schema: the curated one, or one inferred from its members.",
    )
    def get(self, request: Request) -> Response:
        name = _query_name(request)
        answer = selectors.name_schema_answer(group_name=name)
        if answer is None:
            raise DomainError(f"No models found in group '{name}'", status=404)
        return Response(answer)

    @extend_schema(
        operation_id="text_group_name_schema_update",
        parameters=[NAME_PARAMETER],
        request=schemas.GroupNameSchemaUpdateRequest,
        responses=_writes({200: schemas.GroupNameSchemaResponse, 404: NOT_FOUND}),
        tags=TAGS,
        description="Merge the given fields into the group's schema and store it as curated (audited).",
    )
    def put(self, request: Request) -> Response:
        name = _query_name(request)
        data = _body(request, schemas.GroupNameSchemaUpdateRequest)
        schema = services.name_schema_set(group_name=name, changes=data, actor=_actor(request))
        return Response({"group_name": name, "name_schema": schema, "is_custom": True})

    @extend_schema(
        operation_id="text_group_name_schema_delete",
        parameters=[NAME_PARAMETER],
        request=None,
        responses=_writes({204: None, 404: NOT_FOUND}),
        tags=TAGS,
        description="Drop the curated schema; the group's schema is inferred again (audited).",
    )
    def delete(self, request: Request) -> Response:
        services.name_schema_delete(group_name=_query_name(request), actor=_actor(request))
        return Response(status=204)


class GroupCommonFieldsView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_group_common_fields",
        parameters=[NAME_PARAMETER],
        request=schemas.CommonFieldsUpdateRequest,
        responses=_writes(
            {
                202: schemas.CommonFieldsUpdateResponse,
                400: _error("No fields to update."),
                404: NOT_FOUND,
                409: CONFLICT,
            }
        ),
        tags=TAGS,
        description="Queue one update per canonical member with the given fields set; nothing changes "
        "until the proposals are approved and applied.",
    )
    def put(self, request: Request) -> Response:
        name = _query_name(request)
        data = _body(request, schemas.CommonFieldsUpdateRequest)
        fields = {key: value for key, value in data.items() if value is not None}
        outcome = services.group_common_fields_propose(group_name=name, fields=fields, actor=_actor(request))
        return Response(
            {
                "updated_count": len(outcome.change_ids),
                "batch_id": outcome.batch_id,
                "pending_change_ids": outcome.change_ids,
            },
            status=202,
        )


class NameExceptionView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_model_name_exception",
        parameters=[MODEL_NAME_PARAMETER],
        request=schemas.NameExceptionRequest,
        responses=_writes(
            {
                202: schemas.NameExceptionResponse,
                400: _error("Refused by the queue."),
                404: NOT_FOUND,
                409: CONFLICT,
            }
        ),
        tags=TAGS,
        description="Queue an update that sets (a reason) or clears (null) the model's naming exception.",
    )
    def put(self, request: Request, model_name: str) -> Response:
        model_name = text_param(model_name, ["path", "model_name"])
        data = _body(request, schemas.NameExceptionRequest)
        change_id = services.name_exception_propose(
            model_name=model_name, reason=data["reason"], actor=_actor(request)
        )
        return Response({"pending_change_id": change_id}, status=202)


# --- aliases -------------------------------------------------------------------------


class AliasListView(ReadView):
    @extend_schema(
        operation_id="text_aliases",
        responses={200: schemas.GroupAliasListResponse},
        tags=TAGS,
        description="Every canonical group with its aliases.",
    )
    def get(self, request: Request) -> Response:
        return Response({"entries": selectors.alias_entries()})


class AliasView(ReadWriteView):
    @extend_schema(
        operation_id="text_alias",
        parameters=[CANONICAL_PARAMETER],
        responses={200: schemas.GroupAliasResponse, 404: NOT_FOUND},
        tags=TAGS,
    )
    def get(self, request: Request, canonical: str) -> Response:
        canonical = text_param(canonical, ["path", "canonical"])
        entry = selectors.alias_entry(canonical=canonical)
        if entry is None:
            raise DomainError(f"No aliases found for canonical group '{canonical}'", status=404)
        return Response(entry)

    @extend_schema(
        operation_id="text_aliases_set",
        parameters=[CANONICAL_PARAMETER],
        request=schemas.SetAliasesRequest,
        responses=_writes({200: schemas.GroupAliasResponse, 409: CONFLICT}),
        tags=TAGS,
        description="Replace the group's aliases (audited).",
    )
    def put(self, request: Request, canonical: str) -> Response:
        canonical = text_param(canonical, ["path", "canonical"])
        data = _body(request, schemas.SetAliasesRequest)
        return Response(
            services.aliases_set(canonical=canonical, aliases=data["aliases"], actor=_actor(request))
        )

    @extend_schema(
        operation_id="text_aliases_delete",
        parameters=[CANONICAL_PARAMETER],
        request=None,
        responses=_writes({204: None, 404: NOT_FOUND}),
        tags=TAGS,
        description="Remove every alias of the group (audited).",
    )
    def delete(self, request: Request, canonical: str) -> Response:
        canonical = text_param(canonical, ["path", "canonical"])
        services.aliases_delete(canonical=canonical, actor=_actor(request))
        return Response(status=204)


class AliasAddView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_alias_add",
        parameters=[CANONICAL_PARAMETER],
        request=schemas.AliasRequest,
        responses=_writes({200: schemas.GroupAliasResponse, 409: CONFLICT}),
        tags=TAGS,
        description="Add one alias to the group (audited).",
    )
    def post(self, request: Request, canonical: str) -> Response:
        canonical = text_param(canonical, ["path", "canonical"])
        data = _body(request, schemas.AliasRequest)
        return Response(services.alias_add(canonical=canonical, alias=data["alias"], actor=_actor(request)))


class AliasRemoveView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_alias_remove",
        parameters=[CANONICAL_PARAMETER],
        request=schemas.AliasRequest,
        responses=_writes({200: schemas.GroupAliasResponse, 404: NOT_FOUND}),
        tags=TAGS,
        description="Remove one alias (audited); `aliases` is empty once none is left.",
    )
    def post(self, request: Request, canonical: str) -> Response:
        canonical = text_param(canonical, ["path", "canonical"])
        data = _body(request, schemas.AliasRequest)
        return Response(
            services.alias_remove(canonical=canonical, alias=data["alias"], actor=_actor(request))
        )


# --- families ------------------------------------------------------------------------


class FamilyListView(ReadView):
    @extend_schema(
        operation_id="text_families",
        responses={200: schemas.GroupFamilyListResponse},
        tags=TAGS,
        description="Every family with its member groups.",
    )
    def get(self, request: Request) -> Response:
        return Response({"families": selectors.family_entries()})


class FamilyView(ReadWriteView):
    @extend_schema(
        operation_id="text_family",
        parameters=[FAMILY_PARAMETER],
        responses={200: schemas.GroupFamilyResponse, 404: NOT_FOUND},
        tags=TAGS,
    )
    def get(self, request: Request, family_name: str) -> Response:
        family_name = text_param(family_name, ["path", "family_name"])
        entry = selectors.family_entry(family_name=family_name)
        if entry is None:
            raise DomainError(f"Family '{family_name}' does not exist.", status=404)
        return Response(entry)

    @extend_schema(
        operation_id="text_family_set",
        parameters=[FAMILY_PARAMETER],
        request=schemas.SetFamilyRequest,
        responses=_writes({200: schemas.GroupFamilyResponse, 409: CONFLICT}),
        tags=TAGS,
        description="Create or replace a family (audited). An empty member list is a 409, as upstream.",
    )
    def put(self, request: Request, family_name: str) -> Response:
        family_name = text_param(family_name, ["path", "family_name"])
        data = _body(request, schemas.SetFamilyRequest)
        return Response(
            services.family_set(family_name=family_name, members=data["members"], actor=_actor(request))
        )

    @extend_schema(
        operation_id="text_family_delete",
        parameters=[FAMILY_PARAMETER],
        request=None,
        responses=_writes({204: None, 404: NOT_FOUND}),
        tags=TAGS,
        description="Delete a family (audited).",
    )
    def delete(self, request: Request, family_name: str) -> Response:
        family_name = text_param(family_name, ["path", "family_name"])
        services.family_delete(family_name=family_name, actor=_actor(request))
        return Response(status=204)


class FamilyAddView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_family_add",
        parameters=[FAMILY_PARAMETER],
        request=schemas.FamilyMemberRequest,
        responses=_writes({200: schemas.GroupFamilyResponse, 404: NOT_FOUND, 409: CONFLICT}),
        tags=TAGS,
        description="Add a group to an existing family (audited).",
    )
    def post(self, request: Request, family_name: str) -> Response:
        family_name = text_param(family_name, ["path", "family_name"])
        data = _body(request, schemas.FamilyMemberRequest)
        return Response(
            services.family_member_add(
                family_name=family_name, group_name=data["group_name"], actor=_actor(request)
            )
        )


class FamilyRemoveView(CurationView):
    required_role = REQUESTOR

    @extend_schema(
        operation_id="text_family_remove",
        parameters=[FAMILY_PARAMETER],
        request=schemas.FamilyMemberRequest,
        responses=_writes({200: schemas.GroupFamilyResponse, 404: NOT_FOUND}),
        tags=TAGS,
        description="Remove a group from a family (audited); an emptied family is deleted.",
    )
    def post(self, request: Request, family_name: str) -> Response:
        family_name = text_param(family_name, ["path", "family_name"])
        data = _body(request, schemas.FamilyMemberRequest)
        return Response(
            services.family_member_remove(
                family_name=family_name, group_name=data["group_name"], actor=_actor(request)
            )
        )
