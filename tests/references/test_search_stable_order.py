"""Search sorts are stable in both directions: ties keep document order (issue 14).

The established service sorts with Python's ``sorted(..., reverse=sort_desc)``, which
keeps tied records in their original order even when descending. Clients page through
a sorted search, so a tie order that flips with the direction is a visible difference.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"


def _stable_sorted(payloads: list[dict[str, Any]], field: str, *, descending: bool) -> list[dict[str, Any]]:
    # The reference semantics: nulls after every value ascending (first descending),
    # ties in the given order whatever the direction.
    def key(payload: dict[str, Any]) -> tuple[int, Any]:
        value = payload.get(field)
        return (1, 0) if value is None else (0, value)

    return sorted(payloads, key=key, reverse=descending)


def _all_pages(client: Client, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    while True:
        response = client.get(path, {**params, "limit": "500", "offset": str(len(results))})
        assert response.status_code == 200, response.content
        body = response.json()
        results.extend(body["results"])
        if not body["has_more"]:
            return results


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize(
    ("category", "field"),
    [("image_generation", "baseline"), ("text_generation", "parameters"), ("text_generation", "baseline")],
)
def test_category_search_keeps_document_order_among_ties(
    client: Client, real_reference: Path, category: str, field: str, descending: bool
) -> None:
    document = list(client.get(f"{V2}/{category}").json().values())
    counts = Counter(str(payload.get(field)) for payload in document)
    assert max(counts.values()) > 2, f"{category}.{field} has no ties in the real data"

    results = _all_pages(
        client,
        f"{V2}/{category}/search",
        {"sort_by": field, "sort_desc": "true" if descending else "false"},
    )

    assert results == _stable_sorted(document, field, descending=descending)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_cross_category_search_keeps_document_order_among_ties(
    client: Client, real_reference: Path, descending: bool
) -> None:
    unsorted = _all_pages(client, f"{V2}/search", {})
    # Every record of a category ties on record_type; image_generation payloads are
    # stored compact, without it (it is their category's default).
    for payload in unsorted:
        payload.setdefault("record_type", "image_generation")

    results = _all_pages(
        client, f"{V2}/search", {"sort_by": "record_type", "sort_desc": "true" if descending else "false"}
    )
    for payload in results:
        payload.setdefault("record_type", "image_generation")

    assert results == _stable_sorted(unsorted, "record_type", descending=descending)
    # Descending reverses the categories, not the records inside each one.
    types = [payload["record_type"] for payload in results]
    assert types == sorted(types, reverse=descending)
