"""Reads of the catalogs.

Every read is plain SQL on the request (the tables are a few dozen rows), so there is no
process-local copy to invalidate: a change committed by one process is what the next
read in any other process sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from catalogs.models import Catalog, CatalogState, GuidanceAssignment, GuidanceProfile, ImageBaseline
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.selectors import record_get, record_list

Doc = dict[str, Any]

#: File names of the catalogs in an export (and in an ``import_catalogs`` directory):
#: the last segment of each catalog's export route, prefixed by the catalog.
GUIDANCE_EXPORT_FILE = "text_guidance.json"
BASELINES_EXPORT_FILE = "image_baselines.json"

MIGRATION_CHANGE_SET_TITLE = "Migrate legacy instruct-format guidance"


def catalog_metadata(*, catalog: str) -> Doc:
    """The catalog's metadata block (the defaults until its first change or import)."""
    state = CatalogState.objects.filter(catalog=catalog).first()
    if state is None:
        return {"schema_version": 1, "revision": 1, "updated_at": None}
    return {
        "schema_version": state.schema_version,
        "revision": state.revision,
        "updated_at": state.updated_at,
    }


# --- text guidance -----------------------------------------------------------------


def guidance_profiles(*, include_deprecated: bool) -> list[Doc]:
    """Profiles in profile-id order, each with the number of assignments naming it."""
    rows = GuidanceProfile.objects.order_by("profile_id")
    if not include_deprecated:
        rows = rows.filter(deprecated=False)
    counts: dict[str, int] = {}
    for document in GuidanceAssignment.objects.values_list("document", flat=True):
        for profile_id in [document["primary_profile_id"], *document.get("supplemental_profile_ids", [])]:
            counts[profile_id] = counts.get(profile_id, 0) + 1
    return [
        {
            "profile_id": row.profile_id,
            "kind": row.kind,
            "display_name": row.document["display_name"],
            "summary": row.document["summary"],
            "aliases": row.document.get("aliases", []),
            "deprecated": row.deprecated,
            "assigned_model_count": counts.get(row.profile_id, 0),
        }
        for row in rows
    ]


def guidance_profile_get(*, profile_id: str) -> Doc | None:
    document: Doc | None = (
        GuidanceProfile.objects.filter(profile_id=profile_id).values_list("document", flat=True).first()
    )
    return document


def guidance_assignments(*, model_name: str | None = None, profile_id: str | None = None) -> list[Doc]:
    """Assignments in model-name order, optionally of one model or naming one profile."""
    rows = GuidanceAssignment.objects.order_by("model_name")
    if model_name is not None:
        rows = rows.filter(model_name=model_name)
    documents: list[Doc] = list(rows.values_list("document", flat=True))
    if profile_id is not None:
        documents = [
            doc
            for doc in documents
            if profile_id in [doc["primary_profile_id"], *doc.get("supplemental_profile_ids", [])]
        ]
    return documents


def guidance_catalog() -> Doc:
    """The whole guidance catalog, as the export route and the export files give it."""
    return {
        "metadata": catalog_metadata(catalog=Catalog.TEXT_GUIDANCE),
        "profiles": dict(GuidanceProfile.objects.values_list("profile_id", "document")),
        "assignments": dict(GuidanceAssignment.objects.values_list("model_name", "document")),
    }


def published_guidance_of(assignments: Mapping[str, Doc]) -> dict[str, tuple[str, list[str]]]:
    """What text records are served with for these assignment documents:
    ``{model name: (primary profile id, supplemental profile ids)}``."""
    return {
        model_name: (document["primary_profile_id"], list(document.get("supplemental_profile_ids", [])))
        for model_name, document in assignments.items()
    }


def published_guidance() -> dict[str, tuple[str, list[str]]]:
    """Every assignment as text records are served with it (one query).

    Registered into ``references.exports`` by ``CatalogsConfig.ready``: a text document's
    render reads it once.
    """
    return published_guidance_of(dict(GuidanceAssignment.objects.values_list("model_name", "document")))


def guidance_resolve(*, model_name: str) -> Doc | None:
    """The published guidance of one exact text model, with its legacy fallback; None if no model."""
    record = record_get(category=MODEL_REFERENCE_CATEGORY.text_generation, name=model_name)
    if record is None:
        return None
    payload = record.payload if isinstance(record.payload, dict) else {}
    legacy = payload.get("instruct_format")
    legacy_format = legacy if isinstance(legacy, str) else None
    assignment = (
        GuidanceAssignment.objects.filter(model_name=model_name).values_list("document", flat=True).first()
    )
    primary: Doc | None = None
    supplemental: list[Doc] = []
    if assignment is not None:
        wanted = [assignment["primary_profile_id"], *assignment.get("supplemental_profile_ids", [])]
        profiles = dict(
            GuidanceProfile.objects.filter(profile_id__in=wanted).values_list("profile_id", "document")
        )
        primary = profiles.get(assignment["primary_profile_id"])
        supplemental = [
            profiles[pid] for pid in assignment.get("supplemental_profile_ids", []) if pid in profiles
        ]
        summary: Doc = {
            "status": "published",
            "primary_profile_id": assignment["primary_profile_id"],
            "supplemental_profile_ids": assignment.get("supplemental_profile_ids", []),
        }
    elif legacy_format and legacy_format.strip():
        summary = {"status": "legacy_label", "primary_profile_id": None, "supplemental_profile_ids": []}
    else:
        summary = {"status": "undocumented", "primary_profile_id": None, "supplemental_profile_ids": []}
    return {
        "model_name": model_name,
        "summary": summary,
        "primary_profile": primary,
        "supplemental_profiles": supplemental,
        "legacy_instruct_format": legacy_format,
        "catalog_metadata": catalog_metadata(catalog=Catalog.TEXT_GUIDANCE),
    }


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.casefold()).strip("-") or "prompt-contract"


