"""The sync app's writes: importing legacy files, publishing exports, and the runs doing both.

One module per concern; every public service is importable from here.
"""

from __future__ import annotations

from sync.services.export import export_enqueue, export_publish, export_request, records_committed
from sync.services.legacy_import import (
    CategoryImportOutcome,
    LegacyImportReport,
    legacy_import,
    seed_if_empty,
)
from sync.services.pull_requests import pull_requests_enqueue, pull_requests_open
from sync.services.runs import sync_lease_acquire, sync_lease_release

__all__ = [
    "CategoryImportOutcome",
    "LegacyImportReport",
    "export_enqueue",
    "export_publish",
    "export_request",
    "legacy_import",
    "pull_requests_enqueue",
    "pull_requests_open",
    "records_committed",
    "seed_if_empty",
    "sync_lease_acquire",
    "sync_lease_release",
]
