"""Wall time of an upstream sync run when nothing changed upstream (all files).

The real reference data is imported into a fresh database and served on loopback by
the GitHub raw-file stand-in (``tests/github_raw_stub.py``); a first
``upstream_import`` takes the bases, then ``--runs`` more runs are timed, each the
whole service call (lease, 10 downloads, sha256 comparisons, SyncRun). A child process
per database, so start-up costs are not counted; PostgreSQL in ``hmr_bench_upstream``
(dropped and re-created) when it answers, and SQLite.

    .venv/bin/python bench/upstream_sync.py [--reference-data DIR] [--runs N] [--no-write]

Target (2-core machine): < 1 s per run (median). Figures go to bench/README.md
(section "Upstream sync") unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "client")]

from bench.common import (  # noqa: E402
    REFERENCE_DATA,
    child_env,
    child_json,
    drop_database,
    fresh_database,
    machine_facts,
    measured_line,
    wait_for_quiet_cpu,
    write_figures_section,
)

DATABASE = "hmr_bench_upstream"
TITLE = "## Upstream sync (`bench/upstream_sync.py`)"

CHILD = r"""
import json, os, sys, time
from pathlib import Path
from tests.github_raw_stub import github_raw_stub
reference_data, runs = Path(sys.argv[1]), int(sys.argv[2])
with github_raw_stub() as stub:
    stub.load(reference_data)
    os.environ["LEGACY_IMAGE_REPO_RAW_URL"] = stub.image_url
    os.environ["LEGACY_TEXT_REPO_RAW_URL"] = stub.text_url
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from sync.models import SyncRun
    from sync.services import legacy_import
    from sync.services.upstream import upstream_import
    assert legacy_import(source=str(reference_data)).ok
    first = upstream_import(trigger=SyncRun.Trigger.COMMAND)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    assert first.counts["proposed"] == 0, first.log
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run = upstream_import(trigger=SyncRun.Trigger.COMMAND)
        seconds.append(time.perf_counter() - started)
        assert run.status == SyncRun.Status.SUCCEEDED and run.counts["unchanged"] == 10, run.log
    served = sum(map(len, stub.files.values()))
    print(json.dumps({"first_s": first.duration_ms / 1000, "seconds": seconds, "bytes": served}))
"""


def run_child(database_url: str, reference_data: Path, runs: int) -> dict[str, object]:
    return child_json(child_env(database_url), CHILD, str(reference_data), str(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    busy = wait_for_quiet_cpu()
    rows: list[tuple[str, dict[str, object]]] = []
    postgres_version = "?"
    with tempfile.TemporaryDirectory() as scratch:
        rows.append(
            ("SQLite", run_child(f"sqlite:///{scratch}/bench.sqlite3", args.reference_data, args.runs))
        )
    try:
        postgres_version = fresh_database(DATABASE)
    except Exception as error:  # a bench without PostgreSQL still reports SQLite
        print(f"PostgreSQL does not answer ({error}): skipped")
    else:
        try:
            url = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
            rows.append((f"PostgreSQL {postgres_version}", run_child(url, args.reference_data, args.runs)))
        finally:
            drop_database(DATABASE)
    lines = [
        "| database | runs | median (s) | min (s) | max (s) | first run, taking the bases (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for name, row in rows:
        seconds = [float(s) for s in row["seconds"]]  # type: ignore[attr-defined]
        median = statistics.median(seconds)
        lines.append(
            f"| {name} | {len(seconds)} | {median:.3f} | {min(seconds):.3f} | {max(seconds):.3f} "
            f"| {float(row['first_s']):.3f} |"  # type: ignore[arg-type]
        )
        verdicts.append(
            f"{name}: median {median * 1000:.0f} ms, {'meets' if median < 1 else 'MISSES'} the target"
        )
    print("\n".join(lines))
    print("\n".join(verdicts))
    if args.no_write:
        return
    facts = machine_facts(postgres_version)
    served = int(rows[0][1]["bytes"])  # type: ignore[call-overload]
    intro = [
        "`sync.services.upstream.upstream_import` with nothing changed upstream: the 10 real files",
        f"({served / 1024:.0f} KiB: 9 image files and the text `models.csv`) served on loopback by the",
        "GitHub raw-file stand-in, after a first run has taken the bases. Each timed run is the whole",
        "service call: lease, ten downloads, a sha256 per file compared with its base, the SyncRun.",
        "",
        "Target (2-core machine): < 1 s per run (median).",
    ]
    measured = measured_line(facts, busy, f"bench/upstream_sync.py --runs {args.runs}")
    write_figures_section(TITLE, intro, measured, lines, verdicts)


if __name__ == "__main__":
    main()
