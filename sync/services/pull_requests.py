"""Registry → upstream: one pull request per legacy repository, created, updated or closed.

For each repository the registry's legacy files (one snapshot) are laid out against the
target branch's files (``sync.legacy_format``), so unchanged records keep upstream's
bytes. Files that differ go into one commit on our own branch, reset onto the target's
head, and one pull request from it is created or updated in place; when nothing differs
our open pull request is closed. Without a token the would-be pull request is written to
``PULL_REQUEST_DRY_RUN_DIR`` and nothing is sent to GitHub.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from horde_model_reference.legacy import canonical_to_legacy_document, render_legacy_file
from horde_model_reference.legacy.text import canonical_to_text_csv
from horde_model_reference.meta_consts import (
    CATEGORY_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
    TEXT_LEGACY_CSV_FILENAME,
)
from pending_queue.selectors import proposals_applied_since_sync
from references.selectors import RegistrySnapshot, registry_snapshot
from sync.github_api import GitHubClient, GitHubConflictError, github_client
from sync.legacy_format import UpstreamFormatError, csv_document_render, csv_rows, json_document_render
from sync.models import SyncRun
from sync.services.runs import lease_holder, run_finish, run_skipped, sync_lease_acquire, sync_lease_release

logger = logging.getLogger(__name__)

PULL_TITLE = "Sync from the Horde Model Reference registry"
CLOSE_COMMENT = "The target branch now matches the registry; closing this sync pull request."


class BranchMovedError(Exception):
    """The target branch moved (or our branch update was refused) twice in a row."""


@dataclass(frozen=True)
class LegacyFile:
    path: str
    category: str
    content: bytes  # as we would commit it


@dataclass
class RepoOutcome:
    repo: str
    action: str  # unchanged | created | updated | closed | dry-run | none
    files: list[str] = field(default_factory=list)
    pull: int | None = None
    url: str = ""


def _rendered(snapshot: RegistrySnapshot, source: str) -> dict[str, tuple[str, Any]]:
    """Our files of one repository: path -> (category, document or CSV rows)."""
    files: dict[str, tuple[str, Any]] = {}
    for category, descriptor in CATEGORY_DESCRIPTORS.items():
        if descriptor.github_source != source or not descriptor.legacy_filename:
            continue
        entries = snapshot.entries[category.value]
        files[descriptor.legacy_filename] = (category.value, canonical_to_legacy_document(category, entries))
        if category == MODEL_REFERENCE_CATEGORY.text_generation:
            text = canonical_to_text_csv(entries).encode("utf-8")
            files[TEXT_LEGACY_CSV_FILENAME] = (category.value, text)
    return files


def _file_bytes(path: str, ours: Any, upstream: bytes | None) -> bytes:
    """Our file laid out as upstream's (when it exists and parses), else rendered fresh."""
    if path == TEXT_LEGACY_CSV_FILENAME:
        if upstream is not None:
            columns, rows = csv_rows(ours)
            try:
                return csv_document_render(upstream, rows, columns)
            except UpstreamFormatError as error:
                logger.warning("%s: upstream layout not reusable (%s); rendering it whole", path, error)
        return bytes(ours)
    if upstream is not None:
        try:
            return json_document_render(upstream, ours)
        except UpstreamFormatError as error:
            logger.warning("%s: upstream layout not reusable (%s); rendering it whole", path, error)
    return render_legacy_file(path, ours)


