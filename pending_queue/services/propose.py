"""Proposing: v1 and v2 write bodies become queued change proposals; a requestor may withdraw one."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from audit.models import EventSource
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.legacy import (
    canonical_to_legacy_records,
    default_legacy_residue,
    legacy_record_to_canonical,
    legacy_residue_after_v2_write,
)
from horde_model_reference.legacy.types import CanonicalEntry
from horde_model_reference.meta_consts import (
    CATEGORIES_MANAGED_ELSEWHERE,
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
)
from pending_queue.models import ChangeProposal, Operation, Status, SubmittedFormat
from pending_queue.services.shared import actor_fields, proposal_audit, proposal_for_update
from pending_queue.services.transitions import proposals_transition, statuses_allowed_before
from references.selectors import record_get
from references.services import (
    new_record_name_problem,
    number_problems,
    payload_validate,
    record_name_problem,
    record_render_problem,
)

TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value
BACKEND_PREFIXES = ("aphrodite/", "koboldcpp/")


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


def _name_rules(name: object, *, loc: str = "name", new: bool = False) -> str:
    problem = new_record_name_problem(name) if new else record_name_problem(name)
    if problem:
        raise DomainError([{"loc": ["body", loc], "msg": problem, "type": "value_error"}], status=422)
    assert isinstance(name, str)
    return name


def _no_backend_prefix(category: str, name: str) -> None:
    if category == TEXT and name.startswith(BACKEND_PREFIXES):
        raise DomainError(
            f"Model name '{name}' contains a backend prefix (aphrodite/, koboldcpp/). Submit only the base "
            "model name - backend duplicates are generated automatically.",
            status=400,
        )


def _check_name(category: str, name: object, *, new: bool = False) -> str:
    checked = _name_rules(name, new=new)
    _no_backend_prefix(category, checked)
    return checked


def related_models(category: str, name: str) -> list[str]:
    """The legacy backend entries a text model also appears as."""
    if category != TEXT:
        return []
    short = name.split("/")[1] if "/" in name else name
    return [f"aphrodite/{name}", f"koboldcpp/{short}"]


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


@transaction.atomic
def proposal_create(
    *,
    category: str,
    operation: str,
    model_name: str,
    payload: dict[str, Any] | None,
    legacy_residue: dict[str, Any] | None,
    submitted_format: str,
    actor: Actor,
    source: str = EventSource.API,
    request_metadata: dict[str, Any] | None = None,
    notes: str = "",
    upstream_conflict: bool = False,
) -> ChangeProposal:
    """Queue a change. The payload must already be canonical v2 (see the two entry points below).

    ``upstream_conflict`` marks a change the upstream import could not apply because
    the record was changed here too.
    """
    category = _writable_category(category)
    model_name = _check_name(category, model_name, new=operation == Operation.CREATE)
    current = record_get(category=category, name=model_name)
    if operation == Operation.CREATE and current is not None:
        raise DomainError(
            f"Model '{model_name}' already exists in category '{category}'. "
            "Use PUT to update existing models.",
            status=409,
        )
    if operation in (Operation.UPDATE, Operation.DELETE) and current is None:
        hint = " Use POST to create new models." if operation == Operation.UPDATE else ""
        raise DomainError(f"Model '{model_name}' not found in category '{category}'.{hint}", status=404)
    if operation == Operation.DELETE:
        assert current is not None
        payload, legacy_residue = current.payload, None
    else:
        assert payload is not None
        residue = legacy_residue
        if residue is None:
            residue = current.legacy_residue if current is not None else {}
        unrenderable = record_render_problem(category, model_name, payload, residue)
        if unrenderable:
            raise DomainError([{"loc": ["body"], "msg": unrenderable, "type": "value_error"}], status=422)
    now = timezone.now()
    metadata = dict(request_metadata or {})
    if category == TEXT:
        metadata.setdefault("related_models", related_models(category, model_name))
    proposal = ChangeProposal.objects.create(
        category=category,
        model_name=model_name,
        operation=operation,
        payload=payload,
        legacy_residue=legacy_residue,
        submitted_format=submitted_format,
        base_version=current.version if current is not None else None,
        status=Status.PENDING,
        notes=notes,
        request_metadata=metadata,
        upstream_conflict=upstream_conflict,
        requested_at=now,
        updated_at=now,
        **actor_fields("requested_by", actor),
    )
    proposal_audit(actor, source, "proposal.created", proposal)
    return proposal


def _propose_delete(
    category: str, path_name: str | None, submitted_format: str, actor: Actor, source: str, route: str
) -> ChangeProposal:
    """A delete carries no body: the proposal records the record as it is now."""
    if path_name is None:
        raise DomainError("A delete needs the model name in the path.", status=400)
    return proposal_create(
        category=category,
        operation=Operation.DELETE,
        model_name=path_name,
        payload=None,
        legacy_residue=None,
        submitted_format=submitted_format,
        actor=actor,
        source=source,
        request_metadata={"route": route},
    )


def _body_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DomainError(
            [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}], status=422
        )
    return body


def proposal_create_v2(
    *,
    category: str,
    operation: str,
    body: object,
    path_name: str | None,
    actor: Actor,
    source: str = EventSource.API,
    route: str = "",
) -> ChangeProposal:
    """A v2 write: validate strictly, keep the record's legacy-only data, queue it."""
    category = _writable_category(category)
    if operation == Operation.DELETE:
        return _propose_delete(category, path_name, SubmittedFormat.V2, actor, source, route)
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
    body_name = _name_rules(body.get("name"), new=operation == Operation.CREATE)
    if path_name is not None and body_name != path_name:
        raise DomainError("Model name in the path must match the payload when queuing updates.", status=400)
    _no_backend_prefix(category, body_name)
    current = record_get(category=category, name=body_name)
    if operation == Operation.UPDATE and current is not None:
        payload = _preserve_creation_metadata(payload, current.payload)
        residue = legacy_residue_after_v2_write(category, current.legacy_residue, payload)
    else:
        residue = default_legacy_residue(category, payload)
    return proposal_create(
        category=category,
        operation=operation,
        model_name=body_name,
        payload=payload,
        legacy_residue=residue,
        submitted_format=SubmittedFormat.V2,
        actor=actor,
        source=source,
        request_metadata={"route": route},
    )


