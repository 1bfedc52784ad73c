"""The one seam through which the admin reads model usage and worker counts.

The statistics snapshots (``sync.fetch_statistics``) are built separately; until they
are connected here, every model has no data and the admin shows "—". Connecting them
means implementing ``model_usage`` over the snapshots, keeping its signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class UsagePoint:
    """One day of a model's history."""

    day: date
    usage: int
    workers: int


@dataclass(frozen=True)
class Usage:
    """A model's usage and worker count from the latest statistics snapshot."""

    day: int
    month: int
    total: int
    workers: int
    computed_at: datetime | None = None
    #: Daily points, oldest first; filled only when asked for (``history_days``).
    history: tuple[UsagePoint, ...] = ()


def model_usage(category: str, names: Iterable[str], *, history_days: int = 0) -> dict[str, Usage | None]:
    """Usage of each named model of ``category``: ``{name: Usage | None}`` (None: no data).

    Not connected yet: the statistics snapshots land separately, so every model has
    no data.
    """
    return dict.fromkeys(names)
