"""Audit trail: chain verification of 100,000 events, and replay of the full history.

1. ``verify``: a fresh PostgreSQL database gets 100,000 ``record.updated`` events (each
   with a realistic record state before and after) appended through the real append
   service (``audit.services.audit_events_append``, 5,000 per transaction, so the chain is
   the one production writes); then ``audit_verify``'s service
   (``audit.selectors.audit_chain_verify``) and the command itself are timed.
2. ``replay``: another fresh database imports the 20 shared history snapshots in order
   (10 ``stable_diffusion.json``, then 10 text ``db.json``, as ``tests/sync/test_history.py``
   does), then 1,000 proposals go through the queue (500 creates, then 500 updates of
   them; proposed, approved and applied in batches of 100); then the full replay
   (``audit_replay_record_state``) and ``audit_replay``'s comparison with the live records
   (``references.replay.replay_compare_live``) are timed.

A child process per part, so start-up costs are not counted; PostgreSQL only (the
targets are PostgreSQL's), in ``hmr_bench_audit`` (dropped and re-created).

    .venv/bin/python bench/audit.py [--events N] [--runs N] [--reference-data DIR] [--no-write]

Targets (2-core machine): verify 100,000 events < 30 s; replay of the full history < 10 s.
Figures go to bench/README.md (section "Audit trail") unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "client")]

from bench.common import (  # noqa: E402
    REFERENCE_DATA,
    child_env,
    drop_database,
    fresh_database,
    last_line_json,
    machine_facts,
    measured_line,
    python_child,
    wait_for_quiet_cpu,
    write_figures_section,
)

DATABASE = "hmr_bench_audit"
TITLE = "## Audit trail (`bench/audit.py`)"

VERIFY_CHILD = r"""
import io, json, sys, time
events, runs = int(sys.argv[1]), int(sys.argv[2])
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0)
from audit.selectors import audit_chain_verify
from audit.services import Actor, PendingEvent, audit_events_append
from tests.factories import sd_payload
actor = Actor(kind="horde", id="2", display_name="bob#2")
started = time.perf_counter()
chunk = 5000
for first in range(0, events, chunk):
    pending = []
    for n in range(first, min(events, first + chunk)):
        name = f"Model {n % 1000}"
        before = {"payload": sd_payload(name, description=f"v{n}"), "legacy_residue": {}, "version": n}
        after = {"payload": sd_payload(name, description=f"v{n + 1}"), "legacy_residue": {}, "version": n + 1}
        pending.append(PendingEvent("record.updated", "image_generation", name, before, after))
    with transaction.atomic():
        audit_events_append(events=pending, actor=actor, source="api")
generate_s = time.perf_counter() - started
seconds = []
for _ in range(runs):
    started = time.perf_counter()
    result = audit_chain_verify()
    seconds.append(time.perf_counter() - started)
    assert result.ok and result.events_checked == events, result
out = io.StringIO()
started = time.perf_counter()
call_command("audit_verify", stdout=out)
command_s = time.perf_counter() - started
assert f"{events} event(s) checked" in out.getvalue(), out.getvalue()
print(json.dumps({"generate_s": generate_s, "seconds": seconds, "command_s": command_s}))
"""

REPLAY_CHILD = r"""
import gzip, io, json, sys, tempfile, time
from pathlib import Path
reference_data, runs, proposals = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from audit.models import AuditEvent
from audit.selectors import audit_replay_record_state
from audit.services import Actor
from pending_queue.services import batch_apply, batch_review, proposal_create_v2
from references.replay import replay_compare_live
from references.selectors import record_get
from sync.services import legacy_import
from tests.factories import sd_payload
started = time.perf_counter()
with tempfile.TemporaryDirectory() as scratch:
    for kind, relative in (("image", "image/stable_diffusion.json"), ("text", "text/db.json")):
        target = Path(scratch) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        for snapshot in sorted((reference_data / "history" / kind).glob("*.json.gz")):
            target.write_bytes(gzip.decompress(snapshot.read_bytes()))
            report = legacy_import(source=scratch, allow_mass_delete=True)
            assert report.ok, report.lines()
        target.unlink()
import_s = time.perf_counter() - started
alice = Actor(kind="horde", id="1", display_name="alice#1")
bob = Actor(kind="horde", id="2", display_name="bob#2")
started = time.perf_counter()
half, per_batch = proposals // 2, 100
for phase in ("create", "update"):
    for first in range(0, half, per_batch):
        ids = []
        for n in range(first, min(half, first + per_batch)):
            name = f"Bench Model {n}"
            if phase == "create":
                body = sd_payload(name)
            else:
                body = {**record_get(category="image_generation", name=name).payload, "description": "edited"}
            proposal = proposal_create_v2(
                category="image_generation", operation=phase, body=body,
                path_name=None if phase == "create" else name, actor=alice,
            )
            ids.append(proposal.pk)
        review = batch_review(
            title=f"{phase} {first}", approved_ids=ids, rejected_ids=[], reason="", actor=bob
        )
        outcome = batch_apply(batch_id=review.batch.pk, actor=bob)
        assert len(outcome.applied) == len(ids) and outcome.failure is None, outcome
