"""``manage.py sync export|upstream|pull-requests|links|statistics``: one sync run, then its summary.

Each job is a subcommand; the run happens in this process (trigger: command).
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.models import SyncRun
from sync.services import export_publish, pull_requests_open
from sync.services.links import links_check
from sync.services.statistics import statistics_fetch
from sync.services.upstream import upstream_import


class Command(BaseCommand):
    help = "Run one sync job now, in this process (trigger: command), and print the run's summary."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        jobs = parser.add_subparsers(
            dest="job", required=True, metavar="{export,upstream,pull-requests,links,statistics}"
        )
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
        pulls = jobs.add_parser(
            "pull-requests", help="open, update or close the legacy repositories' sync pull requests"
        )
        pulls.add_argument(
            "--dry-run",
            action="store_true",
            help="write the would-be pull requests to PULL_REQUEST_DRY_RUN_DIR",
        )

        jobs.add_parser("links", help="check every download link of the registry once (HEAD / ranged GET)")
        jobs.add_parser("statistics", help="fetch and store the AI Horde's model statistics once")

    def handle(self, *args: Any, **options: Any) -> None:
        job = options["job"]
        if job == "links":
            run = links_check(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
        elif job == "statistics":
            run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
        elif job == "upstream":
            run = upstream_import(
                trigger=SyncRun.Trigger.COMMAND,
                dry_run=options["dry_run"],
                allow_mass_delete=options["allow_mass_delete"],
                raise_errors=False,
            )
        elif job == "pull-requests":
            run = pull_requests_open(
                trigger=SyncRun.Trigger.COMMAND, dry_run=options["dry_run"], raise_errors=False
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
