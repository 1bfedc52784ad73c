"""``manage.py audit_replay``: rebuild the records from the audit trail alone.

It lives with the records (not in ``audit``) because it compares with them, and the
audit app sits below ``references``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.selectors import audit_last_sequence, audit_replay_record_state
from references.replay import replay_compare_live, replay_counts


def _as_of(value: str) -> tuple[int | None, datetime | None]:
    """An event sequence number, or an ISO 8601 time (UTC when it names no zone)."""
    if value.isascii() and value.isdigit():
        return int(value), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is neither an event sequence number nor an ISO time") from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return None, moment


class Command(BaseCommand):
    help = (
        "Rebuild every record (payload, legacy residue, version) from the audit events alone. Without "
        "--as-of, compare the result with the live records and exit 1 on any difference, naming each "
        "record (category/name) and the fields that differ. With --as-of (an event sequence number or "
        "an ISO time), print the records per category as they were at that point and compare nothing: "
        "the live table only knows the present."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="event sequence number or ISO 8601 time")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("as_of"):
            sequence, moment = _as_of(str(options["as_of"]))
            state = audit_replay_record_state(up_to_sequence=sequence, as_of=moment)
            point = f"event {sequence}" if sequence is not None else moment.isoformat() if moment else ""
            counts = replay_counts(state)
            self.stdout.write(f"records as of {point}: {len(state)}")
            for category, count in counts.items():
                self.stdout.write(f"  {category}: {count}")
            return
        last = audit_last_sequence()
        comparison = replay_compare_live()
        if not comparison.ok:
            for difference in comparison.differences:
                self.stderr.write(f"differs: {difference.line()}")
            raise CommandError(
                f"{len(comparison.differences)} record(s) differ between the audit trail "
                f"(up to event {last}) and the live records"
            )
        self.stdout.write(
            f"replay ok: {comparison.records_replayed} record(s) rebuilt from events up to {last} "
            f"match the {comparison.records_live} live record(s)"
        )