def guidance_migration_preview() -> Doc:
    """A change set turning the records' legacy ``instruct_format`` labels into guidance.

    One prompt contract per distinct label (a label that already names a published profile,
    by display name or alias, reuses it), and an assignment for every labelled model that
    has none yet; so once applied, the preview converges to ``change_set: null``. Nothing
    is stored.
    """
    profiles = list(
        GuidanceProfile.objects.order_by("position", "profile_id").values_list("profile_id", "document")
    )
    by_label = {
        label.casefold(): profile_id
        for profile_id, document in profiles
        for label in [document["display_name"], *document.get("aliases", [])]
    }
    taken = {profile_id for profile_id, _ in profiles}
    assigned = set(GuidanceAssignment.objects.values_list("model_name", flat=True))
    new_profiles: list[Doc] = []
    assignment_changes: list[Doc] = []
    for name, payload in record_list(category=MODEL_REFERENCE_CATEGORY.text_generation).values_list(
        "name", "payload"
    ):
        raw = payload.get("instruct_format") if isinstance(payload, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            continue
        label = raw.strip()
        profile_id = by_label.get(label.casefold())
        if profile_id is None:
            base = profile_id = _slug(label)
            suffix = 2
            while profile_id in taken:
                profile_id, suffix = f"{base}-{suffix}", suffix + 1
            taken.add(profile_id)
            by_label[label.casefold()] = profile_id
            new_profiles.append(_draft_contract(profile_id, label))
        if name not in assigned:
            assignment_changes.append(
                {
                    "model_name": name,
                    "assignment": {
                        "model_name": name,
                        "primary_profile_id": profile_id,
                        "supplemental_profile_ids": [],
                        "metadata": _blank_record_metadata(),
                    },
                    "expected_before": None,
                }
            )
    change_set = None
    if new_profiles or assignment_changes:
        change_set = {
            "title": MIGRATION_CHANGE_SET_TITLE,
            "profile_changes": [
                {"operation": "create", "profile_id": p["profile_id"], "profile": p, "expected_before": None}
                for p in new_profiles
            ],
            "assignment_changes": assignment_changes,
        }
    return {
        "change_set": change_set,
        "source_model_count": len(assignment_changes),
        "format_count": len(new_profiles),
    }


def _blank_record_metadata() -> Doc:
    return {"revision": 1, "created_at": None, "created_by": None, "updated_at": None, "updated_by": None}


def _draft_contract(profile_id: str, label: str) -> Doc:
    audience = {"overview": "", "use_cases": [], "tips": [], "caveats": []}
    return {
        "profile_id": profile_id,
        "display_name": label,
        "aliases": [label],
        "summary": f"Review and document the legacy {label} prompt contract.",
        "user": dict(audience),
        "developer": dict(audience),
        "examples": [],
        "recommended_settings": {},
        "ai_horde_examples": [],
        "sources": [],
        "deprecated": False,
        "metadata": _blank_record_metadata(),
        "kind": "prompt_contract",
        "interaction_modes": ["instruction"],
        "accepted_roles": [],
        "role_markers": {},
        "stop_sequences": [],
        "templates": [],
    }


# --- image baselines ---------------------------------------------------------------


def baselines_list() -> list[Doc]:
    """Baselines in name order."""
    return list(ImageBaseline.objects.order_by("name").values_list("document", flat=True))


def baseline_get(*, name: str) -> Doc | None:
    document: Doc | None = ImageBaseline.objects.filter(name=name).values_list("document", flat=True).first()
    return document


def baselines_catalog() -> Doc:
    return {
        "metadata": catalog_metadata(catalog=Catalog.IMAGE_BASELINES),
        "baselines": dict(ImageBaseline.objects.values_list("name", "document")),
    }


def baseline_names() -> set[str]:
    return set(ImageBaseline.objects.values_list("name", flat=True))


# --- export ------------------------------------------------------------------------


def catalogs_export_documents() -> dict[str, object]:
    """File name -> document of this app's catalogs, for the export manifest (fixed order)."""
    return {GUIDANCE_EXPORT_FILE: guidance_catalog(), BASELINES_EXPORT_FILE: baselines_catalog()}
