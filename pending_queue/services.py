"""Proposing, reviewing and applying changes: the only way records change.

Every transition is a conditional UPDATE (``WHERE status = ...``) whose row count
is checked, inside a transaction that also writes the audit event. Applying goes
through ``references.services`` with the version the proposal was written
against, so a stale proposal is a 409 conflict, never a silent overwrite.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import ValidationError

from audit.models import EventSource
from audit.services import Actor, PendingEvent, audit_events_append
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
from pending_queue.models import (
    PURGEABLE_STATUSES,
    Batch,
    ChangeProposal,
    Operation,
    Status,
    SubmittedFormat,
)
from references.selectors import record_get
from references.services import (
    RecordChange,
    new_record_name_problem,
    number_problems,
    payload_licensing_for_v2_write,
    payload_licensing_kept,
    payload_validate,
    record_name_problem,
    record_render_problem,
    records_apply,
)

logger = logging.getLogger(__name__)

TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value
BACKEND_PREFIXES = ("aphrodite/", "koboldcpp/")


def _actor_fields(prefix: str, actor: Actor) -> dict[str, str]:
    return {f"{prefix}_kind": actor.kind, f"{prefix}_id": actor.id, f"{prefix}_name": actor.display_name}


def proposal_summary(proposal: ChangeProposal) -> dict[str, Any]:
    """What audit events record of a proposal."""
    return {
        "change_id": proposal.pk,
        "category": proposal.category,
        "model_name": proposal.model_name,
        "operation": proposal.operation,
        "status": proposal.status,
        "base_version": proposal.base_version,
        "batch_id": proposal.batch_id,
        "submitted_format": proposal.submitted_format,
    }


def _audit(actor: Actor, source: str, action: str, proposal: ChangeProposal, **details: Any) -> None:
    audit_events_append(
        events=[
            PendingEvent(
                action=action,
                category=proposal.category,
                model_name=proposal.model_name,
                after=proposal_summary(proposal),
                details=details or None,
            )
        ],
        actor=actor,
        source=source,
    )


# --- proposing ---------------------------------------------------------------


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
        if current is not None:
            # v1 bodies and upstream changes have no licensing: the record keeps its own.
            payload = payload_licensing_kept(category=category, payload=payload, current=current.payload)
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
        **_actor_fields("requested_by", actor),
    )
    _audit(actor, source, "proposal.created", proposal)
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
    payload = payload_validate(category=category, payload=entry.payload, strict=True)
    if licensing is not None:
        payload = payload_validate(
            category=category, payload={**payload, "licensing": licensing}, strict=True
        )
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
    proposal = _proposal_for_update(change_id)
    if (proposal.requested_by_kind, proposal.requested_by_id) != (actor.kind, actor.id):
        raise DomainError("Only the requestor may withdraw a proposal.", status=403)
    if proposal.status != Status.PENDING:
        raise DomainError(f"Change {change_id} is not pending (status={proposal.status}).", status=400)
    proposal.status = Status.WITHDRAWN
    proposal.updated_at = timezone.now()
    proposal.save(update_fields=["status", "updated_at"])
    _audit(actor, source, "proposal.withdrawn", proposal)
    return proposal


def _proposal_for_update(change_id: int) -> ChangeProposal:
    proposal = ChangeProposal.objects.select_for_update().filter(pk=change_id).first()
    if proposal is None:
        raise DomainError(f"Change {change_id} not found.", status=404)
    return proposal


# --- reviewing ---------------------------------------------------------------


@dataclass
class BatchReview:
    batch: Batch
    approved: list[ChangeProposal]
    rejected: list[ChangeProposal]


def _clean_ids(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids if int(i) > 0})


def _explain_not_in(ids: Sequence[int], allowed: Sequence[str], *, missing_status: int = 404) -> DomainError:
    found = dict(ChangeProposal.objects.filter(pk__in=ids).values_list("pk", "status"))
    for change_id in ids:
        if change_id not in found:
            return DomainError(f"Change {change_id} does not exist.", status=missing_status)
        if found[change_id] not in allowed:
            wanted = " or ".join(allowed)
            return DomainError(
                f"Change {change_id} is not {wanted} (status={found[change_id]}).", status=400, code="state"
            )
    return DomainError("The proposals changed while reviewing; try again.", status=409)


@transaction.atomic
def batch_review(
    *,
    title: str,
    approved_ids: Iterable[int],
    rejected_ids: Iterable[int],
    reason: str,
    actor: Actor,
    source: str = EventSource.API,
) -> BatchReview:
    """Approve and/or reject proposals in one decision, all or nothing.

    Approving needs ``pending``; rejecting takes ``pending`` or ``approved`` (a
    stale approved proposal can still be dropped).
    """
    errors: list[dict[str, Any]] = []
    title = (title or "").strip()
    if not title or len(title) > 120:
        errors.append(
            {"loc": ["body", "batch_title"], "msg": "must be 1-120 characters", "type": "value_error"}
        )
    approved, rejected = _clean_ids(approved_ids), _clean_ids(rejected_ids)
    if not approved and not rejected:
        errors.append(
            {"loc": ["body"], "msg": "approve or reject at least one change", "type": "value_error"}
        )
    if set(approved) & set(rejected):
        errors.append(
            {"loc": ["body"], "msg": "a change cannot be both approved and rejected", "type": "value_error"}
        )
    reason = (reason or "").strip()
    if rejected and not reason:
        errors.append(
            {"loc": ["body", "reject_reason"], "msg": "a reason is required to reject", "type": "value_error"}
        )
    if len(reason) > 500:
        errors.append(
            {"loc": ["body", "reject_reason"], "msg": "at most 500 characters", "type": "value_error"}
        )
    if errors:
        raise DomainError(errors, status=422)
    now = timezone.now()
    batch = Batch.objects.create(
        title=title,
        created_at=now,
        reviewed_by_kind=actor.kind,
        reviewed_by_id=actor.id,
        reviewed_by_name=actor.display_name,
    )
    if approved:
        count = ChangeProposal.objects.filter(pk__in=approved, status=Status.PENDING).update(
            status=Status.APPROVED,
            batch=batch,
            approved_at=now,
            updated_at=now,
            **_actor_fields("approved_by", actor),
        )
        if count != len(approved):
            # As the established API: an unknown id in a review is a bad request (400).
            raise _explain_not_in(approved, [Status.PENDING], missing_status=400)
    if rejected:
        count = ChangeProposal.objects.filter(
            pk__in=rejected, status__in=[Status.PENDING, Status.APPROVED]
        ).update(
            status=Status.REJECTED,
            batch=batch,
            rejected_at=now,
            reject_reason=reason,
            updated_at=now,
            **_actor_fields("rejected_by", actor),
        )
        if count != len(rejected):
            raise _explain_not_in(rejected, [Status.PENDING, Status.APPROVED], missing_status=400)
    by_id = {p.pk: p for p in ChangeProposal.objects.filter(pk__in=[*approved, *rejected])}
    events = [
        PendingEvent(
            "proposal.approved",
            by_id[i].category,
            by_id[i].model_name,
            after=proposal_summary(by_id[i]),
            details={"batch_id": batch.pk, "batch_title": title},
        )
        for i in approved
    ] + [
        PendingEvent(
            "proposal.rejected",
            by_id[i].category,
            by_id[i].model_name,
            after=proposal_summary(by_id[i]),
            details={"batch_id": batch.pk, "batch_title": title, "reason": reason},
        )
        for i in rejected
    ]
    audit_events_append(events=events, actor=actor, source=source)
    return BatchReview(
        batch=batch, approved=[by_id[i] for i in approved], rejected=[by_id[i] for i in rejected]
    )


@transaction.atomic
def proposal_rebase(*, change_id: int, actor: Actor, source: str = EventSource.API) -> ChangeProposal:
    """Re-propose a stale change against the record as it is now; the old one is superseded."""
    old = _proposal_for_update(change_id)
    if old.status not in (Status.PENDING, Status.APPROVED):
        raise DomainError(f"Change {change_id} cannot be re-based (status={old.status}).", status=400)
    current = record_get(category=old.category, name=old.model_name)
    operation = old.operation
    if operation == Operation.UPDATE and current is None:
        operation = Operation.CREATE
    if operation == Operation.CREATE and current is not None:
        operation = Operation.UPDATE
    if operation == Operation.DELETE and current is None:
        raise DomainError(f"Model '{old.model_name}' no longer exists: nothing to delete.", status=404)
    now = timezone.now()
    residue = old.legacy_residue
    if old.submitted_format == SubmittedFormat.V2 and old.payload is not None:
        residue = (
            legacy_residue_after_v2_write(old.category, current.legacy_residue, old.payload)
            if current is not None
            else default_legacy_residue(old.category, old.payload)
        )
    new = ChangeProposal.objects.create(
        category=old.category,
        model_name=old.model_name,
        operation=operation,
        payload=current.payload if operation == Operation.DELETE and current else old.payload,
        legacy_residue=residue,
        submitted_format=old.submitted_format,
        base_version=current.version if current is not None else None,
        status=Status.PENDING,
        notes=f"Re-based from change {old.pk} by {actor.display_name}. {old.notes}".strip(),
        request_metadata={**old.request_metadata, "rebased_from": old.pk},
        requested_by_kind=old.requested_by_kind,
        requested_by_id=old.requested_by_id,
        requested_by_name=old.requested_by_name,
        requested_at=old.requested_at,
        updated_at=now,
    )
    updated = ChangeProposal.objects.filter(pk=old.pk, status=old.status).update(
        status=Status.SUPERSEDED, superseded_by=new, updated_at=now
    )
    if updated != 1:
        raise DomainError(f"Change {change_id} changed while re-basing; try again.", status=409)
    old.refresh_from_db()
    _audit(actor, source, "proposal.superseded", old, superseded_by=new.pk)
    _audit(actor, source, "proposal.created", new, rebased_from=old.pk)
    return new


# --- applying ----------------------------------------------------------------


@dataclass
class ApplyFailure:
    change_id: int
    error: str
    error_type: str
    status: int


@dataclass
class ApplyOutcome:
    applied: list[ChangeProposal] = field(default_factory=list)
    failure: ApplyFailure | None = None


def proposals_recover_stuck(*, now: Any = None) -> int:
    """Return reservations older than the lease (a crashed apply) to ``approved``."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.APPLY_LEASE_SECONDS)
    with transaction.atomic():
        stuck = list(
            ChangeProposal.objects.select_for_update(skip_locked=True).filter(
                status=Status.APPLYING, applying_since__lt=cutoff
            )
        )
        for proposal in stuck:
            ChangeProposal.objects.filter(pk=proposal.pk, status=Status.APPLYING).update(
                status=Status.APPROVED, applied_job_id="", applying_since=None, updated_at=now
            )
            proposal.status = Status.APPROVED
            _audit(Actor.system("apply-recovery"), EventSource.SYSTEM, "proposal.apply_recovered", proposal)
    if stuck:
        logger.warning("returned %d stuck applying proposal(s) to approved", len(stuck))
    return len(stuck)


