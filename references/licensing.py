"""The server's strict check of a record's ``licensing`` block.

The client's record models parse licensing leniently (DECISIONS 9: unknown values
stay strings, the expression is not parsed, so the package needs no SPDX parser).
Every write path runs :func:`licensing_problems` over the validated payload, with
the same invariants the established service enforces, so a body it accepts is
accepted here and the other way round:

* ``license_expression`` parses as an SPDX expression (``license-expression``,
  the parser the established service uses; ``LicenseRef-*`` identifiers allowed);
* ``NOASSERTION`` (no conclusion) names no licence and leaves commercial use and
  redistribution ``unknown``;
* any other expression lists exactly its identifiers in ``license_ids``.

Per-file overrides (``files``) are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from license_expression import ExpressionError, Licensing

from horde_model_reference.model_reference_records import NOASSERTION, PermissionStatus

_SPDX = Licensing()

Problem = dict[str, Any]


def _problem(loc: list[str | int], msg: str) -> Problem:
    return {"loc": loc, "msg": msg, "type": "value_error"}


def expression_identifiers(expression: str) -> set[str] | None:
    """The identifiers an SPDX expression names, or None when it does not parse.

    ``validate=False``: identifiers outside the SPDX list (``LicenseRef-...``, the
    community's ``openrail++``) are allowed, as the established service allows them;
    whether one is a known licence definition is the licensing catalog's concern.
    """
    try:
        parsed = _SPDX.parse(expression, validate=False)
    except ExpressionError:
        return None
    except (AssertionError, IndexError, TypeError, ValueError, RecursionError):
        # The parser's own bugs on malformed input ("()", "( AND MIT"): still only a bad
        # expression, which must be a 422, never a 500.
        return None
    if parsed is None:  # an empty or blank expression
        return None
    return {str(symbol) for symbol in parsed.symbols}


def assignment_problems(assignment: Mapping[str, Any], loc: list[str | int]) -> list[Problem]:
    """What is wrong with one licensing conclusion (a model's or one file's)."""
    expression = assignment.get("license_expression")
    if not isinstance(expression, str):
        return []  # the record model has already refused it
    identifiers = expression_identifiers(expression)
    if identifiers is None:
        return [_problem([*loc, "license_expression"], f"Invalid SPDX license expression: {expression!r}")]
    declared = set(assignment.get("license_ids") or [])
    problems: list[Problem] = []
    if expression == NOASSERTION:
        if declared:
            problems.append(
                _problem([*loc, "license_ids"], "NOASSERTION must not reference license definitions")
            )
        for field in ("commercial_use", "redistribution"):
            if assignment.get(field) != PermissionStatus.UNKNOWN.value:
                problems.append(_problem([*loc, field], f"NOASSERTION requires {field}='unknown'"))
        return problems
    if identifiers != declared:
        problems.append(
            _problem(
                [*loc, "license_ids"],
                "license_ids must list exactly the identifiers in license_expression: "
                + ", ".join(sorted(identifiers)),
            )
        )
    return problems


def licensing_problems(payload: Mapping[str, Any], loc: list[str | int]) -> list[Problem]:
    """The ``{loc, msg, type}`` problems of a validated payload's licensing (none if absent)."""
    licensing = payload.get("licensing")
    if not isinstance(licensing, Mapping):
        return []
    base: list[str | int] = [*loc, "licensing"]
    problems = assignment_problems(licensing, base)
    files = licensing.get("files")
    if isinstance(files, Mapping):
        for file_name, assignment in files.items():
            if isinstance(assignment, Mapping):
                problems.extend(assignment_problems(assignment, [*base, "files", str(file_name)]))
    return problems
