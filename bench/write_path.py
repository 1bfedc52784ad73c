"""Throughput of the write path: propose, approve in one batch, apply, on PostgreSQL.

Two measurements on a fresh database (``hmr_bench_write``, dropped and re-created;
Redis db 13, flushed):

(a) service level, in a child process: ``proposal_create_v2`` for N new
    image_generation records, ``batch_review`` approving all of them in one batch,
    ``batch_apply``; then a profiling pass (queries per proposal and per apply, by
    table and statement kind, and a cProfile of an apply batch) that is not timed.
(b) through the API, served as in production: gunicorn on ``config.asgi:application``
    (2 uvicorn workers, Django in ``WSGI_THREADS`` threads each) with ``DEBUG=false``,
    authenticated against a local AI Horde stand-in (``tests/horde_stub.py``) run in
    this process. N proposals are POSTed to
    ``/api/model_references/v2/image_generation/add`` by 8 threads with keep-alive
    clients, approved by ``POST .../v2/pending_queue/batches`` and applied by
    ``POST .../v2/pending_queue/apply_batch/{id}``. A small warm-up batch goes first,
    through the very same steps, and is not counted.

    .venv/bin/python bench/write_path.py [--count N] [--threads T] [--skip-api]
                                          [--wait-for-routes MINUTES] [--no-write] [--keep]

Targets (2-core machine): >= 250 applies/s and >= 100 proposals/s through the API.
The results are written to bench/README.md (section "Write path") unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "client")]

from bench.common import (  # noqa: E402
    POSTGRES_ADMIN_URL,
    README,
    free_port,
    machine_facts,
    production_env,
    python_child,
    replace_readme_section,
    result_line,
    tail,
    wait_for_quiet_cpu,
)
from bench.common import drop_database as drop_named_database  # noqa: E402
from bench.common import flush_redis as flush_named_redis  # noqa: E402
from bench.common import fresh_database as fresh_named_database  # noqa: E402

SECTION_TITLE = "## Write path (`bench/write_path.py`)"

DATABASE_NAME = "hmr_bench_write"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/13"

CATEGORY = "image_generation"
V2 = "/api/model_references/v2"
ADD_PATH = f"{V2}/{CATEGORY}/add"
BATCHES_PATH = f"{V2}/pending_queue/batches"
APPLY_BATCH_PATH = f"{V2}/pending_queue/apply_batch/{{batch_id}}"
REQUESTOR_KEY = "bench-requestor-key-0123456789"
APPROVER_KEY = "bench-approver-key-0123456789"

APPLY_TARGET = 250.0
PROPOSE_TARGET = 100.0
WARM_UP = 16


def log(message: str) -> None:
    print(f"[write_path] {message}", flush=True)


# --- the service-level child ---------------------------------------------------------------------

SERVICE_CHILD = r"""
import cProfile, io, json, pstats, re, sys, time
from collections import Counter, defaultdict
import django
django.setup()
from django.db import connection, connections
from audit.services import Actor
from pending_queue.services import batch_apply, batch_review, proposal_create_v2
from tests.factories import sd_payload

count, profile_count = int(sys.argv[1]), int(sys.argv[2])
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")

def propose(prefix, n):
    return [
        proposal_create_v2(
            category="image_generation", operation="create", body=sd_payload(f"{prefix} {i:04d}"),
            path_name=None, actor=ALICE, route="/bench",
        ).pk
        for i in range(n)
    ]

def approve(ids):
    return batch_review(title="bench", approved_ids=ids, rejected_ids=[], reason="", actor=BOB).batch.pk

def apply(batch_id, n):
    outcome = batch_apply(batch_id=batch_id, actor=BOB)
    assert outcome.failure is None, outcome.failure
    assert len(outcome.applied) == n, len(outcome.applied)

# Warm up (imports, validation models, connection): not counted.
apply(approve(propose("Bench Warm", 5)), 5)

def timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started

ids, propose_s = timed(propose, "Bench Service", count)
batch_id, approve_s = timed(approve, ids)
_, apply_s = timed(apply, batch_id, count)

# Profiling (not timed above): which queries, how many, how long.
PATTERN = re.compile(
    r'^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)'
)
TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"([a-z_]+)"')

# Every statement (execute wrapper) and every COMMIT, timed with perf_counter:
# connection.queries rounds each duration to whole milliseconds, too coarse here.
class Timer:

    def __init__(self):
        self.statements, self.commits = [], []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, time.perf_counter() - started))

    def measure(self, function, *args):
        wrapper = type(connections["default"])._commit
        timer = self

        def timed_commit(self_):
            started = time.perf_counter()
            try:
                return wrapper(self_)
            finally:
                timer.commits.append(time.perf_counter() - started)

        type(connections["default"])._commit = timed_commit
        try:
            with connection.execute_wrapper(self):
                return timed(function, *args)
        finally:
            type(connections["default"])._commit = wrapper

