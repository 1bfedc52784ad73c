"""The three-way upstream import: upstream's own changes come in, curated changes stay.

Per category, ``UpstreamBase`` holds the upstream file as last imported. A run fetches
every upstream file; a file whose sha256 equals its base's changes nothing and writes
nothing. Otherwise upstream's changes since the base are computed record by record:

- the record here still equals the base (or, for a create, does not exist): the change
  is applied at once (a fast-forward, source ``sync``, the system actor, audited);
- the record was changed here too: the change is queued as a proposal marked as an
  upstream conflict, and the curated record is left as it is;
- the record here already equals upstream's new version: nothing to do.

``SYNC_UPSTREAM_MODE=propose`` queues every change instead. A category's changes and
its new base are one transaction, so a failure leaves both as they were; a file that
cannot be fetched or parsed fails its category only (the run is ``partial``/``failed``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import EventSource
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.legacy import LegacyFormatError
from horde_model_reference.legacy.types import ConversionIssue
from pending_queue.models import Operation, SubmittedFormat
from pending_queue.services import proposal_create, proposal_draft
from references.models import ModelRecord
from references.selectors import record_list
from references.services import (
    MASS_DELETE_THRESHOLD,
    RecordChange,
    payload_without_v2_only_fields,
    records_apply,
)
from sync.legacy_source import FetchFailure, SourceFile, read_upstream
from sync.models import SyncRun, UpstreamBase
from sync.services.export import exports_deferred
from sync.services.legacy_import import source_file_convert
from sync.services.runs import lease_holder, run_finish, run_skipped, sync_lease_acquire, sync_lease_release

logger = logging.getLogger(__name__)

UPSTREAM_ACTOR = Actor.system("upstream-sync")
MODE_APPLY, MODE_PROPOSE = "apply", "propose"

# A record as the three-way comparison sees it: canonical payload and legacy residue.
# Dict equality ignores key order, so a reordered but equal record is no change.
State = dict[str, Any]


class UpstreamFetchError(Exception):
    """Some upstream files could not be fetched; raised after the run was recorded, so the task retries."""


@dataclass
class CategoryUpstreamOutcome:
    category: str
    origin: str
    unchanged: bool = False  # the file's sha256 equals the base's: nothing done
    fast_forwarded: list[str] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # the proposed ones changed here too
    already: list[str] = field(default_factory=list)  # upstream's change was already here
    invalid: list[ConversionIssue] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None
    fetch_failed: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "fast_forwarded": len(self.fast_forwarded),
            "proposed": len(self.proposed),
            "conflicts": len(self.conflicts),
            "already_here": len(self.already),
            "invalid": len(self.invalid),
        }

    def line(self) -> str:
        if self.error is not None:
            return f"error: {self.category} ({self.origin}): {self.error}; category and base left unchanged"
        if self.unchanged:
            return f"{self.category}: upstream file unchanged since the last import; nothing to do"
        parts = [f"{key.replace('_', ' ')} {value}" for key, value in self.counts().items()]
        return f"{self.category}: " + ", ".join(parts)


@dataclass
class UpstreamImportReport:
    mode: str
    dry_run: bool
    outcomes: list[CategoryUpstreamOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[CategoryUpstreamOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    def counts(self) -> dict[str, Any]:
        done = [o for o in self.outcomes if o.error is None]
        return {
            "fast_forwarded": sum(len(o.fast_forwarded) for o in done),
            "proposed": sum(len(o.proposed) for o in done),
            "conflicts": sum(len(o.conflicts) for o in done),
            "unchanged": sum(1 for o in done if o.unchanged),
            "failed": len(self.failed),
            "categories": {o.category: o.counts() for o in done if not o.unchanged},
        }

    def lines(self) -> list[str]:
        out = [f"mode: {self.mode}" + (" (dry run: nothing written)" if self.dry_run else "")]
        for outcome in self.outcomes:
            out.extend(f"note: {notice}" for notice in outcome.notices)
            out.append(outcome.line())
            if outcome.error is None:
                out.extend(f"  fast-forwarded {name}" for name in outcome.fast_forwarded)
                out.extend(
                    f"  proposed {name}" + (" (upstream conflict)" if name in outcome.conflicts else "")
                    for name in outcome.proposed
                )
                out.extend(f"  invalid {issue.name}: {issue.reason}" for issue in outcome.invalid)
        return out


@dataclass(frozen=True)
class _Step:
    name: str
    operation: str  # create | update | delete
    new: State | None  # upstream's version (None for a delete)
    current: ModelRecord | None
    queue: bool
    conflict: bool


def _why(error: DomainError) -> str:
    if isinstance(error.detail, list):
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in error.detail
        )
    return str(error.detail)


def _state(payload: Any, residue: Any) -> State:
    return {"payload": payload, "legacy_residue": residue or {}}


def _record_state(record: ModelRecord | None) -> State | None:
    # Compared with what upstream's legacy files can say: the v2-only fields exist only here
    # (and survives an upstream change, see references.services.payload_v2_only_fields_kept).
    if record is None:
        return None
    return _state(payload_without_v2_only_fields(record.payload), record.legacy_residue)


def _plan(
    *,
    base: Mapping[str, State] | None,
    new: Mapping[str, State],
    current: Mapping[str, ModelRecord],
    skip: set[str],
    mode: str,
) -> tuple[list[_Step], list[str]]:
    """The steps that bring upstream's changes here, and the names whose change was already here."""
    steps: list[_Step] = []
    already: list[str] = []
    if base is None:
        # First run, no base: the fetched file becomes the base. A record here that
        # equals it needs nothing. One that differs (or is missing here) cannot be told
        # apart: changed here, or changed upstream since the registry was seeded? So it
        # is proposed, marked as a conflict, for a person to decide; records here that
        # the file lacks are left alone (created here, or deleted upstream: unknown).
        for name, upstream in new.items():
            if name in skip:
                continue
            here = current.get(name)
            if _record_state(here) == upstream:
                continue
            operation = Operation.CREATE if here is None else Operation.UPDATE
            steps.append(_Step(name, operation, upstream, here, queue=True, conflict=True))
        return steps, already
    names = list(new) + [name for name in base if name not in new]
    for name in names:
        if name in skip:
            continue
        before, after = base.get(name), new.get(name)
        if before == after:
            continue  # upstream did not change it (whatever happened here stays)
        here = current.get(name)
        here_state = _record_state(here)
        if here_state == after:
            already.append(name)
            continue
        if after is None:
            operation = Operation.DELETE
        elif here is None:
            operation = Operation.CREATE
        else:
            operation = Operation.UPDATE
        conflict = here_state != before
        steps.append(
            _Step(name, operation, after, here, queue=conflict or mode == MODE_PROPOSE, conflict=conflict)
        )
    return steps, already


