"""Category documents as they were at a past audit event, rendered like the live ones.

A historical document is replayed from the audit trail (``audit.history``) and keyed
by the last event that changed the category at or before the requested moment: the
past never changes, so each (category, event) is rendered once per process and kept
in a small LRU. Its ETags derive from that event (``asof-<sequence>-<its hash>``), so they are
strong, differ from every live ETag and from every other past state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from audit.history import category_sequence_as_of, category_states_at
from horde_model_reference.legacy.types import CanonicalEntry
from references.document_cache import (
    CategoryPointer,
    Representation,
    make_representation,
    model_representation_format,
)
from references.exports import render_v2_document, v2_document_from_entries

#: Whole documents (the text category is about a megabyte): a handful is plenty for
#: the few moments people compare, and bounds the memory a crawler can make us hold.
HISTORY_CACHE_SIZE = 16
V2_FORMAT = "v2"


@dataclass(frozen=True)
class AsOf:
    """Where in the trail a request points: an audit sequence number or a time."""

    sequence: int | None = None
    moment: datetime | None = None


def as_of_pointer(category: str, as_of: AsOf) -> CategoryPointer:
    """The pointer of the category's past state (one aggregate query, no replay).

    Enough to answer a conditional request: the token names the event, and
    ``last_updated`` is its time (``None`` before the category's first event).
    """
    mark = category_sequence_as_of(category=category, sequence=as_of.sequence, moment=as_of.moment)
    token = f"asof-{mark.sequence}-{mark.hash[:12]}" if mark.sequence else "asof-0"
    return CategoryPointer(
        token=token,
        revision=mark.sequence,
        last_updated=mark.occurred_at.timestamp() if mark.occurred_at is not None else None,
    )


@dataclass
class HistoricalDocument:
    category: str
    pointer: CategoryPointer
    document: dict[str, Any]
    representation: Representation
    models: dict[str, Representation | None] = field(default_factory=dict)

    def model(self, name: str) -> Representation | None:
        if name not in self.models:
            record = self.document.get(name)
            self.models[name] = (
                None
                if record is None
                else make_representation(
                    self.category, model_representation_format(name), self.pointer.token, orjson.dumps(record)
                )
            )
        return self.models[name]


_documents: OrderedDict[tuple[str, str], HistoricalDocument] = OrderedDict()
_lock = threading.Lock()
# Only one thread replays a given past state; others wait for its result.
_building: dict[tuple[str, str], threading.Lock] = {}


def historical_document(category: str, pointer: CategoryPointer) -> HistoricalDocument:
    """The category's document at ``pointer`` (from ``as_of_pointer``), replayed once per process."""
    key = (category, pointer.token)
    with _lock:
        found = _documents.get(key)
        if found is not None:
            _documents.move_to_end(key)
            return found
        build_lock = _building.setdefault(key, threading.Lock())
    with build_lock:
        with _lock:
            found = _documents.get(key)
        if found is None:
            entries = [
                CanonicalEntry(name=name, payload=state.get("payload") or {}, legacy_residue={})
                for name, state in category_states_at(category=category, sequence=pointer.revision)
            ]
            # The trail replays records, not the guidance catalog (an import records
            # only counts): a past document carries the guidance its records imply.
            document = v2_document_from_entries(category, entries, guidance={})
            representation = make_representation(
                category, V2_FORMAT, pointer.token, render_v2_document(document)
            )
            found = HistoricalDocument(category, pointer, document, representation)
        with _lock:
            _documents[key] = found
            _documents.move_to_end(key)
            while len(_documents) > HISTORY_CACHE_SIZE:
                _documents.popitem(last=False)
            _building.pop(key, None)
    return found


#: Rendered history pages, keyed by the category's revision token: every record event
#: bumps its category's revision in the same transaction, so a page can only change
#: when the token does, and a warm page costs no SQL (the token is in memory).
HISTORY_PAGES_CACHE_SIZE = 512
_pages: OrderedDict[tuple[str, str, str, int | None, int], bytes | None] = OrderedDict()


def record_history_page_bytes(*, category: str, name: str, before: int | None, limit: int) -> bytes | None:
    """One page of a record's history as JSON bytes, or None when the name never existed."""
    from audit.history import record_ever_existed, record_history
    from references.document_cache import category_pointer_get

    key = (category, category_pointer_get(category).token, name, before, limit)
    with _lock:
        if key in _pages:
            _pages.move_to_end(key)
            return _pages[key]
    page = record_history(category=category, name=name, before=before, limit=limit)
    body: bytes | None = None
    # An empty page is the end of a history, or no history at all.
    if page.versions or (before is not None and record_ever_existed(category=category, name=name)):
        body = orjson.dumps(
            {
                "category": category,
                "name": name,
                "versions": page.versions,
                "next": None if page.next_cursor is None else str(page.next_cursor),
            }
        )
    with _lock:
        _pages[key] = body
        while len(_pages) > HISTORY_PAGES_CACHE_SIZE:
            _pages.popitem(last=False)
    return body


def record_history_page_in_memory(*, category: str, token: str, name: str, limit: int) -> bytes | None:
    """The newest page of a record's history if this process already rendered it at
    ``token`` (the fast path's question: no SQL, no waiting)."""
    with _lock:
        return _pages.get((category, token, name, None, limit))


def history_cache_reset() -> None:
    """Forget every replayed document and history page (tests)."""
    with _lock:
        _documents.clear()
        _building.clear()
        _pages.clear()
