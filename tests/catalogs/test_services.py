"""The catalog services: change sets (all or nothing, 409 stale, 422 invalid), imports, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from audit.models import AuditEvent
from catalogs import selectors
from catalogs.schemas import ImageBaselineChangeSet, TextGuidanceChangeSet
from catalogs.services import (
    baseline_catalog_import,
    baseline_change_set_apply,
    baseline_vocabulary,
    guidance_catalog_import,
    guidance_change_set_apply,
)
from common.errors import DomainError
from horde_model_reference.meta_consts import KNOWN_IMAGE_GENERATION_BASELINE
from tests.catalogs.conftest import SYSTEM, contract, fixture, recipe

pytestmark = pytest.mark.django_db


def ordered(document: Any) -> str:
    """The document as text, key order included (equality of dicts ignores it)."""
    return json.dumps(document)


def guidance_set(**body: Any) -> TextGuidanceChangeSet:
    return TextGuidanceChangeSet.model_validate({"title": "test", **body})


def baseline_set(*changes: dict[str, Any]) -> ImageBaselineChangeSet:
    return ImageBaselineChangeSet.model_validate({"title": "test", "changes": list(changes)})


def published_guidance(text_models: list[str]) -> None:
    guidance_change_set_apply(
        change_set=guidance_set(
            profile_changes=[
                {"operation": "create", "profile_id": "chatml", "profile": contract("chatml")},
                {"operation": "create", "profile_id": "tools", "profile": recipe("tools")},
            ],
            assignment_changes=[
                {
                    "model_name": "Org/Chatty-7B",
                    "assignment": {
                        "model_name": "Org/Chatty-7B",
                        "primary_profile_id": "chatml",
                        "supplemental_profile_ids": ["tools"],
                    },
                }
            ],
        ),
        actor=SYSTEM,
    )


# --- image baselines ---------------------------------------------------------------


def test_the_established_catalog_imports_and_exports_unchanged(baselines: dict[str, Any]) -> None:
    assert ordered(selectors.baselines_catalog()) == ordered(baselines)


def test_a_second_identical_import_changes_nothing(baselines: dict[str, Any]) -> None:
    events = AuditEvent.objects.count()
    counts = baseline_catalog_import(document=baselines, actor=SYSTEM)
    assert (counts.created, counts.updated, counts.deleted, counts.unchanged) == (0, 0, 0, 13)
    assert AuditEvent.objects.count() == events


def test_an_import_is_one_audit_event_with_its_counts(db: None) -> None:
    baseline_catalog_import(document=fixture("image_baselines.json"), actor=SYSTEM)
    event = AuditEvent.objects.get(action="catalogs.baseline_catalog_imported")
    assert event.details["created"] == 13 and event.source == "sync"


def test_the_catalog_names_are_the_baselines_the_record_contract_and_search_know(
    baselines: dict[str, Any],
) -> None:
    assert selectors.baseline_names() == {b.value for b in KNOWN_IMAGE_GENERATION_BASELINE}
    assert baseline_vocabulary() == selectors.baseline_names()


def test_a_baseline_the_record_contract_does_not_know_is_refused(baselines: dict[str, Any]) -> None:
    with pytest.raises(DomainError) as caught:
        baseline_change_set_apply(
            change_set=baseline_set({"operation": "upsert", "name": "sd9", "record": {"name": "sd9"}}),
            actor=SYSTEM,
        )
    assert caught.value.status == 422 and "record contract" in str(caught.value)
    assert selectors.baseline_get(name="sd9") is None


def test_an_import_naming_an_unknown_baseline_is_refused_whole(db: None) -> None:
    document = fixture("image_baselines.json")
    document["baselines"]["sd9"] = {"name": "sd9"}
    with pytest.raises(DomainError):
        baseline_catalog_import(document=document, actor=SYSTEM)
    assert selectors.baselines_list() == []


def test_a_stale_change_set_is_a_conflict_and_changes_nothing(baselines: dict[str, Any]) -> None:
    current = selectors.baseline_get(name="flux_1")
    assert current is not None
    stale = {**current, "display_name": "someone else's edit"}
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as caught:
        baseline_change_set_apply(
            change_set=baseline_set(
                # The first change is fine; the second is stale: neither may be applied.
                {
                    "operation": "upsert",
                    "name": "flux_dev",
                    "record": {**baselines["baselines"]["flux_dev"], "display_name": "Dev"},
                    "expected_before": baselines["baselines"]["flux_dev"],
                },
                {
                    "operation": "upsert",
                    "name": "flux_1",
                    "record": {**current, "native_resolution": 2048},
                    "expected_before": stale,
                },
            ),
            actor=SYSTEM,
        )
    assert caught.value.status == 409
    assert ordered(selectors.baselines_catalog()) == ordered(baselines)
    assert AuditEvent.objects.count() == events


def test_an_applied_change_set_bumps_revisions_and_is_audited(baselines: dict[str, Any]) -> None:
    before = baselines["baselines"]["flux_1"]
    outcome = baseline_change_set_apply(
        change_set=baseline_set(
            {
                "operation": "upsert",
                "name": "flux_1",
                "record": {**before, "horde_policy": {**before["horde_policy"], "kudos": 2.5}},
                "expected_before": before,
            }
        ),
        actor=SYSTEM,
    )
    after = selectors.baseline_get(name="flux_1")
    assert after is not None
    assert after["horde_policy"]["kudos"] == 2.5
    assert after["metadata"]["revision"] == 2 and after["metadata"]["updated_by"] == "test"
    assert selectors.catalog_metadata(catalog="image_baselines")["revision"] == 2
    event = AuditEvent.objects.get(sequence=outcome.event_sequence)
    assert event.action == "catalogs.baseline_change_set_applied"
    assert event.before == {"flux_1": before} and event.after == {"flux_1": after}
    # The order of the catalog is kept.
    assert list(selectors.baselines_catalog()["baselines"]) == list(baselines["baselines"])


def test_a_baseline_a_record_uses_cannot_be_deleted(baselines: dict[str, Any], sdxl_record: str) -> None:
    current = baselines["baselines"]["stable_diffusion_xl"]
    with pytest.raises(DomainError) as caught:
        baseline_change_set_apply(
            change_set=baseline_set(
                {"operation": "delete", "name": "stable_diffusion_xl", "expected_before": current}
            ),
            actor=SYSTEM,
        )
    assert caught.value.status == 422 and "still named" in str(caught.value)
    unused = baselines["baselines"]["anima"]
    baseline_change_set_apply(
        change_set=baseline_set({"operation": "delete", "name": "anima", "expected_before": unused}),
        actor=SYSTEM,
    )
    assert selectors.baseline_get(name="anima") is None


def test_an_alternative_name_may_not_belong_to_two_baselines(baselines: dict[str, Any]) -> None:
    before = baselines["baselines"]["flux_1"]
    with pytest.raises(DomainError) as caught:
        baseline_change_set_apply(
            change_set=baseline_set(
                {
                    "operation": "upsert",
                    "name": "flux_1",
                    "record": {**before, "alternative_names": ["SDXL"]},
                    "expected_before": before,
                }
            ),
            actor=SYSTEM,
        )
    assert caught.value.status == 422


# --- text guidance -----------------------------------------------------------------


def test_guidance_change_set_publishes_profiles_and_assignments(text_models: list[str]) -> None:
    published_guidance(text_models)
    resolved = selectors.guidance_resolve(model_name="Org/Chatty-7B")
    assert resolved is not None
    assert resolved["summary"]["status"] == "published"
    assert resolved["primary_profile"]["profile_id"] == "chatml"
    assert [p["profile_id"] for p in resolved["supplemental_profiles"]] == ["tools"]
    assert resolved["legacy_instruct_format"] == "ChatML"
    assert resolved["catalog_metadata"]["revision"] == 2
    profiles = {p["profile_id"]: p for p in selectors.guidance_profiles(include_deprecated=False)}
    assert profiles["chatml"]["assigned_model_count"] == 1 and profiles["tools"]["assigned_model_count"] == 1
    assert AuditEvent.objects.filter(action="catalogs.guidance_change_set_applied").count() == 1


def test_unassigned_models_resolve_to_their_legacy_label_or_undocumented(text_models: list[str]) -> None:
    other = selectors.guidance_resolve(model_name="Org/Other-13B")
    plain = selectors.guidance_resolve(model_name="Org/Plain-7B")
    assert other is not None and plain is not None
    assert other["summary"]["status"] == "legacy_label"
    assert plain["summary"]["status"] == "undocumented" and plain["legacy_instruct_format"] is None
    assert selectors.guidance_resolve(model_name="Org/Missing") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "assignment_changes": [
                    {
                        "model_name": "Org/Nope",
                        "assignment": {"model_name": "Org/Nope", "primary_profile_id": "chatml"},
                    }
                ]
            },
            "Unknown canonical text model",
        ),
        (
            {
                "assignment_changes": [
                    {
                        "model_name": "Org/Plain-7B",
                        "assignment": {"model_name": "Org/Plain-7B", "primary_profile_id": "tools"},
                    }
                ]
            },
            "requires an active prompt contract",
        ),
        (
            {
                "assignment_changes": [
                    {
                        "model_name": "Org/Plain-7B",
                        "assignment": {"model_name": "Org/Other-13B", "primary_profile_id": "chatml"},
                    }
                ]
            },
            "does not match its model_name",
        ),
        (
            {
                "profile_changes": [
                    {"operation": "create", "profile_id": "x", "profile": contract("x", aliases=["chatml"])}
                ]
            },
            "shared by multiple profiles",
        ),
        (
            {"profile_changes": [{"operation": "create", "profile_id": "y", "profile": contract("z")}]},
            "does not match",
        ),
        (
            {"profile_changes": [{"operation": "update", "profile_id": "nope", "profile": contract("nope")}]},
            "missing",
        ),
        ({}, "at least one"),
    ],
)
def test_invalid_guidance_change_sets_are_refused_and_change_nothing(
    text_models: list[str], body: dict[str, Any], message: str
) -> None:
    published_guidance(text_models)
    catalog = ordered(selectors.guidance_catalog())
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as caught:
        guidance_change_set_apply(change_set=guidance_set(**body), actor=SYSTEM)
    assert caught.value.status == 422 and message in str(caught.value)
    assert ordered(selectors.guidance_catalog()) == catalog
    assert AuditEvent.objects.count() == events


def test_a_profile_still_assigned_cannot_be_deprecated(text_models: list[str]) -> None:
    published_guidance(text_models)
    current = selectors.guidance_profile_get(profile_id="chatml")
    with pytest.raises(DomainError) as caught:
        guidance_change_set_apply(
            change_set=guidance_set(
                profile_changes=[
                    {"operation": "deprecate", "profile_id": "chatml", "expected_before": current}
                ]
            ),
            actor=SYSTEM,
        )
    assert caught.value.status == 422


def test_a_stale_guidance_change_is_a_conflict(text_models: list[str]) -> None:
    published_guidance(text_models)
    catalog = ordered(selectors.guidance_catalog())
    with pytest.raises(DomainError) as caught:
        guidance_change_set_apply(
            change_set=guidance_set(
                # Written against an empty catalog: the assignment exists now.
                assignment_changes=[
                    {"model_name": "Org/Chatty-7B", "assignment": None, "expected_before": None}
                ]
            ),
            actor=SYSTEM,
        )
    assert caught.value.status == 409
    assert ordered(selectors.guidance_catalog()) == catalog


def test_removing_an_assignment_then_deprecating_its_profile(text_models: list[str]) -> None:
    published_guidance(text_models)
    assignment = selectors.guidance_assignments(model_name="Org/Chatty-7B")[0]
    profile = selectors.guidance_profile_get(profile_id="chatml")
    guidance_change_set_apply(
        change_set=guidance_set(
            profile_changes=[{"operation": "deprecate", "profile_id": "chatml", "expected_before": profile}],
            assignment_changes=[
                {"model_name": "Org/Chatty-7B", "assignment": None, "expected_before": assignment}
            ],
        ),
        actor=SYSTEM,
    )
    assert selectors.guidance_assignments() == []
    assert selectors.guidance_profiles(include_deprecated=False) == [
        p for p in selectors.guidance_profiles(include_deprecated=True) if p["profile_id"] != "chatml"
    ]


def test_guidance_export_import_round_trip_and_idempotence(text_models: list[str]) -> None:
    published_guidance(text_models)
    exported = selectors.guidance_catalog()
    events = AuditEvent.objects.count()
    counts = guidance_catalog_import(document=exported, actor=SYSTEM)
    assert not counts.changed and AuditEvent.objects.count() == events
    # An import replaces: an empty catalog empties it (assignments before their profiles).
    guidance_catalog_import(document=fixture("text_guidance.json"), actor=SYSTEM)
    assert selectors.guidance_catalog() == fixture("text_guidance.json")
    guidance_catalog_import(document=json.loads(json.dumps(exported)), actor=SYSTEM)
    assert ordered(selectors.guidance_catalog()) == ordered(exported)


def test_an_import_may_repoint_an_assignment_to_a_new_profile_and_drop_the_old(
    text_models: list[str],
) -> None:
    published_guidance(text_models)
    exported = selectors.guidance_catalog()
    exported["profiles"] = {"tools": exported["profiles"]["tools"], "chatml2": contract("chatml2")}
    exported["assignments"]["Org/Chatty-7B"]["primary_profile_id"] = "chatml2"
    guidance_catalog_import(document=exported, actor=SYSTEM)
    assert selectors.guidance_profile_get(profile_id="chatml") is None
    assert selectors.guidance_assignments(profile_id="chatml2")[0]["model_name"] == "Org/Chatty-7B"


def test_migration_preview_proposes_contracts_for_legacy_labels_and_converges(text_models: list[str]) -> None:
    preview = selectors.guidance_migration_preview()
    assert (preview["format_count"], preview["source_model_count"]) == (2, 2)
    change_set = preview["change_set"]
    assert {c["profile_id"] for c in change_set["profile_changes"]} == {"chatml", "alpaca"}
    guidance_change_set_apply(change_set=TextGuidanceChangeSet.model_validate(change_set), actor=SYSTEM)
    assert selectors.guidance_migration_preview() == {
        "change_set": None,
        "source_model_count": 0,
        "format_count": 0,
    }
