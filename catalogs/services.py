"""Writes to the catalogs: change sets and whole-catalog imports, each audited in its transaction.

Change sets are applied directly (not queued): the caller already holds the approver role
(see ``catalogs.api``), so the review the established service does in its queue is the
caller's own. A change set is all or nothing; every change carries the value it was
reviewed against (``expected_before``), and a change whose current value differs is a
409 that leaves everything as it was.

Invariants kept here (and by the database where it can: unique identities, the primary
profile's foreign key, check constraints on kinds and revisions):

- text guidance: keys equal the documents' ids, aliases are unique (case-folded), an
  assignment names an existing text record, its primary profile is an active prompt
  contract and its supplements active usage recipes;
- image baselines: every name is a baseline the record contract knows
  (``KNOWN_IMAGE_GENERATION_BASELINE``, which the records' validation and the search's
  ``baseline`` filter use), so the catalog and the records can never disagree; an
  alternative name belongs to one baseline; a baseline a record uses cannot be deleted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from pydantic import BaseModel, ValidationError

from audit.models import EventSource
from audit.services import Actor, audit_event_append
from catalogs.models import (
    Catalog,
    CatalogAction,
    CatalogState,
    GuidanceAssignment,
    GuidanceProfile,
    ImageBaseline,
)
from catalogs.schemas import (
    GuidanceRecordMetadata,
    ImageBaselineCatalog,
    ImageBaselineChangeSet,
    TextGuidanceCatalog,
    TextGuidanceChangeSet,
)
from catalogs.selectors import published_guidance_of
from common.errors import DomainError
from horde_model_reference.meta_consts import KNOWN_IMAGE_GENERATION_BASELINE, MODEL_REFERENCE_CATEGORY
from references.selectors import record_get, record_list
from references.services import category_revision_bump, exported_documents_changed

Doc = dict[str, Any]
RowModel = TypeVar("RowModel", GuidanceProfile, GuidanceAssignment, ImageBaseline)
CatalogDocument = TypeVar("CatalogDocument", TextGuidanceCatalog, ImageBaselineCatalog)


@dataclass(frozen=True)
class ChangeSetOutcome:
    """What an applied change set did: the audit event that records it, and when."""

    resource_id: str
    event_sequence: int
    applied_at: int
    related_names: list[str]


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    metadata_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted or self.metadata_changed)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


@dataclass
class _RowPlan:
    """Rows of one table as they are and as they shall be (document + position per key)."""

    current: dict[str, tuple[Doc, int]]
    target: dict[str, tuple[Doc, int]] = field(default_factory=dict)


def _now() -> int:
    return int(time.time())


def _refuse(message: str) -> DomainError:
    return DomainError(message, status=422)


def _state_locked(catalog: str) -> CatalogState:
    # The state row is the catalog's lock: change sets and imports of one catalog run one
    # after the other, so an ``expected_before`` check cannot race another writer.
    CatalogState.objects.get_or_create(catalog=catalog)
    return CatalogState.objects.select_for_update().get(catalog=catalog)


def _dump(model: BaseModel) -> Doc:
    dumped: Doc = model.model_dump(mode="json")
    return dumped


def _rows(model: type[RowModel], key: str) -> dict[str, tuple[Doc, int]]:
    return {getattr(row, key): (row.document, row.position) for row in model.objects.all()}


def _count(plan: _RowPlan, counts: ImportCounts) -> None:
    counts.deleted += sum(1 for name in plan.current if name not in plan.target)
    for name, wanted in plan.target.items():
        before = plan.current.get(name)
        if before is None:
            counts.created += 1
        elif before != wanted:
            counts.updated += 1
        else:
            counts.unchanged += 1


def _write_rows(
    model: type[RowModel], key: str, plan: _RowPlan, columns: Callable[[Doc], dict[str, Any]]
) -> None:
    """Make the table hold exactly ``plan.target`` (documents and positions)."""
    gone = [name for name in plan.current if name not in plan.target]
    if gone:
        model.objects.filter(**{f"{key}__in": gone}).delete()
    for name, (document, position) in plan.target.items():
        before = plan.current.get(name)
        if before is None:
            model.objects.create(**{key: name}, document=document, position=position, **columns(document))
        elif before != (document, position):
            model.objects.filter(**{key: name}).update(
                document=document, position=position, **columns(document)
            )


def _write_guidance(profiles: _RowPlan, assignments: _RowPlan) -> None:
    """Write both tables so the primary profile's foreign key holds at every step.

    Assignments that go away or point elsewhere are removed first (a profile row an
    assignment points to cannot be deleted), the profiles written, then the assignments.
    """
    stay = {
        name: entry
        for name, entry in assignments.current.items()
        if name in assignments.target
        and assignments.target[name][0]["primary_profile_id"] == entry[0]["primary_profile_id"]
    }
    _write_rows(GuidanceAssignment, "model_name", _RowPlan(assignments.current, stay), _assignment_columns)
    _write_rows(GuidanceProfile, "profile_id", profiles, _profile_columns)
    _write_rows(GuidanceAssignment, "model_name", _RowPlan(stay, assignments.target), _assignment_columns)


def _text_documents_follow(assignments: _RowPlan) -> None:
    """Move the text category's revision when what its records are served with changes.

    Text records carry their published guidance (``catalogs.selectors.published_guidance``,
    read once per render); documents are cached per revision, so a changed assignment
    must give the category a new revision (and ETag) in this transaction.
    """
    before = published_guidance_of({name: doc for name, (doc, _) in assignments.current.items()})
    after = published_guidance_of({name: doc for name, (doc, _) in assignments.target.items()})
    if before != after:
        category_revision_bump(category=MODEL_REFERENCE_CATEGORY.text_generation)


def _profile_columns(document: Doc) -> dict[str, Any]:
    return {"kind": document["kind"], "deprecated": bool(document.get("deprecated"))}


def _assignment_columns(document: Doc) -> dict[str, Any]:
    return {"primary_profile_id": document["primary_profile_id"]}


def _no_columns(document: Doc) -> dict[str, Any]:
    return {}


def _stamped(document: Doc, *, previous: Doc | None, editor: str, now: int) -> Doc:
    """The document with the lifecycle metadata a published change gets."""
    old = (
        GuidanceRecordMetadata.model_validate(previous["metadata"]) if previous else GuidanceRecordMetadata()
    )
    metadata = GuidanceRecordMetadata(
        revision=old.revision + (1 if previous is not None else 0),
        created_at=old.created_at or now,
        created_by=old.created_by or editor,
        updated_at=now,
        updated_by=editor,
    )
    return {**document, "metadata": _dump(metadata)}


def _appended_position(plan: _RowPlan) -> int:
    positions = [position for _, position in plan.current.values()]
    positions += [position for _, position in plan.target.values()]
    return max(positions, default=-1) + 1


def _validation_detail(error: ValidationError, root: str) -> list[dict[str, Any]]:
    return [
        {"loc": [root, *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def _reviewed_entry(
    plan: _RowPlan, key: str, expected_before: BaseModel | None, stale: str
) -> tuple[tuple[Doc, int] | None, Doc | None]:
    """A change's row entry and document as they stand, refused (409) unless as reviewed."""
    entry = plan.target.get(key)
    current = entry[0] if entry else None
    if current != (_dump(expected_before) if expected_before is not None else None):
        raise DomainError(stale, status=409)
    return entry, current


