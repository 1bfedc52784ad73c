"""Reads of the queue: listings, the wire shape of a proposal, diffs, beta models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from audit.models import AuditEvent, EventSource
from pending_queue.models import Batch, ChangeProposal, Operation, Status
from references.selectors import record_get


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _actor(kind: str, actor_id: str, name: str) -> dict[str, str] | None:
    return {"kind": kind, "id": actor_id, "display_name": name} if actor_id else None


def proposal_as_dict(proposal: ChangeProposal) -> dict[str, Any]:
    """The established ``PendingChangeRecord`` shape, plus our actor objects and versions.

    Keys whose value is null are included; callers that want the compact form drop them.
    """
    batch: Batch | None = proposal.batch
    return {
        "change_id": proposal.pk,
        "category": proposal.category,
        "model_name": proposal.model_name,
        "operation": proposal.operation,
        "payload": proposal.payload,
        "requested_by": proposal.requested_by_id,
        "requested_username": proposal.requested_by_name,
        "requested_at": _unix(proposal.requested_at),
        "status": proposal.status,
        "notes": proposal.notes or None,
        "batch_id": proposal.batch_id,
        "batch_title": batch.title if batch is not None else None,
        "approved_by": proposal.approved_by_id or None,
        "approved_username": proposal.approved_by_name or None,
        "approved_at": _unix(proposal.approved_at),
        "rejected_by": proposal.rejected_by_id or None,
        "rejected_username": proposal.rejected_by_name or None,
        "rejected_at": _unix(proposal.rejected_at),
        "reject_reason": proposal.reject_reason or None,
        "applied_at": _unix(proposal.applied_at),
        "applied_by": proposal.applied_by_id or None,
        "applied_username": proposal.applied_by_name or None,
        "applied_job_id": proposal.applied_job_id or None,
        "updated_at": _unix(proposal.updated_at),
        "request_metadata": proposal.request_metadata,
        "related_models": proposal.request_metadata.get("related_models"),
        "submitted_format": proposal.submitted_format,
        "base_version": proposal.base_version,
        "applied_version": proposal.applied_version,
        "superseded_by": proposal.superseded_by_id,
        "upstream_conflict": proposal.upstream_conflict,
        "requester": _actor(proposal.requested_by_kind, proposal.requested_by_id, proposal.requested_by_name),
        "approver": _actor(proposal.approved_by_kind, proposal.approved_by_id, proposal.approved_by_name),
        "rejecter": _actor(proposal.rejected_by_kind, proposal.rejected_by_id, proposal.rejected_by_name),
        "applier": _actor(proposal.applied_by_kind, proposal.applied_by_id, proposal.applied_by_name),
    }


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """Nulls omitted, as the established write responses are."""
    return {key: value for key, value in record.items() if value is not None}


@dataclass(frozen=True)
class ProposalFilters:
    statuses: Sequence[str] = ()
    categories: Sequence[str] = ()
    batch_id: int | None = None
    model_name: str | None = None
    requested_by: Sequence[str] = ()


def proposal_queryset(filters: ProposalFilters) -> QuerySet[ChangeProposal]:
    query = ChangeProposal.objects.select_related("batch").order_by("pk")
    if filters.statuses:
        query = query.filter(status__in=filters.statuses)
    if filters.categories:
        query = query.filter(category__in=filters.categories)
    if filters.batch_id is not None:
        query = query.filter(batch_id=filters.batch_id)
    if filters.model_name:
        query = query.filter(model_name__icontains=filters.model_name.strip())
    if filters.requested_by:
        query = query.filter(requested_by_id__in=[r.strip() for r in filters.requested_by])
    return query


def proposal_page(filters: ProposalFilters, *, offset: int, limit: int) -> dict[str, Any]:
    """``{items, total, offset, limit}``: total counted before paging, items by change id."""
    query = proposal_queryset(filters)
    total = query.count()
    items = [proposal_as_dict(p) for p in query[offset : offset + limit]]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def proposal_get(change_id: int) -> ChangeProposal | None:
    return ChangeProposal.objects.select_related("batch").filter(pk=change_id).first()


def proposal_diff(proposal: ChangeProposal) -> dict[str, Any]:
    """Field-level diff of a proposal against the record as it is now."""
    from common.diff import change_diff

    current = record_get(category=proposal.category, name=proposal.model_name)
    current_payload = current.payload if current is not None else None
    proposed = None if proposal.operation == Operation.DELETE else proposal.payload
    diff = change_diff(
        category=proposal.category,
        model_name=proposal.model_name,
        operation=proposal.operation,
        current=current_payload,
        proposed=proposed,
    )
    result = diff.as_dict(change_id=proposal.pk)
    result["base_version"] = proposal.base_version
    result["current_version"] = current.version if current is not None else None
    result["is_stale"] = proposal.status in (Status.PENDING, Status.APPROVED) and (
        (current.version if current is not None else None) != proposal.base_version
    )
    return result


def pending_models(category: str) -> dict[str, Any]:
    """The not-yet-applied creates and updates of a category, newest per name."""
    newest: dict[str, Any] = {}
    query = ChangeProposal.objects.filter(
        category=category,
        status__in=[Status.PENDING, Status.APPROVED],
        operation__in=[Operation.CREATE, Operation.UPDATE],
    ).order_by("updated_at", "pk")
    for name, payload in query.values_list("model_name", "payload"):
        newest[name] = payload
    return newest


def proposals_applied_since_sync(*, category: str, names: Sequence[str]) -> list[ChangeProposal]:
    """Applied proposals of these records since each record last came from upstream.

    Oldest first. What an upstream import brought in is already upstream's content, so
    only proposals applied after a record's latest ``sync`` event explain how it differs
    (a pull request's body links them).
    """
    last_sync = (
        AuditEvent.objects.filter(
            category=category, model_name=OuterRef("model_name"), source=EventSource.SYNC
        )
        .order_by("-sequence")
        .values("occurred_at")[:1]
    )
    return list(
        ChangeProposal.objects.filter(category=category, model_name__in=list(names), status=Status.APPLIED)
        .annotate(last_sync_at=Subquery(last_sync))
        .filter(Q(last_sync_at__isnull=True) | Q(applied_at__gt=F("last_sync_at")))
        .order_by("applied_at", "pk")
    )
