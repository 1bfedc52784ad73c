"""Latency of a record's history page (and of an ``as_of`` document), served as in production.

Same set-up as ``bench/read_api.py`` (whose helpers it reuses): PostgreSQL + Redis, the
real reference data imported, gunicorn with 2 uvicorn workers on ``config.asgi``, and
``wrk`` on loopback (2 threads, 32 connections). One image record is then given a
history of 30 applied proposals (proposed by one user, approved and applied by another),
so a page of 20 versions names proposals, proposers and approvers.

Rows:
- history page, warm: the same page again and again (the in-process page cache, keyed by
  the category's revision) under 32 connections: p50/p99 and requests/s;
- history page, uncached: sequential requests, each for a page the process has not
  rendered (a different ``limit``), so each one runs the three SQL queries: median and
  max of single requests;
- ``as_of`` document, warm: the whole image document replayed at the head revision,
  then served from the in-process LRU, under 32 connections.

    .venv/bin/python bench/history.py [--quick] [--duration S] [--connections N] [--no-write]

Target: a record's history page < 20 ms warm (p99 under 32 connections). Uses the
database ``hmr_bench_history`` (dropped and re-created) and Redis db 6 (flushed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import (  # noqa: E402
    README,
    REFERENCE_DATA,
    flush_redis,
    fresh_database,
    machine_facts,
    production_env,
    replace_readme_section,
    wait_for_quiet_cpu,
)
from bench.read_api import (  # noqa: E402
    API,
    UVICORN_WORKER,
    WrkResult,
    check_services,
    ensure_debian_package,
    first_model_name,
    http_get,
    manage,
    raise_on_sigterm,
    report_server_problems,
    run_wrk,
    running,
    start_gunicorn,
    wait_for_heartbeat,
)

SECTION_TITLE = "## Record history (`bench/history.py`)"
DATABASE_NAME = "hmr_bench_history"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/6"
TARGET_MS = 20.0
PROPOSALS = 30

# Run inside the server's environment (manage.py shell): 30 proposals on one record.
MAKE_HISTORY = """
from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references.selectors import record_get
alice = Actor(kind="horde", id="1", display_name="alice#1")
bob = Actor(kind="horde", id="2", display_name="bob#2")
name = {name!r}
for number in range({count}):
    payload = dict(record_get(category="image_generation", name=name).payload)
    payload["description"] = f"bench revision {{number}}"
    proposal = proposal_create_v2(
        category="image_generation", operation="update", body=payload, path_name=name, actor=alice
    )
    batch_review(title=f"bench {{number}}", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=bob)
    proposal_apply(change_id=proposal.pk, actor=bob)
