"""Registry → upstream pull requests, against a local GitHub REST stand-in (tests/github_stub.py)."""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.services import Actor
from horde_model_reference.legacy import render_legacy_file
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references.exports import reference_export
from references.selectors import record_get, registry_snapshot
from sync.github_api import GitHubUnavailableError, github_client
from sync.legacy_format import csv_document_render, csv_rows, json_document_render
from sync.models import SyncRun
from sync.services import pull_requests_open
from sync.services.pull_requests import _file_bytes, _rendered
from tests.github_stub import GitHubStub, Repo

IMAGE, TEXT = "Haidra-Org/AI-Horde-image-model-reference", "Haidra-Org/AI-Horde-text-model-reference"
BRANCH = "horde-model-reference/sync"
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
# Hand-edited upstream: a few lines stray from the file's own indentation (blip mixes
# 0/2/4-space and tab levels; clip and controlnet each indent some records with four
# spaces in a tab-indented file), and models.csv repeats four rows. No renderer
# reproduces that; the pull-request flow keeps upstream's bytes for their records.
INCONSISTENT_UPSTREAM = {"blip.json", "clip.json", "controlnet.json", "models.csv"}


def _upstream_files(reference: Path) -> dict[str, dict[str, bytes]]:
    image = {p.name: p.read_bytes() for p in (reference / "image").glob("*.json")}
    text = {p.name: p.read_bytes() for p in (reference / "text").iterdir() if p.is_file()}
    return {IMAGE: image, TEXT: text}


@pytest.fixture
def github(settings: Any, real_reference: Path, tmp_path: Path) -> Iterator[GitHubStub]:
    """A GitHub stand-in holding the real files on ``main``; settings point at it, with a token."""
    stub = GitHubStub()
    for repo, files in _upstream_files(real_reference).items():
        stub.repos[repo] = Repo()
        stub.repos[repo].commit("main", files, "upstream")
    with stub.running():
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_TOKEN = "test-token"
        settings.GITHUB_TIMEOUT_SECONDS = 0.5
        settings.GITHUB_RETRY_ATTEMPTS = 3
        settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.01
        settings.GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS = 5.0
        settings.PULL_REQUEST_DRY_RUN_DIR = tmp_path / "pull-requests"
        yield stub


