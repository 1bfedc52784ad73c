"""A write is validated once, into a draft that ``proposal_create`` trusts; apply keeps one lenient guard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from audit.services import Actor
from common.errors import DomainError
from pending_queue.models import ChangeProposal, Status
from pending_queue.services import (
    ProposalDraft,
    batch_review,
    proposal_apply,
    proposal_create,
    proposal_draft_v1,
    proposal_draft_v2,
)
from references.selectors import record_get
from tests.factories import sd_legacy, sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the payload validations of the write path, by strictness (the real function still runs)."""
    import pending_queue.services.drafts as drafts
    import references.services as services

    counts: Counter[str] = Counter()

    def counting(real: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def wrapper(**kwargs: Any) -> dict[str, Any]:
            counts["strict" if kwargs["strict"] else "lenient"] += 1
            return real(**kwargs)

        return wrapper

    # drafts imported the function by name: both references are counted.
    monkeypatch.setattr(drafts, "payload_validate", counting(services.payload_validate))
    monkeypatch.setattr(services, "payload_validate", counting(services.payload_validate))
    return counts


def test_a_draft_cannot_be_made_outside_the_validating_functions() -> None:
    with pytest.raises(TypeError, match=r"made by pending_queue\.services\.drafts only"):
        ProposalDraft(
            category=SD,
            operation="create",
            model_name="Forged",
            payload={"name": "Forged"},
            legacy_residue={},
            submitted_format="v2",
            base_version=None,
            mint=object(),
        )


def test_a_v2_write_is_validated_strictly_once_and_leniently_once_at_apply(validations: Counter[str]) -> None:
    draft = proposal_draft_v2(category=SD, operation="create", body=sd_payload("Alpha"), path_name=None)
    proposal = proposal_create(draft=draft, actor=ALICE)
    assert validations == Counter(strict=1)
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    assert validations == Counter(strict=1, lenient=1)


def test_a_v1_write_is_validated_strictly_once(validations: Counter[str]) -> None:
    draft = proposal_draft_v1(category=SD, operation="create", body=sd_legacy("Alpha"), path_name=None)
    assert validations == Counter(strict=1)
    assert draft.model_name == "Alpha" and draft.base_version is None and draft.submitted_format == "v1"


def test_proposal_create_stores_the_draft_without_checking_again() -> None:
    draft = proposal_draft_v2(category=SD, operation="create", body=sd_payload("Alpha"), path_name=None)
    # The record appears after the draft was made: the proposal is still stored as
    # drafted (the apply will find the conflict, as for any change that raced).
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ALICE, source="sync")
    proposal = proposal_create(draft=draft, actor=ALICE)
    assert proposal.status == Status.PENDING and proposal.payload == draft.payload
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    with pytest.raises(DomainError) as caught:
        proposal_apply(change_id=proposal.pk, actor=BOB)
    assert caught.value.status == 409


def test_an_update_draft_carries_the_base_version_it_was_checked_against() -> None:
    record = record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ALICE, source="sync")
    body = sd_payload("Alpha", description="new")
    draft = proposal_draft_v2(category=SD, operation="update", body=body, path_name="Alpha")
    assert draft.base_version == record.version
    assert proposal_create(draft=draft, actor=ALICE).base_version == record.version


def test_apply_accepts_a_proposal_valid_under_older_rules() -> None:
    """The one guard at apply is lenient: a queued change is not refused because a rule tightened since."""
    draft = proposal_draft_v2(category=SD, operation="create", body=sd_payload("Alpha"), path_name=None)
    proposal = proposal_create(draft=draft, actor=ALICE)
    # As if the baseline had been accepted when proposed and dropped from the list since.
    older = {**sd_payload("Alpha"), "baseline": "a_baseline_since_retired"}
    ChangeProposal.objects.filter(pk=proposal.pk).update(payload=older)
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    applied = proposal_apply(change_id=proposal.pk, actor=BOB)
    assert applied.status == Status.APPLIED
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["baseline"] == "a_baseline_since_retired"


def test_the_apply_guard_still_refuses_what_no_reader_could_parse() -> None:
    draft = proposal_draft_v2(category=SD, operation="create", body=sd_payload("Alpha"), path_name=None)
    proposal = proposal_create(draft=draft, actor=ALICE)
    ChangeProposal.objects.filter(pk=proposal.pk).update(payload={**sd_payload("Alpha"), "nsfw": "maybe"})
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    with pytest.raises(DomainError) as caught:
        proposal_apply(change_id=proposal.pk, actor=BOB)
    assert caught.value.status == 422
    assert ChangeProposal.objects.get(pk=proposal.pk).status == Status.APPROVED
    assert record_get(category=SD, name="Alpha") is None