def _change_set_applied(
    state: CatalogState,
    *,
    action: str,
    category: str,
    resource_prefix: str,
    before: object,
    after: object,
    title: str,
    related_as: str,
    related: list[str],
    actor: Actor,
    now: int,
) -> ChangeSetOutcome:
    """A change set's tail: the catalog revision advances, one audit event records the change set."""
    state.revision += 1
    state.updated_at = now
    state.save(update_fields=["revision", "updated_at"])
    resource_id = str(uuid.uuid4())
    event = audit_event_append(
        action=action,
        actor=actor,
        source=EventSource.API,
        category=category,
        model_name=f"{resource_prefix}:{resource_id}",
        before=before,
        after=after,
        details={"title": title, "catalog_revision": state.revision, related_as: related},
    )
    exported_documents_changed()
    return ChangeSetOutcome(resource_id, event.sequence, now, related)


def _catalog_validated(schema: type[CatalogDocument], document: object, root: str) -> CatalogDocument:
    try:
        return schema.model_validate(document)
    except ValidationError as error:
        raise DomainError(_validation_detail(error, root), status=422) from None


def _import_plan(model: type[RowModel], key: str, documents: dict[str, Doc]) -> _RowPlan:
    return _RowPlan(
        current=_rows(model, key),
        target={name: (doc, index) for index, (name, doc) in enumerate(documents.items())},
    )