def _reserve(change_ids: Sequence[int], job_id: str) -> None:
    """Take the apply reservation of approved proposals (committed on its own)."""
    now = timezone.now()
    with transaction.atomic():
        reserved = (
            ChangeProposal.objects.filter(pk__in=change_ids)
            .filter(Q(status=Status.APPROVED) | Q(status=Status.APPLYING, applied_job_id=job_id))
            .update(status=Status.APPLYING, applied_job_id=job_id, applying_since=now, updated_at=now)
        )
        if reserved != len(set(change_ids)):
            raise _explain_not_in(list(change_ids), [Status.APPROVED])


def _release(change_ids: Sequence[int], job_id: str) -> None:
    ChangeProposal.objects.filter(pk__in=change_ids, status=Status.APPLYING, applied_job_id=job_id).update(
        status=Status.APPROVED, applied_job_id="", applying_since=None, updated_at=timezone.now()
    )


@transaction.atomic
def _apply_reserved(
    ids: Sequence[int], job_id: str, actor: Actor, source: str
) -> tuple[list[ChangeProposal], int | None, DomainError | None]:
    """Apply reserved proposals in order, in one transaction; stop at the first that fails.

    Returns the applied proposals, and the index and reason of the failure (if
    any). The record changes go through ``references.services.records_apply``
    in bulk, with each ``proposal.applied`` audit event right after its record's.
    """
    locked = {p.pk: p for p in ChangeProposal.objects.select_for_update().filter(pk__in=ids)}
    ordered = [locked[i] for i in ids]
    changes: list[RecordChange] = []
    stop: tuple[int, DomainError] | None = None
    for index, proposal in enumerate(ordered):
        if proposal.status != Status.APPLYING or proposal.applied_job_id != job_id:
            stop = (
                index,
                DomainError(f"Change {proposal.pk} is no longer reserved by this apply.", status=409),
            )
            break
        payload = None
        if proposal.operation != Operation.DELETE:
            assert proposal.payload is not None
            try:
                # Validated when proposed; validated again now, with today's rules.
                payload = payload_validate(category=proposal.category, payload=proposal.payload, strict=True)
            except DomainError as error:
                stop = (index, error)
                break
        changes.append(
            RecordChange(
                category=proposal.category,
                name=proposal.model_name,
                operation=proposal.operation,
                payload=payload,
                legacy_residue=proposal.legacy_residue,
                expected_version=proposal.base_version,
            )
        )
    now = timezone.now()

    def mark_applied(index: int, version: int | None) -> list[PendingEvent]:
        proposal = ordered[index]
        proposal.status = Status.APPLIED
        proposal.applied_at = proposal.updated_at = now
        proposal.applied_version = version if version is not None else proposal.base_version
        proposal.applying_since = None
        proposal.applied_by_kind, proposal.applied_by_id = actor.kind, actor.id
        proposal.applied_by_name = actor.display_name
        details = {"job_id": job_id, "version": proposal.applied_version}
        summary = proposal_summary(proposal)
        return [
            PendingEvent("proposal.applied", proposal.category, proposal.model_name, None, summary, details)
        ]

    result = records_apply(changes=changes, actor=actor, source=source, events_after=mark_applied)
    applied = ordered[: len(result.versions)]
    if applied:
        ChangeProposal.objects.bulk_update(
            applied,
            [
                "status",
                "applied_at",
                "applied_version",
                "applying_since",
                "updated_at",
                "applied_by_kind",
                "applied_by_id",
                "applied_by_name",
            ],
        )
    if result.failure is not None:
        return applied, result.failed_index, result.failure
    if stop is not None:
        return applied, stop[0], stop[1]
    return applied, None, None


