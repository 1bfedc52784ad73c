"""Serving pre-rendered documents: conditional requests, gzip, cache headers.

The core works on a WSGI environ (a Django request's ``META`` is one), so the
Django views and the WSGI fast path (``references.fast_path``) build identical
answers from the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date

from references.document_cache import CategoryPointer, Representation, representation_etags

STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}


@dataclass(frozen=True)
class DocumentAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        return STATUS_LINES[self.status]

    def as_response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


def gzip_accepted(meta: Mapping[str, Any]) -> bool:
    """True when Accept-Encoding admits gzip (a ``q=0`` refuses it)."""
    for part in str(meta.get("HTTP_ACCEPT_ENCODING", "")).split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip().lower().replace(" ", "")
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def etag_matches(meta: Mapping[str, Any], etag: str) -> bool:
    """True when If-None-Match names this ETag (weak comparison, as RFC 9110 says for it)."""
    header = meta.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    header = str(header)
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


@lru_cache(maxsize=64)
def _last_modified(stamp: float) -> str:
    return http_date(stamp)


def security_headers() -> list[tuple[str, str]]:
    """The headers Django's security and clickjacking middleware add, from the same settings.

    The fast paths answer before any middleware runs; with these, their answers
    carry the same headers as the views' (the middleware leaves headers already set).
    HSTS is left to the TLS-terminating proxy: the fast path cannot tell a secure request.
    """
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    referrer_policy = settings.SECURE_REFERRER_POLICY
    if referrer_policy:
        if not isinstance(referrer_policy, str):
            referrer_policy = ",".join(referrer_policy)
        headers.append(("Referrer-Policy", referrer_policy))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
    return headers


def _headers(etag: str, pointer: CategoryPointer) -> list[tuple[str, str]]:
    headers = [
        ("ETag", etag),
        ("Cache-Control", settings.DOCUMENT_CACHE_CONTROL),
        ("Vary", "Accept-Encoding"),
        *security_headers(),
    ]
    if pointer.last_updated is not None:
        headers.append(("Last-Modified", _last_modified(pointer.last_updated)))
    return headers


def conditional_answer(
    meta: Mapping[str, Any], category: str, fmt: str, pointer: CategoryPointer
) -> DocumentAnswer | None:
    """304 when If-None-Match names the current representation: decided from the pointer alone."""
    etag, gzip_etag = representation_etags(category, fmt, pointer.token)
    chosen = gzip_etag if gzip_accepted(meta) else etag
    if etag_matches(meta, chosen):
        return DocumentAnswer(304, _headers(chosen, pointer), b"")
    return None


def document_answer(
    meta: Mapping[str, Any],
    category: str,
    fmt: str,
    pointer: CategoryPointer,
    representation_of: Callable[[], tuple[CategoryPointer, Representation] | None],
) -> DocumentAnswer | None:
    """The answer to a read of one representation of a category: the fast paths' and the views'.

    304 when If-None-Match names the current representation, decided from the pointer
    before any work; otherwise the bytes ``representation_of`` supplies, with the pointer
    they were rendered at (a retired revision serves the last good one). None when it
    supplies nothing: the fast path then leaves the request to Django, a view answers 404.
    """
    answer = conditional_answer(meta, category, fmt, pointer)
    if answer is not None:
        return answer
    found = representation_of()
    if found is None:
        return None
    served_pointer, representation = found
    return answer_from_representation(meta, representation, served_pointer)


def answer_from_representation(
    meta: Mapping[str, Any], representation: Representation, pointer: CategoryPointer
) -> DocumentAnswer:
    gzip = gzip_accepted(meta)
    body = representation.gzip_body if gzip else representation.body
    key = (gzip, pointer.last_updated)
    headers = representation.header_cache.get(key)
    if headers is None:
        etag = representation.gzip_etag if gzip else representation.etag
        extra = [("Content-Encoding", "gzip")] if gzip else []
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *extra,
            *_headers(etag, pointer),
        ]
        representation.header_cache[key] = headers
    # A copy: WSGI servers and Django may append to the list they are given.
    return DocumentAnswer(200, list(headers), body)


# Request-based spellings for views that serve other files (the export).


def accepts_gzip(request: HttpRequest) -> bool:
    return gzip_accepted(request.META)


def if_none_match(request: HttpRequest, etag: str) -> bool:
    return etag_matches(request.META, etag)


#: A stand-in pointer for documents that do not change with the data.
STATIC_POINTER = CategoryPointer(token="static", revision=0, last_updated=None)


@lru_cache(maxsize=8)
def static_representation(name: str, body: bytes) -> Representation:
    """A fixed document (such as a category list) with a content-derived strong ETag."""
    import gzip as gzip_module
    import hashlib

    digest = hashlib.sha256(body).hexdigest()[:20]
    return Representation(
        body, gzip_module.compress(body, mtime=0), f'"{name}.{digest}"', f'"{name}.{digest}.gz"'
    )


def static_answer(meta: Mapping[str, Any], name: str, body: bytes) -> DocumentAnswer:
    representation = static_representation(name, body)
    etag = representation.gzip_etag if gzip_accepted(meta) else representation.etag
    if etag_matches(meta, etag):
        return DocumentAnswer(304, _headers(etag, STATIC_POINTER), b"")
    return answer_from_representation(meta, representation, STATIC_POINTER)
