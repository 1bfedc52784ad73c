"""The JSON parser of the API: DRF's, with a nesting limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import JSONParser

from common.errors import DomainError

#: No record nests deeper than about five levels; 64 leaves room for any honest body,
#: while recursive code downstream (validation, diffs, audit hashing) stays far from
#: Python's recursion limit (about 1,000 frames).
MAX_JSON_DEPTH = 64


def json_depth_exceeds(data: object, limit: int) -> bool:
    """Whether ``data`` nests containers more than ``limit`` levels deep (iteratively)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> DomainError:
    return DomainError(
        [
            {
                "loc": ["body"],
                "msg": f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
                "type": "json_too_deep",
            }
        ],
        status=422,
    )


class DepthLimitedJSONParser(JSONParser):
    """A body nested past ``MAX_JSON_DEPTH`` is a 422, not a ``RecursionError`` (500)."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data