def _failure(change_id: int, error: DomainError) -> ApplyFailure:
    kind = {
        404: "PendingChangeNotFoundError",
        409: "PendingChangeConflictError",
        422: "PendingChangePayloadError",
    }
    return ApplyFailure(
        change_id, str(error), kind.get(error.status, "PendingChangeStateError"), error.status
    )


def proposals_apply(
    *,
    change_ids: Sequence[int],
    actor: Actor,
    job_id: str | None = None,
    source: str = EventSource.API,
) -> ApplyOutcome:
    """Apply approved proposals in order; stop at the first failure.

    The proposals before the failure are applied (in one transaction, with one
    audit append); the failed one and those after it go back to ``approved`` (a
    conflict is for the approver to resolve: re-base or reject).
    """
    job_id = job_id or f"apply-{uuid.uuid4().hex}"
    ids = list(dict.fromkeys(change_ids))
    proposals_recover_stuck()
    _reserve(ids, job_id)
    outcome = ApplyOutcome()
    try:
        outcome.applied, failed_index, failure = _apply_reserved(ids, job_id, actor, source)
    except Exception as error:  # a bug or an outage: never leave the reservations behind
        logger.exception("applying changes %s failed", ids)
        failed_index, failure = 0, None
        outcome.failure = ApplyFailure(ids[0], f"apply failed: {error}", "PendingChangeBackendError", 503)
    if failure is not None and failed_index is not None:
        outcome.failure = _failure(ids[failed_index], failure)
    if outcome.failure is not None:
        assert failed_index is not None
        _release(ids[failed_index:], job_id)
    return outcome


