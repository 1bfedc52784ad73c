"""The admin's one way to read model usage and worker counts: the statistics snapshots.

Usage and workers come from the latest complete snapshot of the AI Horde's statistics
(``sync.fetch_statistics``), matched across backend prefixes and quant variants exactly
as the statistics routes match them; a model the snapshot does not know, or a category
the AI Horde keeps no statistics for, has no data (the admin shows "—").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sync.model_statistics import LoadedStatistics, combined_statistics
from sync.selectors import statistics_daily_snapshots, statistics_latest


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


def _usage_of(loaded: LoadedStatistics, name: str) -> tuple[dict[str, int], int] | None:
    combined = combined_statistics(loaded, name)
    if combined["usage_stats"] is None and combined["performance"] is None:
        return None  # the AI Horde does not know this model
    usage = combined["usage_stats"] or {"day": 0, "month": 0, "total": 0}
    return usage, int(combined["worker_count"] or 0)


def model_usage(category: str, names: Iterable[str], *, history_days: int = 0) -> dict[str, Usage | None]:
    """Usage of each named model of ``category``: ``{name: Usage | None}`` (None: no data).

    With ``history_days``, each ``Usage`` also carries the daily points of that many
    days (the day's usage and worker count of the last snapshot of each day).
    """
    wanted = list(names)
    loaded = statistics_latest(category)
    if loaded is None:
        return dict.fromkeys(wanted)
    days = (
        statistics_daily_snapshots(category, days=history_days, until=loaded.fetched_at)
        if history_days > 0
        else []
    )
    computed_at = datetime.fromtimestamp(loaded.fetched_at, tz=UTC)
    result: dict[str, Usage | None] = {}
    for name in wanted:
        found = _usage_of(loaded, name)
        if found is None:
            result[name] = None
            continue
        usage, workers = found
        history = []
        for snapshot in days:
            point = _usage_of(snapshot, name)
            if point is not None:
                day = datetime.fromtimestamp(snapshot.fetched_at, tz=UTC).date()
                history.append(UsagePoint(day=day, usage=point[0]["day"], workers=point[1]))
        result[name] = Usage(
            day=usage["day"],
            month=usage["month"],
            total=usage["total"],
            workers=workers,
            computed_at=computed_at,
            history=tuple(history),
        )
    return result
