"""Publishing exports, on PostgreSQL with the real data imported.

Two measurements on a fresh database (``hmr_bench_export``, dropped and re-created; Redis
db 12, flushed):

(1) ``export_release_publish`` of the whole registry (every category, v2 + legacy +
    ``models.csv`` + manifest, into a new release) in one child process; each run
    publishes into a fresh ``EXPORT_DIR`` so every run does the full work. Median of
    ``--repeat`` runs. Target: < 0.5 s.
(2) apply → export visible on disk, with a real ``celery worker`` (Redis broker) running
    as in production: the bench process creates and approves a proposal through the
    services (untimed), then times ``proposal_apply`` (whose commit enqueues the
    debounced ``sync.publish_export``, ``EXPORT_DEBOUNCE_SECONDS`` as configured) until
    ``EXPORT_DIR/current/manifest.json`` names the new revision, polled every 5 ms.
    Median of ``--applies`` applies after one uncounted warm-up. Target: < 2 s.

    .venv/bin/python bench/export_publish.py [--repeat N] [--applies N] [--no-write] [--keep]

The results are written to bench/README.md (section "Export publishing") unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "client")]

from bench.common import (  # noqa: E402
    POSTGRES_ADMIN_URL,
    README,
    REFERENCE_DATA,
    drop_database,
    flush_redis,
    fresh_database,
    machine_facts,
    production_env,
    python_child,
    replace_readme_section,
    result_line,
    wait_for_quiet_cpu,
)

SECTION_TITLE = "## Export publishing (`bench/export_publish.py`)"
DATABASE_NAME = "hmr_bench_export"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/12"
EXPORT_TARGET_S = 0.5
VISIBLE_TARGET_S = 2.0

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import django
django.setup()
from django.conf import settings
from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references.exports import export_release_publish
from references.models import ModelRecord
from references.selectors import category_revisions
from sync.services import legacy_import

mode, argument = sys.argv[1], int(sys.argv[2])
if mode == "import":
    report = legacy_import(source=sys.argv[3])
    assert report.ok, report.lines()
    print("RESULT " + json.dumps({"records": ModelRecord.objects.count()}))
elif mode == "export":
    timings, files, size = [], 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(argument):
            export_dir = Path(scratch) / f"export-{run}"
            started = time.perf_counter()
            result = export_release_publish(export_dir=export_dir, keep=2)
            timings.append(time.perf_counter() - started)
            assert result.created
            release = export_dir / "current"
            files = len(result.files) + 1
            size = sum(p.stat().st_size for p in release.rglob("*") if p.is_file())
    print("RESULT " + json.dumps({"timings": timings, "files": files, "bytes": size}))
else:
    alice = Actor(kind="horde", id="1", display_name="bench-requestor")
    bob = Actor(kind="horde", id="2", display_name="bench-approver")
    manifest = Path(settings.EXPORT_DIR) / "current" / "manifest.json"

    def published_revision():
        try:
            return json.loads(manifest.read_bytes())["categories"]["image_generation"]["revision"]
        except (OSError, ValueError, KeyError):
            return -1

    def payload(name):
        return {
            "name": name, "description": "bench", "version": "1.0", "baseline": "stable_diffusion_xl",
            "nsfw": False, "style": "generalist", "tags": [], "showcases": [], "trigger": [],
            "config": {"download": [{"file_name": f"{name}.safetensors",
                                     "file_url": f"https://example.invalid/{name}.safetensors",
                                     "sha256sum": "a" * 64}]},
        }

    def one(index, timeout):
        name = f"Export Bench {index}"
        proposal = proposal_create_v2(
            category="image_generation", operation="create", body=payload(name), path_name=None, actor=alice
        )
        batch_review(title=name, approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=bob)
        started = time.perf_counter()
        proposal_apply(change_id=proposal.pk, actor=bob)
        target = category_revisions()["image_generation"]
        while published_revision() < target:
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"revision {target} not on disk after {timeout} s")
            time.sleep(0.005)
        return time.perf_counter() - started

    one(0, 120.0)  # warm-up: the worker's first task, connections, imports
    timings = [one(index, 30.0) for index in range(1, argument + 1)]
    print("RESULT " + json.dumps({"timings": timings, "debounce_s": settings.EXPORT_DEBOUNCE_SECONDS}))
"""


def log(message: str) -> None:
    print(message, flush=True)


def child(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = python_child(env, CHILD, *args)
    line = result_line(result.stdout)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"bench child {args[0]} failed ({result.returncode}):\n{result.stderr[-5000:]}")
    return dict(json.loads(line))


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "migrate", "--no-input"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{result.stdout}\n{result.stderr}")


def with_worker(env: dict[str, str], scratch: Path, applies: int) -> dict[str, Any]:
    log_path = scratch / "worker.log"
    with log_path.open("wb") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
                "--hostname",
                f"hmr-bench-{uuid.uuid4().hex[:8]}@localhost",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            return child(env, "visible", str(applies))
        except SystemExit as error:
            raise SystemExit(f"{error}\nworker log:\n{log_path.read_text()[-3000:]}") from None
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)