def _upstream_deletes(base: Mapping[str, State] | None, new: Mapping[str, State], skip: set[str]) -> int:
    if base is None:
        return 0
    return sum(1 for name in base if name not in new and name not in skip)


def _import_category(
    source_file: SourceFile,
    base_row: UpstreamBase | None,
    *,
    mode: str,
    dry_run: bool,
    allow_mass_delete: bool,
) -> CategoryUpstreamOutcome:
    category = source_file.category.value
    outcome = CategoryUpstreamOutcome(category=category, origin=source_file.origin)
    sha256 = hashlib.sha256(source_file.content).hexdigest()
    if base_row is not None and base_row.sha256 == sha256 and base_row.filename == source_file.filename:
        outcome.unchanged = True
        return outcome
    try:
        result = source_file_convert(source_file)
    except LegacyFormatError as error:
        outcome.error = f"{source_file.filename}: {error}"
        return outcome
    outcome.invalid, outcome.notices = result.invalid, result.notices
    new = {entry.name: _state(entry.payload, entry.legacy_residue) for entry in result.entries}
    base: dict[str, State] | None = dict(base_row.entries) if base_row is not None else None
    # A record upstream has but we cannot convert is neither changed nor deleted: it
    # keeps its base entry (if any) until upstream fixes it.
    skip = {issue.name for issue in result.invalid if issue.name}
    deletes = _upstream_deletes(base, new, skip)
    if base and deletes > MASS_DELETE_THRESHOLD * len(base) and not allow_mass_delete:
        outcome.error = (
            f"{source_file.filename}: upstream would delete {deletes} of {len(base)} records "
            f"(more than {MASS_DELETE_THRESHOLD:.0%}); refusing without --allow-mass-delete"
        )
        return outcome
    try:
        with transaction.atomic():
            _apply_category(source_file, base, new, skip, sha256, outcome, mode=mode, dry_run=dry_run)
    except DomainError as error:
        outcome.fast_forwarded, outcome.proposed, outcome.conflicts, outcome.already = [], [], [], []
        outcome.error = f"{source_file.filename}: {_why(error)}"
    return outcome


