"""``manage.py sync export|pull-requests [--dry-run]``: one sync run, in this process, then its summary.

Each job is a subcommand; ``upstream`` is reserved for the upstream import, not built yet.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.models import SyncRun
from sync.services import export_publish, pull_requests_open

NOT_AVAILABLE_YET = {
    "upstream": "importing upstream changes",
}


class Command(BaseCommand):
    help = "Run one sync job now, in this process (trigger: command), and print the run's summary."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        jobs = parser.add_subparsers(dest="job", required=True, metavar="{export,upstream,pull-requests}")
        export = jobs.add_parser("export", help="publish the registry as a new export release")
        export.add_argument(
            "--dry-run", action="store_true", help="render the release and list its files; publish nothing"
        )
        pulls = jobs.add_parser(
            "pull-requests", help="open, update or close the legacy repositories' sync pull requests"
        )
        pulls.add_argument(
            "--dry-run",
            action="store_true",
            help="write the would-be pull requests to PULL_REQUEST_DRY_RUN_DIR",
        )
        for job, what in NOT_AVAILABLE_YET.items():
            later = jobs.add_parser(job, help=f"{what} (not available yet)")
            later.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        job = options["job"]
        if job in NOT_AVAILABLE_YET:
            raise CommandError(f"sync {job} is not available yet: {NOT_AVAILABLE_YET[job]} is not built")
        service = pull_requests_open if job == "pull-requests" else export_publish
        run = service(trigger=SyncRun.Trigger.COMMAND, dry_run=options["dry_run"], raise_errors=False)
        if run.log:
            self.stdout.write(run.log)
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(run.summary())
        self.stdout.write(run.summary())
