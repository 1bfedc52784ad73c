"""Reading the past from the trail: a record's versions, and a category as it was.

Selectors over ``AuditEvent`` only; nothing here writes. Every answer is computed
from the events (``after`` holds a record's full stored state, ``before`` the state it
replaced, ``category.reordered`` the document order an import set), never from the
live tables, so the past stays readable after a record is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max

from audit.models import AuditAction, AuditEvent
from common.diff import field_diffs

RECORD_ACTIONS = (AuditAction.RECORD_CREATED, AuditAction.RECORD_UPDATED, AuditAction.RECORD_DELETED)
REORDERED_ACTION = AuditAction.CATEGORY_REORDERED
#: The events that change what a category document holds or its order.
CATEGORY_STATE_ACTIONS = (*RECORD_ACTIONS, REORDERED_ACTION)
OPERATIONS = {
    AuditAction.RECORD_CREATED: "create",
    AuditAction.RECORD_UPDATED: "update",
    AuditAction.RECORD_DELETED: "delete",
}
PROPOSAL_APPLIED = AuditAction.PROPOSAL_APPLIED
PROPOSAL_CREATED = AuditAction.PROPOSAL_CREATED
PROPOSAL_APPROVED = AuditAction.PROPOSAL_APPROVED


def _json(value: Any) -> Any:
    # Values read through ``.values()`` subqueries may come back as the stored text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _actor(row: Mapping[str, Any]) -> dict[str, str]:
    """DECISIONS 19: one representation of an actor everywhere."""
    return {"kind": row["actor_kind"], "id": row["actor_id"], "display_name": row["actor_display"]}


def _version(state: Any) -> int | None:
    version = state.get("version") if isinstance(state, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _payload(state: Any) -> dict[str, Any] | None:
    payload = state.get("payload") if isinstance(state, dict) else None
    return payload if isinstance(payload, dict) else None


def record_ever_existed(*, category: str, name: str) -> bool:
    return AuditEvent.objects.filter(category=category, model_name=name, action__in=RECORD_ACTIONS).exists()


@dataclass(frozen=True)
class RecordHistoryPage:
    versions: list[dict[str, Any]]
    next_cursor: int | None


_EVENT_FIELDS = (
    "sequence",
    "occurred_at",
    "action",
    "source",
    "actor_kind",
    "actor_id",
    "actor_display",
    "before",
    "after",
)


def record_history(*, category: str, name: str, before: int | None, limit: int) -> RecordHistoryPage:
    """One page of a record's versions, newest first; three queries whatever the page size.

    Each version names who made the change (the event's actor: for a proposal, who
    applied it), and for a change that came through the queue the proposal id, who
    proposed it and who approved it (the ``proposal.created`` / ``proposal.approved``
    events of that proposal). The diff is between the payloads of the version before
    (the event's ``before``) and this one.
    """
    events = AuditEvent.objects.filter(category=category, model_name=name)
    page_query = events.filter(action__in=RECORD_ACTIONS)
    if before is not None:
        page_query = page_query.filter(sequence__lt=before)
    rows = list(page_query.order_by("-sequence").values(*_EVENT_FIELDS)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return RecordHistoryPage([], None)

    # The apply writes ``proposal.applied`` right after each record event it causes.
    applied = {
        row["sequence"] - 1: _json(row["after"])
        for row in events.filter(
            action=PROPOSAL_APPLIED, sequence__in=[row["sequence"] + 1 for row in rows]
        ).values("sequence", "after")
    }
    proposal_ids = {
        sequence: summary["change_id"]
        for sequence, summary in applied.items()
        if isinstance(summary, dict) and isinstance(summary.get("change_id"), int)
    }
    proposers: dict[int, dict[str, str]] = {}
    approvers: dict[int, dict[str, str]] = {}
    if proposal_ids:
        wanted = set(proposal_ids.values())
        for row in events.filter(
            action__in=(PROPOSAL_CREATED, PROPOSAL_APPROVED), sequence__lt=rows[0]["sequence"]
        ).values("action", "after", "actor_kind", "actor_id", "actor_display"):
            summary = _json(row["after"])
            change_id = summary.get("change_id") if isinstance(summary, dict) else None
            if isinstance(change_id, int) and change_id in wanted:
                target = proposers if row["action"] == PROPOSAL_CREATED else approvers
                target[change_id] = _actor(row)

    versions = []
    for row in rows:
        before_state, after_state = _json(row["before"]), _json(row["after"])
        proposal_id = proposal_ids.get(row["sequence"])
        versions.append(
            {
                "cursor": str(row["sequence"]),
                "operation": OPERATIONS[row["action"]],
                "version": _version(after_state),
                "previous_version": _version(before_state),
                "time": int(row["occurred_at"].timestamp()),
                "source": row["source"],
                "changed_by": _actor(row),
                "proposal_id": proposal_id,
                "proposed_by": proposers.get(proposal_id) if proposal_id is not None else None,
                "approved_by": approvers.get(proposal_id) if proposal_id is not None else None,
                "diff": [
                    diff.as_dict() for diff in field_diffs(_payload(before_state), _payload(after_state))
                ],
            }
        )
    return RecordHistoryPage(versions, rows[-1]["sequence"] if has_more else None)


@dataclass(frozen=True)
class CategoryEventMark:
    """The last event that changed a category at or before some moment (sequence 0: none)."""

    sequence: int
    occurred_at: datetime | None
    hash: str


def category_sequence_as_of(
    *, category: str, sequence: int | None = None, moment: datetime | None = None
) -> CategoryEventMark:
    """The last event that changed the category at or before a sequence number or a time.

    Two ``as_of`` values that land on the same event name the same document, so this
    is what identifies (and caches) a historical one. The hash tells a database
    restored or reset under a running process apart from the one it read before.
    """
    events = AuditEvent.objects.filter(category=category, action__in=CATEGORY_STATE_ACTIONS)
    if sequence is not None:
        events = events.filter(sequence__lte=sequence)
    if moment is not None:
        events = events.filter(occurred_at__lte=moment)
    last = events.aggregate(last=Max("sequence"))["last"]
    found = (
        AuditEvent.objects.filter(sequence=last).values_list("occurred_at", "hash").first()
        if last is not None
        else None
    )
    if found is None:
        return CategoryEventMark(0, None, "")
    return CategoryEventMark(int(last), found[0], found[1])


def category_states_at(*, category: str, sequence: int) -> list[tuple[str, dict[str, Any]]]:
    """Every record of a category after event ``sequence``, in document order, replayed.

    ``[(name, stored state)]``: the state as ``record_state`` stored it (``payload``,
    ``legacy_residue``, ``version``). Order follows the writers: a new record is
    appended, a deleted one leaves its place, an update keeps it, and an import that
    reorders the category records the new order in a ``category.reordered`` event.
    """
    states: dict[str, dict[str, Any]] = {}
    events = AuditEvent.objects.filter(
        category=category, action__in=CATEGORY_STATE_ACTIONS, sequence__lte=sequence
    ).order_by("sequence")
    for action, name, after, details in events.values_list(
        "action", "model_name", "after", "details"
    ).iterator(chunk_size=2000):
        if action == REORDERED_ACTION:
            order = _json(details).get("order") if isinstance(_json(details), dict) else None
            if isinstance(order, list):
                rank = {item: index for index, item in enumerate(order) if isinstance(item, str)}
                states = dict(sorted(states.items(), key=lambda item: rank.get(item[0], len(rank))))
        elif action == AuditAction.RECORD_DELETED:
            states.pop(name, None)
        else:
            state = _json(after)
            if isinstance(state, dict):
                states[name] = state
    return list(states.items())
