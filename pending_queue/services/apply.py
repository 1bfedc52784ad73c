"""Applying: approved proposals are reserved, written through ``references.services``, and marked applied.

Applying goes through ``references.services`` with the version the proposal was
written against, so a stale proposal is a 409 conflict, never a silent overwrite.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Case, Q, Value, When
from django.utils import timezone

from audit.models import AuditAction, EventSource
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from pending_queue.models import ChangeProposal, Operation, Status
from pending_queue.services.shared import actor_fields, explain_not_in, proposal_audit, proposal_summary
from pending_queue.services.transitions import proposals_transition
from references.services import RecordChange, records_plan, records_write

logger = logging.getLogger(__name__)


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
            proposals_transition(
                change_ids=[proposal.pk],
                to=Status.APPROVED,
                only_from=[Status.APPLYING],
                values={"applied_job_id": "", "applying_since": None, "updated_at": now},
            )
            proposal.status = Status.APPROVED
            proposal_audit(
                Actor.system("apply-recovery"),
                EventSource.SYSTEM,
                AuditAction.PROPOSAL_APPLY_RECOVERED,
                proposal,
            )
    if stuck:
        logger.warning("returned %d stuck applying proposal(s) to approved", len(stuck))
    return len(stuck)


def _reserve(change_ids: Sequence[int], job_id: str) -> None:
    """Take the apply reservation of approved proposals (committed on its own)."""
    now = timezone.now()
    with transaction.atomic():
        # A retried job (same id) renews its own reservations: not a status change, so
        # not a transition; the approved ones move to applying through the table.
        renewed = ChangeProposal.objects.filter(
            pk__in=change_ids, status=Status.APPLYING, applied_job_id=job_id
        ).update(applying_since=now, updated_at=now)
        reserved = renewed + proposals_transition(
            change_ids=change_ids,
            to=Status.APPLYING,
            only_from=[Status.APPROVED],
            values={"applied_job_id": job_id, "applying_since": now, "updated_at": now},
        )
        if reserved != len(set(change_ids)):
            raise explain_not_in(list(change_ids), [Status.APPROVED])


def _release(change_ids: Sequence[int], job_id: str) -> None:
    proposals_transition(
        change_ids=change_ids,
        to=Status.APPROVED,
        only_from=[Status.APPLYING],
        also=Q(applied_job_id=job_id),
        values={"applied_job_id": "", "applying_since": None, "updated_at": timezone.now()},
    )


@transaction.atomic
def _apply_reserved(
    ids: Sequence[int], job_id: str, actor: Actor, source: str
) -> tuple[list[ChangeProposal], int | None, DomainError | None]:
    """Apply reserved proposals in order, in one transaction; stop at the first that fails.

    Returns the applied proposals, and the index and reason of the failure (if
    any). The record changes go through the references write engine in bulk; its
    ``record.*`` events and each ``proposal.applied`` event right after its
    record's are appended once, here.
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
        changes.append(
            RecordChange(
                category=proposal.category,
                name=proposal.model_name,
                operation=proposal.operation,
                # A delete's payload is the record as it was proposed away: not a write.
                payload=None if proposal.operation == Operation.DELETE else proposal.payload,
                legacy_residue=proposal.legacy_residue,
                expected_version=proposal.base_version,
            )
        )
    plan = records_plan(changes=changes)
    applied = ordered[: len(plan.steps)]
    if applied:
        written = records_write(plan=plan)
        now = timezone.now()
        events: list[PendingEvent] = []
        for proposal, record_event, version in zip(applied, written.events, written.versions, strict=True):
            proposal.status = Status.APPLIED
            proposal.applied_at = proposal.updated_at = now
            proposal.applied_version = version if version is not None else proposal.base_version
            proposal.applying_since = None
            proposal.applied_by_kind, proposal.applied_by_id = actor.kind, actor.id
            proposal.applied_by_name = actor.display_name
            details = {"job_id": job_id, "version": proposal.applied_version}
            summary = proposal_summary(proposal)
            events.append(record_event)
            events.append(
                PendingEvent(
                    AuditAction.PROPOSAL_APPLIED,
                    proposal.category,
                    proposal.model_name,
                    None,
                    summary,
                    details,
                )
            )
        moved = proposals_transition(
            change_ids=[p.pk for p in applied],
            to=Status.APPLIED,
            only_from=[Status.APPLYING],
            also=Q(applied_job_id=job_id),
            values={
                "applied_at": now,
                "updated_at": now,
                "applying_since": None,
                # Each proposal records the version its own change produced: one UPDATE.
                "applied_version": Case(
                    *[When(pk=p.pk, then=Value(p.applied_version)) for p in applied],
                    output_field=BigIntegerField(),
                ),
                **actor_fields("applied_by", actor),
            },
        )
        if moved != len(applied):  # locked and checked above: only a bug gets here
            raise DomainError("The reserved proposals changed while applying; try again.", status=409)
        audit_events_append(events=events, actor=actor, source=source)
    if plan.failure is not None:
        return applied, plan.failed_index, plan.failure
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