def _apply_category(
    source_file: SourceFile,
    base: dict[str, State] | None,
    new: dict[str, State],
    skip: set[str],
    sha256: str,
    outcome: CategoryUpstreamOutcome,
    *,
    mode: str,
    dry_run: bool,
) -> None:
    category = source_file.category.value
    # Locked: a curator's apply cannot slip between our comparison and our writes.
    current = {r.name: r for r in record_list(category=category).select_for_update()}
    steps, outcome.already = _plan(base=base, new=new, current=current, skip=skip, mode=mode)
    fast = [step for step in steps if not step.queue]
    queued = [step for step in steps if step.queue]
    if dry_run:
        outcome.fast_forwarded = [step.name for step in fast]
        outcome.proposed = [step.name for step in queued]
        outcome.conflicts = [step.name for step in queued if step.conflict]
        return
    failed: set[str] = set()
    if fast:
        changes = [
            RecordChange(
                category=category,
                name=step.name,
                operation=step.operation,
                payload=step.new["payload"] if step.new else None,
                legacy_residue=step.new["legacy_residue"] if step.new else None,
                expected_version=step.current.version if step.current is not None else None,
            )
            for step in fast
        ]
        result = records_apply(changes=changes, actor=UPSTREAM_ACTOR, source=EventSource.SYNC)
        if result.failure is not None:
            # Everything here was read under lock, so only the upstream record itself
            # can fail (a payload the strict checks refuse): the whole category waits.
            assert result.failed_index is not None
            name = fast[result.failed_index].name
            raise DomainError(f"record '{name}': {_why(result.failure)}", status=result.failure.status)
        outcome.fast_forwarded = [step.name for step in fast]
    for step in queued:
        try:
            draft = proposal_draft(
                category=category,
                operation=step.operation,
                model_name=step.name,
                payload=step.new["payload"] if step.new else None,
                legacy_residue=step.new["legacy_residue"] if step.new else None,
                submitted_format=SubmittedFormat.V1,
            )
            proposal_create(
                draft=draft,
                actor=UPSTREAM_ACTOR,
                source=EventSource.SYNC,
                request_metadata={"upstream": source_file.origin, "upstream_sha256": sha256},
                notes=(
                    "Changed upstream and here since the last upstream import: decide which wins."
                    if step.conflict
                    else "Changed upstream since the last upstream import."
                ),
                upstream_conflict=step.conflict,
            )
        except DomainError as error:
            # This record's change cannot even be queued (say, a name the write rules
            # refuse); it keeps its base entry, so the rest of the category proceeds.
            failed.add(step.name)
            outcome.invalid.append(ConversionIssue(step.name, f"cannot be queued: {_why(error)}"))
            continue
        outcome.proposed.append(step.name)
        if step.conflict:
            outcome.conflicts.append(step.name)
    kept = skip | failed
    entries: dict[str, State] = {}
    for name, state in new.items():
        if name in kept:
            if base is not None and name in base:
                entries[name] = base[name]
        else:
            entries[name] = state
    for name in kept:
        if base is not None and name in base and name not in entries:
            entries[name] = base[name]
    UpstreamBase.objects.update_or_create(
        category=category,
        defaults={
            "filename": source_file.filename,
            "origin": source_file.origin,
            "sha256": sha256,
            "entries": entries,
            "fetched_at": timezone.now(),
        },
    )


def _fetch_failed(failure: FetchFailure) -> CategoryUpstreamOutcome:
    return CategoryUpstreamOutcome(
        category=failure.category.value,
        origin=failure.origin,
        error=f"download failed: {failure.reason}",
        fetch_failed=True,
    )


def upstream_import(
    *,
    trigger: str,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
    mode: str | None = None,
    raise_errors: bool = True,
) -> SyncRun:
    """Bring upstream's changes since the last import here, three-way; one run at a time.

    Recorded as a SyncRun of kind ``upstream`` with counts (fast-forwarded, proposed,
    conflicts, unchanged, failed) and a readable log. When a file could not be
    downloaded and ``raise_errors`` is set, ``UpstreamFetchError`` is raised after the
    run is recorded, so the task retries (a retry of the categories that succeeded
    finds their files unchanged and does nothing).
    """
    mode = mode or settings.SYNC_UPSTREAM_MODE
    kind = SyncRun.Kind.UPSTREAM
    source = f"{settings.LEGACY_IMAGE_REPO_RAW_URL} {settings.LEGACY_TEXT_REPO_RAW_URL}"
    holder = lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return run_skipped(kind=kind, trigger=trigger, dry_run=dry_run, source=source)
    run = SyncRun.objects.create(
        kind=kind, trigger=trigger, dry_run=dry_run, source=source, started_at=timezone.now()
    )
    report = UpstreamImportReport(mode=mode, dry_run=dry_run)
    try:
        with exports_deferred():
            files, failures = read_upstream()
            report.outcomes.extend(_fetch_failed(failure) for failure in failures)
            # The bases' sha256 is all an unchanged run needs; entries load only when used.
            bases = {row.category: row for row in UpstreamBase.objects.defer("entries")}
            for source_file in files:
                report.outcomes.append(
                    _import_category(
                        source_file,
                        bases.get(source_file.category.value),
                        mode=mode,
                        dry_run=dry_run,
                        allow_mass_delete=allow_mass_delete,
                    )
                )
    except Exception as error:
        logger.exception("upstream run %s failed", run.pk)
        run_finish(
            run,
            status=SyncRun.Status.FAILED,
            counts=report.counts(),
            log="\n".join(report.lines()),
            error=f"{type(error).__name__}: {error}",
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=kind, holder=holder)
    failed = report.failed
    if not failed:
        status = SyncRun.Status.SUCCEEDED
    elif len(failed) < len(report.outcomes):
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.FAILED
    reasons = "; ".join(f"{o.category}: {o.error}" for o in failed)
    run_finish(run, status=status, counts=report.counts(), log="\n".join(report.lines()), error=reasons)
    if raise_errors and any(o.fetch_failed for o in failed):
        raise UpstreamFetchError(run.summary())
    return run


def upstream_enqueue(*, trigger: str) -> bool:
    """Send ``sync.import_upstream`` to the workers (run it here in eager mode); never raises."""
    from sync.tasks import import_upstream

    try:
        import_upstream.apply_async(kwargs={"trigger": trigger})
        return True
    except Exception:
        logger.exception("could not enqueue an upstream import")
        return False
