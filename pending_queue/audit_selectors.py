"""Reads of the queue's audit trail: proposal timelines and review batches, replayed from events.

The established ``/pending_queue/audit`` routes are built on this. Everything comes
from the ``proposal.*`` audit events alone (a purged proposal has no row any more, but
its events remain), never from the ``ChangeProposal`` table. Where the established
replay is wrong, this one differs on purpose (``docs/audit-differences.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from common.diff import change_diff

#: Our event actions and the established service's names for them.
ACTION_NAMES: dict[str, str] = {
    AuditAction.PROPOSAL_CREATED: "enqueue",
    AuditAction.PROPOSAL_APPROVED: "approve",
    AuditAction.PROPOSAL_REJECTED: "reject",
    AuditAction.PROPOSAL_APPLIED: "apply",
    AuditAction.PROPOSAL_PURGED: "purge",
    AuditAction.PROPOSAL_WITHDRAWN: "withdraw",
    AuditAction.PROPOSAL_SUPERSEDED: "supersede",
    AuditAction.PROPOSAL_APPLY_RECOVERED: "apply_recovered",
}
#: The replayed status each action leaves behind (``apply_recovered`` returns to approved).
ACTION_STATUS: dict[str, str] = {
    AuditAction.PROPOSAL_CREATED: "pending",
    AuditAction.PROPOSAL_APPROVED: "approved",
    AuditAction.PROPOSAL_REJECTED: "rejected",
    AuditAction.PROPOSAL_APPLIED: "applied",
    AuditAction.PROPOSAL_PURGED: "purged",
    AuditAction.PROPOSAL_WITHDRAWN: "withdrawn",
    AuditAction.PROPOSAL_SUPERSEDED: "superseded",
    AuditAction.PROPOSAL_APPLY_RECOVERED: "approved",
}
RECORD_ACTIONS = (AuditAction.RECORD_CREATED, AuditAction.RECORD_UPDATED, AuditAction.RECORD_DELETED)
DOMAINS = ("legacy", "v2")


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass
class AuditChange:
    """One proposal's lifecycle as the trail tells it (established ``PendingQueueAuditChange``)."""

    change_id: int
    category: str
    model_name: str
    status: str = "pending"
    operation: str | None = None
    requested_by: str | None = None
    requested_at: int | None = None
    approved_by: str | None = None
    approved_at: int | None = None
    rejected_by: str | None = None
    rejected_at: int | None = None
    reject_reason: str | None = None
    applied_by: str | None = None
    applied_at: int | None = None
    applied_job_id: str | None = None
    batch_id: int | None = None
    batch_title: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    # Sequence of the ``proposal.applied`` event (the record event sits right before it).
    applied_sequence: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "status": self.status,
            "operation": self.operation,
            "category": self.category,
            "model_name": self.model_name,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "rejected_by": self.rejected_by,
            "rejected_at": self.rejected_at,
            "reject_reason": self.reject_reason,
            "applied_by": self.applied_by,
            "applied_at": self.applied_at,
            "applied_job_id": self.applied_job_id,
            "batch_id": self.batch_id,
            "batch_title": self.batch_title,
            "events": self.events,
        }


@dataclass
class AuditBatch:
    """One review decision (established ``PendingQueueAuditBatchSummary``)."""

    batch_id: int
    batch_title: str | None = None
    approved_by: str | None = None
    approved_at: int | None = None
    applied_at: int | None = None
    approved_ids: set[int] = field(default_factory=set)
    rejected_ids: set[int] = field(default_factory=set)
    applied_ids: set[int] = field(default_factory=set)
    last_event_id: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "batch_title": self.batch_title,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "applied_at": self.applied_at,
            "approved_change_count": len(self.approved_ids),
            "rejected_change_count": len(self.rejected_ids),
            "applied_change_count": len(self.applied_ids),
            "total_change_count": len(self.approved_ids | self.rejected_ids),
            "last_event_id": self.last_event_id,
        }


@dataclass
class QueueAuditReplay:
    changes: dict[int, AuditChange]
    batches: dict[int, AuditBatch]


