"""The one mapping from errors to the established error shape.

``detail`` is a string, or for 422 the list of ``{"loc", "msg", "type"}`` items.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from common.database import DETAIL as DATABASE_UNAVAILABLE
from common.database import database_outage_noted, database_unavailable_response, is_database_outage
from common.errors import DomainError


def validation_items(data: Any, loc: list[str | int]) -> list[dict[str, Any]]:
    """Flatten DRF's nested validation errors into ``{loc, msg, type}`` items."""
    if isinstance(data, dict):
        items: list[dict[str, Any]] = []
        for key, value in data.items():
            sub = loc if key == "non_field_errors" else [*loc, key]
            items.extend(validation_items(value, sub))
        return items
    if isinstance(data, list):
        if all(isinstance(item, str) for item in data):
            return [{"loc": loc, "msg": str(item), "type": getattr(item, "code", "invalid")} for item in data]
        items = []
        for index, value in enumerate(data):
            items.extend(validation_items(value, [*loc, index]))
        return items
    return [{"loc": loc, "msg": str(data), "type": getattr(data, "code", "invalid")}]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        response = Response({"detail": exc.detail}, status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = "APIKey"
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RequestDataTooBig):
        # Django raises this (a SuspiciousOperation, otherwise a bare 400) when the body is read.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"Request body too large: the limit is {limit} bytes."}, status=413)
    if is_database_outage(exc):
        retry_after = database_outage_noted(exc)
        return Response({"detail": DATABASE_UNAVAILABLE}, status=503, headers={"Retry-After": retry_after})
    if isinstance(exc, SuspiciousOperation):
        # e.g. TooManyFieldsSent: thousands of query parameters.
        return Response({"detail": f"Bad Request: {exc}"}, status=400)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"detail": validation_items(exc.detail, ["body"])}, status=422)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]}, status=422
        )
    fallback = drf_exception_handler(exc, context)
    if fallback is not None and isinstance(fallback.data, dict) and "detail" in fallback.data:
        fallback.data = {"detail": str(fallback.data["detail"])}
    return fallback


def _is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/model_references/"))


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Django's own 400s (too many query or form fields) in the established shape on API paths."""
    if _is_api_path(request):
        reason = f"Bad Request: {exception}" if isinstance(exception, TooManyFieldsSent) else "Bad Request"
        return JsonResponse({"detail": reason}, status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception("bad request"))


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _is_api_path(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception("not found"))


def json_server_error(request: HttpRequest) -> Any:
    # Django calls this while handling the exception; a database outage raised
    # outside any view (in a middleware, say) is still a 503, not a 500.
    error = sys.exc_info()[1]
    if error is not None and is_database_outage(error):
        return database_unavailable_response(request, error)
    if _is_api_path(request):
        return JsonResponse({"detail": "Internal Server Error"}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


class PublicReadView(APIView):
    # The base of every public read: no authentication, permission or throttle work.
    # The project's defaults authenticate and check roles on every view; a read of public
    # data must not pay for that (nor make a SQL or cache round trip before its answer),
    # and carries no credentials to check. Health probes and documents alike use it.
    # (A comment, not a docstring: drf-spectacular would publish a docstring as the
    # description of every operation that inherits it.)

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
