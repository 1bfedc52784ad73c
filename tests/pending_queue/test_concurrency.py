"""Two approvers applying at the same moment, from separate processes, on PostgreSQL.

Each apply runs in its own Python process (its own database connection), started
together behind a file barrier so that the two really overlap. Whatever the
interleaving, the database must end up as if the applies had run one after the
other: one winner, the other refused (409 for a stale proposal, 400/409 for a
proposal already taken), no lost update, and an audit chain that still verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from pending_queue.models import ChangeProposal, Status
from pending_queue.services import batch_review, proposal_create_v2
from references.selectors import record_get
from tests.conftest import REPO_ROOT
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="runs in the PostgreSQL pass: racing applies need separate processes sharing one "
        "database with row locks (SQLite serialises writers per file)",
    ),
]

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"
ROUNDS = 5
TIMEOUT_S = 60.0

#: One approver process, kept for all rounds of a test. Per round it reads
#: "<change_id> <go file>" from stdin, answers "ready" (Django set up, connected),
#: waits for the go file to appear, applies, and prints the outcome as JSON.
APPLIER = r"""
import json, os, sys, time
from pathlib import Path
import django
django.setup()
from django.db import connection
from audit.services import Actor
from common.errors import DomainError
from pending_queue.services import proposal_apply

actor = Actor(kind="horde", id=sys.argv[1], display_name=f"approver#{sys.argv[1]}")
for line in sys.stdin:
    change_id, go = int(line.split()[0]), Path(line.split()[1])
    connection.ensure_connection()
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for the go file")
        time.sleep(0.0005)
    started = time.time()
    try:
        proposal = proposal_apply(change_id=change_id, actor=actor)
        result = {"outcome": "applied", "status": 200, "version": proposal.applied_version}
    except DomainError as error:
        result = {"outcome": "refused", "status": error.status, "error": str(error)}
    result.update(change_id=change_id, pid=os.getpid(), started=started, finished=time.time())
    print(json.dumps(result), flush=True)
"""


@dataclass(frozen=True)
class ApplyResult:
    change_id: int
    outcome: str
    status: int
    started: float
    finished: float
    error: str = ""


def _child_env() -> dict[str, str]:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": (
            f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    return env


def _read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=TIMEOUT_S)
        assert process.stderr is not None
        raise AssertionError(f"applier {process.pid} died ({process.returncode}):\n{process.stderr.read()}")
    return line.strip()


class Appliers:
    """Two approver processes; ``race`` releases one apply in each at the same instant."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.rounds = 0
        env = _child_env()
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-c", APPLIER, approver],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for approver in ("10", "11")
        ]

    def race(self, change_ids: tuple[int, int]) -> list[ApplyResult]:
        self.rounds += 1
        go = self.scratch / f"go-{self.rounds}"
        for process, change_id in zip(self.processes, change_ids, strict=True):
            assert process.stdin is not None
            process.stdin.write(f"{change_id} {go}\n")
            process.stdin.flush()
        assert [_read_line(process) for process in self.processes] == ["ready", "ready"]
        go.touch()
        results = []
        for process in self.processes:
            data: dict[str, Any] = json.loads(_read_line(process))
            results.append(
                ApplyResult(
                    change_id=int(data["change_id"]),
                    outcome=str(data["outcome"]),
                    status=int(data["status"]),
                    started=float(data["started"]),
                    finished=float(data["finished"]),
                    error=str(data.get("error", "")),
                )
            )
        return results

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def appliers() -> Iterator[Appliers]:
    with tempfile.TemporaryDirectory() as scratch:
        pool = Appliers(Path(scratch))
        try:
            yield pool
        finally:
            pool.close()


def overlapped(results: list[ApplyResult]) -> bool:
    first, second = results
    return first.started < second.finished and second.started < first.finished


def update_proposal(name: str, description: str) -> ChangeProposal:
    return proposal_create_v2(
        category=SD,
        operation="update",
        body=sd_payload(name, description=description),
        path_name=name,
        actor=ALICE,
    )


def approve(*proposals: ChangeProposal) -> None:
    batch_review(title="race", approved_ids=[p.pk for p in proposals], rejected_ids=[], reason="", actor=BOB)


def applied_events(change_id: int) -> int:
    events = AuditEvent.objects.filter(action="proposal.applied").values_list("after", flat=True)
    return sum(1 for after in events if isinstance(after, dict) and after.get("change_id") == change_id)


def test_two_stale_siblings_applied_at_once_one_wins_the_other_conflicts(appliers: Appliers) -> None:
    overlaps = 0
    for round_number in range(ROUNDS):
        name = f"Race {round_number}"
        record = record_create(category=SD, name=name, payload=sd_payload(name), actor=ALICE, source="sync")
        first = update_proposal(name, f"first writer, round {round_number}")
        second = update_proposal(name, f"second writer, round {round_number}")
        assert first.base_version == second.base_version == record.version
        approve(first, second)

        results = appliers.race((first.pk, second.pk))
        overlaps += overlapped(results)

        winners = [r for r in results if r.outcome == "applied"]
        losers = [r for r in results if r.outcome == "refused"]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].status == 409, losers[0]
        winner = ChangeProposal.objects.get(pk=winners[0].change_id)
        loser = ChangeProposal.objects.get(pk=losers[0].change_id)

        # No lost update: the record holds exactly the winner's payload, at the winner's version.
        stored = record_get(category=SD, name=name)
        assert stored is not None
        assert stored.payload == winner.payload
        assert stored.payload != loser.payload
        assert stored.version == winner.applied_version and stored.version > record.version

        # One apply, audited once; the loser left no trace but its reservation is gone.
        assert winner.status == Status.APPLIED
        assert applied_events(winner.pk) == 1 and applied_events(loser.pk) == 0
        updates = AuditEvent.objects.filter(action="record.updated", category=SD, model_name=name)
        assert updates.count() == 1
        assert updates.get().after["payload"] == winner.payload
        assert loser.status == Status.APPROVED
        assert loser.applied_job_id == "" and loser.applying_since is None and loser.applied_at is None
        assert audit_chain_verify().ok
    # The barrier is what makes the race meaningful: the applies must actually have overlapped.
    assert overlaps >= 1, "the two appliers never ran at the same time"


def test_the_same_proposal_applied_twice_at_once_is_applied_once(appliers: Appliers) -> None:
    overlaps = 0
    for round_number in range(ROUNDS):
        name = f"Twice {round_number}"
        record_create(category=SD, name=name, payload=sd_payload(name), actor=ALICE, source="sync")
        proposal = update_proposal(name, f"applied once, round {round_number}")
        approve(proposal)

        results = appliers.race((proposal.pk, proposal.pk))
        overlaps += overlapped(results)

        assert sorted(r.outcome for r in results) == ["applied", "refused"], results
        refused = next(r for r in results if r.outcome == "refused")
        assert refused.status in (400, 409), refused

        proposal.refresh_from_db()
        assert proposal.status == Status.APPLIED
        stored = record_get(category=SD, name=name)
        assert stored is not None
        assert stored.payload == proposal.payload and stored.version == proposal.applied_version
        assert applied_events(proposal.pk) == 1
        assert AuditEvent.objects.filter(action="record.updated", category=SD, model_name=name).count() == 1
        assert audit_chain_verify().ok
    assert overlaps >= 1, "the two appliers never ran at the same time"