def _event_payload(
    name: str, change_id: int, after: dict[str, Any], details: dict[str, Any]
) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": name, "change_id": change_id}
    if name in ("enqueue", "purge"):
        payload |= {"operation": after.get("operation"), "category": after.get("category")}
        payload["model"] = after.get("model_name")
    for key in ("batch_id", "batch_title", "reason", "job_id", "version", "superseded_by", "rebased_from"):
        if details.get(key) is not None:
            payload[key] = details[key]
    if name == "purge" and after.get("requested_by") is not None:
        payload["requested_by"] = after["requested_by"]
    return payload


def queue_audit_replay() -> QueueAuditReplay:
    """Fold every ``proposal.*`` event, in sequence order, into change timelines and batches."""
    changes: dict[int, AuditChange] = {}
    batches: dict[int, AuditBatch] = {}
    rows = (
        AuditEvent.objects.filter(action__in=list(ACTION_NAMES))
        .order_by("sequence")
        .values_list(
            "sequence",
            "occurred_at",
            "action",
            "actor_id",
            "actor_display",
            "category",
            "model_name",
            "before",
            "after",
            "details",
        )
    )
    for (
        sequence,
        occurred_at,
        action,
        actor_id,
        actor_name,
        category,
        name,
        before,
        after,
        details,
    ) in rows.iterator(chunk_size=2000):
        # A purge keeps the proposal only in ``before``; every other action in ``after``.
        summary: dict[str, Any] = (after if isinstance(after, dict) else before) or {}
        change_id = summary.get("change_id")
        if not isinstance(change_id, int):
            continue
        details = details if isinstance(details, dict) else {}
        when = _unix(occurred_at)
        change = changes.get(change_id)
        if change is None:
            change = changes[change_id] = AuditChange(change_id=change_id, category=category, model_name=name)
        change.operation = change.operation or summary.get("operation")
        change.status = ACTION_STATUS[action]
        name_of_action = ACTION_NAMES[action]
        change.events.append(
            {
                "event_id": sequence,
                "timestamp": when,
                "action": name_of_action,
                "logical_user_id": actor_id,
                "logical_username": actor_name,
                "payload": _event_payload(name_of_action, change_id, summary, details),
            }
        )
        if action == AuditAction.PROPOSAL_CREATED:
            change.requested_by, change.requested_at = actor_id, when
        batch_id = details.get("batch_id", summary.get("batch_id"))
        batch = batches.get(batch_id) if isinstance(batch_id, int) else None
        if action in (AuditAction.PROPOSAL_APPROVED, AuditAction.PROPOSAL_REJECTED) and isinstance(
            batch_id, int
        ):
            batch = batches.get(batch_id) or batches.setdefault(batch_id, AuditBatch(batch_id=batch_id))
            batch.batch_title = details.get("batch_title") or batch.batch_title
            change.batch_id, change.batch_title = batch_id, batch.batch_title
        if action == AuditAction.PROPOSAL_APPROVED and batch is not None:
            change.approved_by, change.approved_at = actor_id, when
            batch.approved_ids.add(change_id)
            batch.approved_by, batch.approved_at = actor_id, when
        elif action == AuditAction.PROPOSAL_REJECTED:
            change.rejected_by, change.rejected_at = actor_id, when
            change.reject_reason = details.get("reason")
            if batch is not None:
                # A stale approved change rejected by a later review stays counted in the
                # batch that approved it: each summary tells what its own decision was.
                batch.rejected_ids.add(change_id)
        elif action == AuditAction.PROPOSAL_APPLIED:
            change.applied_by, change.applied_at = actor_id, when
            change.applied_job_id = details.get("job_id")
            change.applied_sequence = sequence
            if batch is not None:
                batch.applied_ids.add(change_id)
                batch.applied_at = when
        if batch is not None:
            batch.last_event_id = sequence
    return QueueAuditReplay(changes=changes, batches=batches)


def _now() -> int:
    return _unix(timezone.now())


def audit_current(*, domain: str) -> dict[str, Any]:
    """The changes whose replayed status is still ``pending``, newest first."""
    replay = queue_audit_replay()
    pending = sorted(
        (c for c in replay.changes.values() if c.status == "pending"), key=lambda c: -c.change_id
    )
    return {
        "domain": domain,
        "pending_changes": [c.as_dict() for c in pending],
        "total_pending": len(pending),
        "generated_at": _now(),
    }


