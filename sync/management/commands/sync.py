"""``manage.py sync export|upstream [--dry-run]``: one sync run, in this process, then its summary.

Each job is a subcommand; ``pull-requests`` is reserved for the pull requests to the
legacy repositories, not built yet.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.models import SyncRun
from sync.services import export_publish
from sync.services.upstream import upstream_import

NOT_AVAILABLE_YET = {
    "pull-requests": "opening pull requests to the legacy repositories",
}


class Command(BaseCommand):
    help = "Run one sync job now, in this process (trigger: command), and print the run's summary."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        jobs = parser.add_subparsers(dest="job", required=True, metavar="{export,upstream,pull-requests}")
        export = jobs.add_parser("export", help="publish the registry as a new export release")
        export.add_argument(
            "--dry-run", action="store_true", help="render the release and list its files; publish nothing"
        )
        upstream = jobs.add_parser(
            "upstream", help="bring upstream's changes here: fast-forward, or propose where curated here too"
        )
        upstream.add_argument(
            "--dry-run", action="store_true", help="report what would change; write nothing"
        )
        upstream.add_argument(
            "--allow-mass-delete",
            action="store_true",
            help="let upstream delete more than 20%% of a category's records",
        )
        for job, what in NOT_AVAILABLE_YET.items():
            later = jobs.add_parser(job, help=f"{what} (not available yet)")
            later.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        job = options["job"]
        if job in NOT_AVAILABLE_YET:
            raise CommandError(f"sync {job} is not available yet: {NOT_AVAILABLE_YET[job]} is not built")
        if job == "upstream":
            run = upstream_import(
                trigger=SyncRun.Trigger.COMMAND,
                dry_run=options["dry_run"],
                allow_mass_delete=options["allow_mass_delete"],
                raise_errors=False,
            )
        else:
            run = export_publish(
                trigger=SyncRun.Trigger.COMMAND, dry_run=options["dry_run"], raise_errors=False
            )
        if run.log:
            self.stdout.write(run.log)
        if run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL):
            raise CommandError(run.summary())
        self.stdout.write(run.summary())
