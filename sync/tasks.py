"""Celery tasks: each parses its arguments and calls one service of sync.services.

Every task is idempotent and safe to retry (a run of a kind already running is
recorded as skipped); the soft/hard time limits are global (CELERY_TASK_*_TIME_LIMIT).
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from sync.github_api import GitHubUnavailableError
from sync.models import SyncRun
from sync.services import export_publish, pull_requests_open

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
