"""The statistics reads a dashboard polls, answered on the event loop from memory.

``GET statistics/{category}/with-stats`` and ``/deletion-risk`` without a query string
are answered before Django when this process holds the body for the current snapshot
and category revision, and SQL confirmed the snapshot the latest less than
``FRESH_SECONDS`` ago (so a new snapshot is served at most that much later). Anything
else goes to Django, whose view computes, memoises and re-confirms; the body and the
statistics headers are the view's own.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls.resolvers import RoutePattern

from references.document_cache import category_pointer_in_memory
from references.fast_path import ASGIApp, AsgiFastPath, fast_read_path
from references.http import DocumentAnswer, security_headers
from sync.api.statistics import DEFAULT_KEYS, FAST_ROUTES, STATISTICS_PREFIX, statistics_headers
from sync.selectors import statistics_in_memory

FRESH_SECONDS = 5.0


#: The kind of each alternative of ``STATISTICS_ROUTE``, by its index.
KINDS = list(FAST_ROUTES)


def _statistics_route() -> re.Pattern[str]:
    """The fast routes as one regex, from the regexes Django compiles for their URL patterns."""
    alternatives = [
        RoutePattern(FAST_ROUTES[kind], is_endpoint=True)
        .regex.pattern.removeprefix("^")
        .replace("(?P<category>", f"(?P<category{index}>")
        for index, kind in enumerate(KINDS)
    ]
    return re.compile(r"/(?:api/)?" + re.escape(STATISTICS_PREFIX) + "(?:" + "|".join(alternatives) + ")")


STATISTICS_ROUTE = _statistics_route()


def statistics_fast_answer(environ: dict[str, Any]) -> DocumentAnswer | None:
    """The answer from memory, or None (then Django answers)."""
    path = fast_read_path(environ)
    if path is None or not (match := STATISTICS_ROUTE.match(path)) or match.lastindex is None:
        return None
    # Each alternative has one group (its category): the one that matched tells the kind.
    index = match.lastindex - 1
    category, kind = match[match.lastindex], KINDS[index]
    loaded = statistics_in_memory(category, max_age_seconds=FRESH_SECONDS)
    pointer = category_pointer_in_memory(category) if loaded is not None else None
    if loaded is None or pointer is None:
        return None
    body = loaded.memo.get(DEFAULT_KEYS[kind](pointer.token))
    if not isinstance(body, bytes):
        return None
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *statistics_headers(loaded),
        *security_headers(),
    ]
    return DocumentAnswer(200, headers, body)


class AsgiStatisticsFastPath(AsgiFastPath):
    """Warm statistics reads from memory, on the event loop."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, statistics_fast_answer)
