"""A database outage is a 503 the caller can retry, on every route, never a 500.

``is_database_outage`` recognises what Django and psycopg raise when the server is
stopped, unreachable or hung (past the connect timeout), or when a connection was
dropped under us. The DRF exception handler (``common.api``), this middleware (for
plain Django views such as the admin) and ``handler500`` (for errors raised inside
other middleware) all answer them with ``database_unavailable_response`` and feed
``DATABASE_BREAKER``, which the heartbeat reports.

Recovery is noticed without an extra query: while the breaker is open, a query
wrapper marks it closed again on the first statement that succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.health import DATABASE_BREAKER

DETAIL = "The database is unavailable; try again shortly."


def _driver_errors() -> tuple[type[BaseException], ...]:
    # Django wraps the driver's errors raised through its cursors and connects; a few
    # paths (closing a dropped connection, a server-side cursor) can surface them raw.
    try:
        import psycopg
    except ImportError:  # SQLite-only installs
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, *_driver_errors())


def is_database_outage(error: BaseException | None) -> bool:
    """True for the errors that mean "the database cannot answer now", not a bad query."""
    return isinstance(error, OUTAGE_ERRORS)


def database_outage_noted(error: BaseException) -> str:
    """Feed the breaker; the ``Retry-After`` value to send (seconds, the rest of the cool-down)."""
    DATABASE_BREAKER.record_failure(error)
    return str(max(1, round(DATABASE_BREAKER.seconds_until_retry() or DATABASE_BREAKER.cool_down_seconds)))


def _is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/model_references/"))


def database_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """503 + ``Retry-After``: the established ``detail`` body for the API, a short page elsewhere."""
    response: HttpResponse
    if _is_api_path(request):
        response = JsonResponse({"detail": DETAIL}, status=503)
    else:
        response = HttpResponse(DETAIL, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = database_outage_noted(error)
    return response


def _note_recovery(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    DATABASE_BREAKER.record_success()
    return result


class DatabaseOutageMiddleware:
    """Turns a database outage raised by a view into a 503, and notices recovery."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not DATABASE_BREAKER.is_open:
            return self.get_response(request)
        connection = connections["default"]
        with connection.execute_wrapper(_note_recovery):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return database_unavailable_response(request, exception)
        return None
