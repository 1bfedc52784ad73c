"""The admin for approvers: branding, the dashboard, the record list and pages, the proposal page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from audit.services import Actor
from pending_queue.services import proposal_create, proposal_create_v2, proposal_draft
from references.models import ModelRecord
from sync.models import DownloadLinkCheck, SyncRun
from sync.usage import model_usage
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

SD = "image_generation"
SYSTEM = Actor.system("t")
ALICE = Actor(kind="horde", id="1", display_name="alice#1")


def add(name: str, **overrides: Any) -> ModelRecord:
    return record_create(
        category=SD, name=name, payload=sd_payload(name, **overrides), actor=SYSTEM, source="sync"
    )


def link(name: str, status: str, *, previous: str = "ok", url: str = "", http: int | None = 404) -> None:
    DownloadLinkCheck.objects.create(
        category=SD,
        model_name=name,
        url=url or f"https://example.invalid/{name}.safetensors",
        status=status,
        previous_status=previous,
        http_status=http,
        checked_at=timezone.now(),
    )


@pytest.fixture
def approver_client() -> Client:
    user = User.objects.create_user(username="ann", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_changeproposal"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def curated() -> None:
    add("Alpha", baseline="stable_diffusion_xl", nsfw=False, size_on_disk_bytes=6_938_040_682)
    add("Beta", baseline="stable_diffusion_1", nsfw=True, style="anime")
    add("Gamma", baseline="flux_1")
    link("Alpha", "ok", previous="", http=200)
    link("Beta", "broken")
    link("Beta", "login_required", url="https://example.invalid/other", http=401)
    proposal_create_v2(
        category=SD,
        operation="update",
        body=sd_payload("Alpha", description="new"),
        path_name="Alpha",
        actor=ALICE,
    )
    draft = proposal_draft(
        category=SD,
        operation="update",
        model_name="Gamma",
        payload=sd_payload("Gamma", baseline="flux_1", description="upstream"),
        legacy_residue=None,
        submitted_format="v2",
    )
    proposal_create(
        draft=draft,
        actor=SYSTEM,
        upstream_conflict=True,
    )
    now = timezone.now()
    SyncRun.objects.create(kind="links", status="succeeded", started_at=now, finished_at=now, duration_ms=5)
    SyncRun.objects.create(kind="upstream", status="failed", started_at=now, error="GitHub down")


def test_the_admin_is_branded_and_the_dashboard_shows_the_state(
    approver_client: Client, curated: None
) -> None:
    body = approver_client.get("/admin/").content.decode()
    assert "Horde Model Reference administration" in body and "<title>Curation dashboard" in body
    assert 'id="curation-dashboard"' in body
    assert 'data-category="image_generation"' in body and "Pending proposals: " in body
    assert "Waiting on an upstream conflict" in body and "image_generation/Gamma" in body
    assert 'data-kind="links"' in body and 'data-kind="upstream"' in body and "GitHub down" in body
    assert "image_generation/Beta" in body and "(became broken; was ok)" in body
    assert 'id="usage-no-data"' in body  # the statistics are not connected yet


def test_the_record_list_has_the_curation_columns_and_filters(approver_client: Client, curated: None) -> None:
    body = approver_client.get("/admin/references/modelrecord/").content.decode()
    columns = (
        "baseline",
        "nsfw",
        "style",
        "size",
        "usage_day",
        "usage_month",
        "workers",
        "link_status_badge",
    )
    for column in columns:
        assert (
            f'<th scope="col" class="column-{column}' in body or f'class="sortable column-{column}' in body
        ), column
    assert "6.46 GiB" in body and "stable_diffusion_xl" in body and "anime" in body
    assert 'class="link-status link-broken"' in body  # Beta: its worst link
    assert "—" in body  # no usage data

    def names(query: str) -> set[str]:
        response = approver_client.get(f"/admin/references/modelrecord/?{query}")
        assert response.status_code == 200
        return {r.name for r in response.context["cl"].result_list}

    assert names("baseline=flux_1") == {"Gamma"}
    assert names("nsfw=True") == {"Beta"}
    assert names("link_status=broken") == {"Beta"}
    assert names("link_status=ok") == {"Alpha"}
    assert names("link_status=unchecked") == {"Gamma"}
    assert names("workers=none") == set()  # no statistics: nobody is known to have no workers
    assert names("q=Gam") == {"Gamma"}
    assert names("category__exact=image_generation&baseline=stable_diffusion_1") == {"Beta"}
    assert approver_client.get("/admin/references/modelrecord/?link_status=bogus").status_code == 200


def _statistics_snapshot(at: datetime, rows: dict[str, tuple[int, int, int, int]]) -> None:
    """A complete image snapshot as sync.fetch_statistics stores it: name -> (day, month, total, workers)."""
    from sync.models import ModelStatistics, StatisticsSnapshot

    snapshot = StatisticsSnapshot.objects.create(
        category=SD, fetched_at=at, complete=True, model_count=len(rows)
    )
    ModelStatistics.objects.bulk_create(
        ModelStatistics(
            snapshot=snapshot, name=name, usage_day=day, usage_month=month, usage_total=total, workers=workers
        )
        for name, (day, month, total, workers) in rows.items()
    )


def test_the_list_and_the_filters_read_usage_from_the_statistics_snapshots(
    approver_client: Client, curated: None
) -> None:
    from sync.selectors import statistics_cache_reset

    statistics_cache_reset()
    now = datetime.now(tz=UTC)
    _statistics_snapshot(now - timedelta(days=1), {"Alpha": (7, 3000, 9000, 2)})
    _statistics_snapshot(now, {"Alpha": (12, 3456, 9999, 4), "Gamma": (0, 0, 5, 0)})
    usage = model_usage(SD, ["Alpha", "Beta", "Gamma"], history_days=7)
    assert usage["Beta"] is None, "a model the AI Horde does not list has no data"
    alpha = usage["Alpha"]
    assert alpha is not None and (alpha.day, alpha.month, alpha.total, alpha.workers) == (12, 3456, 9999, 4)
    assert [(point.usage, point.workers) for point in alpha.history] == [(7, 2), (12, 4)]
    body = approver_client.get("/admin/references/modelrecord/").content.decode()
    assert "3,456" in body
    response = approver_client.get("/admin/references/modelrecord/?workers=none")
    assert {r.name for r in response.context["cl"].result_list} == {"Gamma"}
    record = ModelRecord.objects.get(name="Alpha")
    page = approver_client.get(f"/admin/references/modelrecord/{record.pk}/change/").content.decode()
    assert 'id="usage-history"' in page and str(now.year) in page
    dashboard = approver_client.get("/admin/").content.decode()
    assert "image_generation/Alpha: 3456 (4 workers)" in dashboard
    assert "Unused" in dashboard and "<li>image_generation/Gamma</li>" in dashboard


def test_the_record_page_shows_downloads_links_and_open_proposals(
    approver_client: Client, curated: None
) -> None:
    record = ModelRecord.objects.get(name="Alpha")
    page = approver_client.get(f"/admin/references/modelrecord/{record.pk}/change/").content.decode()
    assert 'id="record-downloads"' in page and "Alpha.safetensors" in page
    assert 'class="link-status link-ok"' in page
    assert 'id="record-open-proposals"' in page and "update</a> (pending)" in page
    assert 'id="usage-no-data"' in page


def test_the_proposal_page_shows_what_the_change_affects(approver_client: Client, curated: None) -> None:
    from pending_queue.models import ChangeProposal

    beta = proposal_create_v2(
        category=SD, operation="update", body=sd_payload("Beta", nsfw=False), path_name="Beta", actor=ALICE
    )
    page = approver_client.get(f"/admin/pending_queue/changeproposal/{beta.pk}/change/").content.decode()
    assert 'id="proposal-diff"' in page and 'id="affected-model"' in page
    assert "workers: —" in page
    assert 'id="affected-links"' in page and "link-broken" in page and "link-login_required" in page
    alpha = ChangeProposal.objects.get(model_name="Alpha")
    page = approver_client.get(f"/admin/pending_queue/changeproposal/{alpha.pk}/change/").content.decode()
    assert "link-ok" in page
    assert approver_client.get("/admin/pending_queue/changeproposal/999999/change/").status_code in (302, 404)
    assert approver_client.get("/admin/pending_queue/changeproposal/abc/change/").status_code in (302, 404)


def test_without_a_statistics_snapshot_no_model_has_usage(db: None) -> None:
    from sync.selectors import statistics_cache_reset

    statistics_cache_reset()
    assert model_usage(SD, ["a", "b"]) == {"a": None, "b": None}


def test_references_and_the_queue_do_not_import_sync_admin() -> None:
    import pathlib

    for module in (
        "references/admin.py",
        "pending_queue/admin.py",
        "pending_queue/records_admin.py",
        "references/models.py",
    ):
        text = pathlib.Path(module).read_text()
        assert "from sync" not in text and "import sync" not in text, module
