"""The three-way upstream import against a local stand-in of GitHub's raw files.

The real reference data is imported, then served by ``tests.github_raw_stub`` as
raw.githubusercontent.com would serve it; each test edits the served files (and the
registry) and runs ``sync.services.upstream.upstream_import``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from audit.services import Actor
from pending_queue.models import ChangeProposal, Operation, Status
from references.models import ModelRecord
from sync.models import SyncRun, UpstreamBase
from sync.services.upstream import UpstreamFetchError, upstream_import
from sync.tasks import import_upstream
from tests.github_raw_stub import GitHubRawStub, github_raw_stub
from tests.record_writes import record_update
from tests.servers import SilentPeer

pytestmark = pytest.mark.django_db

CURATOR = Actor(kind="horde", id="7", display_name="curator#7")
SD, CONTROLNET, TEXT = "image_generation", "controlnet", "text_generation"
SD_FILE, CONTROLNET_FILE = "stable_diffusion.json", "controlnet.json"


@pytest.fixture
def stub(settings: Any, reference_data: Path) -> Iterator[GitHubRawStub]:
    with github_raw_stub() as raw:
        raw.load(reference_data)
        settings.LEGACY_IMAGE_REPO_RAW_URL = raw.image_url
        settings.LEGACY_TEXT_REPO_RAW_URL = raw.text_url
        settings.LEGACY_FETCH_TIMEOUT_SECONDS = 5.0
        settings.LEGACY_FETCH_BACKOFF_SECONDS = 0.05
        settings.LEGACY_FETCH_ATTEMPTS = 3
        settings.SYNC_UPSTREAM_MODE = "apply"
        yield raw


@pytest.fixture
def based(stub: GitHubRawStub, real_reference: Path) -> GitHubRawStub:
    """The registry holds the real data and a first upstream run has taken its bases."""
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, (run.error, run.log)
    return stub


def edit_json(stub: GitHubRawStub, filename: str, change: Any) -> None:
    path = stub.image_path(filename)
    document = json.loads(stub.files[path])
    change(document)
    stub.files[path] = (json.dumps(document, indent=4) + "\n").encode()


def first_name(stub: GitHubRawStub, filename: str) -> str:
    return str(next(iter(json.loads(stub.files[stub.image_path(filename)]))))


def record(category: str, name: str) -> ModelRecord:
    return ModelRecord.objects.get(category=category, name=name)


def curate(category: str, name: str, **fields: Any) -> None:
    current = record(category, name)
    record_update(
        category=category, name=name, payload={**current.payload, **fields}, actor=CURATOR, source="api"
    )


def bases() -> dict[str, str]:
    return dict(UpstreamBase.objects.values_list("category", "sha256"))


def test_first_run_takes_the_bases_and_proposes_nothing_for_equal_records(based: GitHubRawStub) -> None:
    assert set(bases()) == {
        "image_generation", "text_generation", "controlnet", "esrgan", "blip", "clip",
        "miscellaneous", "gfpgan", "codeformer", "safety_checker",
    }  # fmt: skip
    run = SyncRun.objects.filter(kind=SyncRun.Kind.UPSTREAM).get()
    assert run.counts["proposed"] == 0 and run.counts["fast_forwarded"] == 0
    assert not ChangeProposal.objects.exists()


def test_first_run_proposes_where_the_registry_differs_from_upstream(
    stub: GitHubRawStub, real_reference: Path
) -> None:
    # Without a base nobody can tell which side changed: a person decides.
    name = first_name(stub, SD_FILE)
    curate(SD, name, description="curated here")
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    (proposal,) = ChangeProposal.objects.all()
    assert (proposal.model_name, proposal.operation, proposal.upstream_conflict) == (name, "update", True)
    assert record(SD, name).payload["description"] == "curated here"


def test_unchanged_upstream_changes_nothing_and_costs_no_write(based: GitHubRawStub) -> None:
    events, versions = (
        AuditEvent.objects.count(),
        sorted(ModelRecord.objects.values_list("version", flat=True)),
    )
    fetched = dict(UpstreamBase.objects.values_list("category", "fetched_at"))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.counts["unchanged"] == 10 and run.counts["fast_forwarded"] == run.counts["proposed"] == 0
    assert AuditEvent.objects.count() == events
    assert sorted(ModelRecord.objects.values_list("version", flat=True)) == versions
    assert dict(UpstreamBase.objects.values_list("category", "fetched_at")) == fetched
    assert not ChangeProposal.objects.exists()


def test_upstream_only_edit_is_fast_forwarded(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    before = record(SD, name)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    after = record(SD, name)
    assert after.payload["description"] == "edited upstream" and after.version > before.version
    event = AuditEvent.objects.filter(model_name=name).latest("sequence")
    assert (event.action, event.source, event.actor_id) == ("record.updated", "sync", "upstream-sync")
    assert run.counts["fast_forwarded"] == 1 and run.counts["categories"][SD]["fast_forwarded"] == 1
    assert f"fast-forwarded {name}" in run.log
    assert not ChangeProposal.objects.exists()
    assert bases()[SD] != "" and UpstreamBase.objects.get(category=SD).entries[name]["payload"][
        "description"
    ] == ("edited upstream")


def test_edit_here_and_upstream_becomes_a_conflict_proposal(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    curate(SD, name, description="curated here")
    curated = record(SD, name)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert record(SD, name).payload == curated.payload and record(SD, name).version == curated.version
    (proposal,) = ChangeProposal.objects.all()
    assert proposal.upstream_conflict and proposal.status == Status.PENDING
    assert (proposal.operation, proposal.model_name, proposal.base_version) == (
        "update",
        name,
        curated.version,
    )
    assert proposal.payload["description"] == "edited upstream"
    assert proposal.requested_by_id == "upstream-sync"
    assert run.counts["conflicts"] == 1 and "(upstream conflict)" in run.log
    # The base moved on: the same upstream file does not queue the change again.
    upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert ChangeProposal.objects.count() == 1


def test_a_curated_record_upstream_did_not_touch_stays_curated(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    curate(SD, name, description="curated here")
    other = list(json.loads(based.files[based.image_path(SD_FILE)]))[1]
    edit_json(based, SD_FILE, lambda doc: doc[other].update(description="edited upstream"))
    upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert record(SD, name).payload["description"] == "curated here"
    assert record(SD, other).payload["description"] == "edited upstream"


def test_upstream_delete_and_create(based: GitHubRawStub) -> None:
    doomed = first_name(based, CONTROLNET_FILE)
    template = json.loads(based.files[based.image_path(CONTROLNET_FILE)])[doomed]

    def change(doc: dict[str, Any]) -> None:
        del doc[doomed]
        doc["control_new"] = {**template, "name": "control_new"}

    edit_json(based, CONTROLNET_FILE, change)
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert not ModelRecord.objects.filter(category=CONTROLNET, name=doomed).exists()
    assert record(CONTROLNET, "control_new").payload["name"] == "control_new"
    actions = set(
        AuditEvent.objects.filter(source="sync", category=CONTROLNET).values_list("action", flat=True)
    )
    assert {"record.deleted", "record.created"} <= actions


def test_upstream_delete_of_a_curated_record_is_proposed(based: GitHubRawStub) -> None:
    doomed = first_name(based, CONTROLNET_FILE)
    curate(CONTROLNET, doomed, description="curated here")
    edit_json(based, CONTROLNET_FILE, lambda doc: doc.pop(doomed))
    upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert record(CONTROLNET, doomed).payload["description"] == "curated here"
    (proposal,) = ChangeProposal.objects.all()
    assert (proposal.operation, proposal.upstream_conflict) == (Operation.DELETE, True)


def test_propose_mode_queues_every_change(based: GitHubRawStub, settings: Any) -> None:
    settings.SYNC_UPSTREAM_MODE = "propose"
    name = first_name(based, SD_FILE)
    before = record(SD, name)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert record(SD, name).version == before.version
    (proposal,) = ChangeProposal.objects.all()
    assert not proposal.upstream_conflict and proposal.payload["description"] == "edited upstream"
    assert run.counts["proposed"] == 1 and run.counts["fast_forwarded"] == 0


def test_mass_delete_needs_allow_mass_delete(based: GitHubRawStub) -> None:
    names = list(json.loads(based.files[based.image_path(CONTROLNET_FILE)]))
    base_sha = bases()[CONTROLNET]
    edit_json(based, CONTROLNET_FILE, lambda doc: [doc.pop(n) for n in names[:10]])
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.PARTIAL
    assert "--allow-mass-delete" in run.error
    assert ModelRecord.objects.filter(category=CONTROLNET).count() == len(names)
    assert bases()[CONTROLNET] == base_sha
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND, allow_mass_delete=True)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert ModelRecord.objects.filter(category=CONTROLNET).count() == len(names) - 10


HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Unicorn! 500</h1></body></html>"


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ([("status", 500)] * 3, "HTTP 500"),
        ([("body", HTML_PAGE)], "not valid JSON"),
        ([("body", b'{"broken": {"name": ')], "not valid JSON"),
    ],
    ids=["500", "html-page", "malformed-json"],
)
def test_a_bad_file_leaves_its_category_and_base_untouched(
    based: GitHubRawStub, faults: list[tuple[str, Any]], message: str
) -> None:
    name = first_name(based, SD_FILE)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    other = first_name(based, CONTROLNET_FILE)
    edit_json(based, CONTROLNET_FILE, lambda doc: doc[other].update(description="edited upstream"))
    based.fault(based.image_path(SD_FILE), *faults)
    sd_before = dict(ModelRecord.objects.filter(category=SD).values_list("name", "version"))
    base_before = bases()[SD]
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.PARTIAL
    assert SD in run.error and message in run.error
    assert dict(ModelRecord.objects.filter(category=SD).values_list("name", "version")) == sd_before
    assert bases()[SD] == base_before
    assert record(CONTROLNET, other).payload["description"] == "edited upstream"  # the others proceed
    assert run.counts["failed"] == 1
    # The next run, with the file served again, brings the change in.
    assert upstream_import(trigger=SyncRun.Trigger.COMMAND).status == SyncRun.Status.SUCCEEDED
    assert record(SD, name).payload["description"] == "edited upstream"


def test_a_500_is_retried(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    based.fault(based.image_path(SD_FILE), ("status", 500))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert len(based.requested(based.image_path(SD_FILE))) == 3  # the base run, a 500, the retry
    assert record(SD, name).payload["description"] == "edited upstream"


def test_a_429_waits_its_retry_after(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    path = based.image_path(SD_FILE)
    based.fault(path, ("retry_after", 1))
    seen = len(based.requested(path))
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    limited, retried = based.requested(path)[seen:]
    assert retried - limited >= 1.0
    assert record(SD, name).payload["description"] == "edited upstream"


def test_a_429_asking_for_too_long_fails_the_file_at_once(based: GitHubRawStub, settings: Any) -> None:
    settings.LEGACY_FETCH_RETRY_AFTER_MAX_SECONDS = 5
    based.fault(based.image_path(SD_FILE), ("retry_after", 3600))
    started = time.monotonic()
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert time.monotonic() - started < 5
    assert run.status == SyncRun.Status.PARTIAL and "HTTP 429" in run.error


def test_a_host_that_never_answers_costs_a_bounded_delay(based: GitHubRawStub, settings: Any) -> None:
    silent = SilentPeer()
    try:
        settings.LEGACY_TEXT_REPO_RAW_URL = f"http://127.0.0.1:{silent.port}/{TEXT}/"
        settings.LEGACY_FETCH_TIMEOUT_SECONDS = 0.3
        settings.LEGACY_FETCH_ATTEMPTS = 2
        name = first_name(based, SD_FILE)
        edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
        text_before = dict(ModelRecord.objects.filter(category=TEXT).values_list("name", "version"))
        base_before = bases()[TEXT]
        started = time.monotonic()
        with pytest.raises(UpstreamFetchError):
            upstream_import(trigger=SyncRun.Trigger.COMMAND)
        assert time.monotonic() - started < 5
        assert silent.connections() == 2
    finally:
        silent.close()
    run = SyncRun.objects.filter(kind=SyncRun.Kind.UPSTREAM).first()
    assert run is not None and run.status == SyncRun.Status.PARTIAL
    assert "text_generation: download failed: cannot reach" in run.error
    assert dict(ModelRecord.objects.filter(category=TEXT).values_list("name", "version")) == text_before
    assert bases()[TEXT] == base_before
    assert record(SD, name).payload["description"] == "edited upstream"


def test_command_dry_run_reports_and_writes_nothing(based: GitHubRawStub) -> None:
    name = first_name(based, SD_FILE)
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    base_before, events = bases(), AuditEvent.objects.count()
    out = io.StringIO()
    call_command("sync", "upstream", "--dry-run", stdout=out)
    assert f"fast-forwarded {name}" in out.getvalue() and "(dry run)" in out.getvalue()
    assert bases() == base_before and AuditEvent.objects.count() == events
    assert record(SD, name).payload["description"] != "edited upstream"


def test_command_fails_when_a_category_failed(based: GitHubRawStub) -> None:
    based.fault(based.image_path(SD_FILE), ("body", HTML_PAGE))
    with pytest.raises(CommandError, match="partial"):
        call_command("sync", "upstream", stdout=io.StringIO())


def test_task_runs_the_import(based: GitHubRawStub) -> None:
    summary = import_upstream.delay(trigger="beat").get()
    assert "upstream run" in summary and "succeeded" in summary
    assert SyncRun.objects.filter(kind=SyncRun.Kind.UPSTREAM, trigger=SyncRun.Trigger.BEAT).exists()


def test_a_held_lease_skips_the_run(based: GitHubRawStub) -> None:
    from sync.services import sync_lease_acquire

    assert sync_lease_acquire(kind=SyncRun.Kind.UPSTREAM, holder="someone else")
    run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SKIPPED


def test_schedule_is_seeded_every_15_minutes() -> None:
    task = PeriodicTask.objects.get(task="sync.import_upstream")
    assert task.interval is not None and (task.interval.every, task.interval.period) == (15, "minutes")
    assert json.loads(task.kwargs) == {"trigger": "beat"}


def test_admin_lists_upstream_conflicts_with_a_filter(based: GitHubRawStub, admin_client: Any) -> None:
    name = first_name(based, SD_FILE)
    curate(SD, name, description="curated here")
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    upstream_import(trigger=SyncRun.Trigger.COMMAND)
    response = admin_client.get("/admin/pending_queue/changeproposal/?upstream_conflict__exact=1")
    assert response.status_code == 200
    assert name in response.content.decode()


def test_the_queue_api_says_which_proposals_are_upstream_conflicts(
    based: GitHubRawStub, admin_client: Any
) -> None:
    name = first_name(based, SD_FILE)
    curate(SD, name, description="curated here")
    edit_json(based, SD_FILE, lambda doc: doc[name].update(description="edited upstream"))
    upstream_import(trigger=SyncRun.Trigger.COMMAND)
    (proposal,) = ChangeProposal.objects.all()
    answer = admin_client.get(f"/api/model_references/v2/pending_queue/changes/{proposal.pk}")
    assert answer.status_code == 200
    assert answer.json()["upstream_conflict"] is True
