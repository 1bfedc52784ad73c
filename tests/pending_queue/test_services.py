from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from common.errors import DomainError
from pending_queue.models import Batch, ChangeProposal, Status
from pending_queue.selectors import pending_models, proposal_as_dict
from pending_queue.services import (
    batch_apply,
    batch_review,
    proposal_apply,
    proposal_create_v1,
    proposal_create_v2,
    proposal_rebase,
    proposal_withdraw,
    proposals_apply,
    proposals_purge,
    proposals_recover_stuck,
)
from references.selectors import record_get
from tests.factories import sd_legacy, sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"


def propose(name: str = "Alpha", operation: str = "create", **overrides: Any) -> ChangeProposal:
    body = None if operation == "delete" else sd_payload(name, **overrides)
    return proposal_create_v2(
        category=SD,
        operation=operation,
        body=body,
        path_name=name if operation != "create" else None,
        actor=ALICE,
    )


def approve(*proposals: ChangeProposal) -> Batch:
    return batch_review(
        title="review", approved_ids=[p.pk for p in proposals], rejected_ids=[], reason="", actor=BOB
    ).batch


def existing(name: str = "Alpha", **overrides: Any) -> None:
    record_create(category=SD, name=name, payload=sd_payload(name, **overrides), actor=ALICE, source="sync")


def test_full_lifecycle_create() -> None:
    proposal = propose("Alpha")
    assert proposal.status == Status.PENDING and record_get(category=SD, name="Alpha") is None
    batch = approve(proposal)
    applied = proposal_apply(change_id=proposal.pk, actor=BOB)
    assert applied.status == Status.APPLIED and applied.batch_id == batch.pk
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["description"] == "A test model"
    assert applied.applied_version == record.version
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["proposal.created", "proposal.approved", "record.created", "proposal.applied"]
    assert audit_chain_verify().ok


def test_create_on_existing_is_409_and_update_of_missing_is_404() -> None:
    existing("Alpha")
    with pytest.raises(DomainError) as caught:
        propose("Alpha")
    assert caught.value.status == 409
    with pytest.raises(DomainError) as caught:
        propose("Nope", operation="update")
    assert caught.value.status == 404
    with pytest.raises(DomainError) as caught:
        propose("Nope", operation="delete")
    assert caught.value.status == 404


def test_path_body_mismatch_is_400() -> None:
    existing("Alpha")
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category=SD, operation="update", body=sd_payload("Beta"), path_name="Alpha", actor=ALICE
        )
    assert caught.value.status == 400


def test_schema_errors_are_422_with_fields() -> None:
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(category=SD, operation="create", body={"name": "x"}, path_name=None, actor=ALICE)
    assert caught.value.status == 422
    assert isinstance(caught.value.detail, list)
    assert any(item["loc"][-1] == "baseline" for item in caught.value.detail)
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category=SD, operation="create", body=sd_payload("x", baseline="sd9"), path_name=None, actor=ALICE
        )
    assert caught.value.status == 422


@pytest.mark.parametrize("name", ["", "  ", "a\\b", "bad\x01name", "x" * 256])
def test_bad_names_are_422(name: str) -> None:
    with pytest.raises(DomainError) as caught:
        propose(name)
    assert caught.value.status == 422


def test_text_backend_prefix_is_400() -> None:
    body = {"name": "koboldcpp/foo", "parameters": 7_000_000_000}
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category="text_generation", operation="create", body=body, path_name=None, actor=ALICE
        )
    assert caught.value.status == 400


def test_managed_elsewhere_categories_refuse_writes() -> None:
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category="lora", operation="create", body={"name": "x"}, path_name=None, actor=ALICE
        )
    assert caught.value.status == 400


def test_v1_proposal_converts_to_canonical_and_keeps_legacy_data() -> None:
    proposal = proposal_create_v1(
        category=SD, operation="create", body=sd_legacy("Legacy One"), path_name=None, actor=ALICE
    )
    assert proposal.payload is not None and proposal.payload["baseline"] == "stable_diffusion_xl"
    assert "type" not in proposal.payload
    approve(proposal)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    from tests.factories import category_legacy_document

    assert category_legacy_document(SD)["Legacy One"] == sd_legacy("Legacy One")


