"""Appending to the audit trail. Callers hold a transaction open; so do we."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import ActorKind, AuditAction, AuditChainHead, AuditEvent, EventSource
from common.request_id import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who did something: one representation for proposals, audit and the API."""

    kind: str
    id: str
    display_name: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, id=name, display_name=name)

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "display_name": self.display_name}


@dataclass(frozen=True)
class PendingEvent:
    """An event to append; the chain fields are filled in by ``audit_events_append``."""

    action: str
    category: str = ""
    model_name: str = ""
    before: Any = None
    after: Any = None
    details: dict[str, Any] | None = None


def event_hash_material(
    *,
    sequence: int,
    occurred_at: datetime,
    actor_kind: str,
    actor_id: str,
    actor_display: str,
    source: str,
    action: str,
    category: str,
    model_name: str,
    before: Any,
    after: Any,
    details: Any,
    request_id: str,
    prev_hash: str,
) -> bytes:
    """The canonical bytes an event's hash covers: sorted keys, no whitespace."""
    material = {
        "sequence": sequence,
        "occurred_at": occurred_at.isoformat(),
        "actor": [actor_kind, actor_id, actor_display],
        "source": source,
        "action": action,
        "category": category,
        "model_name": model_name,
        "before": before,
        "after": after,
        "details": details,
        "request_id": request_id,
        "prev_hash": prev_hash,
    }
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    """Recompute the hash of a stored event from its fields."""
    return hashlib.sha256(
        event_hash_material(
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            actor_display=event.actor_display,
            source=event.source,
            action=event.action,
            category=event.category,
            model_name=event.model_name,
            before=event.before,
            after=event.after,
            details=event.details,
            request_id=event.request_id,
            prev_hash=event.prev_hash,
        )
    ).hexdigest()


# The one registered list: the audit app's own actions, plus those the apps above it
# register for themselves at start-up (``audit_actions_register``), since audit must
# not import them to learn their names.
_registered_actions: set[str] = set(AuditAction.values)


def audit_actions_register(*, actions: Iterable[str]) -> None:
    """Add an app's namespaced actions (e.g. ``licensing.license_created``) to the registered list.

    Call it from the app's ``AppConfig.ready``; an action must hold a namespace
    (``app.verb``) so the apps' actions cannot collide.
    """
    for action in actions:
        if "." not in action:
            raise ValueError(f"audit action {action!r} needs a namespace ('app.verb')")
        _registered_actions.add(action)


def audit_actions_registered() -> frozenset[str]:
    """Every action an event may record."""
    return frozenset(_registered_actions)


@transaction.atomic(savepoint=False)
def audit_events_append(
    *,
    events: list[PendingEvent],
    actor: Actor,
    source: str = EventSource.SYSTEM,
    request_id: str = "",
) -> list[AuditEvent]:
    """Append events to the chain in order, in the caller's transaction.

    ``request_id`` defaults to the id of the request or task being served, so every
    caller (views, admin actions, tasks) records it without passing it down.
    """
    if not events:
        return []
    unknown = sorted({event.action for event in events} - _registered_actions)
    if unknown:
        raise ValueError(
            f"unregistered audit action(s) {unknown}: add them to audit.models.AuditAction, "
            "or register an app's own with audit_actions_register"
        )
    request_id = request_id or current_request_id()
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    occurred_at = timezone.now()
    sequence, prev_hash = head.sequence, head.hash
    rows: list[AuditEvent] = []
    for pending in events:
        sequence += 1
        details = pending.details or {}
        row = AuditEvent(
            sequence=sequence,
            occurred_at=occurred_at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_display=actor.display_name,
            source=source,
            action=pending.action,
            category=pending.category,
            model_name=pending.model_name,
            before=pending.before,
            after=pending.after,
            details=details,
            request_id=request_id,
            prev_hash=prev_hash,
        )
        row.hash = event_hash(row)
        prev_hash = row.hash
        rows.append(row)
    AuditEvent.objects.bulk_create(rows)
    AuditChainHead.objects.filter(id=1).update(sequence=sequence, hash=prev_hash)
    return rows


def audit_event_append(
    *,
    action: str,
    actor: Actor,
    source: str = EventSource.SYSTEM,
    category: str = "",
    model_name: str = "",
    before: Any = None,
    after: Any = None,
    details: dict[str, Any] | None = None,
    request_id: str = "",
) -> AuditEvent:
    """Append one event (see ``audit_events_append``)."""
    return audit_events_append(
        events=[PendingEvent(action, category, model_name, before, after, details)],
        actor=actor,
        source=source,
        request_id=request_id,
    )[0]
