"""Celery tasks: each parses its arguments and calls one service of sync.services.

Every task is idempotent and safe to retry (a run of a kind already running is
recorded as skipped); the soft/hard time limits are global (CELERY_TASK_*_TIME_LIMIT).
"""

from __future__ import annotations

import httpx
from celery import shared_task
from django.db import InterfaceError, OperationalError

from sync.github_api import GitHubUnavailableError
from sync.models import SyncRun
from sync.services import export_publish, pull_requests_open
from sync.services.audit_verify import audit_verify_run
from sync.services.links import links_check
from sync.services.statistics import statistics_fetch
from sync.services.upstream import UpstreamFetchError, upstream_import

# Worth another try: a full or unmounted disk, a database that dropped the connection.
RETRYABLE_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task(
    name="sync.publish_export",
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
)
def publish_export(trigger: str = SyncRun.Trigger.COMMAND, dry_run: bool = False) -> str:
    """Publish the registry as a new export release; returns the run's summary line."""
    # `celery call` and beat pass JSON: refuse an unknown trigger rather than record it.
    parsed = SyncRun.Trigger(trigger)
    return export_publish(trigger=parsed, dry_run=bool(dry_run)).summary()


@shared_task(
    name="sync.import_upstream",
    # A file that could not be downloaded (after the adapter's own retries) makes the
    # run raise UpstreamFetchError once it is recorded; the categories that did come
    # are unchanged on the retry, so retrying the whole run is safe.
    autoretry_for=(*RETRYABLE_ERRORS, UpstreamFetchError, httpx.TransportError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def import_upstream(
    trigger: str = SyncRun.Trigger.COMMAND, dry_run: bool = False, allow_mass_delete: bool = False
) -> str:
    """Bring upstream's changes here three-way (sync.services.upstream); returns the run's summary."""
    parsed = SyncRun.Trigger(trigger)
    return upstream_import(
        trigger=parsed, dry_run=bool(dry_run), allow_mass_delete=bool(allow_mass_delete)
    ).summary()


@shared_task(
    name="sync.open_pull_requests",
    autoretry_for=(*RETRYABLE_ERRORS, GitHubUnavailableError),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=3,
)
def open_pull_requests(trigger: str = SyncRun.Trigger.COMMAND, dry_run: bool = False) -> str:
    """Create, update or close the sync pull requests of the legacy repositories."""
    parsed = SyncRun.Trigger(trigger)
    return pull_requests_open(trigger=parsed, dry_run=bool(dry_run)).summary()


@shared_task(
    name="sync.check_download_links",
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=60,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=2,
)
def check_download_links(trigger: str = SyncRun.Trigger.COMMAND) -> str:
    """Check every download link of the registry (sync.services.links); returns the run's summary."""
    parsed = SyncRun.Trigger(trigger)
    return links_check(trigger=parsed).summary()


@shared_task(
    name="audit.verify_chain",
    # Only a lost database connection is worth a retry; a broken chain is a recorded outcome.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=3,
)
def verify_audit_chain(trigger: str = SyncRun.Trigger.COMMAND) -> str:
    """Verify the audit trail's hash chain (recorded as a SyncRun of kind audit_verify)."""
    parsed = SyncRun.Trigger(trigger)
    return audit_verify_run(trigger=parsed).summary()


@shared_task(
    name="sync.fetch_statistics",
    # The adapter retries each request itself; the next beat (5 minutes) is the retry of a
    # run that got nothing, so only database trouble is retried here.
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=2,
)
def fetch_statistics(trigger: str = SyncRun.Trigger.COMMAND) -> str:
    """Fetch and store the AI Horde's model statistics (sync.services.statistics)."""
    parsed = SyncRun.Trigger(trigger)
    return statistics_fetch(trigger=parsed).summary()