def shapes(statements, commits, per):
    kinds, times = Counter(), defaultdict(float)
    for sql, seconds in statements:
        verb = PATTERN.match(sql)
        table = TABLE.search(sql)
        key = (verb.group(1) if verb else sql.split()[0]) + (" " + table.group(1) if table else "")
        if "FOR UPDATE" in sql:
            key += " FOR UPDATE"
        kinds[key] += 1
        times[key] += seconds
    kinds["COMMIT"] += len(commits)
    times["COMMIT"] += sum(commits)
    return [
        {"statement": key, "per_item": kinds[key] / per, "ms_per_item": 1000 * times[key] / per}
        for key, _ in kinds.most_common()
    ]

def summary(timer, wall, per):
    db = sum(seconds for _, seconds in timer.statements) + sum(timer.commits)
    return {
        "queries_per_item": len(timer.statements) / per,
        "commits_per_item": len(timer.commits) / per,
        "db_ms_per_item": 1000 * db / per,
        "wall_ms_per_item": 1000 * wall / per,
        "shapes": shapes(timer.statements, timer.commits, per),
    }

timer = Timer()
ids, wall = timer.measure(propose, "Bench Profile P", profile_count)
propose_queries = summary(timer, wall, profile_count)
batch_id = approve(ids)
timer = Timer()
_, wall = timer.measure(apply, batch_id, profile_count)
apply_queries = summary(timer, wall, profile_count)

# Diagnostic: the same apply batch without waiting for the WAL flush at each commit.
batch_id = approve(propose("Bench Profile S", profile_count))
with connection.cursor() as cursor:
    cursor.execute("SET synchronous_commit = off")
_, async_commit_s = timed(apply, batch_id, profile_count)
with connection.cursor() as cursor:
    cursor.execute("SET synchronous_commit = on")
# And the same once more with it on, right after, for a fair comparison.
batch_id = approve(propose("Bench Profile T", profile_count))
_, sync_commit_s = timed(apply, batch_id, profile_count)

batch_id = approve(propose("Bench Profile C", profile_count))
profiler = cProfile.Profile()
profiler.enable()
apply(batch_id, profile_count)
profiler.disable()
out = io.StringIO()
stats = pstats.Stats(profiler, stream=out)
WANTED = (
    r"(work/main/(pending_queue|references|audit|client)|compiler.py.*as_sql|model_validate"
    r"|run_and_clear|execute_sql|base.py.*_commit|hashlib|dumps)"
)
stats.sort_stats("cumulative").print_stats(WANTED, 40)
stats.sort_stats("tottime").print_stats(15)

