"""Text records are served with the guidance the catalog publishes (issue #15, 8.6.2's summary).

The catalog registers its assignments into ``references.exports``; a change set or an import
that changes them moves the text category's revision, so documents, single records and
search re-render under new ETags.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, TestCase

from audit.models import AuditEvent
from catalogs.schemas import TextGuidanceChangeSet
from catalogs.selectors import guidance_catalog
from catalogs.services import guidance_catalog_import, guidance_change_set_apply
from horde_model_reference.meta_consts import v2_filename
from references.exports import reference_export
from references.models import CategoryState
from tests.catalogs.conftest import SYSTEM, V2, contract, recipe

pytestmark = pytest.mark.django_db

TEXT = f"{V2}/text_generation"
CHATTY = "Org/Chatty-7B"
PUBLISHED: dict[str, Any] = {
    "status": "published",
    "primary_profile_id": "chatml",
    "supplemental_profile_ids": ["tools"],
}
LEGACY: dict[str, Any] = {
    "status": "legacy_label",
    "primary_profile_id": None,
    "supplemental_profile_ids": [],
}
UNDOCUMENTED: dict[str, Any] = {
    "status": "undocumented",
    "primary_profile_id": None,
    "supplemental_profile_ids": [],
}
ASSIGNMENT = {"model_name": CHATTY, "primary_profile_id": "chatml", "supplemental_profile_ids": ["tools"]}


def apply(**change_set: Any) -> None:
    """Apply a change set and run what its commit runs (the new pointer is published then)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        guidance_change_set_apply(
            change_set=TextGuidanceChangeSet.model_validate({"title": "t", **change_set}), actor=SYSTEM
        )


def import_catalog(document: dict[str, Any]) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        guidance_catalog_import(document=document, actor=SYSTEM)


def publish_chatml() -> None:
    apply(
        profile_changes=[
            {"operation": "create", "profile_id": "chatml", "profile": contract("chatml")},
            {"operation": "create", "profile_id": "tools", "profile": recipe("tools")},
        ],
        assignment_changes=[{"model_name": CHATTY, "assignment": ASSIGNMENT}],
    )


def guidance_served(client: Client) -> tuple[dict[str, Any], str]:
    """Chatty's guidance in the v2 document, the single-record route and search; the document's ETag."""
    document = client.get(TEXT)
    assert document.status_code == 200
    single = client.get(f"{TEXT}/model/{CHATTY}").json()
    found = client.get(f"{TEXT}/search", {"name_contains": "Chatty"}).json()["results"]
    across = client.get(f"{V2}/search", {"name_contains": "Chatty"}).json()["results"]
    guidance = document.json()[CHATTY]["guidance"]
    assert single["guidance"] == guidance
    assert [r["guidance"] for r in found] == [guidance] == [r["guidance"] for r in across]
    return guidance, document["ETag"]


def text_revision() -> int:
    return CategoryState.objects.get(category="text_generation").revision


def test_an_assignment_is_served_as_published_and_removing_it_goes_back(
    client: Client, text_models: list[str]
) -> None:
    before, first_etag = guidance_served(client)
    assert before == LEGACY
    publish_chatml()
    published, second_etag = guidance_served(client)
    # The exact shape 8.6.2's TextGuidanceSummary dumps (``model_dump(mode="json")``).
    assert published == PUBLISHED and list(published) == list(PUBLISHED)
    assert second_etag != first_etag
    assert client.get(TEXT, HTTP_IF_NONE_MATCH=first_etag).status_code == 200
    # Models the catalog does not assign keep the guidance their records imply.
    document = client.get(TEXT).json()
    assert document["Org/Plain-7B"]["guidance"] == UNDOCUMENTED
    assert document["Org/Other-13B"]["guidance"] == LEGACY

    apply(assignment_changes=[{"model_name": CHATTY, "assignment": None, "expected_before": current()}])
    after, third_etag = guidance_served(client)
    assert after == LEGACY and third_etag not in (first_etag, second_etag)


def current() -> dict[str, Any]:
    assignment: dict[str, Any] = guidance_catalog()["assignments"][CHATTY]
    return assignment


def test_only_a_change_to_what_records_serve_moves_the_revision(text_models: list[str]) -> None:
    start = text_revision()
    apply(profile_changes=[{"operation": "create", "profile_id": "chatml", "profile": contract("chatml")}])
    assert text_revision() == start  # a profile alone changes no record's guidance
    apply(profile_changes=[{"operation": "create", "profile_id": "tools", "profile": recipe("tools")}])
    apply(assignment_changes=[{"model_name": CHATTY, "assignment": ASSIGNMENT}])
    assert text_revision() == start + 1
    apply(
        assignment_changes=[
            {
                "model_name": CHATTY,
                "assignment": {**ASSIGNMENT, "supplemental_profile_ids": []},
                "expected_before": current(),
            }
        ]
    )
    assert text_revision() == start + 2
    state = CategoryState.objects.get(category="text_generation")
    # No record changed: the counts and the last record operation stay as they were.
    assert (state.record_count, state.last_operation_model) == (3, "Org/Other-13B")


def test_an_import_that_changes_assignments_moves_the_revision(
    client: Client, text_models: list[str]
) -> None:
    publish_chatml()
    exported = guidance_catalog()
    apply(assignment_changes=[{"model_name": CHATTY, "assignment": None, "expected_before": current()}])
    assert guidance_served(client)[0] == LEGACY
    start = text_revision()
    import_catalog(exported)
    assert text_revision() == start + 1
    assert guidance_served(client)[0] == PUBLISHED
    import_catalog(exported)  # idempotent: nothing moves
    assert text_revision() == start + 1


def test_a_catalog_imported_before_any_text_record_makes_no_category_state(db: None) -> None:
    exported: dict[str, Any] = {
        "profiles": {"chatml": contract("chatml"), "tools": recipe("tools")},
        "assignments": {CHATTY: ASSIGNMENT},
    }
    import_catalog(exported)
    assert not CategoryState.objects.filter(category="text_generation").exists()


def test_the_revision_bump_is_not_a_record_event(text_models: list[str]) -> None:
    """Replay rebuilds records from ``record.*`` / ``category.reordered`` events: the bump adds none."""
    count = AuditEvent.objects.filter(category="text_generation").count()
    publish_chatml()
    actions = list(
        AuditEvent.objects.filter(category="text_generation")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions[count:] == ["catalogs.guidance_change_set_applied"]


def test_a_text_document_reads_the_assignments_once(
    client: Client, text_models: list[str], django_assert_max_num_queries: Any
) -> None:
    publish_chatml()
    client.get(TEXT)  # warm
    with django_assert_max_num_queries(0):
        client.get(f"{TEXT}/model/{CHATTY}")
        client.get(f"{TEXT}/search", {"name_contains": "Chatty"})


def test_an_export_writes_the_published_guidance(tmp_path: Path, text_models: list[str]) -> None:
    publish_chatml()
    reference_export(dest=tmp_path)
    v2 = json.loads((tmp_path / "v2" / v2_filename("text_generation")).read_bytes())
    assert v2[CHATTY]["guidance"] == PUBLISHED