def _records(path: str, content: bytes | None) -> dict[str, Any]:
    """A file's records by name, for the body (CSV rows by name; JSON members)."""
    if not content:
        return {}
    try:
        if path == TEXT_LEGACY_CSV_FILENAME:
            return {row.get("name", ""): row for row in csv_rows(content)[1]}
        loaded = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _changed_fields(old: Any, new: Any) -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ["(value)"]
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _body(repo: str, changed: dict[str, tuple[str, bytes | None, bytes]]) -> tuple[str, int]:
    """The pull request's markdown body and the number of models it touches."""
    lines = [
        f"This pull request brings `{repo}` in line with the Horde Model Reference registry.",
        "It is created and updated by the registry's sync task; edits to its branch are overwritten.",
        "",
    ]
    touched = 0
    paths = list(changed)
    # db.json is generated from models.csv: list the models once, from the CSV.
    if TEXT_LEGACY_CSV_FILENAME in changed:
        paths = [TEXT_LEGACY_CSV_FILENAME]
    for path in paths:
        category, upstream, ours = changed[path]
        old, new = _records(path, upstream), _records(path, ours)
        added = [name for name in new if name not in old]
        removed = [name for name in old if name not in new]
        modified = [
            (name, _changed_fields(old[name], new[name]))
            for name in new
            if name in old and old[name] != new[name]
        ]
        touched += len(added) + len(removed) + len(modified)
        lines.append(f"### `{path}` ({category})")
        lines += [f"- added: `{name}`" for name in added]
        lines += [f"- removed: `{name}`" for name in removed]
        lines += [f"- changed: `{name}` ({', '.join(f'`{f}`' for f in fields)})" for name, fields in modified]
        proposals = proposals_applied_since_sync(
            category=category, names=[*added, *removed, *(name for name, _ in modified)]
        )
        if proposals:
            lines.append("")
            lines.append("Applied proposals:")
            lines += [
                f"- #{p.pk}: {p.operation} `{p.model_name}`"
                f" (/api/model_references/v2/pending_queue/changes/{p.pk})"
                for p in proposals
            ]
        lines.append("")
    lines.append("Files: " + ", ".join(f"`{path}`" for path in changed))
    return "\n".join(lines) + "\n", touched


def _dry_run_write(
    repo_key: str, repo: str, changed: dict[str, tuple[str, bytes | None, bytes]], body: str
) -> Path:
    directory = Path(settings.PULL_REQUEST_DRY_RUN_DIR) / repo_key
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "files").mkdir(parents=True)
    for path, (_, _, ours) in changed.items():
        (directory / "files" / path).write_bytes(ours)
    heading = f"# {PULL_TITLE}\n\n" if changed else f"# {repo}: nothing to propose\n\n"
    (directory / "pull_request.md").write_text(heading + body, encoding="utf-8")
    return directory


def _branch_commit(
    client: GitHubClient, repo: str, *, target_sha: str, files: dict[str, bytes], message: str
) -> str:
    """Point our branch at one commit on the target's head holding ``files``; no-op when it does."""
    branch = settings.GITHUB_SYNC_BRANCH
    base_tree = client.commit_get(repo, target_sha).tree.sha
    blobs = {path: client.blob_create(repo, content) for path, content in files.items()}
    tree = client.tree_create(repo, base_tree=base_tree, blobs=blobs)
    ours = client.ref_get(repo, branch)
    if ours is not None:
        current = client.commit_get(repo, ours.object.sha)
        if current.tree.sha == tree and [p.sha for p in current.parents] == [target_sha]:
            return current.sha
    commit = client.commit_create(repo, message=message, tree=tree, parent=target_sha)
    # The target moved while we built the commit: start again from its new head.
    head = client.ref_get(repo, settings.GITHUB_TARGET_BRANCH)
    if head is None or head.object.sha != target_sha:
        raise GitHubConflictError(f"{repo}: {settings.GITHUB_TARGET_BRANCH} moved while committing")
    if ours is None:
        client.ref_create(repo, branch, commit.sha)
    else:
        # Our branch only ever holds the registry's one commit: force it onto the new base.
        client.ref_update(repo, branch, commit.sha, force=True)
    return commit.sha


