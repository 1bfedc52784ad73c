"""Purging: never-applied proposals are removed, each removal audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from audit.models import AuditAction, EventSource
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from pending_queue.models import PURGEABLE_STATUSES, ChangeProposal
from pending_queue.services.shared import proposal_summary


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
                AuditAction.PROPOSAL_PURGED,
                p.category,
                p.model_name,
                before={**proposal_summary(p), "payload": p.payload, "requested_by": p.requested_by_id},
            )
            for p in doomed
        ]
        ChangeProposal.objects.filter(pk__in=ids).delete()
        audit_events_append(events=events, actor=actor, source=source)
    return PurgeResult(ids, dry_run)
