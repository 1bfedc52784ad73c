"""Reading the audit trail: chain verification and replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import event_hash

#: Actions whose ``after`` holds a record's full stored state.
RECORD_STATE_ACTIONS = ("record.created", "record.updated")
RECORD_DELETED_ACTION = "record.deleted"


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    events_checked: int
    first_bad_sequence: int | None = None
    reason: str = ""


def audit_chain_head_hash() -> str:
    """The hash of the newest event (published in export manifests)."""
    head = AuditChainHead.objects.filter(id=1).first()
    return head.hash if head else GENESIS_HASH


def audit_chain_verify() -> ChainVerification:
    """Walk the whole chain; report the first event that does not verify."""
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        if event.sequence != expected_sequence:
            return ChainVerification(False, checked, expected_sequence, "sequence gap")
        if event.prev_hash != expected_prev:
            return ChainVerification(False, checked, event.sequence, "prev_hash mismatch")
        if event_hash(event) != event.hash:
            return ChainVerification(False, checked, event.sequence, "hash mismatch")
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.sequence != checked or head.hash != expected_prev):
        return ChainVerification(False, checked, checked + 1, "chain head does not match")
    return ChainVerification(True, checked)


def audit_replay_record_state() -> dict[tuple[str, str], Any]:
    """Rebuild every record's stored state from the events alone.

    Returns ``{(category, name): after}`` for the records that exist after the last
    event; callers compare it with the live tables.
    """
    state: dict[tuple[str, str], Any] = {}
    actions = (*RECORD_STATE_ACTIONS, RECORD_DELETED_ACTION)
    events = AuditEvent.objects.filter(action__in=actions).order_by("sequence")
    for event in events.iterator(chunk_size=2000):
        key = (event.category, event.model_name)
        if event.action == RECORD_DELETED_ACTION:
            state.pop(key, None)
        else:
            state[key] = event.after
    return state


# The change feed: record changes in commit order, for mirrors and dashboards.
RECORD_CHANGE_OPERATIONS = {
    "record.created": "create",
    "record.updated": "update",
    "record.deleted": "delete",
}
PROPOSAL_APPLIED_ACTION = "proposal.applied"


@dataclass(frozen=True)
class RecordChangesPage:
    changes: list[dict[str, Any]]
    next_sequence: int
    has_more: bool


def _version(state: Any) -> int | None:
    version = state.get("version") if isinstance(state, dict) else None
    return version if isinstance(version, int) else None


def record_changes_after(*, sequence: int, limit: int) -> RecordChangesPage:
    """Up to ``limit`` record changes after audit event ``sequence``, oldest first; one query.

    The pending queue's apply writes each ``record.*`` event immediately followed by its
    ``proposal.applied`` event (same category and name), which names the proposal; a
    change from an import has none.
    """
    from django.db.models import OuterRef, Subquery

    applied = AuditEvent.objects.filter(
        sequence=OuterRef("sequence") + 1,
        action=PROPOSAL_APPLIED_ACTION,
        category=OuterRef("category"),
        model_name=OuterRef("model_name"),
    ).values("after")[:1]
    rows = list(
        AuditEvent.objects.filter(sequence__gt=sequence, action__in=list(RECORD_CHANGE_OPERATIONS))
        .order_by("sequence")
        .annotate(proposal=Subquery(applied))
        .values(
            "sequence",
            "occurred_at",
            "action",
            "category",
            "model_name",
            "source",
            "before",
            "after",
            "proposal",
        )[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = []
    for row in rows:
        proposal = _proposal_summary(row["proposal"])
        changes.append(
            {
                "cursor": str(row["sequence"]),
                "category": row["category"],
                "name": row["model_name"],
                "operation": RECORD_CHANGE_OPERATIONS[row["action"]],
                "version": _version(row["after"]),
                "previous_version": _version(row["before"]),
                "time": int(row["occurred_at"].timestamp()),
                "source": row["source"],
                "proposal_id": proposal.get("change_id")
                if isinstance(proposal.get("change_id"), int)
                else None,
            }
        )
    return RecordChangesPage(
        changes=changes, next_sequence=rows[-1]["sequence"] if rows else sequence, has_more=has_more
    )


def _proposal_summary(value: Any) -> dict[str, Any]:
    # The subquery hands back the stored JSON text of the event's ``after``.
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