def _repo_sync(
    client: GitHubClient,
    *,
    repo_key: str,
    repo: str,
    snapshot: RegistrySnapshot,
    dry_run: bool,
    log: list[str],
) -> RepoOutcome:
    target = settings.GITHUB_TARGET_BRANCH
    ours = _rendered(snapshot, repo_key)
    for attempt in (1, 2):
        head = client.ref_get(repo, target)
        if head is None:
            raise RuntimeError(f"{repo}: target branch {target!r} not found")
        target_sha = head.object.sha
        changed: dict[str, tuple[str, bytes | None, bytes]] = {}
        for path, (category, document) in ours.items():
            upstream = client.file_get(repo, path, ref=target_sha)
            content = _file_bytes(path, document, upstream)
            if content != upstream:
                changed[path] = (category, upstream, content)
        body, touched = _body(repo, changed) if changed else ("The target branch matches the registry.\n", 0)
        owner = repo.split("/", 1)[0]
        head_label = f"{owner}:{settings.GITHUB_SYNC_BRANCH}"
        if dry_run:
            directory = _dry_run_write(repo_key, repo, changed, body)
            log.append(f"{repo}: dry run, {len(changed)} changed files written to {directory}")
            return RepoOutcome(repo, "dry-run", list(changed))
        if not changed:
            pulls = client.pulls_open(repo, head=head_label)
            for pull in pulls:
                client.issue_comment(repo, pull.number, CLOSE_COMMENT)
                client.pull_update(repo, pull.number, state="closed")
                log.append(f"{repo}: matches the registry; closed pull request #{pull.number}")
            if not pulls:
                log.append(f"{repo}: matches the registry")
            return RepoOutcome(
                repo, "closed" if pulls else "unchanged", [], pulls[0].number if pulls else None
            )
        message = f"Sync {touched} models from the Horde Model Reference registry"
        files = {path: content for path, (_, _, content) in changed.items()}
        try:
            _branch_commit(client, repo, target_sha=target_sha, files=files, message=message)
        except GitHubConflictError as error:
            if attempt == 2:
                raise BranchMovedError(f"{repo}: gave up after a retry: {error}") from error
            log.append(f"{repo}: {error}; retrying from the new head")
            continue
        pulls = client.pulls_open(repo, head=head_label)
        if pulls:
            pull = client.pull_update(repo, pulls[0].number, title=PULL_TITLE, body=body)
            action = "updated"
        else:
            pull = client.pull_create(
                repo, title=PULL_TITLE, head=settings.GITHUB_SYNC_BRANCH, base=target, body=body
            )
            action = "created"
        log.append(f"{repo}: {action} pull request #{pull.number} with {', '.join(changed)}")
        return RepoOutcome(repo, action, list(changed), pull.number, pull.html_url)
    raise AssertionError("unreachable")  # pragma: no cover


def legacy_repositories() -> dict[str, str]:
    """``{"image": owner/name, "text": owner/name}`` from the settings."""
    return {"image": settings.GITHUB_IMAGE_REPO, "text": settings.GITHUB_TEXT_REPO}


def pull_requests_open(*, trigger: str, dry_run: bool = False, raise_errors: bool = True) -> SyncRun:
    """Create, update or close the sync pull request of each legacy repository; one run at a time.

    Without ``GITHUB_TOKEN`` (or with ``dry_run``) nothing is sent to GitHub except reads,
    and the would-be pull requests are written to ``PULL_REQUEST_DRY_RUN_DIR``. Recorded as
    a SyncRun; a failure is recorded and re-raised unless ``raise_errors`` is False.
    """
    dry_run = dry_run or not settings.GITHUB_TOKEN
    kind, source = SyncRun.Kind.PULL_REQUESTS, settings.GITHUB_API_URL
    holder = lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return run_skipped(kind=kind, trigger=trigger, dry_run=dry_run, source=source)
    run = SyncRun.objects.create(
        kind=kind, trigger=trigger, dry_run=dry_run, source=source, started_at=timezone.now()
    )
    log: list[str] = []
    outcomes: list[RepoOutcome] = []
    try:
        snapshot = registry_snapshot()
        with github_client(token="" if dry_run else None) as client:
            for repo_key, repo in legacy_repositories().items():
                outcomes.append(
                    _repo_sync(
                        client, repo_key=repo_key, repo=repo, snapshot=snapshot, dry_run=dry_run, log=log
                    )
                )
    except Exception as error:
        logger.exception("pull-request run %s failed", run.pk)
        run_finish(
            run,
            status=SyncRun.Status.FAILED,
            counts=_counts(outcomes),
            log="\n".join(log),
            error=f"{type(error).__name__}: {error}",
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=kind, holder=holder)
    return run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=_counts(outcomes), log="\n".join(log))


def _counts(outcomes: list[RepoOutcome]) -> dict[str, int]:
    counts = {"repositories": len(outcomes), "files": sum(len(o.files) for o in outcomes)}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts


def pull_requests_enqueue(*, trigger: str) -> bool:
    """Send ``sync.open_pull_requests`` to the workers (run it here in eager mode); never raises."""
    from sync.tasks import open_pull_requests

    try:
        open_pull_requests.apply_async(kwargs={"trigger": trigger})
    except Exception:
        # Eagerly the task has recorded its own failure; otherwise the broker refused it.
        logger.exception("could not run or enqueue the pull requests")
        return False
    return True