def _import_finished(
    state: CatalogState,
    catalog: CatalogDocument,
    counts: ImportCounts,
    *,
    action: str,
    category: str,
    actor: Actor,
    source: str,
) -> ImportCounts:
    """An import's tail: the document's metadata taken, and one audit event if anything changed."""
    metadata = catalog.metadata
    wanted = (metadata.schema_version, metadata.revision, metadata.updated_at)
    if (state.schema_version, state.revision, state.updated_at) != wanted:
        state.schema_version, state.revision, state.updated_at = wanted
        state.save(update_fields=["schema_version", "revision", "updated_at"])
        counts.metadata_changed = True
    if counts.changed:
        audit_event_append(
            action=action,
            actor=actor,
            source=source,
            category=category,
            details={**counts.as_dict(), "catalog_revision": state.revision},
        )
        exported_documents_changed()
    return counts


# --- text guidance -----------------------------------------------------------------


def _check_guidance(
    profiles: Mapping[str, Doc], assignments: Mapping[str, Doc], *, models_must_exist: bool
) -> None:
    alias_owner: dict[str, str] = {}
    for profile_id, profile in profiles.items():
        if profile["profile_id"] != profile_id:
            raise _refuse(f"Profile key '{profile_id}' does not match its profile_id.")
        for alias in profile.get("aliases", []):
            owner = alias_owner.setdefault(alias.casefold(), profile_id)
            if owner != profile_id:
                raise _refuse(f"Guidance alias '{alias}' is shared by multiple profiles.")
    for model_name, assignment in assignments.items():
        if assignment["model_name"] != model_name:
            raise _refuse(f"Assignment key '{model_name}' does not match its model_name.")
        if (
            models_must_exist
            and record_get(category=MODEL_REFERENCE_CATEGORY.text_generation, name=model_name) is None
        ):
            raise _refuse(f"Unknown canonical text model: {model_name}")
        primary = profiles.get(assignment["primary_profile_id"])
        if primary is None or primary["kind"] != "prompt_contract" or primary.get("deprecated"):
            raise _refuse(f"Assignment for '{model_name}' requires an active prompt contract.")
        for profile_id in assignment.get("supplemental_profile_ids", []):
            recipe = profiles.get(profile_id)
            if recipe is None or recipe["kind"] != "usage_recipe" or recipe.get("deprecated"):
                raise _refuse(f"Supplemental profile '{profile_id}' must be an active usage recipe.")


