"""Parsing query parameters into typed values, with errors in the established 422 shape."""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict

from common.errors import DomainError
from references.search import SearchParams

TRUE_VALUES = {"true", "1", "yes", "on", "t", "y"}
FALSE_VALUES = {"false", "0", "no", "off", "f", "n"}
MAX_LIMIT = 500
#: Beyond any category; an unbounded offset reached orjson (2**64 and more) as a 500.
MAX_OFFSET = 2**31 - 1


#: An audit event sequence number, as the change feed and record histories page by it.
CURSOR_PATTERN = re.compile(r"[0-9]{1,18}")


def query_error(name: str, msg: str, value: str) -> DomainError:
    """A 422 for one query parameter, in the established validation shape."""
    return DomainError(
        [{"loc": ["query", name], "msg": msg, "type": "value_error", "input": value}], status=422
    )


def cursor_param(value: str | None, *, name: str) -> int | None:
    """A paging cursor from a previous answer's ``next``; None when absent."""
    if value is None or value == "":
        return None
    if not CURSOR_PATTERN.fullmatch(value):
        raise query_error(name, "Input should be a cursor from a previous answer (`next`)", value)
    return int(value)


def limit_param(value: str | None, *, default: int, maximum: int) -> int:
    """A page size from 1 to ``maximum``; ``default`` when absent."""
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= maximum:
        raise query_error("limit", f"Input should be an integer from 1 to {maximum}", value)
    return int(value)


class QueryErrors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, msg: str, kind: str, value: object) -> None:
        self.items.append({"loc": ["query", name], "msg": msg, "type": kind, "input": value})

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError(self.items, status=422)


def _text(query: QueryDict, name: str, errors: QueryErrors) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    if "\x00" in value:
        errors.add(name, "NUL characters are not allowed", "string_nul", value)
        return None
    return value


def _texts(query: QueryDict, name: str, errors: QueryErrors) -> tuple[str, ...]:
    values = query.getlist(name)
    for value in values:
        if "\x00" in value:
            errors.add(name, "NUL characters are not allowed", "string_nul", value)
            return ()
    return tuple(values)


def bool_param(query: QueryDict, name: str, errors: QueryErrors) -> bool | None:
    """A boolean query parameter (true/false, 1/0, yes/no, on/off); None when absent or invalid."""
    value = query.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    errors.add(name, "Input should be a valid boolean", "bool_parsing", value)
    return None


def int_param(
    query: QueryDict, name: str, default: int, low: int, high: int | None, errors: QueryErrors
) -> int:
    value = query.get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        errors.add(name, "Input should be a valid integer", "int_parsing", value)
        return default
    if number < low:
        errors.add(name, f"Input should be greater than or equal to {low}", "greater_than_equal", value)
    elif high is not None and number > high:
        errors.add(name, f"Input should be less than or equal to {high}", "less_than_equal", value)
    return number


#: The filters both search routes apply; the text-only ones exist on ``/v2/{category}/search`` only.
SEARCH_QUERY_NAMES = frozenset(
    {"nsfw", "baseline", "inpainting", "tags_any", "tags_all", "tags_none", "name_contains"}
    | {"sort_by", "sort_desc", "limit", "offset"}
)
CATEGORY_SEARCH_QUERY_NAMES = SEARCH_QUERY_NAMES | {
    "backend",
    "exclude_backend_variations",
    "quantized",
    "source",
}


def search_params_from_query(query: QueryDict, *, per_category: bool) -> SearchParams:
    """Typed search parameters, or 422 listing every bad parameter at once.

    A parameter the route does not apply is refused (422), not ignored: a misspelt or
    misplaced filter must not silently answer the unfiltered result.
    """
    errors = QueryErrors()
    known = CATEGORY_SEARCH_QUERY_NAMES if per_category else SEARCH_QUERY_NAMES
    for name in query:
        if name not in known:
            errors.add(
                name, f"Unknown query parameter. Valid: {sorted(known)}", "extra_forbidden", query[name]
            )
    source: str | None = None
    params: dict[str, Any] = {
        "nsfw": bool_param(query, "nsfw", errors),
        "tags_any": _texts(query, "tags_any", errors),
        "tags_all": _texts(query, "tags_all", errors),
        "tags_none": _texts(query, "tags_none", errors),
        "name_contains": _text(query, "name_contains", errors),
        "baseline": _text(query, "baseline", errors),
        "inpainting": bool_param(query, "inpainting", errors),
        "sort_by": _text(query, "sort_by", errors),
        "sort_desc": bool(bool_param(query, "sort_desc", errors)),
        "limit": int_param(query, "limit", 50, 1, MAX_LIMIT, errors),
        "offset": int_param(query, "offset", 0, 0, MAX_OFFSET, errors),
    }
    if per_category:
        params["backend"] = _text(query, "backend", errors)
        params["exclude_backend_variations"] = bool(bool_param(query, "exclude_backend_variations", errors))
        params["quantized"] = bool_param(query, "quantized", errors)
        source = _text(query, "source", errors)
    errors.raise_if_any()
    if per_category and source not in (None, "horde"):
        raise DomainError(f"Unknown source: '{source}'. Valid sources: ['horde']", status=400)
    return SearchParams(**params)
