"""``manage.py import_catalogs --source DIR_OR_URL``."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.services.catalogs_import import CATALOG_SOURCES, catalogs_import


class Command(BaseCommand):
    help = (
        "Load the curated catalogs (licensing, text guidance, image baselines) from a directory of "
        "export files ("
        + ", ".join(source.file_name for source in CATALOG_SOURCES)
        + ") or from a service's base URL (e.g. https://models.aihorde.net/api/model_references, whose "
        + ", ".join(source.route for source in CATALOG_SOURCES)
        + " routes are read). A catalog missing from the source is left as it is; running twice "
        "changes nothing the second time."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--source", required=True, help="a directory of export files, or a base URL")

    def handle(self, *args: Any, **options: Any) -> None:
        report = catalogs_import(source=options["source"])
        for line in report.lines:
            (self.stderr if line.startswith("error:") else self.stdout).write(line)
        if not report.ok:
            raise CommandError("some catalogs were not loaded: see the errors above")