propose_s = time.perf_counter() - started
events = AuditEvent.objects.count()
record_events = AuditEvent.objects.filter(action__startswith="record.").count()
replay_seconds, compare_seconds = [], []
for _ in range(runs):
    started = time.perf_counter()
    state = audit_replay_record_state()
    replay_seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    comparison = replay_compare_live()
    compare_seconds.append(time.perf_counter() - started)
    assert comparison.ok, [d.line() for d in comparison.differences[:10]]
out = io.StringIO()
started = time.perf_counter()
call_command("audit_replay", stdout=out, stderr=out)
command_s = time.perf_counter() - started
print(json.dumps({
    "import_s": import_s, "propose_s": propose_s, "events": events, "record_events": record_events,
    "records": len(state), "replay_seconds": replay_seconds, "compare_seconds": compare_seconds,
    "command_s": command_s,
}))
"""


def run_child(code: str, *args: str) -> dict[str, object]:
    env = child_env(f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    fresh_database(DATABASE)
    try:
        result = python_child(env, code, *args)
    finally:
        drop_database(DATABASE)
    if result.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{result.stderr}")
    return last_line_json(result.stdout)


def number(row: dict[str, object], key: str) -> float:
    value = row[key]
    assert isinstance(value, int | float), (key, value)
    return float(value)


def numbers(row: dict[str, object], key: str) -> list[float]:
    values = row[key]
    assert isinstance(values, list), (key, values)
    return [float(v) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    busy = wait_for_quiet_cpu()
    postgres_version = fresh_database(DATABASE)
    verify = run_child(VERIFY_CHILD, str(args.events), str(args.runs))
    replay = run_child(REPLAY_CHILD, str(args.reference_data), str(args.runs), str(args.proposals))
    verify_s, replay_s = numbers(verify, "seconds"), numbers(replay, "replay_seconds")
    compare_s = numbers(replay, "compare_seconds")
    verify_median, compare_median = statistics.median(verify_s), statistics.median(compare_s)
    lines = [
        "| measurement | events | runs | median (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `audit_chain_verify` | {args.events} | {len(verify_s)} | {verify_median:.2f} "
        f"| {min(verify_s):.2f} | {max(verify_s):.2f} |",
        f"| `manage.py audit_verify` (in process) | {args.events} | 1 "
        f"| {number(verify, 'command_s'):.2f} | | |",
        f"| replay of every record (`audit_replay_record_state`) | {replay['events']} | {len(replay_s)} "
        f"| {statistics.median(replay_s):.2f} | {min(replay_s):.2f} | {max(replay_s):.2f} |",
        f"| replay + compare with the live records (`replay_compare_live`) | {replay['events']} "
        f"| {len(compare_s)} | {compare_median:.2f} | {min(compare_s):.2f} | {max(compare_s):.2f} |",
        f"| `manage.py audit_replay` (in process) | {replay['events']} | 1 "
        f"| {number(replay, 'command_s'):.2f} | | |",
    ]
    verify_verdict = "meets" if verify_median < 30 else "MISSES"
    replay_verdict = "meets" if compare_median < 10 else "MISSES"
    verdicts = [
        f"verify: median {verify_median:.2f} s, {verify_verdict} the 30 s target",
        f"replay: median {compare_median:.2f} s, {replay_verdict} the 10 s target",
    ]
    print("\n".join(lines))
    print("\n".join(verdicts))
    if args.no_write:
        return
    facts = machine_facts(postgres_version)
    intro = [
        f"Verify: {args.events:,} `record.updated` events (each with an image record's state before and",
        "after) appended through `audit.services.audit_events_append`, 5,000 per transaction, in",
        f"{number(verify, 'generate_s'):.1f} s; then the chain walked from the first event to the head",
        "(one streamed query of plain tuples, a SHA-256 per event).",
        "",
        "Replay: the 20 shared history snapshots imported in order (10 `stable_diffusion.json`, then",
        f"10 text `db.json`; {number(replay, 'import_s'):.1f} s), then {args.proposals} proposals",
        f"through the queue (half creates, half updates of them; {number(replay, 'propose_s'):.1f} s):",
        f"{replay['events']} events, {replay['record_events']} of them record events, "
        f"{replay['records']} records at the end.",
        "Timed: every record rebuilt from the events alone, and that compared with the live table",
        "(what `audit_replay` does); the import and the proposals are set-up, not timed.",
        "",
        "Targets (2-core machine): verify 100,000 events < 30 s; replay of the full history < 10 s.",
    ]
    measured = measured_line(facts, busy, f"bench/audit.py --runs {args.runs}", postgres=postgres_version)
    write_figures_section(TITLE, intro, measured, lines, verdicts)


if __name__ == "__main__":
    main()