"""


def log(message: str) -> None:
    print(f"[history] {message}", flush=True)


def sequential_ms(port: int, paths: list[str]) -> list[float]:
    timings = []
    for path in paths:
        started = time.perf_counter()
        status, _, _ = http_get(port, path)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"GET {path}: HTTP {status}")
    return timings


def noise_note(busy: float) -> list[str]:
    if busy <= 10.0:
        return []
    return [
        textwrap.fill(
            f"The CPUs were {busy:.0f}% busy with other work when the run started (the 2 cores are "
            "shared): under 32 connections the p99 then measures the queue behind that work more "
            "than this route. p50 and the sequential figures are the better guide; re-run on a "
            "quiet machine for a verdict.",
            width=92,
        ),
        "",
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per row (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--quick", action="store_true", help="3 s per row, to try the script out")
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--no-write", action="store_true", help="do not write into bench/README.md")
    args = parser.parse_args()
    # What bench.read_api's gunicorn helpers read.
    args.worker_class, args.threads, args.keep_alive = UVICORN_WORKER, 4, 5
    if args.quick:
        args.duration = 3
    return args


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    check_services()
    wrk = ensure_debian_package("wrk", "wrk")
    postgres_version = fresh_database(DATABASE_NAME)
    flush_redis(REDIS_URL)
    env = production_env(DATABASE_URL, REDIS_URL)
    log("migrate, import_legacy")
    manage(env, "migrate", "--no-input")
    manage(env, "import_legacy", "--source", str(args.reference_data))

    results: dict[str, WrkResult] = {}
    uncached: list[float] = []
    busy = -1.0
    with tempfile.TemporaryDirectory(prefix="hmr-history-bench-") as scratch_name:
        scratch = Path(scratch_name)
        gunicorn, port, error_log = start_gunicorn(args, env, scratch)
        with running(gunicorn, "gunicorn"):
            wait_for_heartbeat(gunicorn, port, error_log, timeout=30)
            name, why = first_model_name(port)
            if not name:
                raise SystemExit(f"no image record to give a history: {why}")
            log(f"{PROPOSALS} applied proposals on image_generation/{name}")
            manage(env, "shell", "-c", MAKE_HISTORY.format(name=name, count=PROPOSALS))
            quoted = urllib.parse.quote(name, safe="")
            history = f"{API}/v2/image_generation/model/{quoted}/history"
            status, _, body = http_get(port, history)
            if status != 200 or body.count(b'"proposal_id":') != 20:
                raise SystemExit(f"unexpected history answer: HTTP {status} {body[:300]!r}")
            later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            as_of = f"{API}/v2/image_generation?as_of={later}"
            for path in (history, as_of):
                for _ in range(50):  # both workers render and keep their copies
                    http_get(port, path)
            busy = wait_for_quiet_cpu()
            log(f"wrk {args.connections} connections, {args.duration} s: history page")
            results["history"] = run_wrk(wrk, port, history, args)
            log("uncached pages, sequential")
            uncached = sequential_ms(port, [f"{history}?limit={limit}" for limit in range(21, 81)])
            log(f"wrk {args.connections} connections, {args.duration} s: as_of document")
            results["as_of"] = run_wrk(wrk, port, as_of, args)
            report_server_problems(error_log)

    facts = {**machine_facts(postgres_version), "busy": f"{busy:.0f}"}
    warm = results["history"]
    verdict = "PASS" if warm.p99_ms < TARGET_MS and warm.errors == 0 else "MISS"
    lines = [
        "| route | load | p50 (ms) | p99 (ms) | req/s | errors |",
        "|---|---|---:|---:|---:|---:|",
        f"| history page (20 of {PROPOSALS + 1} versions), warm | wrk, {args.connections} connections "
        f"| {warm.p50_ms:.2f} | {warm.p99_ms:.2f} | {warm.requests_per_s:.0f} | {warm.errors} |",
        f"| history page, uncached (3 SQL queries) | sequential, {len(uncached)} requests "
        f"| {statistics.median(uncached):.2f} | max {max(uncached):.2f} | – | 0 |",
        f"| `?as_of=` image document, warm | wrk, {args.connections} connections "
        f"| {results['as_of'].p50_ms:.2f} | {results['as_of'].p99_ms:.2f} "
        f"| {results['as_of'].requests_per_s:.0f} | {results['as_of'].errors} |",
    ]
    section = "\n".join(
        [
            SECTION_TITLE,
            "",
            textwrap.fill(
                "A record with 31 versions (the import, then 30 applied proposals), its history page "
                "(20 versions, with proposals, proposers, approvers and diffs) and the whole image "
                "document `as_of` a time after the head, served by gunicorn with 2 uvicorn workers "
                "(`config.asgi`) on PostgreSQL + Redis, measured with wrk on loopback. "
                f"Target: history page p99 < {TARGET_MS:.0f} ms warm under {args.connections} connections.",
                width=92,
            ),
            "",
            f"Measured {facts['date']} on `{facts['host']}` ({facts['nproc']} cores {facts['cpu']}, "
            f"{facts['memory']}, Python {facts['python']}, PostgreSQL {facts['postgres']}; CPUs "
            f"{facts['busy']}% busy before the run), `bench/history.py --duration {args.duration}`:",
            "",
            *lines,
            "",
            f"Verdict: **{verdict}**.",
            "",
            *noise_note(busy),
        ]
    )
    print("\n".join(lines))
    if not args.no_write:
        replace_readme_section(README, SECTION_TITLE, section)
        log("results written to bench/README.md")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
