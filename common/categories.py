"""The category names of the API and the one check of a category named in a request."""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import DomainError
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

CATEGORY_VALUES = [c.value for c in MODEL_REFERENCE_CATEGORY]


def category_param(
    value: str,
    allowed: Sequence[str] = CATEGORY_VALUES,
    *,
    loc: str = "model_category_name",
    echo_input: bool = True,
) -> str:
    """A category from the path, or 422 in the established (validation list) shape.

    ``echo_input``: the read routes repeat the refused value as ``input`` (as the
    established service's do); the queue's write routes never did, and clients may
    compare those bodies, so they keep their shape.
    """
    if value in allowed:
        return value
    item: dict[str, object] = {
        "loc": ["path", loc],
        "msg": "Input should be " + ", ".join(f"'{c}'" for c in allowed),
        "type": "enum",
    }
    if echo_input:
        item["input"] = value
    raise DomainError([item], status=422)
