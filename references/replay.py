"""Reads that compare the records rebuilt from the audit trail with the live table.

Kept beside ``references.selectors`` because it belongs to records (the audit app knows
nothing of them); ``audit_replay`` and the replay benchmark call it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from audit.selectors import audit_replay_record_state
from references.models import ModelRecord

#: The parts of a record an audit event stores (``references.services.record_state``).
COMPARED_FIELDS = ("payload", "legacy_residue", "version")


@dataclass(frozen=True)
class RecordDifference:
    category: str
    name: str
    #: ``missing_live`` (in the trail only), ``missing_in_trail`` (live only), or the fields.
    fields: tuple[str, ...]

    def line(self) -> str:
        return f"{self.category}/{self.name}: {', '.join(self.fields)}"


@dataclass(frozen=True)
class ReplayComparison:
    records_replayed: int
    records_live: int
    differences: list[RecordDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def replay_compare_live() -> ReplayComparison:
    """Rebuild every record from the events alone and compare it with the live records."""
    replayed = audit_replay_record_state()
    live: dict[tuple[str, str], dict[str, Any]] = {}
    rows = ModelRecord.objects.order_by("category", "name").values_list("category", "name", *COMPARED_FIELDS)
    for category, name, *values in rows.iterator(chunk_size=5000):
        live[(category, name)] = dict(zip(COMPARED_FIELDS, values, strict=True))
    differences: list[RecordDifference] = []
    for key in sorted(replayed.keys() | live.keys()):
        state, row = replayed.get(key), live.get(key)
        if row is None:
            differences.append(RecordDifference(*key, ("missing_live",)))
        elif not isinstance(state, dict):
            differences.append(RecordDifference(*key, ("missing_in_trail",)))
        else:
            differing = tuple(f for f in COMPARED_FIELDS if state.get(f) != row[f])
            if differing:
                differences.append(RecordDifference(*key, differing))
    return ReplayComparison(records_replayed=len(replayed), records_live=len(live), differences=differences)


def replay_counts(state: dict[tuple[str, str], Any]) -> dict[str, int]:
    """Records per category in a replayed state, by category name."""
    return dict(sorted(Counter(category for category, _ in state).items()))
