"""Wall time of a full import of the real data into an empty database, and of an export.

Runs once on SQLite and once on PostgreSQL (when it answers), each in a fresh
database, in a child process so that start-up costs are not counted:

    .venv/bin/python bench/import_export.py [--reference-data DIR] [--repeat N]

Targets on a 2-core machine: import < 3 s, export --format all < 1 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "client")]

from bench.common import REFERENCE_DATA, child_env, child_json  # noqa: E402

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from sync.services import legacy_import
from references.exports import reference_export
from references.models import ModelRecord
source = sys.argv[1]
started = time.perf_counter()
report = legacy_import(source=source)
imported = time.perf_counter() - started
assert report.ok, report.lines()
with tempfile.TemporaryDirectory() as dest:
    started = time.perf_counter()
    reference_export(dest=Path(dest), fmt="all")
    exported = time.perf_counter() - started
print(json.dumps({"import_s": imported, "export_s": exported, "records": ModelRecord.objects.count()}))
"""


def run_child(database_url: str, reference_data: Path) -> dict[str, float]:
    return child_json(child_env(database_url), CHILD, str(reference_data))


def postgres_url() -> str | None:
    from scripts.service_check import answers

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not answers("postgres", base):
        return None
    import psycopg

    with psycopg.connect(base.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hmr_bench")
        conn.execute("CREATE DATABASE hmr_bench")
    return base.rsplit("/", 1)[0] + "/hmr_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for attempt in range(args.repeat):
            rows.append(
                ("SQLite", run_child(f"sqlite:///{scratch}/bench-{attempt}.sqlite3", args.reference_data))
            )
    for _ in range(args.repeat):
        url = postgres_url()
        if url is None:
            print("PostgreSQL does not answer: skipped")
            break
        rows.append(("PostgreSQL", run_child(url, args.reference_data)))
    print(f"{'database':<12} {'records':>8} {'import s':>9} {'export s':>9}")
    for name, row in rows:
        print(f"{name:<12} {int(row['records']):>8} {row['import_s']:>9.3f} {row['export_s']:>9.3f}")
    for name in ("SQLite", "PostgreSQL"):
        measured = [row for label, row in rows if label == name]
        if measured:
            best_import = min(r["import_s"] for r in measured)
            best_export = min(r["export_s"] for r in measured)
            verdict = "meets" if best_import < 3 and best_export < 1 else "MISSES"
            print(
                f"{name}: best import {best_import:.3f} s, "
                f"best export {best_export:.3f} s: {verdict} the targets"
            )


if __name__ == "__main__":
    main()
