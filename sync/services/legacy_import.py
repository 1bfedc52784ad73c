"""Importing the legacy reference files into the canonical store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from audit.models import EventSource
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.legacy import LegacyFormatError, LegacyImportResult, legacy_document_to_canonical
from horde_model_reference.legacy.types import ConversionIssue
from references.selectors import registry_is_empty
from references.services import CategorySyncReport, category_sync
from sync.legacy_source import TEXT_CSV, SourceFile, SourceUnavailableError, read_source
from sync.models import SyncRun
from sync.services.export import exports_deferred
from sync.services.runs import milliseconds

IMPORTER = Actor.system("legacy-importer")


@dataclass
class CategoryImportOutcome:
    category: str
    origin: str
    report: CategorySyncReport | None = None
    invalid: list[ConversionIssue] = field(default_factory=list)
    error: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.invalid


@dataclass
class LegacyImportReport:
    source: str
    dry_run: bool
    outcomes: list[CategoryImportOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(outcome.ok for outcome in self.outcomes)

    def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            report = outcome.report
            result[outcome.category] = {
                "created": len(report.created) if report else 0,
                "updated": len(report.updated) if report else 0,
                "deleted": len(report.deleted) if report else 0,
                "unchanged": len(report.unchanged) if report else 0,
                "invalid": len(outcome.invalid),
            }
        return result

    def lines(self) -> list[str]:
        """A readable account, one line per fact, for the command's output and the SyncRun log."""
        out = [f"note: {notice}" for notice in self.notices]
        if self.error:
            out.append(f"error: {self.error}")
        for outcome in self.outcomes:
            out.extend(f"note: {notice}" for notice in outcome.notices)
            if outcome.error:
                out.append(f"error: {outcome.category} ({outcome.origin}): {outcome.error}")
                continue
            report = outcome.report
            if report is not None:
                out.append(
                    f"{outcome.category}: created {len(report.created)}, updated {len(report.updated)}, "
                    f"deleted {len(report.deleted)}, unchanged {len(report.unchanged)}, "
                    f"invalid {len(outcome.invalid)}"
                )
            for issue in outcome.invalid:
                out.append(
                    f"invalid: {outcome.category} ({outcome.origin}) record '{issue.name}': {issue.reason}"
                )
        return out


def source_file_convert(source_file: SourceFile) -> LegacyImportResult:
    """Parse one file and convert it; LegacyFormatError when the whole file is unusable."""
    try:
        text = source_file.content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LegacyFormatError(f"not UTF-8 text ({error})") from error
    if source_file.filename == TEXT_CSV:
        from horde_model_reference.legacy.text import text_csv_to_canonical

        return text_csv_to_canonical(text)
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise LegacyFormatError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    return legacy_document_to_canonical(source_file.category, document)


def _import_file(
    source_file: SourceFile, *, strict: bool, dry_run: bool, allow_mass_delete: bool
) -> CategoryImportOutcome:
    outcome = CategoryImportOutcome(category=source_file.category.value, origin=source_file.origin)
    try:
        result = source_file_convert(source_file)
    except LegacyFormatError as error:
        outcome.error = f"{source_file.filename}: {error}; category left unchanged"
        return outcome
    outcome.invalid = result.invalid
    outcome.notices = result.notices
    if strict and result.invalid:
        outcome.error = (
            f"{len(result.invalid)} invalid record(s) in {source_file.filename}; "
            "--strict: category left unchanged"
        )
        return outcome
    try:
        outcome.report = category_sync(
            category=source_file.category,
            entries=result.entries,
            keep_names=[issue.name for issue in result.invalid if issue.name],
            actor=IMPORTER,
            source=EventSource.SYNC,
            allow_mass_delete=allow_mass_delete,
            dry_run=dry_run,
        )
    except DomainError as error:
        outcome.error = f"{error}; category left unchanged"
    return outcome


def legacy_import(
    *,
    source: str,
    dry_run: bool = False,
    strict: bool = False,
    allow_mass_delete: bool = False,
    kind: str = SyncRun.Kind.LEGACY_IMPORT,
) -> LegacyImportReport:
    """Import every legacy file the source holds; each category in its own transaction.

    Categories whose file is absent are left untouched. With ``strict``, a category
    with any invalid record is not changed at all; otherwise valid records are
    applied and each invalid one keeps its existing row.
    """
    with exports_deferred():
        return _legacy_import(
            source=source, dry_run=dry_run, strict=strict, allow_mass_delete=allow_mass_delete, kind=kind
        )


def _legacy_import(
    *, source: str, dry_run: bool, strict: bool, allow_mass_delete: bool, kind: str
) -> LegacyImportReport:
    report = LegacyImportReport(source=source or "github", dry_run=dry_run)
    run = SyncRun.objects.create(kind=kind, source=report.source, dry_run=dry_run, started_at=timezone.now())
    try:
        files, notices = read_source(source)
    except SourceUnavailableError as error:
        report.error = str(error)
        files, notices = [], []
    report.notices = [n for n in notices if not n.startswith("error: ")]
    for failure in (n for n in notices if n.startswith("error: ")):
        report.outcomes.append(CategoryImportOutcome(category="?", origin=source, error=failure[7:]))
    for source_file in files:
        report.outcomes.append(
            _import_file(source_file, strict=strict, dry_run=dry_run, allow_mass_delete=allow_mass_delete)
        )
    if not files and report.error is None:
        report.error = "the source holds no legacy reference files"
    _sync_run_finish(run, report)
    return report


def _sync_run_finish(run: SyncRun, report: LegacyImportReport) -> None:
    if report.error and not report.outcomes:
        status = SyncRun.Status.FAILED
    elif report.ok:
        status = SyncRun.Status.SUCCEEDED
    elif any(outcome.report is not None for outcome in report.outcomes):
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.FAILED
    finished = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=finished,
        duration_ms=milliseconds(run.started_at, finished),
        counts=report.counts(),
        log="\n".join(report.lines()),
        error=report.error or "",
    )


def seed_if_empty(*, source: str) -> LegacyImportReport | None:
    """Seed the reference when the database holds no record; None when it already has data."""
    if not registry_is_empty():
        return None
    return legacy_import(source=source, kind=SyncRun.Kind.SEED, allow_mass_delete=True)