def proposal_apply(
    *, change_id: int, actor: Actor, job_id: str | None = None, source: str = EventSource.API
) -> ChangeProposal:
    """Apply one approved proposal; raises DomainError (404/400/409/422/503) on failure."""
    if not ChangeProposal.objects.filter(pk=change_id).exists():
        raise DomainError(f"Change {change_id} not found.", status=404)
    outcome = proposals_apply(change_ids=[change_id], actor=actor, job_id=job_id, source=source)
    if outcome.failure is not None:
        raise DomainError(outcome.failure.error, status=outcome.failure.status)
    return outcome.applied[0]


def apply_preconditions(change_ids: Sequence[int], *, allow_mixed_batch: bool) -> None:
    """Checked before anything is applied: every id exists, is approved in a batch, one batch."""
    rows = dict(ChangeProposal.objects.filter(pk__in=change_ids).values_list("pk", "batch_id"))
    missing = [i for i in change_ids if i not in rows]
    if missing:
        raise DomainError(f"Change {missing[0]} not found.", status=404)
    statuses = dict(ChangeProposal.objects.filter(pk__in=change_ids).values_list("pk", "status"))
    if any(rows[i] is None or statuses[i] not in (Status.APPROVED, Status.APPLYING) for i in change_ids):
        raise DomainError("Cannot apply changes that have not been approved in a batch", status=400)
    batches = sorted({rows[i] for i in change_ids})
    if len(batches) > 1 and not allow_mixed_batch:
        raise DomainError(
            f"All changes must belong to the same batch. Found batch IDs: {batches}", status=400
        )


