"""Pieces every curation route uses: auth wiring, throttling, input guards, OpenAPI shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from common.api import validation_items
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE, VALIDATION_RESPONSE
from common.shared_cache import CacheUnavailableError, cache_call
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from pending_queue.auth import READER, REQUESTOR, HasRole, HordePrincipal
from pending_queue.auth import authentication_classes as curation_authenticators
from pending_queue.models import ChangeProposal
from pending_queue.selectors import compact, proposal_as_dict

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ALL_CATEGORIES = [c.value for c in MODEL_REFERENCE_CATEGORY]
WRITES_SCOPE = "writes"


class CurationThrottle(ScopedRateThrottle):
    """Per caller (Horde user or Django user) rather than DRF's ``user.pk``.

    A Horde principal has no primary key, so the stock throttle would put every
    Horde user into one shared bucket.
    """

    def get_rate(self) -> str | None:
        # Read at request time so that configuration (and tests) can change it.
        rates: Any = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
        rate: str | None = rates.get(self.scope) if self.scope else None
        return rate

    def allow_request(self, request: Request, view: APIView) -> bool:
        # The throttle protects our standing with the AI Horde; it must not make
        # curation depend on Redis. While the cache fails, it lets requests through.
        try:
            return cache_call(lambda: super(CurationThrottle, self).allow_request(request, view))
        except CacheUnavailableError:
            return True

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user: Any = request.user
        if isinstance(user, HordePrincipal):
            ident = f"horde:{user.horde_user.user_id}"
        elif user is not None and getattr(user, "is_authenticated", False):
            ident = f"django:{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CurationView(APIView):
    """A route that needs an identity: the AI Horde key, a session or a token."""

    authentication_classes = curation_authenticators()
    permission_classes: tuple[type[BasePermission], ...] = (HasRole,)
    throttle_classes = (CurationThrottle,)
    throttle_scope = WRITES_SCOPE
    required_role = READER

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method the route lacks is 405 with ``Allow`` (added by DRF to every
        # response) before authentication: asking for a key first would answer 401
        # for a request that can never succeed (TRACE, a GET on a delete-only path).
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            self.http_method_not_allowed(request, *args, **kwargs)
        # Framing before identity too: nothing a key could change.
        _refuse_unframed_body(request)
        super().initial(request, *args, **kwargs)


class ReadWriteView(CurationView):
    """A path whose GET/HEAD is a public document read and whose other methods are writes.

    One view class per path keeps drf-spectacular's document whole; the overrides keep
    the read hot path free of authentication, permission and throttle work (and so of
    any SQL or cache round trip).
    """

    required_role = REQUESTOR

    def _is_read(self) -> bool:
        # drf-spectacular builds its mock request before setting ``view.request``.
        request: Any = getattr(self, "request", None)
        return getattr(request, "method", None) in SAFE_METHODS

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [] if self._is_read() else super().get_authenticators()

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        return [] if self._is_read() else super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        return [] if self._is_read() else super().get_throttles()


# --- input guards ----------------------------------------------------------------


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain NUL bytes"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogates"
    return None


def _bad_text(data: object, loc: list[str | int]) -> list[dict[str, Any]]:
    if isinstance(data, str):
        problem = _text_problem(data)
        return [{"loc": loc, "msg": f"Text {problem}", "type": "string_invalid"}] if problem else []
    items: list[dict[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            key_problem = _text_problem(key) if isinstance(key, str) else None
            if key_problem:
                items.append({"loc": loc, "msg": f"Keys {key_problem}", "type": "string_invalid"})
            items.extend(_bad_text(value, [*loc, key]))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            items.extend(_bad_text(value, [*loc, index]))
    return items


def _refuse_unframed_body(request: Request) -> None:
    # Django reads at most CONTENT_LENGTH bytes of the body, so a chunked body without
    # one would be read as empty and a valid create refused as "name required": say so.
    encoding = str(request.META.get("HTTP_TRANSFER_ENCODING") or "").lower()
    if "chunked" in encoding and not request.META.get("CONTENT_LENGTH"):
        raise DomainError(
            "A request body needs a Content-Length header (chunked bodies are not read).", status=411
        )


def _refuse_large_body(request: Request) -> None:
    # DRF parses from the request stream, which skips Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    # check on ``request.body``; the stream is bounded by CONTENT_LENGTH, so check that.
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        raise DomainError(f"Request body too large: the limit is {limit} bytes.", status=413)


def request_body(request: Request) -> object:
    """The parsed JSON body, refusing NUL bytes and lone surrogates anywhere (422).

    PostgreSQL cannot store either, and neither belongs in a model record; refusing
    them at the edge keeps them out of the queue, the audit log and the exports.
    Malformed JSON is 422 (mapped by the exception handler); a body over the limit is 413
    (a chunked body without a Content-Length was refused with 411 before authentication).
    """
    _refuse_large_body(request)
    data: object = request.data
    problems = _bad_text(data, ["body"])
    if problems:
        raise DomainError(problems, status=422)
    return data


def text_param(value: str, loc: list[str | int]) -> str:
    problem = _text_problem(value)
    if problem:
        raise DomainError([{"loc": loc, "msg": f"Text {problem}", "type": "string_invalid"}], status=422)
    return value


def validated(serializer: serializers.Serializer[Any], loc: str) -> dict[str, Any]:
    """Run a DRF serializer; errors become the 422 list with ``loc`` (``body`` or ``query``)."""
    if not serializer.is_valid():
        raise DomainError(validation_items(serializer.errors, [loc]), status=422)
    data: dict[str, Any] = dict(serializer.validated_data)
    return data


def record_wire(proposal: ChangeProposal) -> dict[str, Any]:
    """The pending-change record as write responses carry it: nulls omitted."""
    return compact(proposal_as_dict(proposal))


# --- OpenAPI ---------------------------------------------------------------------


class HordeApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the ``apikey`` header under the established scheme name."""

    target_class = "pending_queue.auth.HordeApiKeyAuthentication"
    name = "APIKeyHeader"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "apikey",
            "description": "An AI Horde API key; roles come from the requestor/approver allowlists.",
        }


class ActorSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["horde", "django", "system"])
    id = serializers.CharField()
    display_name = serializers.CharField()


class PendingChangeRecordSerializer(serializers.Serializer[Any]):
    """Documentation only: the wire shape built by ``pending_queue.selectors.proposal_as_dict``."""

    change_id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=ALL_CATEGORIES)
    model_name = serializers.CharField()
    operation = serializers.ChoiceField(choices=["create", "update", "delete"])
    payload = serializers.JSONField(required=False, allow_null=True)
    requested_by = serializers.CharField()
    requested_username = serializers.CharField()
    requested_at = serializers.IntegerField(help_text="unix seconds")
    status = serializers.ChoiceField(
        choices=["pending", "approved", "applying", "applied", "rejected", "withdrawn", "superseded"]
    )
    notes = serializers.CharField(required=False, allow_null=True)
    batch_id = serializers.IntegerField(required=False, allow_null=True)
    batch_title = serializers.CharField(required=False, allow_null=True)
    approved_by = serializers.CharField(required=False, allow_null=True)
    approved_username = serializers.CharField(required=False, allow_null=True)
    approved_at = serializers.IntegerField(required=False, allow_null=True)
    rejected_by = serializers.CharField(required=False, allow_null=True)
    rejected_username = serializers.CharField(required=False, allow_null=True)
    rejected_at = serializers.IntegerField(required=False, allow_null=True)
    reject_reason = serializers.CharField(required=False, allow_null=True)
    applied_at = serializers.IntegerField(required=False, allow_null=True)
    applied_by = serializers.CharField(required=False, allow_null=True)
    applied_username = serializers.CharField(required=False, allow_null=True)
    applied_job_id = serializers.CharField(required=False, allow_null=True)
    updated_at = serializers.IntegerField()
    request_metadata = serializers.DictField()
    related_models = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    submitted_format = serializers.ChoiceField(choices=["v1", "v2"])
    base_version = serializers.IntegerField(required=False, allow_null=True)
    applied_version = serializers.IntegerField(required=False, allow_null=True)
    superseded_by = serializers.IntegerField(required=False, allow_null=True)
    upstream_conflict = serializers.BooleanField(
        required=False,
        help_text="Queued by the upstream import: upstream changed a record that was also changed here.",
    )
    requester = ActorSerializer(required=False, allow_null=True)
    approver = ActorSerializer(required=False, allow_null=True)
    rejecter = ActorSerializer(required=False, allow_null=True)
    applier = ActorSerializer(required=False, allow_null=True)


ERROR = ERROR_RESPONSE
VALIDATION_ERROR = VALIDATION_RESPONSE
AUTH_ERRORS: dict[int, OpenApiResponse] = {
    401: OpenApiResponse(ERROR.response, description="No or an invalid API key."),
    403: OpenApiResponse(
        ERROR.response, description="The caller lacks the role, or writes are disabled by configuration."
    ),
    429: OpenApiResponse(ERROR.response, description="Too many requests."),
    503: OpenApiResponse(ERROR.response, description="The AI Horde could not check the key."),
}