def audit_batches(*, domain: str, cursor: int | None, limit: int) -> dict[str, Any]:
    """Batch summaries, newest batch id first; ``cursor`` keeps only ids below it."""
    replay = queue_audit_replay()
    ids = sorted((i for i in replay.batches if cursor is None or i < cursor), reverse=True)
    page = ids[:limit]
    return {
        "domain": domain,
        "batches": [replay.batches[i].summary() for i in page],
        "next_cursor": page[-1] if len(ids) > limit else None,
    }


def _batch_changes(replay: QueueAuditReplay, batch: AuditBatch) -> list[AuditChange]:
    ids = batch.approved_ids | batch.rejected_ids | batch.applied_ids
    return [replay.changes[i] for i in sorted(ids) if i in replay.changes]


def audit_batch(*, domain: str, batch_id: int) -> dict[str, Any] | None:
    """A batch's summary and the full timelines of its changes; None when unknown."""
    replay = queue_audit_replay()
    batch = replay.batches.get(batch_id)
    if batch is None:
        return None
    return {
        "domain": domain,
        **batch.summary(),
        "changes": [c.as_dict() for c in _batch_changes(replay, batch)],
    }


def _record_payload_at(*, category: str, name: str, before_sequence: int) -> dict[str, Any] | None:
    """The record's stored payload just before event ``before_sequence`` (None: no record)."""
    row = (
        AuditEvent.objects.filter(
            category=category, model_name=name, action__in=RECORD_ACTIONS, sequence__lt=before_sequence
        )
        .order_by("-sequence")
        .values_list("action", "after")
        .first()
    )
    if row is None or row[0] == AuditAction.RECORD_DELETED or not isinstance(row[1], dict):
        return None
    payload = row[1].get("payload")
    return payload if isinstance(payload, dict) else None


def audit_batch_net_changes(*, domain: str, batch_id: int) -> dict[str, Any] | None:
    """The net effect on each record of the batch's applied changes; None when the batch is unknown.

    Per record: its state just before the first of the batch's applies that touched it,
    and just after the last one (each apply writes the record event immediately before
    its ``proposal.applied`` event). Changes by others in between are part of the net
    effect, as they are in the established service's window replay.
    """
    replay = queue_audit_replay()
    batch = replay.batches.get(batch_id)
    if batch is None:
        return None
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for change in _batch_changes(replay, batch):
        if change.status != "applied" or change.applied_sequence is None:
            continue
        key = (change.category, change.model_name)
        first, last = spans.get(key, (change.applied_sequence, change.applied_sequence))
        spans[key] = (min(first, change.applied_sequence), max(last, change.applied_sequence))
    model_changes: list[dict[str, Any]] = []
    counts = {"added": 0, "modified": 0, "deleted": 0, "unchanged": 0}
    total_fields = 0
    for (category, name), (first, last) in sorted(spans.items()):
        # ``first - 1`` is the record event of the first apply: the state before it.
        before = _record_payload_at(category=category, name=name, before_sequence=first - 1)
        after = _record_payload_at(category=category, name=name, before_sequence=last)
        operation = "delete" if after is None else "update"
        diff = change_diff(
            category=category, model_name=name, operation=operation, current=before, proposed=after
        )
        net = diff.net_operation
        if operation == "update" and before is None:
            net = "added"
        counts[net] += 1
        total_fields += len(diff.field_diffs)
        model_changes.append(
            {
                "model_name": name,
                "category": category,
                "net_operation": net,
                "before_state": before,
                "after_state": after,
                "field_diffs": [d.as_dict() for d in diff.field_diffs],
                "is_critical": diff.is_critical,
            }
        )
    return {
        "batch_id": batch_id,
        "batch_title": batch.batch_title,
        "domain": domain,
        "model_changes": model_changes,
        "models_added": counts["added"],
        "models_modified": counts["modified"],
        "models_deleted": counts["deleted"],
        "models_unchanged": counts["unchanged"],
        "total_field_changes": total_fields,
        "has_critical_changes": any(m["is_critical"] for m in model_changes),
        "generated_at": _now(),
    }
