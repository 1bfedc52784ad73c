"""Validation of a write, once: a v1 or v2 body (or a canonical change) becomes a ``ProposalDraft``.

The write routes, the admin and the upstream import each turn what they received into
a draft here; ``proposal_create`` stores a draft as it is and checks nothing again. A
draft can only be made by the functions of this module (the constructor refuses
anything else), so holding one means the rules below have run:

- the category exists and is not managed elsewhere;
- the name meets the rules (stricter for a new name) and carries no text backend prefix;
- the payload is canonical v2 and passes the client's record model: strictly for the
  write routes; the upstream import's comes from the converter, which validated it;
- create needs an absent record, update and delete an existing one, whose version
  becomes the proposal's base;
- the record would render in every format.

The checks run in the order the established API reports them (see each function).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from common.errors import DomainError
from horde_model_reference.legacy import (
    default_legacy_residue,
    legacy_record_to_canonical,
    legacy_residue_after_v2_write,
)
from horde_model_reference.meta_consts import (
    CATEGORIES_MANAGED_ELSEWHERE,
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
)
from pending_queue.models import Operation, SubmittedFormat
from references.models import ModelRecord
from references.selectors import record_get
from references.services import (
    new_record_name_problem,
    number_problems,
    payload_licensing_for_v2_write,
    payload_v2_only_fields_kept,
    payload_validate,
    record_name_problem,
    record_render_problem,
)

TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value
BACKEND_PREFIXES = ("aphrodite/", "koboldcpp/")

# Held only by this module: a ProposalDraft built anywhere else is refused.
_MINTED_HERE = object()


@dataclass(frozen=True)
class ProposalDraft:
    """A change that passed every rule of a write; ``proposal_create`` trusts it."""

    category: str
    operation: str
    model_name: str
    # The canonical v2 record to store (for a delete: the record as it is now).
    payload: dict[str, Any] | None
    # Legacy-only data to store beside it; None keeps whatever the record has.
    legacy_residue: dict[str, Any] | None
    submitted_format: str
    # The version of the record the change was written against (None for a create).
    base_version: int | None
    mint: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mint is not _MINTED_HERE:
            raise TypeError("a ProposalDraft is made by pending_queue.services.drafts only")


def _writable_category(category: str) -> str:
    try:
        member = MODEL_REFERENCE_CATEGORY(category)
    except ValueError:
        raise DomainError(f"Unknown category '{category}'", status=422) from None
    if member in CATEGORIES_MANAGED_ELSEWHERE:
        raise DomainError(
            f"Category '{member.value}' is managed elsewhere and cannot be changed here", status=400
        )
    return member.value


def _name_rules(name: object, *, new: bool) -> str:
    problem = new_record_name_problem(name) if new else record_name_problem(name)
    if problem:
        raise DomainError([{"loc": ["body", "name"], "msg": problem, "type": "value_error"}], status=422)
    assert isinstance(name, str)
    return name


def _no_backend_prefix(category: str, name: str) -> None:
    if category == TEXT and name.startswith(BACKEND_PREFIXES):
        raise DomainError(
            f"Model name '{name}' contains a backend prefix (aphrodite/, koboldcpp/). Submit only the base "
            "model name - backend duplicates are generated automatically.",
            status=400,
        )


def _check_name(category: str, name: object, *, new: bool) -> str:
    checked = _name_rules(name, new=new)
    _no_backend_prefix(category, checked)
    return checked


def _preserve_creation_metadata(payload: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    old = current.get("metadata")
    if not isinstance(old, dict):
        return payload
    new = dict(payload.get("metadata") or {})
    changed = False
    for key in ("created_at", "created_by"):
        if key in old and new.get(key) is None:
            new[key] = old[key]
            changed = True
    return {**payload, "metadata": new} if changed else payload


def _finish(
    *,
    category: str,
    operation: str,
    name: str,
    payload: dict[str, Any] | None,
    legacy_residue: dict[str, Any] | None,
    submitted_format: str,
    current: ModelRecord | None,
) -> ProposalDraft:
    """The checks every draft ends with: existence (409/404), then whether it would render (422)."""
    if operation == Operation.CREATE and current is not None:
        raise DomainError(
            f"Model '{name}' already exists in category '{category}'. Use PUT to update existing models.",
            status=409,
        )
    if operation in (Operation.UPDATE, Operation.DELETE) and current is None:
        hint = " Use POST to create new models." if operation == Operation.UPDATE else ""
        raise DomainError(f"Model '{name}' not found in category '{category}'.{hint}", status=404)
    if operation == Operation.DELETE:
        assert current is not None
        payload, legacy_residue = current.payload, None
    else:
        assert payload is not None
        if current is not None:
            # v1 bodies and upstream changes have no v2-only fields: the record keeps its own.
            payload = payload_v2_only_fields_kept(category=category, payload=payload, current=current.payload)
        residue = legacy_residue
        if residue is None:
            residue = current.legacy_residue if current is not None else {}
        unrenderable = record_render_problem(category, name, payload, residue)
        if unrenderable:
            raise DomainError([{"loc": ["body"], "msg": unrenderable, "type": "value_error"}], status=422)
    return ProposalDraft(
        category=category,
        operation=operation,
        model_name=name,
        payload=payload,
        legacy_residue=legacy_residue,
        submitted_format=submitted_format,
        base_version=current.version if current is not None else None,
        mint=_MINTED_HERE,
    )


def proposal_draft(
    *,
    category: str,
    operation: str,
    model_name: str,
    payload: dict[str, Any] | None,
    legacy_residue: dict[str, Any] | None,
    submitted_format: str,
) -> ProposalDraft:
    """A change whose payload is already canonical and validated (the upstream import's converter did it).

    Checks the category, the name, existence and rendering; not the payload again.
    """
    category = _writable_category(category)
    name = _check_name(category, model_name, new=operation == Operation.CREATE)
    return _finish(
        category=category,
        operation=operation,
        name=name,
        payload=payload,
        legacy_residue=legacy_residue,
        submitted_format=submitted_format,
        current=record_get(category=category, name=name),
    )


def _delete_draft(category: str, path_name: str | None, submitted_format: str) -> ProposalDraft:
    """A delete carries no body: the proposal records the record as it is now."""
    if path_name is None:
        raise DomainError("A delete needs the model name in the path.", status=400)
    name = _check_name(category, path_name, new=False)
    return _finish(
        category=category,
        operation=Operation.DELETE,
        name=name,
        payload=None,
        legacy_residue=None,
        submitted_format=submitted_format,
        current=record_get(category=category, name=name),
    )


def _body_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DomainError(
            [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}], status=422
        )
    return body


def proposal_draft_v2(*, category: str, operation: str, body: object, path_name: str | None) -> ProposalDraft:
    """A v2 write: validated strictly; an update keeps the record's legacy-only data."""
    category = _writable_category(category)
    if operation == Operation.DELETE:
        return _delete_draft(category, path_name, SubmittedFormat.V2)
    # The established order of checks: schema (422), name rules (422), path/body
    # mismatch (400), backend prefix (400), then existence (409/404).
    body = _body_object(body)
    record_type = body.get("record_type")
    if record_type is not None and record_type != category:
        raise DomainError(
            [
                {
                    "loc": ["body", "record_type"],
                    "msg": f"record_type '{record_type}' does not match the category '{category}'",
                    "type": "value_error",
                }
            ],
            status=422,
        )
    payload = payload_validate(category=category, payload=body, strict=True)
    name = _name_rules(body.get("name"), new=operation == Operation.CREATE)
    if path_name is not None and name != path_name:
        raise DomainError("Model name in the path must match the payload when queuing updates.", status=400)
    _no_backend_prefix(category, name)
    current = record_get(category=category, name=name)
    payload = payload_licensing_for_v2_write(
        category=category,
        body=body,
        payload=payload,
        current=current.payload if operation == Operation.UPDATE and current is not None else None,
    )
    if operation == Operation.UPDATE and current is not None:
        payload = _preserve_creation_metadata(payload, current.payload)
        residue = legacy_residue_after_v2_write(category, current.legacy_residue, payload)
    else:
        residue = default_legacy_residue(category, payload)
    return _finish(
        category=category,
        operation=operation,
        name=name,
        payload=payload,
        legacy_residue=residue,
        submitted_format=SubmittedFormat.V2,
        current=current,
    )


def _legacy_validation_error(error: ValidationError) -> DomainError:
    return DomainError(
        [
            {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False, include_context=False)
        ],
        status=422,
    )


def proposal_draft_v1(*, category: str, operation: str, body: object, path_name: str | None) -> ProposalDraft:
    """A v1 (legacy-shaped) write: converted to canonical v2 by the shared converters, validated strictly."""
    category = _writable_category(category)
    if not CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)].has_legacy_format:
        raise DomainError(f"Category '{category}' has no legacy (v1) format; use the v2 API", status=404)
    if operation == Operation.DELETE:
        return _delete_draft(category, path_name, SubmittedFormat.V1)
    body = _body_object(body)
    # 8.6.2's legacy records may carry licensing; it is v2 data (checked, stored in the
    # payload), never a legacy field kept in the residue and written to the files.
    licensing = body.get("licensing")
    body = {key: value for key, value in body.items() if key != "licensing"}
    if category != TEXT:
        # Schema first (422), then the name rules, as the established API orders them.
        from horde_model_reference.legacy.legacy_models import get_legacy_write_record_type

        try:
            get_legacy_write_record_type(MODEL_REFERENCE_CATEGORY(category)).model_validate(body)
        except ValidationError as error:
            raise _legacy_validation_error(error) from error
    # For text the backend prefix (400) must be caught before the conversion, which
    # would refuse a prefixed name as a schema error.
    name = _check_name(category, body.get("name"), new=operation == Operation.CREATE)
    problems = number_problems(body, ["body"])
    if problems:
        # Legacy-only fields end up in the residue, beside the payload: bounded alike.
        raise DomainError(problems, status=422)
    try:
        entry = legacy_record_to_canonical(category, name, body)
    except ValidationError as error:
        raise _legacy_validation_error(error) from error
    except ValueError as error:
        raise DomainError(
            [{"loc": ["body"], "msg": str(error), "type": "value_error"}], status=422
        ) from error
    # The converter validates leniently (it also reads the public files); a write
    # route holds the payload to today's strict rules.
    payload = payload_validate(category=category, payload=entry.payload, strict=True)
    if licensing is not None:
        payload = payload_validate(
            category=category, payload={**payload, "licensing": licensing}, strict=True
        )
    return _finish(
        category=category,
        operation=operation,
        name=name,
        payload=payload,
        legacy_residue=entry.legacy_residue,
        submitted_format=SubmittedFormat.V1,
        current=record_get(category=category, name=name),
    )