def _edit_esrgan(description: str) -> int:
    """Propose, approve and apply a description change of one esrgan record; the proposal id."""
    record = record_get(category="esrgan", name="RealESRGAN_x4plus")
    assert record is not None
    body = {**record.payload, "description": description}
    proposal = proposal_create_v2(
        category="esrgan", operation="update", body=body, path_name="RealESRGAN_x4plus", actor=ALICE
    )
    batch_review(title="r", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    return proposal.pk


def _open_pulls(stub: GitHubStub, repo: str) -> list[dict[str, Any]]:
    return [p for p in stub.repos[repo].pulls if p["state"] == "open"]


# ----------------------------------------------------------------- byte-exact formatting


@pytest.mark.django_db(transaction=True)
def test_unchanged_real_data_renders_every_upstream_file_byte_for_byte(real_reference: Path) -> None:
    snapshot = registry_snapshot()
    upstream = _upstream_files(real_reference)
    checked = []
    for key, repo in (("image", IMAGE), ("text", TEXT)):
        for path, (_, ours) in _rendered(snapshot, key).items():
            assert _file_bytes(path, ours, upstream[repo][path]) == upstream[repo][path], path
            checked.append(path)
    assert len(checked) == 11  # 9 image files + db.json + models.csv


@pytest.mark.django_db(transaction=True)
def test_the_plain_export_reproduces_every_consistently_formatted_file(
    real_reference: Path, tmp_path: Path
) -> None:
    result = reference_export(dest=tmp_path, fmt="legacy")
    upstream = {**_upstream_files(real_reference)[IMAGE], **_upstream_files(real_reference)[TEXT]}
    for relative in result.files:
        name = relative.removeprefix("legacy/")
        ours = (tmp_path / relative).read_bytes()
        if name in INCONSISTENT_UPSTREAM:
            # Same data; only upstream's stray whitespace / duplicate rows differ.
            if name == "models.csv":
                assert {r["name"]: r for r in csv_rows(ours)[1]} == {
                    r["name"]: r for r in csv_rows(upstream[name])[1]
                }
            else:
                assert json.loads(ours) == json.loads(upstream[name])
        else:
            assert ours == upstream[name], name


@pytest.mark.parametrize("name", ["esrgan.json", "stable_diffusion.json", "controlnet.json", "blip.json"])
def test_editing_one_record_changes_only_that_records_lines(name: str, reference_data: Path) -> None:
    upstream = (reference_data / "image" / name).read_bytes()
    document = json.loads(upstream)
    key = list(document)[1]
    document[key] = {**document[key], "description": "An edited description"}
    rendered = json_document_render(upstream, document)
    assert json.loads(rendered) == document
    old_lines = upstream.decode().splitlines(keepends=True)
    new_lines = rendered.decode().splitlines(keepends=True)
    changed = [
        line
        for line in difflib.unified_diff(old_lines, new_lines, n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    # At most the whole record (re-indented in the file's dominant style), never another.
    record_lines = len(json.dumps(document[key], indent="\t").splitlines())
    assert changed and len(changed) <= 2 * record_lines
    assert all(key in line or "description" in line or line.strip() for line in changed)
    others = [k for k in document if k != key]
    assert not any(json.dumps(k) + ":" in line for line in changed for k in others)
    if name != "blip.json":  # consistently indented: exactly the one field's line
        assert len(changed) == 2 and all("description" in line for line in changed)
    # Line endings and the trailing newline are upstream's.
    assert rendered.endswith(b"}\r\n" if name == "controlnet.json" else b"}\n")
    assert (b"\r\n" in rendered) == (name == "controlnet.json")


def test_editing_one_csv_row_changes_only_that_row(reference_data: Path) -> None:
    upstream = (reference_data / "text" / "models.csv").read_bytes()
    columns, rows = csv_rows(upstream)
    unique = {row["name"]: row for row in rows}
    target = "acrastt/Marx-3B-V3"
    unique[target] = {**unique[target], "description": 'Edited, with "quotes"'}
    rendered = csv_document_render(upstream, list(unique.values()), columns)
    diff = [
        line
        for line in difflib.unified_diff(
            upstream.decode().splitlines(True), rendered.decode().splitlines(True), n=0
        )
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(diff) == 2 and all(line[1:].startswith(target + ",") for line in diff)
    assert diff[1].endswith("\r\n") and '"Edited, with ""quotes"""' in diff[1]


def test_render_legacy_file_uses_each_files_layout() -> None:
    assert render_legacy_file("esrgan.json", {"a": {"b": 1}}) == b'{\n\t"a": {\n\t\t"b": 1\n\t}\n}\n'
    assert render_legacy_file("controlnet.json", {"a": 1}) == b'{\r\n\t"a": 1\r\n}\r\n'
    assert render_legacy_file("stable_diffusion.json", {"a": 1}) == b'{\n    "a": 1\n}\n'
    assert all(
        d.legacy_filename is None or d.legacy_filename.endswith(".json")
        for d in CATEGORY_DESCRIPTORS.values()
    )


# ----------------------------------------------------------------- the flow against the stand-in


@pytest.mark.django_db(transaction=True)
def test_equal_registry_opens_nothing(github: GitHubStub) -> None:
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["unchanged"] == 2
    assert github.writes() == []
    # Authenticated, with GitHub's media type and API version.
    headers = github.requests[0][2]
    assert headers["authorization"] == "Bearer test-token"
    assert headers["accept"] == "application/vnd.github+json" and headers["x-github-api-version"]


@pytest.mark.django_db(transaction=True)
def test_a_change_opens_one_pull_request_then_updates_it_then_closes_it(github: GitHubStub) -> None:
    first = _edit_esrgan("Upscaler, edited here")
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    repo = github.repos[IMAGE]
    (pull,) = _open_pulls(github, IMAGE)
    assert pull["head"]["ref"] == BRANCH and pull["base"]["ref"] == "main"
    assert "changed: `RealESRGAN_x4plus` (`description`)" in pull["body"]
    assert f"#{first}" in pull["body"] and "`esrgan.json`" in pull["body"]
    # One commit on the target's head, with only the changed file.
    _, parents, _ = repo.commits[repo.branches[BRANCH]]
    assert parents == [repo.branches["main"]]
    main_files, branch_files = repo.files("main"), repo.files(BRANCH)
    assert [p for p in branch_files if branch_files[p] != main_files.get(p)] == ["esrgan.json"]
    assert (
        json.loads(branch_files["esrgan.json"])["RealESRGAN_x4plus"]["description"] == "Upscaler, edited here"
    )
    assert github.repos[TEXT].pulls == [] and BRANCH not in github.repos[TEXT].branches

    # Nothing new: the same pull request, the branch untouched.
    head_before = repo.branches[BRANCH]
    again = pull_requests_open(trigger=SyncRun.Trigger.BEAT)
    assert again.status == SyncRun.Status.SUCCEEDED and again.counts["updated"] == 1
    assert len(repo.pulls) == 1 and repo.branches[BRANCH] == head_before

    # A second edit: still one pull request, updated in place, its body naming both.
    second = _edit_esrgan("Upscaler, edited twice")
    pull_requests_open(trigger=SyncRun.Trigger.BEAT)
    (pull,) = repo.pulls
    assert pull["state"] == "open" and f"#{second}" in pull["body"]
    assert (
        json.loads(repo.files(BRANCH)["esrgan.json"])["RealESRGAN_x4plus"]["description"]
        == "Upscaler, edited twice"
    )

    # Upstream merges it: our pull request is closed with a comment.
    repo.commit("main", {"esrgan.json": repo.files(BRANCH)["esrgan.json"]}, "merge")
    closed = pull_requests_open(trigger=SyncRun.Trigger.BEAT)
    assert closed.counts["closed"] == 1 and repo.pulls[0]["state"] == "closed"
    assert repo.comments and repo.comments[0][0] == pull["number"]


@pytest.mark.django_db(transaction=True)
def test_without_a_token_the_pull_request_is_written_to_a_directory(
    github: GitHubStub, settings: Any
) -> None:
    settings.GITHUB_TOKEN = ""
    _edit_esrgan("Dry-run edit")
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and run.dry_run
    assert github.writes() == [] and all("authorization" not in h for _, _, h in github.requests)
    out = Path(settings.PULL_REQUEST_DRY_RUN_DIR)
    assert sorted(p.name for p in (out / "image" / "files").iterdir()) == ["esrgan.json"]
    assert "`RealESRGAN_x4plus` (`description`)" in (out / "image" / "pull_request.md").read_text()
    assert list((out / "text" / "files").iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_pull_requests(github: GitHubStub) -> None:
    import io

    from django.core.management import call_command

    _edit_esrgan("From the command")
    out = io.StringIO()
    call_command("sync", "pull-requests", "--dry-run", stdout=out)
    assert "dry run, 1 changed files" in out.getvalue() and ": succeeded in" in out.getvalue()
    assert github.writes() == []


# ----------------------------------------------------------------- failures


@pytest.mark.django_db(transaction=True)
def test_a_500_then_success_is_retried(github: GitHubStub) -> None:
    _edit_esrgan("After a 500")
    github.fault("POST", f"/repos/{IMAGE}/pulls", (500, {}, b"oops"))
    github.fault("GET", f"/repos/{IMAGE}/git/ref/heads/main", (502, {}, b"bad gateway"))
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert len(_open_pulls(github, IMAGE)) == 1


@pytest.mark.django_db(transaction=True)
def test_429_waits_as_long_as_retry_after_says(github: GitHubStub) -> None:
    github.fault("GET", f"/repos/{TEXT}/git/ref/heads/main", (429, {"Retry-After": "1"}, b"{}"))
    started = time.monotonic()
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert time.monotonic() - started >= 1.0


@pytest.mark.django_db(transaction=True)
def test_a_secondary_rate_limit_beyond_the_bound_fails_the_run_at_once(github: GitHubStub) -> None:
    reset = str(int(time.time()) + 3600)
    github.fault(
        "GET",
        f"/repos/{IMAGE}/git/ref/heads/main",
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, b"{}"),
    )
    started = time.monotonic()
    with pytest.raises(GitHubUnavailableError, match="rate limited"):
        pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert time.monotonic() - started < 2
    assert SyncRun.objects.get(kind="pull_requests").status == SyncRun.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_timeout_is_bounded_and_fails_the_run(github: GitHubStub, settings: Any) -> None:
    settings.GITHUB_RETRY_ATTEMPTS = 2
    github.fault("GET", f"/repos/{IMAGE}/git/ref/heads/main", "hang", "hang")
    started = time.monotonic()
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert time.monotonic() - started < 3
    assert run.status == SyncRun.Status.FAILED and "ReadTimeout" in run.error
    assert github.writes() == []


@pytest.mark.django_db(transaction=True)
def test_malformed_json_fails_the_run_cleanly(github: GitHubStub) -> None:
    _edit_esrgan("Malformed")
    github.fault("GET", f"/repos/{IMAGE}/pulls", (200, {"Content-Type": "application/json"}, b"{not json"))
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.FAILED and "not JSON" in run.error
    assert github.repos[IMAGE].pulls == []
    # The next run reuses the branch it left and opens the one pull request.
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and len(github.repos[IMAGE].pulls) == 1


@pytest.mark.django_db(transaction=True)
def test_branch_created_but_pull_creation_failed_is_reused_next_run(github: GitHubStub) -> None:
    _edit_esrgan("Half done")
    github.fault("POST", f"/repos/{IMAGE}/pulls", *[(500, {}, b"down")] * 3)
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.FAILED and "gave up after 3 attempts" in run.error
    repo = github.repos[IMAGE]
    branch_head = repo.branches[BRANCH]
    assert repo.pulls == []
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert repo.branches[BRANCH] == branch_head and len(repo.pulls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_target_that_moves_once_is_retried_from_its_new_head(github: GitHubStub) -> None:
    _edit_esrgan("Moving target")
    repo = github.repos[IMAGE]
    moved: list[str] = []

    def move_once(method: str, path: str) -> None:
        if method == "POST" and path.endswith("/git/commits") and IMAGE in path and not moved:
            moved.append(repo.commit("main", {"README.md": b"someone else\n"}, "concurrent"))

    github.before.append(move_once)
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and "moved" in run.log
    assert repo.commits[repo.branches[BRANCH]][1] == moved  # built on the new head
    assert len(repo.pulls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rejected_branch_update_twice_fails_the_run_without_a_pull_request(github: GitHubStub) -> None:
    _edit_esrgan("Contended")
    repo = github.repos[IMAGE]
    repo.branches[BRANCH] = repo.branches["main"]  # our branch exists, so the flow updates it
    github.fault("PATCH", f"/repos/{IMAGE}/git/refs/heads/", *[(422, {}, b'{"message": "rejected"}')] * 2)
    run = pull_requests_open(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.FAILED and "BranchMovedError" in run.error
    assert repo.pulls == [] and repo.branches[BRANCH] == repo.branches["main"]


def test_large_files_are_read_through_the_blob_api(reference_data: Path, settings: Any) -> None:
    stub = GitHubStub()
    stub.repos[TEXT] = Repo()
    db = (reference_data / "text" / "db.json").read_bytes()
    assert len(db) > 1024 * 1024
    stub.repos[TEXT].commit("main", {"db.json": db})
    with stub.running():
        settings.GITHUB_API_URL = stub.url
        with github_client(token="") as client:
            assert client.file_get(TEXT, "db.json", ref="main") == db
            assert client.file_get(TEXT, "missing.json", ref="main") is None


# ----------------------------------------------------------------- task, schedule, admin


@pytest.mark.django_db(transaction=True)
def test_the_task_records_a_run_and_a_held_lease_skips(github: GitHubStub) -> None:
    from sync.services import sync_lease_acquire
    from sync.tasks import open_pull_requests

    summary = open_pull_requests.delay(trigger="beat").get()
    run = SyncRun.objects.get(kind="pull_requests")
    assert summary == run.summary() and run.trigger == "beat" and run.status == "succeeded"
    assert sync_lease_acquire(kind="pull_requests", holder="someone else")
    open_pull_requests.delay(trigger="beat").get()
    assert SyncRun.objects.latest("pk").status == "skipped"


@pytest.mark.django_db(transaction=True)
def test_network_failures_make_the_task_retry(github: GitHubStub, settings: Any) -> None:
    from celery.exceptions import Retry

    from sync.tasks import open_pull_requests

    settings.GITHUB_RETRY_ATTEMPTS = 1
    github.fault("GET", f"/repos/{IMAGE}/git/ref/heads/main", (503, {}, b"down"))
    with pytest.raises(Retry, match="gave up after 1 attempts"):
        open_pull_requests.delay(trigger="beat").get()
    assert SyncRun.objects.get(kind="pull_requests").status == "failed"


@pytest.mark.django_db
def test_the_hourly_pull_request_schedule_is_seeded() -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="sync.open_pull_requests")
    assert task.enabled and task.interval is not None
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert json.loads(task.kwargs) == {"trigger": "beat"}


@pytest.mark.django_db(transaction=True)
def test_the_admin_can_start_a_pull_request_run(github: GitHubStub) -> None:
    from sync.services import pull_requests_enqueue

    assert pull_requests_enqueue(trigger=SyncRun.Trigger.ADMIN)
    assert SyncRun.objects.get(kind="pull_requests").trigger == "admin"
