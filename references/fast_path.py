"""A fast path for the hottest reads: pre-rendered documents, straight from memory.

Workers poll whole-category documents and single records far more than anything
else. When the revision pointer is known and this process has the document
rendered, the answer needs no database, no session, no template and no view:
these wrappers answer it before Django's request handling starts. Anything else
(a query string, a cold cache, an unknown path, a non-GET) goes to Django
unchanged, and the Django views give the same bytes and headers for the same
request: both build the answer with ``references.http``.

Two entry points share ``fast_answer``:

- ``DocumentFastPath`` wraps the WSGI application (``config.wsgi``); it may read
  the pointer from the shared cache and load a snapshot, as it runs in a server
  thread.
- ``AsgiDocumentFastPath`` wraps the ASGI application (``config.asgi``, the
  production set-up under uvicorn workers). It runs on the event loop, so it
  answers only from what is already in memory (``memory_only``) and hands every
  other request to Django, which runs in a thread pool and warms the memory for
  the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from common.categories import CATEGORY_VALUES
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE, CATEGORY_DESCRIPTORS
from references.document_cache import (
    CategoryPointer,
    CategorySnapshot,
    Representation,
    category_pointer_cached,
    category_pointer_in_memory,
    category_snapshot_loaded,
    model_representation_format,
)
from references.http import DocumentAnswer, document_answer, security_headers, static_answer
from references.routes import RouteKind, document_route_match, v1_category_value

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: v1 categories the fast path serves: those with a legacy document (lora/ti, and
#: categories without a legacy format, are rare and left to Django).
V1_CATEGORIES = frozenset(
    c.value
    for c, d in CATEGORY_DESCRIPTORS.items()
    if d.has_legacy_format and c not in CATEGORIES_MANAGED_ELSEWHERE
)
V2_CATEGORIES = frozenset(CATEGORY_VALUES)


def _host_allowed(environ: dict[str, Any]) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def fast_read_path(environ: dict[str, Any]) -> str | None:
    """The path of a request a fast path may answer, else None.

    Only a GET or HEAD without a query string, to a host Django would accept; the path
    decoded as Django does (WSGI servers hand PATH_INFO over as latin-1 decoded bytes).
    """
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
        return None
    try:
        path = str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    return path if _host_allowed(environ) else None


def fast_answer(environ: dict[str, Any], *, memory_only: bool = False) -> DocumentAnswer | None:
    """The answer for a hot read that needs no database work, else None.

    ``memory_only``: not even a cache round trip; only what this process holds.
    """
    path = fast_read_path(environ)
    if path is None:
        return None
    found = document_route_match(path)
    if found is None:
        return None
    route, params = found
    if route.kind is RouteKind.CATEGORY_LIST:
        from references.api.common import CATEGORY_LISTS

        return static_answer(environ, f"{route.version}-categories", CATEGORY_LISTS[route.version])
    name = None
    if route.kind is RouteKind.V1_DOCUMENT:
        # The aliases as the v1 view resolves them; anything else (a 422, lora's ``{}``)
        # is Django's.
        category = v1_category_value(params["model_category_name"])
        if category is None or category not in V1_CATEGORIES:
            return None
        fmt = "v1"
    else:
        category = params["model_category_name"]
        if category not in V2_CATEGORIES:
            return None
        if route.kind is RouteKind.V2_MODEL:
            name = params["model_name"]
            fmt = model_representation_format(name)
        else:
            fmt = "v2"
    pointer = category_pointer_in_memory(category) if memory_only else category_pointer_cached(category)
    if pointer is None or (fmt == "v1" and pointer.records == 0):
        return None
    loaded: list[CategorySnapshot] = []

    def representation() -> tuple[CategoryPointer, Representation] | None:
        # Only what this process already rendered: rendering is the views' work.
        snapshot = category_snapshot_loaded(category, pointer)
        if snapshot is None:
            return None
        loaded.append(snapshot)
        rendered = snapshot.representations.get(fmt)
        return None if rendered is None else (snapshot.pointer, rendered)

    answer = document_answer(environ, category, fmt, pointer, representation)
    if answer is None and name is not None and loaded:
        return _history_answer(loaded[0], name)
    return answer


def _history_answer(snapshot: CategorySnapshot, name: str) -> DocumentAnswer | None:
    """The newest page of ``<name>/history`` if this process already rendered it at this revision.

    Only while no record is named ``<name>/history`` (such a record owns the path); the
    parsed document that tells is memoised by the v2 views, and without it Django decides.
    """
    from references.api.history import DEFAULT_LIMIT, HISTORY_SUFFIX
    from references.history import record_history_page_in_memory

    document = snapshot.cached.get("v2-document")
    if not name.endswith(HISTORY_SUFFIX) or document is None or name in document:
        return None
    body = record_history_page_in_memory(
        category=snapshot.category,
        token=snapshot.pointer.token,
        name=name[: -len(HISTORY_SUFFIX)],
        limit=DEFAULT_LIMIT,
    )
    if body is None:
        return None
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *security_headers()]
    return DocumentAnswer(200, headers, body)


class DocumentFastPath:
    """WSGI middleware: answer hot reads from memory, hand everything else to Django."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            answer = fast_answer(environ)
        except Exception:  # any surprise: let Django handle (and report) it
            answer = None
        if answer is None:
            return self.app(environ, start_response)
        start_response(answer.status_line, answer.headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]


#: Request headers the fast path reads, by their ASGI (lower-case) and WSGI names.
_ASGI_HEADERS = {
    b"host": "HTTP_HOST",
    b"accept-encoding": "HTTP_ACCEPT_ENCODING",
    b"if-none-match": "HTTP_IF_NONE_MATCH",
}


def asgi_environ(scope: Scope) -> dict[str, Any]:
    """The part of a WSGI environ ``fast_answer`` reads, built from an ASGI HTTP scope.

    PATH_INFO is spelled as a WSGI server (and a2wsgi, which hands the request
    to Django when the fast path declines) spells it: UTF-8 bytes as latin-1.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8", "surrogateescape").decode("latin-1"),
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = _ASGI_HEADERS.get(raw_name)
        if name is not None:
            value = raw_value.decode("latin-1")
            environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ


class AsgiFastPath:
    """ASGI middleware: answer from memory on the event loop what ``answer_of`` can, hand the rest on.

    ``answer_of`` gets the request as a WSGI environ and must not wait on the network
    or the database; None hands the request to the wrapped application.
    """

    def __init__(self, app: ASGIApp, answer_of: Callable[[dict[str, Any]], DocumentAnswer | None]) -> None:
        self.app = app
        self.answer_of = answer_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = None
        if scope["type"] == "http" and not scope.get("root_path"):
            try:
                answer = self.answer_of(asgi_environ(scope))
            except Exception:  # any surprise: let Django handle (and report) it
                answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else answer.body
        await send({"type": "http.response.body", "body": body})


class AsgiDocumentFastPath(AsgiFastPath):
    """Hot document reads (categories, documents, single records) from memory only."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, lambda environ: fast_answer(environ, memory_only=True))
