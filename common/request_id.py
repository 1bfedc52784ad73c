"""The request id: accepted from ``X-Request-ID`` when well formed, generated otherwise.

django-guid keeps the id in a context variable, sets it per request (its middleware)
and echoes it in the response. Its own validation accepts only UUID4s (or anything at
all), so ``RequestIdHeaderGuard`` runs before it and drops a header that is not
``REQUEST_ID_PATTERN``: django-guid then generates a fresh id. The audit trail stores
the id (``audit.services``), log lines carry it (``common.logging``), and Celery tasks
carry it across the broker (the signal handlers below, connected in ``config.celery``).

The in-memory fast paths (``references.fast_path``) answer warm reads before any
middleware and carry no request id: they do no work worth tracing, and they log nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import Token
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_guid.api import get_guid
from django_guid.context import guid as guid_context

REQUEST_ID_HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
# 64 is the width of the audit trail's request_id column.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Celery: the message header that carries the id, and the id a task replaced.
CELERY_HEADER = "hmr_request_id"
_saved_tokens: dict[str, Token[Any]] = {}


def request_id_is_well_formed(value: str | None) -> bool:
    return value is not None and REQUEST_ID_PATTERN.fullmatch(value) is not None


def current_request_id() -> str:
    """The id of the request or task being served; empty outside both."""
    return str(get_guid() or "")


class RequestIdHeaderGuard:
    """Drops a malformed ``X-Request-ID`` so that django-guid generates a fresh id.

    It must sit right before ``django_guid.middleware.guid_middleware``: a client's
    header reaches logs, audit events and response headers, so only a short token of
    safe characters is taken over (no log injection, no header splitting).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _META_KEY in request.META and not request_id_is_well_formed(request.META[_META_KEY]):
            del request.META[_META_KEY]
            # request.headers is cached on first access; drop the cached copy too.
            request.__dict__.pop("headers", None)
        return self.get_response(request)


def celery_publish_with_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish``: the enqueuing request's (or task's) id travels with the task."""
    request_id = current_request_id()
    if headers is not None and request_id:
        headers[CELERY_HEADER] = request_id


def celery_task_starts(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: the task runs under the id it was enqueued with.

    An eager task runs inside the enqueuing request and keeps its id as it is; a task
    from the broker takes the header's id, or a new one (a beat schedule has none).
    django-guid's own Celery integration clears the id after every task, which would
    strip it from a request that ran an eager task; this restores the previous value.
    """
    request = getattr(task, "request", None)
    if request is None or task_id is None:
        return
    if getattr(request, "is_eager", False) and current_request_id():
        return
    # A worker puts a message's custom headers on the request; `Task.apply` keeps them
    # in `request.headers`.
    headers = getattr(request, "headers", None) or {}
    carried = getattr(request, CELERY_HEADER, None) or headers.get(CELERY_HEADER)
    if not request_id_is_well_formed(carried):
        carried = uuid.uuid4().hex
    _saved_tokens[task_id] = guid_context.set(carried)


def celery_task_ends(task_id: str | None = None, **_: Any) -> None:
    """``task_postrun``: the worker thread goes back to the id it had (usually none)."""
    token = _saved_tokens.pop(task_id or "", None)
    if token is not None:
        guid_context.reset(token)
