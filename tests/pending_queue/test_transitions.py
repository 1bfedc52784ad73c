"""The state machine's table is the truth: every status change goes through one guarded helper."""

from __future__ import annotations

import pytest

from audit.services import Actor
from common.errors import DomainError
from pending_queue.models import ALLOWED_TRANSITIONS, ChangeProposal, Status
from pending_queue.services import (
    TransitionNotAllowedError,
    batch_review,
    proposal_apply,
    proposal_create_v2,
    proposals_transition,
    statuses_allowed_before,
)
from tests.factories import sd_payload

pytestmark = pytest.mark.django_db

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"


def pending(name: str = "Alpha") -> ChangeProposal:
    return proposal_create_v2(
        category=SD, operation="create", body=sd_payload(name), path_name=None, actor=ALICE
    )


def applied(name: str = "Alpha") -> ChangeProposal:
    proposal = pending(name)
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    return proposal_apply(change_id=proposal.pk, actor=BOB)


def test_allowed_sources_are_read_from_the_table() -> None:
    for target in Status.values:
        expected = [source for source, targets in ALLOWED_TRANSITIONS.items() if target in targets]
        assert statuses_allowed_before(target) == expected
    assert statuses_allowed_before(Status.APPLIED) == [Status.APPLYING]
    assert statuses_allowed_before(Status.PENDING) == []


def test_a_move_out_of_a_final_state_changes_nothing() -> None:
    proposal = applied()
    # applied -> rejected is not in the table: the guarded UPDATE matches no row.
    moved = proposals_transition(
        change_ids=[proposal.pk],
        to=Status.REJECTED,
        values={"reject_reason": "late", "updated_at": proposal.updated_at},
    )
    assert moved == 0
    proposal.refresh_from_db()
    assert proposal.status == Status.APPLIED and proposal.reject_reason == ""


def test_naming_a_source_the_table_does_not_allow_is_refused() -> None:
    proposal = pending()
    # pending -> applied skips review and apply: the table does not list it.
    with pytest.raises(TransitionNotAllowedError, match="not in ALLOWED_TRANSITIONS"):
        proposals_transition(
            change_ids=[proposal.pk], to=Status.APPLIED, only_from=[Status.PENDING], values={}
        )
    proposal.refresh_from_db()
    assert proposal.status == Status.PENDING


def test_a_target_nothing_may_reach_is_refused() -> None:
    proposal = applied()
    with pytest.raises(TransitionNotAllowedError):
        proposals_transition(change_ids=[proposal.pk], to=Status.PENDING, values={})
    proposal.refresh_from_db()
    assert proposal.status == Status.APPLIED


def test_an_allowed_move_happens_once() -> None:
    proposal = pending()
    values = {"updated_at": proposal.updated_at}
    assert proposals_transition(change_ids=[proposal.pk], to=Status.WITHDRAWN, values=values) == 1
    # The second racer finds the row no longer in an allowed source state.
    assert proposals_transition(change_ids=[proposal.pk], to=Status.WITHDRAWN, values=values) == 0
    proposal.refresh_from_db()
    assert proposal.status == Status.WITHDRAWN


def test_the_table_decides_which_proposals_a_review_may_reject() -> None:
    done = applied("Done")
    open_one = pending("Open")
    with pytest.raises(DomainError, match="is not pending or approved"):
        batch_review(
            title="late", approved_ids=[], rejected_ids=[done.pk, open_one.pk], reason="no", actor=BOB
        )
    open_one.refresh_from_db()
    assert open_one.status == Status.PENDING