def test_v1_schema_error_is_422() -> None:
    body = sd_legacy("Bad")
    body["type"] = "not-ckpt"
    with pytest.raises(DomainError) as caught:
        proposal_create_v1(category=SD, operation="create", body=body, path_name=None, actor=ALICE)
    assert caught.value.status == 422


def test_double_approve_is_refused() -> None:
    proposal = propose("Alpha")
    approve(proposal)
    with pytest.raises(DomainError) as caught:
        approve(proposal)
    assert caught.value.status == 400 and "not pending" in str(caught.value)


def test_review_is_all_or_nothing() -> None:
    first, second = propose("A"), propose("B")
    approve(second)
    with pytest.raises(DomainError):
        approve(first, second)
    assert ChangeProposal.objects.get(pk=first.pk).status == Status.PENDING


def test_reject_needs_a_reason_and_can_drop_an_approved_proposal() -> None:
    proposal = propose("Alpha")
    with pytest.raises(DomainError) as caught:
        batch_review(title="t", approved_ids=[], rejected_ids=[proposal.pk], reason=" ", actor=BOB)
    assert caught.value.status == 422
    approve(proposal)
    review = batch_review(title="t", approved_ids=[], rejected_ids=[proposal.pk], reason="stale", actor=BOB)
    assert review.rejected[0].status == Status.REJECTED and review.rejected[0].reject_reason == "stale"


def test_apply_unapproved_or_twice_is_refused() -> None:
    proposal = propose("Alpha")
    with pytest.raises(DomainError) as caught:
        proposal_apply(change_id=proposal.pk, actor=BOB)
    assert caught.value.status == 400
    approve(proposal)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    with pytest.raises(DomainError):
        proposal_apply(change_id=proposal.pk, actor=BOB)
    assert AuditEvent.objects.filter(action="proposal.applied").count() == 1


def test_stale_update_is_a_conflict_returned_to_approved() -> None:
    existing("Alpha")
    first = propose("Alpha", operation="update", description="first")
    second = propose("Alpha", operation="update", description="second")
    approve(first, second)
    proposal_apply(change_id=first.pk, actor=BOB)
    with pytest.raises(DomainError) as caught:
        proposal_apply(change_id=second.pk, actor=BOB)
    assert caught.value.status == 409
    assert ChangeProposal.objects.get(pk=second.pk).status == Status.APPROVED
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["description"] == "first"
    rebased = proposal_rebase(change_id=second.pk, actor=BOB)
    assert ChangeProposal.objects.get(pk=second.pk).status == Status.SUPERSEDED
    assert ChangeProposal.objects.get(pk=second.pk).superseded_by_id == rebased.pk
    approve(rebased)
    proposal_apply(change_id=rebased.pk, actor=BOB)
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["description"] == "second"


def test_apply_many_stops_at_the_first_failure() -> None:
    existing("Alpha")
    ok = propose("Beta")
    stale = propose("Alpha", operation="update", description="x")
    later = propose("Gamma")
    approve(ok, stale, later)
    record_create(
        category=SD, name="Interloper", payload=sd_payload("Interloper"), actor=ALICE, source="sync"
    )
    from tests.record_writes import record_update

    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", nsfw=True), actor=ALICE, source="sync"
    )
    outcome = proposals_apply(change_ids=[ok.pk, stale.pk, later.pk], actor=BOB)
    assert [p.pk for p in outcome.applied] == [ok.pk]
    assert (
        outcome.failure is not None
        and outcome.failure.change_id == stale.pk
        and outcome.failure.status == 409
    )
    assert ChangeProposal.objects.get(pk=later.pk).status == Status.APPROVED


