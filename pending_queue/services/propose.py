"""Proposing: a validated draft becomes a queued change proposal; a requestor may withdraw one."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction, EventSource
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.legacy import canonical_to_legacy_records
from horde_model_reference.legacy.types import CanonicalEntry
from pending_queue.models import ChangeProposal, Status
from pending_queue.services.drafts import TEXT, ProposalDraft, proposal_draft_v1, proposal_draft_v2
from pending_queue.services.shared import actor_fields, proposal_audit, proposal_for_update
from pending_queue.services.transitions import proposals_transition, statuses_allowed_before


def related_models(category: str, name: str) -> list[str]:
    """The legacy backend entries a text model also appears as."""
    if category != TEXT:
        return []
    short = name.split("/")[1] if "/" in name else name
    return [f"aphrodite/{name}", f"koboldcpp/{short}"]


@transaction.atomic
def proposal_create(
    *,
    draft: ProposalDraft,
    actor: Actor,
    source: str = EventSource.API,
    request_metadata: dict[str, Any] | None = None,
    notes: str = "",
    upstream_conflict: bool = False,
) -> ChangeProposal:
    """Queue a validated change (see ``pending_queue.services.drafts``); nothing is checked again.

    ``upstream_conflict`` marks a change the upstream import could not apply because
    the record was changed here too.
    """
    now = timezone.now()
    metadata = dict(request_metadata or {})
    if draft.category == TEXT:
        metadata.setdefault("related_models", related_models(draft.category, draft.model_name))
    proposal = ChangeProposal.objects.create(
        category=draft.category,
        model_name=draft.model_name,
        operation=draft.operation,
        payload=draft.payload,
        legacy_residue=draft.legacy_residue,
        submitted_format=draft.submitted_format,
        base_version=draft.base_version,
        status=Status.PENDING,
        notes=notes,
        request_metadata=metadata,
        upstream_conflict=upstream_conflict,
        requested_at=now,
        updated_at=now,
        **actor_fields("requested_by", actor),
    )
    proposal_audit(actor, source, AuditAction.PROPOSAL_CREATED, proposal)
    return proposal


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
    """A v2 write in one call (the admin's): ``proposal_draft_v2`` then ``proposal_create``."""
    draft = proposal_draft_v2(category=category, operation=operation, body=body, path_name=path_name)
    return proposal_create(draft=draft, actor=actor, source=source, request_metadata={"route": route})


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
    """A v1 (legacy-shaped) write in one call: ``proposal_draft_v1`` then ``proposal_create``."""
    draft = proposal_draft_v1(category=category, operation=operation, body=body, path_name=path_name)
    return proposal_create(draft=draft, actor=actor, source=source, request_metadata={"route": route})


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
    proposal_audit(actor, source, AuditAction.PROPOSAL_WITHDRAWN, proposal)
    return proposal