@transaction.atomic
def guidance_change_set_apply(*, change_set: TextGuidanceChangeSet, actor: Actor) -> ChangeSetOutcome:
    """Apply one reviewed guidance change set: all of it, or nothing (409 stale, 422 invalid)."""
    if not change_set.profile_changes and not change_set.assignment_changes:
        raise _refuse("A change set needs at least one profile or assignment change.")
    state = _state_locked(Catalog.TEXT_GUIDANCE)
    now = _now()
    editor = actor.id
    profiles_plan = _RowPlan(current=_rows(GuidanceProfile, "profile_id"))
    assignments_plan = _RowPlan(current=_rows(GuidanceAssignment, "model_name"))
    profiles_plan.target = dict(profiles_plan.current)
    assignments_plan.target = dict(assignments_plan.current)
    before: dict[str, dict[str, Doc | None]] = {"profiles": {}, "assignments": {}}

    for change in change_set.profile_changes:
        entry, current = _reviewed_entry(
            profiles_plan,
            change.profile_id,
            change.expected_before,
            f"Guidance profile '{change.profile_id}' changed after review.",
        )
        before["profiles"].setdefault(change.profile_id, current)
        if change.operation == "create":
            if current is not None or change.profile is None:
                raise _refuse(f"Cannot create guidance profile '{change.profile_id}'.")
            document = _stamped(_dump(change.profile), previous=None, editor=editor, now=now)
            profiles_plan.target[change.profile_id] = (document, _appended_position(profiles_plan))
        elif change.operation == "update":
            if current is None or change.profile is None or entry is None:
                raise _refuse(f"Cannot update missing guidance profile '{change.profile_id}'.")
            document = _stamped(_dump(change.profile), previous=current, editor=editor, now=now)
            profiles_plan.target[change.profile_id] = (document, entry[1])
        else:
            if current is None or entry is None:
                raise _refuse(f"Cannot deprecate missing guidance profile '{change.profile_id}'.")
            document = _stamped({**current, "deprecated": True}, previous=current, editor=editor, now=now)
            profiles_plan.target[change.profile_id] = (document, entry[1])

    for assignment_change in change_set.assignment_changes:
        name = assignment_change.model_name
        entry, current = _reviewed_entry(
            assignments_plan,
            name,
            assignment_change.expected_before,
            f"Guidance assignment for '{name}' changed after review.",
        )
        before["assignments"].setdefault(name, current)
        if assignment_change.assignment is None:
            assignments_plan.target.pop(name, None)
        else:
            document = _stamped(_dump(assignment_change.assignment), previous=current, editor=editor, now=now)
            position = entry[1] if entry else _appended_position(assignments_plan)
            assignments_plan.target[name] = (document, position)

    profiles = {key: doc for key, (doc, _) in profiles_plan.target.items()}
    assignments = {key: doc for key, (doc, _) in assignments_plan.target.items()}
    _check_guidance(profiles, assignments, models_must_exist=True)
    deprecated_assigned = sorted(
        {
            profile_id
            for assignment in assignments.values()
            for profile_id in [
                assignment["primary_profile_id"],
                *assignment.get("supplemental_profile_ids", []),
            ]
            if profiles.get(profile_id, {}).get("deprecated")
        }
    )
    if deprecated_assigned:
        raise _refuse(f"Deprecated profiles remain assigned: {', '.join(deprecated_assigned)}")

    _write_guidance(profiles_plan, assignments_plan)
    _text_documents_follow(assignments_plan)
    related = [change.model_name for change in change_set.assignment_changes]
    return _change_set_applied(
        state,
        action=CatalogAction.GUIDANCE_CHANGE_SET_APPLIED,
        category=MODEL_REFERENCE_CATEGORY.text_generation,
        resource_prefix="guidance",
        before=before,
        after={
            "profiles": {key: profiles.get(key) for key in before["profiles"]},
            "assignments": {key: assignments.get(key) for key in before["assignments"]},
        },
        title=change_set.title,
        related_as="related_models",
        related=related,
        actor=actor,
        now=now,
    )


@transaction.atomic
def guidance_catalog_import(
    *, document: object, actor: Actor, source: str = EventSource.SYNC
) -> ImportCounts:
    """Make the guidance catalog equal an exported catalog document (metadata included).

    Idempotent: importing what is already there writes nothing and appends no event.
    Assignments may name text models not (yet) imported here: a deployment loads the
    catalogs and the records in either order.
    """
    catalog = _catalog_validated(TextGuidanceCatalog, document, "text_guidance")
    profiles = {key: _dump(profile) for key, profile in catalog.profiles.items()}
    assignments = {key: _dump(assignment) for key, assignment in catalog.assignments.items()}
    _check_guidance(profiles, assignments, models_must_exist=False)
    state = _state_locked(Catalog.TEXT_GUIDANCE)
    profile_plan = _import_plan(GuidanceProfile, "profile_id", profiles)
    assignment_plan = _import_plan(GuidanceAssignment, "model_name", assignments)
    counts = ImportCounts()
    _count(profile_plan, counts)
    _count(assignment_plan, counts)
    _write_guidance(profile_plan, assignment_plan)
    _text_documents_follow(assignment_plan)
    return _import_finished(
        state,
        catalog,
        counts,
        action=CatalogAction.GUIDANCE_CATALOG_IMPORTED,
        category=MODEL_REFERENCE_CATEGORY.text_generation,
        actor=actor,
        source=source,
    )


# --- image baselines ---------------------------------------------------------------


def baseline_vocabulary() -> set[str]:
    """The baseline names the record contract (and so the search's filter) knows."""
    return {baseline.value for baseline in KNOWN_IMAGE_GENERATION_BASELINE}


def _baselines_in_use() -> set[str]:
    payloads = record_list(category=MODEL_REFERENCE_CATEGORY.image_generation).values_list(
        "payload", flat=True
    )
    return {str(payload.get("baseline")) for payload in payloads if isinstance(payload, dict)}


