"""The admin: a record's history as a timeline with diffs, and the audit events, read-only."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references.selectors import record_get
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update

pytestmark = pytest.mark.django_db

SD = "image_generation"
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
IMPORTER = Actor.system("importer")


@pytest.fixture
def superuser() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="pw", email="r@example.org"))
    return client


def test_the_record_page_links_to_a_timeline_with_diffs(superuser: Client) -> None:
    record_create(category=SD, name="Timeline", payload=sd_payload("Timeline"), actor=IMPORTER, source="sync")
    proposal = proposal_create_v2(
        category=SD,
        operation="update",
        body=sd_payload("Timeline", description="a <b>new</b> description"),
        path_name="Timeline",
        actor=ALICE,
    )
    batch_review(title="t", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    record = record_get(category=SD, name="Timeline")
    assert record is not None
    page = superuser.get(reverse("admin:references_modelrecord_change", args=[record.pk]))
    history_url = reverse("admin:references_modelrecord_history", args=[record.pk])
    assert page.status_code == 200
    assert f'href="{history_url}" id="record-history-link"' in page.content.decode()

    timeline = superuser.get(history_url)
    assert timeline.status_code == 200
    html = timeline.content.decode()
    items = re.findall(r'<li class="op-(\w+)" id="version-(\d+)"', html)
    assert [op for op, _ in items] == ["update", "create"]  # newest first
    assert (
        f"proposal #{proposal.pk}" in html and "proposed by alice#1" in html and "approved by bob#2" in html
    )
    assert '<td class="diff-path">description</td>' in html
    # Values are escaped, never rendered as markup.
    assert "a &lt;b&gt;new&lt;/b&gt; description" in html and "<b>new</b>" not in html
    assert f"version {record.version}" in html


def test_the_timeline_pages_and_refuses_what_it_cannot_show(superuser: Client, settings: object) -> None:
    from pending_queue import records_admin as references_admin

    record = record_create(
        category=SD, name="Many", payload=sd_payload("Many"), actor=IMPORTER, source="sync"
    )
    for number in range(3):
        record_update(
            category=SD, name="Many", payload=sd_payload("Many", description=str(number)),
            actor=IMPORTER, source="sync",
        )  # fmt: skip
    url = reverse("admin:references_modelrecord_history", args=[record.pk])
    old_size = references_admin.HISTORY_PAGE_SIZE
    references_admin.HISTORY_PAGE_SIZE = 2
    try:
        first = superuser.get(url).content.decode()
        older = re.search(r'href="\?before=(\d+)" id="older-versions"', first)
        assert older is not None and first.count('<li class="op-') == 2
        second = superuser.get(url, {"before": older.group(1)}).content.decode()
        assert second.count('<li class="op-') == 2 and 'id="older-versions"' not in second
        # A cursor that is not a number is ignored (newest page), never a 500.
        assert superuser.get(url, {"before": "x\x00"}).status_code == 200
    finally:
        references_admin.HISTORY_PAGE_SIZE = old_size
    missing = reverse("admin:references_modelrecord_history", args=[999999])
    assert superuser.get(missing).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_audit_events_filter_by_action_category_actor_source_and_date(superuser: Client) -> None:
    record_create(category=SD, name="Filtered", payload=sd_payload("Filtered"), actor=IMPORTER, source="sync")
    record_create(category="blip", name="Other", payload={"name": "Other"}, actor=ALICE, source="api")
    url = reverse("admin:audit_auditevent_changelist")
    page = superuser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for parameter in (
        "?action=",
        "?category=",
        "?actor_display=",
        "?source__exact=",
        "?occurred_at__gte=",
    ):
        assert parameter in html, parameter

    def names(**query: str) -> set[str]:
        response = superuser.get(url, query)
        assert response.status_code == 200
        return {e.model_name for e in response.context["cl"].result_list}

    assert names(action="record.created") == {"Filtered", "Other"}
    assert names(category="blip") == {"Other"}
    assert names(actor_display="alice#1") == {"Other"}
    assert names(source__exact="sync") == {"Filtered"}
    today = date.today()
    assert names(
        occurred_at__gte=f"{today - timedelta(days=1)} 00:00:00+00:00",
        occurred_at__lt=f"{today + timedelta(days=2)} 00:00:00+00:00",
    ) == {"Filtered", "Other"}
    assert names(occurred_at__gte=f"{today + timedelta(days=2)} 00:00:00+00:00") == set()
    assert names(q="Filtered") == {"Filtered"}


def test_audit_events_are_read_only_even_for_a_superuser(superuser: Client) -> None:
    record_create(category=SD, name="Kept", payload=sd_payload("Kept"), actor=IMPORTER, source="sync")
    event = AuditEvent.objects.get(model_name="Kept")
    before = (event.hash, event.after, AuditEvent.objects.count())
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    assert superuser.get(change).status_code == 200  # viewing is allowed
    assert superuser.post(change, {"action": "record.deleted", "model_name": "x"}).status_code == 403
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert superuser.get(delete).status_code == 403
    assert superuser.post(delete, {"post": "yes"}).status_code == 403
    add = reverse("admin:audit_auditevent_add")
    assert superuser.get(add).status_code == 403
    assert superuser.post(add, {"action": "record.created"}).status_code == 403
    changelist = reverse("admin:audit_auditevent_changelist")
    bulk = superuser.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302, 403)
    event.refresh_from_db()
    assert (event.hash, event.after, AuditEvent.objects.count()) == before
