"""``manage.py export_reference --dest DIR [--format legacy|v2|all]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from references.exports import ExportError, reference_export


class Command(BaseCommand):
    help = "Export every category (v2 and/or legacy files) plus manifest.json into a directory."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dest", required=True, help="the directory to write (created if missing)")
        parser.add_argument("--format", choices=["legacy", "v2", "all"], default="all")

    def handle(self, *args: Any, **options: Any) -> None:
        dest = Path(options["dest"])
        if dest.exists() and not dest.is_dir():
            raise CommandError(f"--dest {dest} exists and is not a directory")
        try:
            result = reference_export(dest=dest, fmt=options["format"])
        except ExportError as error:
            raise CommandError(f"nothing exported: {error}") from error
        except OSError as error:
            raise CommandError(f"cannot write the export to {dest}: {error}") from error
        self.stdout.write(f"wrote {len(result.files)} files and manifest.json to {dest}")