def _check_baselines(baselines: Mapping[str, Doc]) -> None:
    vocabulary = baseline_vocabulary()
    alternative_owner: dict[str, str] = {}
    for name, record in baselines.items():
        if record["name"] != name:
            raise _refuse(f"Baseline key '{name}' does not match its name.")
        if name not in vocabulary:
            raise _refuse(
                f"Baseline '{name}' is not a baseline the record contract knows "
                f"(known: {', '.join(sorted(vocabulary))})."
            )
        for alternative in record.get("alternative_names", []):
            if alternative != name and alternative in baselines:
                raise _refuse(f"Baseline alternative name '{alternative}' names another baseline.")
            owner = alternative_owner.setdefault(alternative, name)
            if owner != name:
                raise _refuse(f"Baseline alternative name '{alternative}' is shared by two baselines.")


@transaction.atomic
def baseline_change_set_apply(*, change_set: ImageBaselineChangeSet, actor: Actor) -> ChangeSetOutcome:
    """Apply one reviewed baseline change set: all of it, or nothing (409 stale, 422 invalid)."""
    if not change_set.changes:
        raise _refuse("A change set needs at least one change.")
    state = _state_locked(Catalog.IMAGE_BASELINES)
    now = _now()
    plan = _RowPlan(current=_rows(ImageBaseline, "name"))
    plan.target = dict(plan.current)
    before: dict[str, Doc | None] = {}
    in_use: set[str] | None = None
    for change in change_set.changes:
        entry, current = _reviewed_entry(
            plan, change.name, change.expected_before, f"Baseline '{change.name}' changed after review."
        )
        before.setdefault(change.name, current)
        if change.operation == "delete":
            if current is None:
                raise _refuse(f"Cannot delete missing baseline '{change.name}'.")
            in_use = _baselines_in_use() if in_use is None else in_use
            if change.name in in_use:
                raise _refuse(f"Baseline '{change.name}' is still named by a canonical image model.")
            del plan.target[change.name]
            continue
        if change.record is None or change.record.name != change.name:
            raise _refuse(f"Cannot upsert baseline '{change.name}' without a matching record.")
        document = _stamped(_dump(change.record), previous=current, editor=actor.id, now=now)
        plan.target[change.name] = (document, entry[1] if entry else _appended_position(plan))
    baselines = {key: doc for key, (doc, _) in plan.target.items()}
    _check_baselines(baselines)
    _write_rows(ImageBaseline, "name", plan, _no_columns)
    related = [change.name for change in change_set.changes]
    return _change_set_applied(
        state,
        action=CatalogAction.BASELINE_CHANGE_SET_APPLIED,
        category=MODEL_REFERENCE_CATEGORY.image_generation,
        resource_prefix="baseline",
        before=before,
        after={name: baselines.get(name) for name in before},
        title=change_set.title,
        related_as="affected_baselines",
        related=related,
        actor=actor,
        now=now,
    )


@transaction.atomic
def baseline_catalog_import(
    *, document: object, actor: Actor, source: str = EventSource.SYNC
) -> ImportCounts:
    """Make the baseline catalog equal an exported catalog document (metadata included).

    Idempotent: importing what is already there writes nothing and appends no event.
    """
    catalog = _catalog_validated(ImageBaselineCatalog, document, "image_baselines")
    baselines = {key: _dump(record) for key, record in catalog.baselines.items()}
    _check_baselines(baselines)
    state = _state_locked(Catalog.IMAGE_BASELINES)
    plan = _import_plan(ImageBaseline, "name", baselines)
    counts = ImportCounts()
    _count(plan, counts)
    _write_rows(ImageBaseline, "name", plan, _no_columns)
    return _import_finished(
        state,
        catalog,
        counts,
        action=CatalogAction.BASELINE_CATALOG_IMPORTED,
        category=MODEL_REFERENCE_CATEGORY.image_generation,
        actor=actor,
        source=source,
    )


__all__ = [
    "ChangeSetOutcome",
    "ImportCounts",
    "baseline_catalog_import",
    "baseline_change_set_apply",
    "baseline_vocabulary",
    "guidance_catalog_import",
    "guidance_change_set_apply",
]
