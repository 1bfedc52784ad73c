"""Source ids: where a record comes from.

``horde`` is the canonical reference. ``pending`` names proposals not yet applied, and
``any`` is the selector meaning "the canonical reference first, then every other source".
A selector is one id or an ordered sequence of ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

HORDE_SOURCE_ID = "horde"
PENDING_SOURCE_ID = "pending"
ANY_SOURCE = "any"

SourceSelector: TypeAlias = str | Sequence[str]

__all__ = ["ANY_SOURCE", "HORDE_SOURCE_ID", "PENDING_SOURCE_ID", "SourceSelector"]