def _legacy_validation_error(error: ValidationError) -> DomainError:
    return DomainError(
        [
            {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False, include_context=False)
        ],
        status=422,
    )


def proposal_create_v1(
    *,
    category: str,
    operation: str,
    body: object,
    path_name: str | None,
    actor: Actor,
    source: str = EventSource.API,
    route: str = "",
) -> ChangeProposal:
    """A v1 (legacy-shaped) write: convert to canonical v2 with the shared converters, queue it."""
    category = _writable_category(category)
    if not CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)].has_legacy_format:
        raise DomainError(f"Category '{category}' has no legacy (v1) format; use the v2 API", status=404)
    if operation == Operation.DELETE:
        return _propose_delete(category, path_name, SubmittedFormat.V1, actor, source, route)
    body = _body_object(body)
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
    payload = payload_validate(category=category, payload=entry.payload, strict=True)
    return proposal_create(
        category=category,
        operation=operation,
        model_name=entry.name,
        payload=payload,
        legacy_residue=entry.legacy_residue,
        submitted_format=SubmittedFormat.V1,
        actor=actor,
        source=source,
        request_metadata={"route": route},
    )


def legacy_view_of(proposal: ChangeProposal) -> dict[str, Any]:
    """The proposal's record as legacy entries (what a v1 reader would get)."""
    if proposal.payload is None:
        return {}
    entry = CanonicalEntry(proposal.model_name, proposal.payload, proposal.legacy_residue or {})
    return canonical_to_legacy_records(proposal.category, entry)


@transaction.atomic
def proposal_withdraw(*, change_id: int, actor: Actor, source: str = EventSource.API) -> ChangeProposal:
    """A requestor takes back its own pending proposal."""
    proposal = proposal_for_update(change_id)
    if (proposal.requested_by_kind, proposal.requested_by_id) != (actor.kind, actor.id):
        raise DomainError("Only the requestor may withdraw a proposal.", status=403)
    if proposal.status not in statuses_allowed_before(Status.WITHDRAWN):
        raise DomainError(f"Change {change_id} is not pending (status={proposal.status}).", status=400)
    now = timezone.now()
    # Locked above, so the status read is the one the guarded UPDATE sees.
    proposals_transition(change_ids=[proposal.pk], to=Status.WITHDRAWN, values={"updated_at": now})
    proposal.status, proposal.updated_at = Status.WITHDRAWN, now
    proposal_audit(actor, source, "proposal.withdrawn", proposal)
    return proposal