print("RESULT " + json.dumps({
    "count": count, "propose_s": propose_s, "approve_s": approve_s, "apply_s": apply_s,
    "propose_queries": propose_queries, "apply_queries": apply_queries,
    "apply_ms_sync_commit": 1000 * sync_commit_s / profile_count,
    "apply_ms_async_commit": 1000 * async_commit_s / profile_count,
    "profile": out.getvalue(),
}))
"""


def service_level(env: dict[str, str], count: int, profile_count: int) -> dict[str, Any]:
    child_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = python_child(child_env, SERVICE_CHILD, str(count), str(profile_count))
    line = result_line(result.stdout)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"service-level child failed ({result.returncode}):\n{result.stderr[-5000:]}")
    return dict(json.loads(line))


# --- database, Redis, machine --------------------------------------------------------------------


def base_env() -> dict[str, str]:
    return production_env(DATABASE_URL, REDIS_URL, allowed_hosts="127.0.0.1")


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "migrate", "--no-input"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{result.stdout}\n{result.stderr}")


# --- the API run ---------------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(env: dict[str, str], scratch: Path, workers: int, threads: int) -> Iterator[str]:
    """A production-like server; yields its base URL once /api/heartbeat answers."""
    port = free_port()
    server_log = scratch / f"gunicorn-{port}.log"
    local = Path(sys.executable).parent / "gunicorn"
    command = [
        *([str(local)] if local.exists() else [sys.executable, "-m", "gunicorn"]),
        "config.asgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--timeout",
        "300",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    env = {**env, "WSGI_THREADS": str(threads)}
    with server_log.open("wb") as output:
        proc = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{tail(server_log)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/heartbeat", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s:\n{tail(server_log)}")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        problems = [line for line in tail(server_log, 2000).splitlines() if "Traceback" in line]
        if problems:
            log(f"{len(problems)} tracebacks in the server log; its end:\n{tail(server_log, 30)}")


def missing_routes(base: str) -> list[str]:
    """The write routes the running server does not list in its OpenAPI document."""
    import httpx

    wanted = {
        "add": re.compile(r"/v2/\{[a-z_]+\}/add/?$|/v2/image_generation/add/?$"),
        "batches": re.compile(r"/v2/pending_queue/batches/?$"),
        "apply_batch": re.compile(r"/v2/pending_queue/apply_batch/\{[a-z_]+\}/?$"),
    }
    try:
        paths = list(httpx.get(f"{base}/api/openapi.json", timeout=30).json().get("paths", {}))
    except (httpx.HTTPError, ValueError):
        return list(wanted)
    return [name for name, pattern in wanted.items() if not any(pattern.search(p) for p in paths)]


@dataclass
class ApiRun:
    count: int
    threads: int
    propose_s: float = 0.0
    approve_s: float = 0.0
    apply_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    propose_p50_ms: float = 0.0
    propose_p99_ms: float = 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def api_cycle(base: str, prefix: str, count: int, threads: int) -> ApiRun:
    """Propose ``count`` creates from ``threads`` keep-alive clients, approve them, apply the batch."""
    import httpx

    run = ApiRun(count=count, threads=threads)
    lock = threading.Lock()
    latencies: list[float] = []
    change_ids: list[int] = []
    names = [f"{prefix} {i:04d}" for i in range(count)]
    shares = [names[i::threads] for i in range(threads)]
    from tests.factories import sd_payload

    def propose(share: list[str]) -> None:
        with httpx.Client(base_url=base, headers={"apikey": REQUESTOR_KEY}, timeout=60) as client:
            for name in share:
                started = time.perf_counter()
                response = client.post(ADD_PATH, json=sd_payload(name))
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    key = f"add {response.status_code}"
                    run.statuses[key] = run.statuses.get(key, 0) + 1
                    if response.status_code in (200, 201, 202):
                        change_ids.append(int(response.json()["change_id"]))
                    elif run.statuses[key] == 1:
                        log(f"POST {ADD_PATH} -> {response.status_code}: {response.text[:500]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(propose, shares))
    run.propose_s = time.perf_counter() - started
    run.propose_p50_ms = 1000 * percentile(latencies, 0.50)
    run.propose_p99_ms = 1000 * percentile(latencies, 0.99)
    if len(change_ids) != count:
        raise RuntimeError(f"only {len(change_ids)} of {count} proposals were accepted: {run.statuses}")

    with httpx.Client(base_url=base, headers={"apikey": APPROVER_KEY}, timeout=600) as client:
        started = time.perf_counter()
        response = client.post(
            BATCHES_PATH,
            json={"batch_title": f"bench {prefix}", "approved_ids": sorted(change_ids), "rejected_ids": []},
        )
        run.approve_s = time.perf_counter() - started
        run.statuses[f"batches {response.status_code}"] = 1
        if response.status_code != 200:
            raise RuntimeError(f"POST {BATCHES_PATH} -> {response.status_code}: {response.text[:1000]}")
        batch_id = int(response.json()["batch_id"])

        started = time.perf_counter()
        response = client.post(APPLY_BATCH_PATH.format(batch_id=batch_id))
        run.apply_s = time.perf_counter() - started
        run.statuses[f"apply_batch {response.status_code}"] = 1
        if response.status_code != 200:
            raise RuntimeError(f"POST apply_batch -> {response.status_code}: {response.text[:1000]}")
        applied = len(response.json().get("applied", []))
        if applied != count:
            raise RuntimeError(f"apply_batch applied {applied} of {count}: {response.text[:1000]}")
    return run


def through_api(
    env: dict[str, str], count: int, threads: int, wait_minutes: float, workers: int, server_threads: int
) -> ApiRun | str:
    """The API measurement, or why it could not be made."""
    from tests.horde_stub import HordeStub

    stub = HordeStub()
    stub.add_user(REQUESTOR_KEY, "bench-requestor", 1)
    stub.add_user(APPROVER_KEY, "bench-approver", 2)
    deadline = time.monotonic() + wait_minutes * 60
    with stub.running(), tempfile.TemporaryDirectory() as scratch:
        server_env = {**env, "AI_HORDE_URL": stub.url, "REQUESTOR_IDS": "1", "APPROVER_IDS": "2"}
        while True:
            try:
                with gunicorn(server_env, Path(scratch), workers, server_threads) as base:
                    missing = missing_routes(base)
                    if not missing:
                        log(f"routes present; warm-up ({WARM_UP} proposals), then {count} proposals")
                        api_cycle(base, "Bench API Warm", WARM_UP, threads)
                        run = api_cycle(base, "Bench API", count, threads)
                        log(f"AI Horde look-ups made by the server: {stub.lookups()}")
                        return run
            except RuntimeError as error:
                missing = [f"server problem: {error}"]
            if time.monotonic() > deadline:
                return f"pending: the API routes are not there yet ({', '.join(missing)})"
            log(f"routes missing ({', '.join(missing)}); checking again in 60 s")
            time.sleep(60)


# --- report --------------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def verdict(value: float, target: float) -> str:
    return "meets" if value >= target else "MISSES"


def section_text(
    service: dict[str, Any], api: ApiRun | str, facts: dict[str, str], args: argparse.Namespace
) -> str:
    count = int(service["count"])
    lines = [
        SECTION_TITLE,
        "",
        "The curation write path on PostgreSQL (fresh database `hmr_bench_write`, Redis db 13): N",
        "proposals creating new `image_generation` records, approved in one batch, then the batch",
        "applied (one transaction for the whole batch: versions, records, category revisions, two audit",
        "events per proposal). (a) calls the services directly in one process; (b) goes through the "
        "HTTP API served",
        f"by gunicorn (config.asgi, {args.workers} uvicorn workers, `WSGI_THREADS={args.server_threads}`, "
        "`DEBUG=false`), keys",
        f"checked against a local AI Horde stand-in, proposals POSTed by {args.threads} threads with "
        "keep-alive clients,",
        f"after an uncounted warm-up batch of {WARM_UP}.",
        "",
        f"Targets (2-core machine): >= {APPLY_TARGET:.0f} applies/s and >= {PROPOSE_TARGET:.0f} "
        "proposals/s through the API.",
        "",
        textwrap.fill(
            f"Measured {facts['date']} on `{facts['host']}` ({facts['nproc']} cores {facts['cpu']}, "
            f"{facts['memory']}, Python {facts['python']}, PostgreSQL {facts['postgres']} on loopback; "
            f"CPUs {facts['busy']}% busy just before the run), `bench/write_path.py --count {count}`:",
            width=100,
            break_long_words=False,
            break_on_hyphens=False,
        ),
        "",
        "| path | N | propose (s) | proposals/s | approve batch (s) | apply batch (s) | applies/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| (a) services | {count} | {service['propose_s']:.2f} | "
        f"{rate(count, service['propose_s']):.0f} | {service['approve_s']:.3f} | "
        f"{service['apply_s']:.2f} | {rate(count, service['apply_s']):.0f} |",
    ]
    if isinstance(api, ApiRun):
        lines.append(
            f"| (b) HTTP API | {api.count} | {api.propose_s:.2f} | {rate(api.count, api.propose_s):.0f} | "
            f"{api.approve_s:.3f} | {api.apply_s:.2f} | {rate(api.count, api.apply_s):.0f} |"
        )
    else:
        lines.append(f"| (b) HTTP API | {count} | {api} | | | | |")
    lines.append("")
    if isinstance(api, ApiRun):
        proposals = rate(api.count, api.propose_s)
        applies = rate(api.count, api.apply_s)
        lines += [
            f"API: proposals {proposals:.0f}/s ({verdict(proposals, PROPOSE_TARGET)} the target; "
            f"latency p50 {api.propose_p50_ms:.0f} ms, p99 {api.propose_p99_ms:.0f} ms), "
            f"applies {applies:.0f}/s ({verdict(applies, APPLY_TARGET)} the target).",
            "",
        ]
    queries = service["apply_queries"]
    proposing = service["propose_queries"]
    db, wall = queries["db_ms_per_item"], queries["wall_ms_per_item"]
    lines += [
        textwrap.fill(
            f"Where an apply's time goes (service level, {args.profile_count} applies in one batch, timed "
            f"statement by statement): {queries['queries_per_item']:.2f} SQL statements and "
            f"{queries['commits_per_item']:.2f} commits per apply, because the batch is reserved in one "
            "transaction and applied in one more through the write engine (`references.services."
            "records_plan`/`records_write`), which writes the records, versions and category revisions "
            "in bulk before the queue appends every audit event at once; "
            f"{db:.2f} ms waiting for PostgreSQL of {wall:.2f} ms wall. The rest is Python: Django "
            "compiling the bulk statements, payload validation (once strictly, when the proposal is "
            "drafted; once leniently, at apply) and the audit hashes. With `synchronous_commit = off` "
            f"an apply takes {service['apply_ms_async_commit']:.2f} ms instead of "
            f"{service['apply_ms_sync_commit']:.2f} ms (diagnostic only). A proposal: "
            f"{proposing['queries_per_item']:.0f} statements + 1 commit, "
            f"{proposing['db_ms_per_item']:.1f} ms of {proposing['wall_ms_per_item']:.1f} ms.",
            width=100,
            break_long_words=False,
            break_on_hyphens=False,
        ),
        "",
        textwrap.fill(
            "The API applies a batch in one request, so its rate is the service level's plus the HTTP "
            "round trips of approving and applying; proposals are one request each, and each costs a "
            "transaction with its audit event.",
            width=100,
            break_long_words=False,
            break_on_hyphens=False,
        ),
        "",
        "| statements per apply | count | ms |",
        "|---|---:|---:|",
        *(
            f"| `{shape['statement']}` | {shape['per_item']:.2f} | {shape['ms_per_item']:.3f} |"
            for shape in queries["shapes"]
        ),
        "",
    ]
    return "\n".join(lines)


def write_readme(section: str) -> None:
    replace_readme_section(README, SECTION_TITLE, section)


def print_profile(service: dict[str, Any]) -> None:
    for label, key in (("proposal", "propose_queries"), ("apply", "apply_queries")):
        data = service[key]
        log(
            f"per {label}: {data['queries_per_item']:.1f} statements + {data['commits_per_item']:.2f} "
            f"commits, {data['db_ms_per_item']:.2f} ms waiting for the database, "
            f"{data['wall_ms_per_item']:.2f} ms wall"
        )
        for shape in data["shapes"]:
            print(f"    {shape['per_item']:5.2f} x  {shape['ms_per_item']:6.3f} ms  {shape['statement']}")
    log(
        f"apply with synchronous_commit on: {service['apply_ms_sync_commit']:.2f} ms each; "
        f"off (diagnostic only): {service['apply_ms_async_commit']:.2f} ms each"
    )
    log("cProfile of an apply batch (cumulative):")
    print(service["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile-count", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8, help="client threads posting proposals")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=8, help="WSGI_THREADS of the server (8)")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--wait-for-routes", type=float, default=0.0, metavar="MINUTES")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    from scripts.service_check import answers

    if not answers("postgres", POSTGRES_ADMIN_URL) or not answers("redis", REDIS_URL):
        raise SystemExit("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must answer")
    postgres_version = fresh_named_database(DATABASE_NAME)
    facts = {**machine_facts(postgres_version), "busy": f"{wait_for_quiet_cpu():.0f}"}
    try:
        flush_named_redis(REDIS_URL)
        env = base_env()
        migrate(env)
        log(f"(a) service level: {args.count} proposals, one batch, apply")
        service = service_level(env, args.count, args.profile_count)
        count = int(service["count"])
        log(
            f"(a) propose {service['propose_s']:.2f} s ({rate(count, service['propose_s']):.0f}/s), "
            f"approve {service['approve_s']:.3f} s, apply {service['apply_s']:.2f} s "
            f"({rate(count, service['apply_s']):.0f}/s)"
        )
        print_profile(service)
        api: ApiRun | str = "skipped (--skip-api)"
        if not args.skip_api:
            log("(b) through the API")
            api = through_api(
                env, args.count, args.threads, args.wait_for_routes, args.workers, args.server_threads
            )
            if isinstance(api, ApiRun):
                proposals, applies = rate(api.count, api.propose_s), rate(api.count, api.apply_s)
                log(
                    f"(b) propose {api.propose_s:.2f} s ({proposals:.0f}/s, p50 {api.propose_p50_ms:.0f} ms, "
                    f"p99 {api.propose_p99_ms:.0f} ms), approve {api.approve_s:.3f} s, apply "
                    f"{api.apply_s:.2f} s ({applies:.0f}/s); statuses {api.statuses}"
                )
                log(
                    f"targets: proposals/s {verdict(proposals, PROPOSE_TARGET)} >= {PROPOSE_TARGET:.0f}, "
                    f"applies/s {verdict(applies, APPLY_TARGET)} >= {APPLY_TARGET:.0f}"
                )
            else:
                log(f"(b) {api}")
        if not args.no_write:
            write_readme(section_text(service, api, facts, args))
            log(f"results written to {README.relative_to(REPO_ROOT)}")
    finally:
        if not args.keep:
            drop_named_database(DATABASE_NAME)


if __name__ == "__main__":
    main()