def test_batch_apply() -> None:
    proposals = [propose(n) for n in "ABC"]
    batch = approve(*proposals)
    outcome = batch_apply(batch_id=batch.pk, actor=BOB)
    assert len(outcome.applied) == 3 and outcome.failure is None
    assert batch_apply(batch_id=batch.pk, actor=BOB).applied == []
    with pytest.raises(DomainError) as caught:
        batch_apply(batch_id=999, actor=BOB)
    assert caught.value.status == 404


def test_delete_proposal_carries_the_current_record() -> None:
    existing("Alpha")
    proposal = propose("Alpha", operation="delete")
    assert proposal.payload is not None and proposal.payload["name"] == "Alpha"
    approve(proposal)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    assert record_get(category=SD, name="Alpha") is None


def test_withdraw_only_by_the_requestor_and_only_pending() -> None:
    proposal = propose("Alpha")
    with pytest.raises(DomainError) as caught:
        proposal_withdraw(change_id=proposal.pk, actor=BOB)
    assert caught.value.status == 403
    assert proposal_withdraw(change_id=proposal.pk, actor=ALICE).status == Status.WITHDRAWN
    with pytest.raises(DomainError):
        proposal_withdraw(change_id=proposal.pk, actor=ALICE)


def test_stuck_applying_is_recovered() -> None:
    proposal = propose("Alpha")
    approve(proposal)
    long_ago = timezone.now() - timedelta(hours=1)
    ChangeProposal.objects.filter(pk=proposal.pk).update(
        status=Status.APPLYING, applied_job_id="crashed", applying_since=long_ago
    )
    assert proposals_recover_stuck() == 1
    assert ChangeProposal.objects.get(pk=proposal.pk).status == Status.APPROVED
    assert proposal_apply(change_id=proposal.pk, actor=BOB).status == Status.APPLIED


def test_purge_removes_only_never_applied_and_is_audited() -> None:
    applied = propose("A")
    approve(applied)
    proposal_apply(change_id=applied.pk, actor=BOB)
    pending = propose("B")
    with pytest.raises(DomainError) as caught:
        proposals_purge(actor=BOB)
    assert caught.value.status == 422
    dry = proposals_purge(purge_all=True, dry_run=True, actor=BOB)
    assert dry.removed_change_ids == [pending.pk] and ChangeProposal.objects.count() == 2
    result = proposals_purge(purge_all=True, actor=BOB)
    assert result.removed_change_ids == [pending.pk]
    assert list(ChangeProposal.objects.values_list("pk", flat=True)) == [applied.pk]
    assert AuditEvent.objects.filter(action="proposal.purged").count() == 1


def test_pending_models_newest_per_name_and_no_deletes() -> None:
    existing("Alpha")
    propose("Alpha", operation="update", description="one")
    propose("Alpha", operation="update", description="two")
    propose("Alpha", operation="delete")
    propose("Beta")
    models = pending_models(SD)
    assert set(models) == {"Alpha", "Beta"}
    assert models["Alpha"]["description"] == "two"


def test_wire_shape() -> None:
    proposal = propose("Alpha")
    record = proposal_as_dict(proposal)
    assert record["change_id"] == proposal.pk and record["status"] == "pending"
    assert record["requested_by"] == "1" and record["requested_username"] == "alice#1"
    assert record["requester"] == {"kind": "horde", "id": "1", "display_name": "alice#1"}
    assert isinstance(record["requested_at"], int)


def test_checks_run_in_the_established_order() -> None:
    existing("Alpha")
    # Schema errors (422) come before a path/body name mismatch (400)...
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category=SD, operation="update", body={"name": "Beta"}, path_name="Alpha", actor=ALICE
        )
    assert caught.value.status == 422
    # ...name rules (422) before the mismatch...
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category=SD, operation="update", body=sd_payload("bad\\name"), path_name="Alpha", actor=ALICE
        )
    assert caught.value.status == 422
    # ...and the mismatch (400) before existence (404).
    with pytest.raises(DomainError) as caught:
        proposal_create_v2(
            category=SD, operation="update", body=sd_payload("Beta"), path_name="Gone", actor=ALICE
        )
    assert caught.value.status == 400
