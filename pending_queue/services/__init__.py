"""Proposing, reviewing, applying and purging changes: the only way records change through the queue.

One module per concern (``drafts``: a write validated once; ``propose``, ``review``,
``apply``, ``purge``); every status
change goes through ``transitions.proposals_transition``, which reads the state
machine's table. Other apps import the public API from here
(``pending_queue.services.proposal_create``), not from the modules.
"""

from pending_queue.services.apply import (
    ApplyFailure,
    ApplyOutcome,
    apply_preconditions,
    batch_apply,
    proposal_apply,
    proposals_apply,
    proposals_recover_stuck,
)
from pending_queue.services.drafts import (
    BACKEND_PREFIXES,
    TEXT,
    ProposalDraft,
    proposal_draft,
    proposal_draft_v1,
    proposal_draft_v2,
)
from pending_queue.services.propose import (
    legacy_view_of,
    proposal_create,
    proposal_create_v1,
    proposal_create_v2,
    proposal_withdraw,
    related_models,
)
from pending_queue.services.purge import PurgeResult, proposals_purge
from pending_queue.services.review import BatchReview, batch_review, proposal_rebase
from pending_queue.services.shared import proposal_summary
from pending_queue.services.transitions import (
    TransitionNotAllowedError,
    proposals_transition,
    statuses_allowed_before,
)

__all__ = [
    "BACKEND_PREFIXES",
    "TEXT",
    "ApplyFailure",
    "ApplyOutcome",
    "BatchReview",
    "ProposalDraft",
    "PurgeResult",
    "TransitionNotAllowedError",
    "apply_preconditions",
    "batch_apply",
    "batch_review",
    "legacy_view_of",
    "proposal_apply",
    "proposal_create",
    "proposal_create_v1",
    "proposal_create_v2",
    "proposal_draft",
    "proposal_draft_v1",
    "proposal_draft_v2",
    "proposal_rebase",
    "proposal_summary",
    "proposal_withdraw",
    "proposals_apply",
    "proposals_purge",
    "proposals_recover_stuck",
    "proposals_transition",
    "related_models",
    "statuses_allowed_before",
]
