"""What every concern of the queue's services uses: the audit summary of a proposal and its locking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from pending_queue.models import ChangeProposal


def actor_fields(prefix: str, actor: Actor) -> dict[str, str]:
    """The three columns (kind, id, frozen display name) that record an actor on a proposal."""
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


def proposal_audit(actor: Actor, source: str, action: str, proposal: ChangeProposal, **details: Any) -> None:
    """Append one event about one proposal, in the caller's transaction."""
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


def proposal_for_update(change_id: int) -> ChangeProposal:
    """The proposal, locked until the end of the transaction; 404 when it does not exist."""
    proposal = ChangeProposal.objects.select_for_update().filter(pk=change_id).first()
    if proposal is None:
        raise DomainError(f"Change {change_id} not found.", status=404)
    return proposal


def explain_not_in(ids: Sequence[int], allowed: Sequence[str], *, missing_status: int = 404) -> DomainError:
    """Why a guarded transition moved fewer rows than asked: the first id missing or in the wrong state."""
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