def section_text(
    records: int, export: dict[str, Any], visible: dict[str, Any], facts: dict[str, str], args: Any
) -> str:
    export_ms = [t * 1000 for t in export["timings"]]
    visible_ms = [t * 1000 for t in visible["timings"]]
    export_median, visible_median = statistics.median(export_ms), statistics.median(visible_ms)
    lines = [
        SECTION_TITLE,
        "",
        textwrap.fill(
            f"PostgreSQL (fresh database `{DATABASE_NAME}`, Redis db 12), the real reference data imported "
            f"({records} records). (1) `export_release_publish` of the whole registry: every category at one "
            f"revision, v2 + legacy + `models.csv` + manifest ({export['files']} files, "
            f"{export['bytes'] / 1e6:.1f} MB) into a new release, each run into a fresh `EXPORT_DIR`. "
            "(2) apply → export visible on disk with a real `celery worker` (Redis broker, solo pool): "
            "`proposal_apply` in the bench process, timed until `EXPORT_DIR/current/manifest.json` names "
            f"the new revision (debounce `EXPORT_DEBOUNCE_SECONDS={visible['debounce_s']}`, the default).",
            width=100,
        ),
        "",
        f"Targets (2-core machine): export < {EXPORT_TARGET_S} s; apply → visible < {VISIBLE_TARGET_S} s "
        "(median of 20).",
        "",
        textwrap.fill(
            f"Measured {facts['date']} on `{facts['host']}` ({facts['nproc']} cores {facts['cpu']}, "
            f"{facts['memory']}, Python {facts['python']}, PostgreSQL {facts['postgres']} on loopback; "
            f"CPUs {facts['busy']}% busy just before the run), "
            f"`bench/export_publish.py --repeat {args.repeat} --applies {args.applies}`:",
            width=100,
        ),
        "",
        "| measurement | runs | median | min | max | target |",
        "|---|---:|---:|---:|---:|---|",
        f"| export of the whole registry | {len(export_ms)} | {export_median:.0f} ms "
        f"| {min(export_ms):.0f} ms "
        f"| {max(export_ms):.0f} ms | < {EXPORT_TARGET_S * 1000:.0f} ms: "
        f"{'meets' if export_median < EXPORT_TARGET_S * 1000 else 'MISSES'} |",
        f"| apply → export visible on disk | {len(visible_ms)} | {visible_median:.0f} ms "
        f"| {min(visible_ms):.0f} ms | {max(visible_ms):.0f} ms | < {VISIBLE_TARGET_S * 1000:.0f} ms: "
        f"{'meets' if visible_median < VISIBLE_TARGET_S * 1000 else 'MISSES'} |",
        "",
        textwrap.fill(
            f"Of the apply → visible time, {visible['debounce_s'] * 1000:.0f} ms is the debounce "
            "(the task is enqueued with that countdown so a burst of applies makes one export); "
            "the rest is the apply, the broker round trip and one export.",
            width=100,
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--repeat", type=int, default=9, help="export runs (median)")
    parser.add_argument("--applies", type=int, default=20, help="timed applies (median)")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    from scripts.service_check import answers

    if not answers("postgres", POSTGRES_ADMIN_URL) or not answers("redis", REDIS_URL):
        raise SystemExit("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must answer")
    postgres_version = fresh_database(DATABASE_NAME)
    facts = {**machine_facts(postgres_version), "busy": f"{wait_for_quiet_cpu():.0f}"}
    try:
        flush_redis(REDIS_URL)
        with tempfile.TemporaryDirectory() as scratch_name:
            scratch = Path(scratch_name)
            env = {
                **production_env(DATABASE_URL, REDIS_URL, allowed_hosts="127.0.0.1"),
                "EXPORT_DIR": str(scratch / "export"),
                "CELERY_BROKER_URL": REDIS_URL,
                "CELERY_TASK_DEFAULT_QUEUE": f"hmr-bench-{uuid.uuid4().hex}",
                # The import publishes nothing: the timed applies start from an empty EXPORT_DIR.
                "EXPORT_ON_CHANGE": "false",
            }
            migrate(env)
            records = int(child(env, "import", "0", str(args.reference_data))["records"])
            log(f"imported {records} records")
            export = child(env, "export", str(args.repeat))
            log(
                f"(1) export: median {statistics.median(export['timings']) * 1000:.0f} ms "
                f"over {args.repeat} runs ({export['files']} files)"
            )
            visible = with_worker({**env, "EXPORT_ON_CHANGE": "true"}, scratch, args.applies)
            log(
                f"(2) apply -> visible: median {statistics.median(visible['timings']) * 1000:.0f} ms, "
                f"max {max(visible['timings']) * 1000:.0f} ms over {args.applies} applies"
            )
        if not args.no_write:
            replace_readme_section(README, SECTION_TITLE, section_text(records, export, visible, facts, args))
            log(f"results written to {README.relative_to(REPO_ROOT)}")
    finally:
        if not args.keep:
            drop_database(DATABASE_NAME)


if __name__ == "__main__":
    main()
