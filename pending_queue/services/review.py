"""Reviewing: approving and rejecting proposals in batches, and re-basing a stale one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction, EventSource
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from horde_model_reference.legacy import default_legacy_residue, legacy_residue_after_v2_write
from pending_queue.models import Batch, ChangeProposal, Operation, Status, SubmittedFormat
from pending_queue.services.shared import (
    actor_fields,
    explain_not_in,
    proposal_audit,
    proposal_for_update,
    proposal_summary,
)
from pending_queue.services.transitions import proposals_transition, statuses_allowed_before
from references.selectors import record_get


@dataclass
class BatchReview:
    batch: Batch
    approved: list[ChangeProposal]
    rejected: list[ChangeProposal]


def _clean_ids(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids if int(i) > 0})


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
        count = proposals_transition(
            change_ids=approved,
            to=Status.APPROVED,
            # The table also lets ``applying`` fall back to ``approved``; a review does not.
            only_from=[Status.PENDING],
            values={
                "batch": batch,
                "approved_at": now,
                "updated_at": now,
                **actor_fields("approved_by", actor),
            },
        )
        if count != len(approved):
            # As the established API: an unknown id in a review is a bad request (400).
            raise explain_not_in(approved, [Status.PENDING], missing_status=400)
    if rejected:
        count = proposals_transition(
            change_ids=rejected,
            to=Status.REJECTED,
            values={
                "batch": batch,
                "rejected_at": now,
                "reject_reason": reason,
                "updated_at": now,
                **actor_fields("rejected_by", actor),
            },
        )
        if count != len(rejected):
            raise explain_not_in(rejected, statuses_allowed_before(Status.REJECTED), missing_status=400)
    by_id = {p.pk: p for p in ChangeProposal.objects.filter(pk__in=[*approved, *rejected])}
    events = [
        PendingEvent(
            AuditAction.PROPOSAL_APPROVED,
            by_id[i].category,
            by_id[i].model_name,
            after=proposal_summary(by_id[i]),
            details={"batch_id": batch.pk, "batch_title": title},
        )
        for i in approved
    ] + [
        PendingEvent(
            AuditAction.PROPOSAL_REJECTED,
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
    old = proposal_for_update(change_id)
    if old.status not in statuses_allowed_before(Status.SUPERSEDED):
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
    updated = proposals_transition(
        change_ids=[old.pk],
        to=Status.SUPERSEDED,
        only_from=[old.status],
        values={"superseded_by": new, "updated_at": now},
    )
    if updated != 1:
        raise DomainError(f"Change {change_id} changed while re-basing; try again.", status=409)
    old.refresh_from_db()
    proposal_audit(actor, source, AuditAction.PROPOSAL_SUPERSEDED, old, superseded_by=new.pk)
    proposal_audit(actor, source, AuditAction.PROPOSAL_CREATED, new, rebased_from=old.pk)
    return new