def batch_apply(
    *, batch_id: int, actor: Actor, job_id: str | None = None, source: str = EventSource.API
) -> ApplyOutcome:
    """Apply every approved proposal of a batch, in id order."""
    statuses = list(ChangeProposal.objects.filter(batch_id=batch_id).values_list("pk", "status"))
    if not statuses:
        raise DomainError(f"No changes found for batch {batch_id}", status=404)
    approved = [pk for pk, status in sorted(statuses) if status == Status.APPROVED]
    if not approved:
        if any(status == Status.APPLIED for _, status in statuses):
            return ApplyOutcome()
        raise DomainError(f"No approved changes found in batch {batch_id}", status=404)
    return proposals_apply(change_ids=approved, actor=actor, job_id=job_id, source=source)


# --- purging -----------------------------------------------------------------


@dataclass
class PurgeResult:
    removed_change_ids: list[int]
    dry_run: bool


def proposals_purge(
    *,
    statuses: Sequence[str] = (),
    categories: Sequence[str] = (),
    model_name: str | None = None,
    requested_by: Sequence[str] = (),
    purge_all: bool = False,
    dry_run: bool = False,
    actor: Actor,
    source: str = EventSource.API,
) -> PurgeResult:
    """Remove never-applied proposals matching the filters; each removal is audited."""
    if not (statuses or categories or model_name or requested_by or purge_all):
        raise DomainError(
            [
                {
                    "loc": ["body"],
                    "msg": "Provide at least one filter or set purge_all=true to purge everything.",
                    "type": "value_error",
                }
            ],
            status=422,
        )
    wanted = [s for s in (statuses or PURGEABLE_STATUSES) if s in PURGEABLE_STATUSES]
    query = ChangeProposal.objects.filter(status__in=wanted)
    if categories:
        query = query.filter(category__in=categories)
    if model_name:
        query = query.filter(model_name__icontains=model_name.strip())
    if requested_by:
        query = query.filter(requested_by_id__in=[r.strip() for r in requested_by])
    with transaction.atomic():
        doomed = list(query.select_for_update().order_by("pk"))
        ids = [p.pk for p in doomed]
        if dry_run or not doomed:
            return PurgeResult(ids, dry_run)
        events = [
            PendingEvent(
                "proposal.purged",
                p.category,
                p.model_name,
                before={**proposal_summary(p), "payload": p.payload, "requested_by": p.requested_by_id},
            )
            for p in doomed
        ]
        ChangeProposal.objects.filter(pk__in=ids).delete()
        audit_events_append(events=events, actor=actor, source=source)
    return PurgeResult(ids, dry_run)
