"""The admin: review desk for proposals, read-only records and audit, proposing from a record."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor
from pending_queue.models import ChangeProposal, Status
from pending_queue.services import batch_review, proposal_create_v2
from references.models import ModelRecord
from references.selectors import record_get
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update

pytestmark = pytest.mark.django_db

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
CAROL = Actor(kind="horde", id="3", display_name="carol#3")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"
PROPOSALS = "admin:pending_queue_changeproposal_changelist"


def staff_user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="pw", is_staff=True)
    for codename in codenames:
        app_label = "pending_queue" if codename.endswith(("changeproposal", "batch")) else "references"
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label=app_label)
        )
    return user


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def approver() -> Client:
    return login(staff_user("ann", "approve_changeproposal"))


@pytest.fixture
def requestor_user() -> User:
    return staff_user("rita", "add_changeproposal")


@pytest.fixture
def requestor(requestor_user: User) -> Client:
    return login(requestor_user)


@pytest.fixture
def superuser() -> Client:
    return login(User.objects.create_superuser(username="root", password="pw"))


def existing(name: str = "Alpha", **overrides: Any) -> ModelRecord:
    return record_create(
        category=SD, name=name, payload=sd_payload(name, **overrides), actor=BOB, source="sync"
    )


def propose_update(name: str = "Alpha", actor: Actor = ALICE, **overrides: Any) -> ChangeProposal:
    return proposal_create_v2(
        category=SD, operation="update", body=sd_payload(name, **overrides), path_name=name, actor=actor
    )


def propose_create(name: str, actor: Actor = ALICE) -> ChangeProposal:
    return proposal_create_v2(
        category=SD, operation="create", body=sd_payload(name), path_name=None, actor=actor
    )


def approve(*proposals: ChangeProposal) -> None:
    batch_review(title="t", approved_ids=[p.pk for p in proposals], rejected_ids=[], reason="", actor=BOB)


def change_url(proposal: ChangeProposal, action: str = "change") -> str:
    return reverse(f"admin:pending_queue_changeproposal_{action}", args=[proposal.pk])


def texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def status_of(proposal: ChangeProposal) -> str:
    proposal.refresh_from_db()
    return proposal.status


# --- listing -----------------------------------------------------------------------


def test_changelist_filters_and_search(approver: Client) -> None:
    existing("Alpha")
    update = propose_update("Alpha", description="new words")
    create = propose_create("Beta", actor=CAROL)
    approve(create)
    url = reverse(PROPOSALS)

    def names(query: str) -> set[str]:
        response = approver.get(url + query)
        assert response.status_code == 200
        return {p.model_name for p in response.context["cl"].result_list}

    assert names("") == {"Alpha", "Beta"}
    assert names("?status__exact=pending") == {"Alpha"}
    assert names(f"?category__exact={SD}") == {"Alpha", "Beta"}
    assert names("?category__exact=clip") == set()
    assert names("?requester=horde:3") == {"Beta"}
    assert names(f"?batch__id__exact={ChangeProposal.objects.get(pk=create.pk).batch_id}") == {"Beta"}
    assert names("?q=alph") == {"Alpha"}
    assert names("?operation__exact=create") == {"Beta"}
    page = approver.get(url).content.decode()
    assert "carol#3 (horde)" in page  # the requester filter lists who asked
    assert f'href="{change_url(update)}"' in page


def test_batch_admin_lists_batches(approver: Client) -> None:
    approve(propose_create("Beta"))
    response = approver.get(reverse("admin:pending_queue_batch_changelist"))
    assert response.status_code == 200
    assert "proposals of this batch" in response.content.decode()


# --- the detail page -------------------------------------------------------------------


def diff_rows(html: str) -> dict[str, str]:
    """Field path -> the class attribute of its diff row."""
    rows = re.findall(r'<tr class="([^"]*)">\s*<td class="diff-path">([^<\s]+)', html)
    return {path: classes for classes, path in rows}


def test_detail_shows_field_diff_with_critical_fields_highlighted(approver: Client) -> None:
    existing("Alpha")
    proposal = propose_update("Alpha", description="better words", nsfw=True)
    response = approver.get(change_url(proposal))
    assert response.status_code == 200
    html = response.content.decode()
    rows = diff_rows(html)
    # A v2 update of a record that never had licensing stores the explicit "legacy record,
    # not reviewed" conclusion (as 8.6.2 does): a licensing change, critical everywhere.
    assert set(rows) == {"description", "nsfw", "licensing"}
    assert "diff-critical" in rows["licensing"] and "diff-added" in rows["licensing"]
    assert "diff-critical" in rows["nsfw"] and "diff-modified" in rows["nsfw"]
    assert "diff-critical" not in rows["description"]
    assert 'badge badge-critical">critical</span>' in html
    assert "<pre>A test model</pre>" in html and "<pre>better words</pre>" in html
    # The proposed record is shown whole, read-only; there is nothing to save.
    assert "Proposed record (v2)" in html and "better words" in html
    assert 'name="_save"' not in html
    assert 'id="approve-button"' in html and 'id="reject-button"' in html
    assert 'id="apply-button"' not in html and 'id="stale-warning"' not in html


def test_detail_of_a_stale_proposal_says_so_and_offers_rebase(approver: Client) -> None:
    record = existing("Alpha")
    proposal = propose_update("Alpha", description="mine")
    newer = record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", description="theirs"),
        expected_version=record.version, actor=BOB, source="sync",
    )  # fmt: skip
    html = approver.get(change_url(proposal)).content.decode()
    assert (
        "the record changed since this proposal was written\n"
        f"    (version {record.version} -&gt; {newer.version})" in html
    )
    assert 'id="rebase-button"' in html


# --- approve, reject, apply, re-base from the detail page ----------------------------------


def test_approve_button_approves_through_the_service(approver: Client) -> None:
    proposal = propose_create("Beta")
    response = approver.post(change_url(proposal, "approve"))
    assert response.status_code == 302 and response["Location"] == change_url(proposal)
    proposal.refresh_from_db()
    assert proposal.status == Status.APPROVED and proposal.batch is not None
    assert proposal.approved_by_kind == "django" and proposal.approved_by_name == "ann"
    event = AuditEvent.objects.get(action="proposal.approved")
    assert (event.source, event.actor_kind, event.actor_display) == ("admin", "django", "ann")
    assert any(m.startswith("Approved 1 (#") for m in texts(response))
    assert approver.get(change_url(proposal, "approve")).status_code == 405  # a GET changes nothing


def test_reject_needs_a_reason(approver: Client) -> None:
    proposal = propose_create("Beta")
    page = approver.get(change_url(proposal, "reject"))
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    again = approver.post(change_url(proposal, "reject"), {"reason": "   "})
    assert again.status_code == 400
    assert "A reason is required" in again.content.decode() and 'name="reason"' in again.content.decode()
    assert status_of(proposal) == Status.PENDING
    done = approver.post(change_url(proposal, "reject"), {"reason": "duplicate of Alpha"})
    assert done.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Status.REJECTED and proposal.reject_reason == "duplicate of Alpha"
    assert AuditEvent.objects.get(action="proposal.rejected").details["reason"] == "duplicate of Alpha"


def test_apply_button_applies_and_the_record_changes(approver: Client) -> None:
    existing("Alpha")
    proposal = propose_update("Alpha", description="applied words")
    approver.post(change_url(proposal, "approve"))
    assert 'id="apply-button"' in approver.get(change_url(proposal)).content.decode()
    response = approver.post(change_url(proposal, "apply"), follow=True)
    assert status_of(proposal) == Status.APPLIED
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["description"] == "applied words"
    assert f"Applied 1 (#{proposal.pk})." in texts(response) or f"Applied 1 (#{proposal.pk})." in (
        response.content.decode()
    )
    assert AuditEvent.objects.filter(action="record.updated", source="admin").count() == 1


def test_apply_of_a_pending_proposal_is_refused_with_a_message(approver: Client) -> None:
    proposal = propose_create("Beta")
    response = approver.post(change_url(proposal, "apply"))
    assert response.status_code == 302
    assert any(m.startswith("Nothing was applied") for m in texts(response))
    assert status_of(proposal) == Status.PENDING


def test_rebase_button_supersedes_a_stale_proposal(approver: Client) -> None:
    record = existing("Alpha")
    proposal = propose_update("Alpha", description="mine")
    newer = record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", description="theirs"),
        expected_version=record.version, actor=BOB, source="sync",
    )  # fmt: skip
    response = approver.post(change_url(proposal, "rebase"))
    proposal.refresh_from_db()
    assert proposal.status == Status.SUPERSEDED and proposal.superseded_by is not None
    assert proposal.superseded_by.base_version == newer.version
    assert response["Location"] == change_url(proposal.superseded_by)


# --- bulk actions -----------------------------------------------------------------------


def bulk(client: Client, action: str, proposals: list[ChangeProposal], **extra: str) -> Any:
    data: dict[str, Any] = {"action": action, "_selected_action": [str(p.pk) for p in proposals], **extra}
    return client.post(reverse(PROPOSALS), data)


def test_bulk_approve_and_apply(approver: Client) -> None:
    proposals = [propose_create(name) for name in ("Beta", "Gamma", "Delta")]
    response = bulk(approver, "approve_selected", proposals)
    assert response.status_code == 302
    assert [status_of(p) for p in proposals] == [Status.APPROVED] * 3
    assert len({p.batch_id for p in proposals}) == 1
    response = bulk(approver, "apply_selected", proposals)
    assert [status_of(p) for p in proposals] == [Status.APPLIED] * 3
    ids = ", ".join(f"#{p.pk}" for p in proposals)
    assert f"Applied 3 ({ids})." in texts(response)
    assert {r.name for r in ModelRecord.objects.all()} == {"Beta", "Gamma", "Delta"}


def test_bulk_apply_reports_the_conflict(approver: Client) -> None:
    record = existing("Alpha")
    fine = propose_create("Beta")
    stale = propose_update("Alpha", description="mine")
    approve(fine, stale)
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", description="theirs"),
        expected_version=record.version, actor=BOB, source="sync",
    )  # fmt: skip
    response = bulk(approver, "apply_selected", [fine, stale])
    [message] = texts(response)
    assert message.startswith(f"Applied 1 (#{fine.pk}); change {stale.pk} failed: ")
    assert status_of(fine) == Status.APPLIED and status_of(stale) == Status.APPROVED
    current = record_get(category=SD, name="Alpha")
    assert current is not None and current.payload["description"] == "theirs"


def test_bulk_reject_asks_for_a_reason_first(approver: Client) -> None:
    proposals = [propose_create("Beta"), propose_create("Gamma")]
    confirm = bulk(approver, "reject_selected", proposals)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert 'name="reason"' in html and 'name="post" value="yes"' in html
    assert [status_of(p) for p in proposals] == [Status.PENDING] * 2
    missing = bulk(approver, "reject_selected", proposals, post="yes", reason="")
    assert missing.status_code == 400 and "A reason is required" in missing.content.decode()
    assert [status_of(p) for p in proposals] == [Status.PENDING] * 2
    done = bulk(approver, "reject_selected", proposals, post="yes", reason="not wanted")
    assert done.status_code == 302
    assert [status_of(p) for p in proposals] == [Status.REJECTED] * 2


def test_bulk_rebase(approver: Client) -> None:
    record = existing("Alpha")
    stale = propose_update("Alpha", description="mine")
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", description="theirs"),
        expected_version=record.version, actor=BOB, source="sync",
    )  # fmt: skip
    bulk(approver, "rebase_selected", [stale])
    assert status_of(stale) == Status.SUPERSEDED


# --- who may review ---------------------------------------------------------------------


def test_a_requestor_sees_proposals_but_cannot_review(requestor: Client) -> None:
    proposal = propose_create("Beta")
    listing = requestor.get(reverse(PROPOSALS))
    assert listing.status_code == 200
    assert "approve_selected" not in listing.content.decode()
    detail = requestor.get(change_url(proposal)).content.decode()
    assert 'id="approve-button"' not in detail and "Only approvers can" in detail
    assert requestor.post(change_url(proposal, "approve")).status_code == 403
    assert requestor.get(change_url(proposal, "reject")).status_code == 403
    assert requestor.post(change_url(proposal, "reject"), {"reason": "x"}).status_code == 403
    assert requestor.post(change_url(proposal, "apply")).status_code == 403
    assert requestor.post(change_url(proposal, "rebase")).status_code == 403
    bulk(requestor, "approve_selected", [proposal])
    assert status_of(proposal) == Status.PENDING
    assert not AuditEvent.objects.filter(action="proposal.approved").exists()


def test_staff_without_queue_permissions_is_refused() -> None:
    client = login(staff_user("nobody"))
    proposal = propose_create("Beta")
    assert client.get(reverse(PROPOSALS)).status_code == 403
    assert client.post(change_url(proposal, "approve")).status_code == 403


def test_proposals_cannot_be_added_edited_or_deleted_in_place(superuser: Client) -> None:
    proposal = propose_create("Beta")
    assert superuser.get(reverse("admin:pending_queue_changeproposal_add")).status_code == 403
    assert superuser.get(change_url(proposal, "delete")).status_code == 403
    superuser.post(change_url(proposal), {"model_name": "Hacked", "payload": "{}"})
    proposal.refresh_from_db()
    assert proposal.model_name == "Beta" and proposal.status == Status.PENDING
    # Superusers are approvers implicitly.
    assert superuser.post(change_url(proposal, "approve")).status_code == 302
    assert status_of(proposal) == Status.APPROVED


# --- proposing from the records admin ---------------------------------------------------


def test_a_requestor_proposes_an_update_from_a_record(requestor: Client, requestor_user: User) -> None:
    record = existing("Alpha")
    page = requestor.get(reverse("admin:references_modelrecord_change", args=[record.pk]))
    propose_url = reverse("admin:references_modelrecord_propose", args=[record.pk])
    assert page.status_code == 200 and propose_url in page.content.decode()
    form = requestor.get(propose_url)
    assert form.status_code == 200
    prefilled = json.loads(form.context["form"].initial["payload"])
    assert prefilled == record.payload
    prefilled["description"] = "proposed in the admin"
    response = requestor.post(propose_url, {"payload": json.dumps(prefilled)})
    proposal = ChangeProposal.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(proposal)
    assert (proposal.operation, proposal.status, proposal.base_version) == (
        "update",
        "pending",
        record.version,
    )
    assert (proposal.requested_by_kind, proposal.requested_by_id) == ("django", str(requestor_user.pk))
    assert proposal.payload is not None and proposal.payload["description"] == "proposed in the admin"
    assert AuditEvent.objects.get(action="proposal.created").source == "admin"
    # The record itself is untouched until an approver applies.
    assert record_get(category=SD, name="Alpha") == record
    assert ModelRecord.objects.get(pk=record.pk).payload["description"] == "A test model"


def test_a_requestor_proposes_a_deletion(requestor: Client) -> None:
    record = existing("Alpha")
    url = reverse("admin:references_modelrecord_propose", args=[record.pk])
    requestor.post(url, {"payload": "", "delete": "on"})
    proposal = ChangeProposal.objects.get()
    assert (proposal.operation, proposal.model_name) == ("delete", "Alpha")


def test_proposing_bad_json_or_an_invalid_record_shows_the_error(requestor: Client) -> None:
    record = existing("Alpha")
    url = reverse("admin:references_modelrecord_propose", args=[record.pk])
    bad_json = requestor.post(url, {"payload": "{not json"})
    assert bad_json.status_code == 400 and "Not valid JSON" in bad_json.content.decode()
    renamed = requestor.post(url, {"payload": json.dumps(sd_payload("Other"))})
    assert renamed.status_code == 400 and "must match" in renamed.content.decode()
    invalid = requestor.post(url, {"payload": json.dumps(sd_payload("Alpha", nsfw="sometimes"))})
    assert invalid.status_code == 400 and "nsfw" in invalid.content.decode()
    assert not ChangeProposal.objects.exists()


def test_propose_a_new_record_from_the_records_list(requestor: Client) -> None:
    listing = requestor.get(reverse("admin:references_modelrecord_changelist"))
    url = reverse("admin:references_modelrecord_propose_new")
    assert listing.status_code == 200 and url in listing.content.decode()
    assert requestor.get(url).status_code == 200
    response = requestor.post(url, {"category": SD, "payload": json.dumps(sd_payload("Fresh"))})
    proposal = ChangeProposal.objects.get()
    assert response["Location"] == change_url(proposal)
    assert (proposal.operation, proposal.category, proposal.model_name) == ("create", SD, "Fresh")
    existing("Taken")
    clash = requestor.post(url, {"category": SD, "payload": json.dumps(sd_payload("Taken"))})
    assert clash.status_code == 400 and "already exists" in clash.content.decode()


def test_proposing_needs_the_requestor_permission() -> None:
    record = existing("Alpha")
    viewer = login(staff_user("vic", "view_modelrecord"))
    assert viewer.get(reverse("admin:references_modelrecord_change", args=[record.pk])).status_code == 200
    assert (
        "propose-change-link"
        not in viewer.get(reverse("admin:references_modelrecord_change", args=[record.pk])).content.decode()
    )
    url = reverse("admin:references_modelrecord_propose", args=[record.pk])
    assert viewer.get(url).status_code == 403
    assert viewer.post(url, {"payload": json.dumps(record.payload)}).status_code == 403
    new_url = reverse("admin:references_modelrecord_propose_new")
    assert viewer.post(new_url, {"category": SD, "payload": "{}"}).status_code == 403
    assert not ChangeProposal.objects.exists()


# --- records and audit are read-only -------------------------------------------------------


def test_records_are_read_only(superuser: Client) -> None:
    record = existing("Alpha")
    listing = superuser.get(
        reverse("admin:references_modelrecord_changelist") + f"?category__exact={SD}&q=alp"
    )
    assert listing.status_code == 200 and [r.name for r in listing.context["cl"].result_list] == ["Alpha"]
    assert reverse("admin:references_modelrecord_add") not in listing.content.decode()
    assert superuser.get(reverse("admin:references_modelrecord_add")).status_code == 403
    detail = superuser.get(reverse("admin:references_modelrecord_change", args=[record.pk]))
    html = detail.content.decode()
    assert "json-pretty" in html and "&quot;description&quot;: &quot;A test model&quot;" in html
    assert "Legacy residue" in html and 'name="_save"' not in html
    superuser.post(reverse("admin:references_modelrecord_change", args=[record.pk]), {"name": "Hacked"})
    assert superuser.get(reverse("admin:references_modelrecord_delete", args=[record.pk])).status_code == 403
    bulk_delete = superuser.post(
        reverse("admin:references_modelrecord_changelist"),
        {"action": "delete_selected", "_selected_action": [str(record.pk)], "post": "yes"},
    )
    assert bulk_delete.status_code in (200, 302)
    assert ModelRecord.objects.get(pk=record.pk).name == "Alpha"


def test_audit_events_are_read_only_and_searchable(superuser: Client) -> None:
    existing("Alpha")
    proposal = propose_create("Beta")
    approve(proposal)
    url = reverse("admin:audit_auditevent_changelist")

    def actions(query: str) -> list[str]:
        response = superuser.get(url + query)
        assert response.status_code == 200
        return sorted(e.action for e in response.context["cl"].result_list)

    assert actions("?action=proposal.approved") == ["proposal.approved"]
    assert actions("?source__exact=sync") == ["record.created"]
    assert actions("?actor_kind__exact=horde&category=image_generation") == [
        "proposal.approved",
        "proposal.created",
        "record.created",
    ]
    assert actions("?q=Beta") == ["proposal.approved", "proposal.created"]
    assert actions("?q=alice") == ["proposal.created"]
    event = AuditEvent.objects.get(action="proposal.approved")
    detail = superuser.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    html = detail.content.decode()
    assert event.hash in html and event.prev_hash in html
    assert "json-pretty" in html and "&quot;batch_title&quot;: &quot;t&quot;" in html
    assert 'name="_save"' not in html
    assert superuser.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert superuser.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    superuser.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "x"})
    assert AuditEvent.objects.get(pk=event.pk).action == "proposal.approved"
    assert "delete_selected" not in superuser.get(url).content.decode()


def test_sync_runs_are_read_only(superuser: Client) -> None:
    assert superuser.get(reverse("admin:sync_syncrun_changelist")).status_code == 200
    assert superuser.get(reverse("admin:sync_syncrun_add")).status_code == 403
