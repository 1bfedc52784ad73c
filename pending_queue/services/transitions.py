"""The one way a proposal's status changes: a conditional UPDATE that reads ``ALLOWED_TRANSITIONS``.

Every status change in the queue goes through ``proposals_transition``, so the table
in ``pending_queue.models`` is the truth: a move the table does not list cannot be
written, whoever calls. The UPDATE carries ``WHERE status IN (<allowed from>)``, so
two processes racing for the same move cannot both win; callers compare the row count
with what they asked for and explain a shortfall in their own terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import Q

from pending_queue.models import ALLOWED_TRANSITIONS, ChangeProposal, Status


class TransitionNotAllowedError(ValueError):
    """A caller asked for a status move that ``ALLOWED_TRANSITIONS`` does not list (a bug, not bad input)."""


def statuses_allowed_before(to: str) -> list[str]:
    """The statuses from which the table allows moving to ``to`` (table order, so SQL is stable)."""
    return [source for source, targets in ALLOWED_TRANSITIONS.items() if to in targets]


def proposals_transition(
    *,
    change_ids: Iterable[int],
    to: Status,
    only_from: Sequence[str] = (),
    also: Q | None = None,
    values: Mapping[str, Any],
) -> int:
    """Move the given proposals to ``to`` where the table allows it; return how many moved.

    ``only_from`` narrows the allowed sources further (approving takes ``pending`` only,
    though the table also lets ``applying`` fall back to ``approved``); naming a source
    the table does not allow raises ``TransitionNotAllowedError``. ``also`` adds a
    condition (the apply reservation's job id). ``values`` are written with the status.
    """
    allowed = statuses_allowed_before(to)
    if not allowed:
        raise TransitionNotAllowedError(f"nothing may move to '{to}'")
    refused = [source for source in only_from if source not in allowed]
    if refused:
        raise TransitionNotAllowedError(
            f"'{refused[0]}' -> '{to}' is not in ALLOWED_TRANSITIONS (allowed from: {', '.join(allowed)})"
        )
    sources = [source for source in allowed if not only_from or source in only_from]
    query = ChangeProposal.objects.filter(pk__in=list(change_ids), status__in=sources)
    if also is not None:
        query = query.filter(also)
    return query.update(**values, status=to)
