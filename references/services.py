"""The only code that writes records.

Every create, update and delete takes a new version from the global sequence,
bumps the category revision and appends an audit event, all in one transaction.
The two callers are the pending queue's apply and the importer.
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from pydantic import ValidationError

from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from horde_model_reference.legacy import canonical_to_legacy_document
from horde_model_reference.legacy.types import CanonicalEntry
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import record_to_payload, validate_payload
from references.document_cache import category_pointer_from_state, category_pointer_publish
from references.models import NAME_MAX_LENGTH, CategoryState, ModelRecord, VersionSequence

logger = logging.getLogger(__name__)

#: Share of a category an import may delete without ``allow_mass_delete``.
MASS_DELETE_THRESHOLD = 0.20


def record_state(record: ModelRecord) -> dict[str, Any]:
    """What an audit event stores of a record: enough to rebuild it exactly."""
    return {
        "payload": record.payload,
        "legacy_residue": record.legacy_residue,
        "version": record.version,
    }


def record_name_problem(name: object) -> str | None:
    """Why a record name is unacceptable, or None when it is fine."""
    if not isinstance(name, str) or name == "":
        return "name must be a non-empty string"
    if name.strip() == "":
        return "name must not be whitespace only"
    if len(name) > NAME_MAX_LENGTH:
        return f"name must be at most {NAME_MAX_LENGTH} characters"
    if "\\" in name:
        return "name must not contain a backslash"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "name must not contain control characters"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        return "name must not contain lone surrogates"
    return None


def new_record_name_problem(name: object) -> str | None:
    """``record_name_problem`` plus the rules only a new name must meet.

    Invisible or reordering characters (bidi controls, zero-width spaces: Unicode
    categories Cc and Cf) and leading/trailing whitespace let a name pass for another
    (``"safe\u202egnp.exe"``, ``"layer_diffuse_sd15 "``). Existing names were never
    held to this, so only creates are; every real name meets it.
    """
    problem = record_name_problem(name)
    if problem or not isinstance(name, str):
        return problem
    if name != name.strip():
        return "name must not start or end with whitespace"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "name must not contain invisible control or format characters"
    return None


def payload_validate(
    *, category: MODEL_REFERENCE_CATEGORY | str, payload: dict[str, Any], strict: bool
) -> dict[str, Any]:
    """Validate with the client's record model; return the canonical payload.

    Raises ``DomainError`` (422) with the established ``{loc, msg, type}`` list.
    """
    try:
        record = validate_payload(MODEL_REFERENCE_CATEGORY(category), payload, strict=strict)
    except ValidationError as error:
        raise DomainError(
            [
                {"loc": ["body", *error_item["loc"]], "msg": error_item["msg"], "type": error_item["type"]}
                for error_item in error.errors(include_url=False, include_context=False)
            ],
            status=422,
        ) from error
    except ValueError as error:
        raise DomainError(
            [{"loc": ["body"], "msg": str(error), "type": "value_error"}], status=422
        ) from error
    canonical = record_to_payload(record)
    problems = number_problems(canonical, ["body"])
    if problems:
        raise DomainError(problems, status=422)
    return canonical


#: Exclusive upper bound of every integer in a record: the largest a signed 64-bit
#: reader (orjson, PostgreSQL bigint, Go/Java/C# clients) can represent.
INT_LIMIT = 2**63
#: Fields whose value is a size, a count or a time: never negative.
NON_NEGATIVE_FIELDS = frozenset(
    {"size_on_disk_bytes", "size_bytes", "parameters", "parameters_count", "min_bridge_version"}
    | {"created_at", "updated_at"}
)


def number_problems(data: object, loc: list[str | int], *, field: str | int = "") -> list[dict[str, Any]]:
    """The integers and floats in ``data`` that some consumer could not represent.

    The bound is the server's own check over the validated payload rather than a
    constraint in the client's pydantic models: the client parses leniently and must
    skip one odd record, not refuse a whole category (DECISIONS 9 and 33).
    Sizes, counts and times must be 0 <= n < 2**63; any other integer (free-form
    ``settings``/``requirements``) must fit a signed 64-bit integer; floats must be
    finite (NaN and Infinity are not JSON).
    """
    if isinstance(data, bool):
        return []
    if isinstance(data, int):
        low = 0 if field in NON_NEGATIVE_FIELDS else -INT_LIMIT
        if low <= data < INT_LIMIT:
            return []
        bound = "0" if low == 0 else "-2**63"
        return [{"loc": loc, "msg": f"Input should be >= {bound} and < 2**63", "type": "int_out_of_range"}]
    if isinstance(data, float):
        if math.isfinite(data):
            return []
        return [{"loc": loc, "msg": "Input should be a finite number", "type": "finite_number"}]
    items: list[dict[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            items.extend(number_problems(value, [*loc, key], field=key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            items.extend(number_problems(value, [*loc, index], field=field))
    return items


def record_render_problem(
    category: str, name: str, payload: dict[str, Any], residue: dict[str, Any]
) -> str | None:
    """Why this record could not be served in every format, or None.

    Exactly what the renderers do with one record (the v2 shape and the legacy
    entries it generates, through orjson), run before a change commits: a committed
    revision must always render (DECISIONS 33).
    """
    entry = CanonicalEntry(name=name, payload=payload, legacy_residue=residue)
    try:
        orjson.dumps(payload)
        orjson.dumps(residue)
        descriptor = CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)]
        if descriptor.has_legacy_format:
            orjson.dumps(canonical_to_legacy_document(category, [entry]))
    except Exception as error:  # any failure here is one a reader would otherwise hit
        return f"'{category}/{name}' cannot be rendered: {error}"
    problems = number_problems(payload, ["payload"]) + number_problems(residue, ["legacy_residue"])
    if problems:
        return f"'{category}/{name}' cannot be rendered: " + "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in problems
        )
    return None


def _versions_allocate(count: int) -> list[int]:
    sequence, _ = VersionSequence.objects.select_for_update().get_or_create(id=1)
    first = sequence.value + 1
    sequence.value += count
    VersionSequence.objects.filter(id=1).update(value=sequence.value)
    return list(range(first, first + count))


# Called after the commit of every transaction that changed records (the pending queue's
# apply, the importer, direct service calls), once per category it changed. Other apps register here rather
# than being imported by references, so reacting to a change (the sync app publishes
# an export) adds no import arrow from references or pending_queue to them.
_records_committed_hooks: list[Callable[[], None]] = []


def records_committed_hook_register(hook: Callable[[], None]) -> None:
    """Call ``hook()`` after each commit that changed records (registering twice is harmless)."""
    if hook not in _records_committed_hooks:
        _records_committed_hooks.append(hook)


def exported_documents_changed() -> None:
    """Call the committed hooks once the caller's transaction commits.

    For data beside the records that every export includes (the catalogs): a change to
    it asks for an export as a record change does.
    """
    transaction.on_commit(_records_committed)


def _records_committed() -> None:
    for hook in list(_records_committed_hooks):
        try:
            hook()
        except Exception:
            # The change is committed; a failing reaction must not turn it into an error.
            logger.exception("a records-committed hook failed")


def _category_state_bump(
    category: str,
    *,
    created: int = 0,
    updated: int = 0,
    deleted: int = 0,
    changes: int,
    last_operation: str = "",
    last_model: str = "",
) -> CategoryState:
    """Advance a category's revision; every process sees it on its next request after commit."""
    state, _ = CategoryState.objects.select_for_update().get_or_create(category=category)
    now = timezone.now()
    state.revision += changes
    state.etag = f"{state.revision}-{uuid.uuid4().hex[:16]}"
    state.last_updated = now
    state.initialized_at = state.initialized_at or now
    state.created_count += created
    state.updated_count += updated
    state.deleted_count += deleted
    state.record_count += created - deleted
    state.last_operation = last_operation
    state.last_operation_model = last_model
    state.save()
    pointer = category_pointer_from_state(state)
    transaction.on_commit(lambda: category_pointer_publish(category, pointer))
    transaction.on_commit(_records_committed)
    return state


def _conflict(category: str, name: str, current: int, expected: int) -> DomainError:
    return DomainError(
        f"'{category}/{name}' is at version {current}, but the change was based on version {expected}",
        status=409,
        code="conflict",
    )


@dataclass(frozen=True)
class RecordChange:
    """One requested change of one record (what an applied proposal asks for)."""

    category: str
    name: str
    operation: str  # "create" | "update" | "delete"
    payload: dict[str, Any] | None = None
    # None keeps the record's legacy-only data (an update) or stores none (a create).
    legacy_residue: dict[str, Any] | None = None
    # The version the change was written against; a different current version is a 409.
    expected_version: int | None = None


@dataclass
class RecordChangesResult:
    """The changes applied (a prefix of those asked for) and, if any, why the next one failed."""

    versions: list[int | None] = field(default_factory=list)
    failure: DomainError | None = None
    failed_index: int | None = None


@dataclass
class _Planned:
    index: int
    change: RecordChange
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _plan(
    changes: Sequence[RecordChange], current: dict[tuple[str, str], ModelRecord]
) -> tuple[list[_Planned], int | None, DomainError | None]:
    """Check each change against the state the previous ones leave; stop at the first that fails."""
    state: dict[tuple[str, str], dict[str, Any] | None] = {key: record_state(r) for key, r in current.items()}
    planned: list[_Planned] = []
    for index, change in enumerate(changes):
        key = (change.category, change.name)
        before = state.get(key)
        try:
            if change.operation == "create":
                problem = record_name_problem(change.name)
                if problem:
                    raise DomainError(
                        [{"loc": ["path", "name"], "msg": problem, "type": "value_error"}], status=422
                    )
                if before is not None:
                    raise DomainError(
                        f"'{change.category}/{change.name}' already exists", status=409, code="conflict"
                    )
            elif before is None:
                raise DomainError(
                    f"'{change.category}/{change.name}' does not exist", status=404, code="not_found"
                )
            elif change.expected_version is not None and before["version"] != change.expected_version:
                raise _conflict(change.category, change.name, before["version"], change.expected_version)
            if change.operation == "delete":
                after = None
            else:
                assert change.payload is not None
                payload = payload_validate(category=change.category, payload=change.payload, strict=False)
                residue = change.legacy_residue
                if residue is None:
                    residue = before["legacy_residue"] if before is not None else {}
                unrenderable = record_render_problem(change.category, change.name, payload, residue)
                if unrenderable:
                    raise DomainError(unrenderable, status=422)
                after = {"payload": payload, "legacy_residue": residue, "version": 0}
        except DomainError as error:
            return planned, index, error
        planned.append(_Planned(index, change, before, after))
        state[key] = after
    return planned, None, None


@transaction.atomic(savepoint=False)
def records_apply(
    *,
    changes: Sequence[RecordChange],
    actor: Actor,
    source: str,
    request_id: str = "",
    events_after: Callable[[int, int | None], list[PendingEvent]] | None = None,
) -> RecordChangesResult:
    """Apply changes in order, in the caller's transaction, stopping at the first that fails.

    Each change is checked against the state the previous ones leave (existence,
    ``expected_version``, validation); the ones before a failure are written in
    bulk: versions from the global sequence, one revision bump per category, and
    one append of all audit events (``events_after(index, version)`` adds the
    caller's own events right after each change's). Nothing is written for the
    failed change or those after it.
    """
    names_by_category: dict[str, set[str]] = {}
    for change in changes:
        if record_name_problem(change.name) is None:  # a bad name (say, with NUL) never reaches SQL
            names_by_category.setdefault(MODEL_REFERENCE_CATEGORY(change.category).value, set()).add(
                change.name
            )
    current: dict[tuple[str, str], ModelRecord] = {}
    for category, names in sorted(names_by_category.items()):
        for record in ModelRecord.objects.select_for_update().filter(category=category, name__in=names):
            current[(record.category, record.name)] = record
    planned, failed_index, failure = _plan(changes, current)
    result = RecordChangesResult(failure=failure, failed_index=failed_index)
    if not planned:
        return result

    versions = iter(_versions_allocate(sum(1 for p in planned if p.after is not None)))
    now = timezone.now()
    events: list[PendingEvent] = []
    final: dict[tuple[str, str], dict[str, Any] | None] = {}
    counts: dict[str, dict[str, int]] = {}
    last: dict[str, tuple[str, str]] = {}
    actions = {"create": "record.created", "update": "record.updated", "delete": "record.deleted"}
    for step in planned:
        change = step.change
        version = next(versions) if step.after is not None else None
        if step.after is not None:
            step.after["version"] = version
        final[(change.category, change.name)] = step.after
        tally = counts.setdefault(change.category, {"create": 0, "update": 0, "delete": 0})
        tally[change.operation] += 1
        last[change.category] = (change.operation, change.name)
        events.append(
            PendingEvent(actions[change.operation], change.category, change.name, step.before, step.after)
        )
        if events_after is not None:
            events.extend(events_after(step.index, version))
        result.versions.append(version)

    next_position: dict[str, int] = {}
    to_create: list[ModelRecord] = []
    to_update: list[ModelRecord] = []
    to_delete: dict[str, list[str]] = {}
    for (category, name), after in final.items():
        existing = current.get((category, name))
        if after is None:
            if existing is not None:
                to_delete.setdefault(category, []).append(name)
        elif existing is None:
            if category not in next_position:
                top = ModelRecord.objects.filter(category=category).aggregate(top=Max("position"))["top"]
                next_position[category] = -1 if top is None else top
            next_position[category] += 1
            to_create.append(
                ModelRecord(
                    category=category,
                    name=name,
                    payload=after["payload"],
                    legacy_residue=after["legacy_residue"],
                    version=after["version"],
                    position=next_position[category],
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            existing.payload, existing.legacy_residue = after["payload"], after["legacy_residue"]
            existing.version, existing.updated_at = after["version"], now
            to_update.append(existing)
    for category, doomed in to_delete.items():
        ModelRecord.objects.filter(category=category, name__in=doomed).delete()
    if to_update:
        ModelRecord.objects.bulk_update(to_update, ["payload", "legacy_residue", "version", "updated_at"])
    if to_create:
        ModelRecord.objects.bulk_create(to_create)
    for category, tally in sorted(counts.items()):
        _category_state_bump(
            category,
            created=tally["create"],
            updated=tally["update"],
            deleted=tally["delete"],
            changes=sum(tally.values()),
            last_operation=last[category][0],
            last_model=last[category][1],
        )
    audit_events_append(events=events, actor=actor, source=source, request_id=request_id)
    return result


def _record_apply_one(change: RecordChange, actor: Actor, source: str, request_id: str) -> int | None:
    result = records_apply(changes=[change], actor=actor, source=source, request_id=request_id)
    if result.failure is not None:
        raise result.failure
    return result.versions[0]


@transaction.atomic
def record_create(
    *,
    category: str,
    name: str,
    payload: dict[str, Any],
    legacy_residue: dict[str, Any] | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> ModelRecord:
    """Create a record; 409 if the name exists in the category, 422 for a bad name or payload."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    change = RecordChange(category, name, "create", payload, legacy_residue or {})
    _record_apply_one(change, actor, source, request_id)
    return ModelRecord.objects.get(category=category, name=name)


@transaction.atomic
def record_update(
    *,
    category: str,
    name: str,
    payload: dict[str, Any],
    legacy_residue: dict[str, Any] | None = None,
    expected_version: int | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> ModelRecord:
    """Replace a record's payload; 404 if missing, 409 if it moved past ``expected_version``."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    change = RecordChange(category, name, "update", payload, legacy_residue, expected_version)
    _record_apply_one(change, actor, source, request_id)
    return ModelRecord.objects.get(category=category, name=name)


@transaction.atomic
def record_delete(
    *,
    category: str,
    name: str,
    expected_version: int | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> None:
    """Delete a record; 404 if missing, 409 if it moved past ``expected_version``."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    _record_apply_one(
        RecordChange(category, name, "delete", expected_version=expected_version), actor, source, request_id
    )


@dataclass
class CategorySyncReport:
    """What bringing a category in line with a source did (or would do)."""

    category: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reordered: bool = False
    revision: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted or self.reordered)


def _order_after_sync(
    existing_order: Sequence[str], desired_order: Sequence[str], deleted: Iterable[str], kept: Iterable[str]
) -> list[str]:
    """The order a category takes by default: survivors keep theirs, new ones are appended."""
    gone = set(deleted)
    survivors = [name for name in existing_order if name not in gone]
    known = set(survivors)
    return survivors + [name for name in desired_order if name not in known and name not in set(kept)]


@transaction.atomic
def category_sync(
    *,
    category: str,
    entries: Sequence[CanonicalEntry],
    keep_names: Iterable[str] = (),
    actor: Actor,
    source: str,
    allow_mass_delete: bool = False,
    dry_run: bool = False,
) -> CategorySyncReport:
    """Make a category hold exactly ``entries`` (in their order).

    Records named in ``keep_names`` (entries the source had but could not be
    converted) are left as they are. Deleting more than 20% of a non-empty
    category is refused unless ``allow_mass_delete``, so a truncated download can
    never wipe a category. With ``dry_run`` the report is computed and nothing is
    written.
    """
    category = MODEL_REFERENCE_CATEGORY(category).value
    report = CategorySyncReport(category=category)
    # Lock the category: two imports of one category must not interleave.
    CategoryState.objects.select_for_update().get_or_create(category=category)
    existing = {r.name: r for r in ModelRecord.objects.filter(category=category).order_by("position", "name")}
    keep = set(keep_names)
    desired_names = [entry.name for entry in entries]
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise DomainError(f"{category}: the source names '{entry.name}' twice", status=400)
        seen.add(entry.name)
        problem = record_name_problem(entry.name)
        if problem:
            raise DomainError(f"{category}: record '{entry.name}': {problem}", status=422)
    entries = [
        CanonicalEntry(
            name=entry.name,
            payload=payload_validate(category=category, payload=entry.payload, strict=False),
            legacy_residue=entry.legacy_residue,
        )
        for entry in entries
    ]

    creates: list[CanonicalEntry] = []
    updates: list[tuple[ModelRecord, CanonicalEntry]] = []
    for entry in entries:
        current = existing.get(entry.name)
        if current is None:
            creates.append(entry)
        elif current.payload != entry.payload or current.legacy_residue != entry.legacy_residue:
            updates.append((current, entry))
        else:
            report.unchanged.append(entry.name)
    deletes = [name for name in existing if name not in seen and name not in keep]
    report.created = [e.name for e in creates]
    report.updated = [record.name for record, _ in updates]
    report.deleted = deletes

    if existing and len(deletes) > MASS_DELETE_THRESHOLD * len(existing) and not allow_mass_delete:
        raise DomainError(
            f"{category}: the source would delete {len(deletes)} of {len(existing)} records "
            f"(more than {MASS_DELETE_THRESHOLD:.0%}); refusing without --allow-mass-delete",
            status=409,
            code="mass_delete",
        )

    default_order = _order_after_sync(list(existing), desired_names, deletes, keep)
    kept_in_place = [name for name in existing if name in keep and name not in seen]
    target_order = [name for name in desired_names] + kept_in_place
    report.reordered = default_order != target_order and bool(existing)
    if dry_run or not report.changed:
        return report

    now = timezone.now()
    versions = iter(_versions_allocate(len(creates) + len(updates)))
    position_of = {name: index for index, name in enumerate(target_order)}
    events: list[PendingEvent] = []

    new_rows = [
        ModelRecord(
            category=category,
            name=entry.name,
            payload=entry.payload,
            legacy_residue=entry.legacy_residue,
            version=next(versions),
            position=position_of[entry.name],
            created_at=now,
            updated_at=now,
        )
        for entry in creates
    ]
    for record, entry in updates:
        before = record_state(record)
        record.payload = entry.payload
        record.legacy_residue = entry.legacy_residue
        record.version = next(versions)
        record.updated_at = now
        events.append(PendingEvent("record.updated", category, record.name, before, record_state(record)))
    if deletes:
        for name in deletes:
            events.append(PendingEvent("record.deleted", category, name, record_state(existing[name]), None))
        ModelRecord.objects.filter(category=category, name__in=deletes).delete()
    if updates:
        ModelRecord.objects.bulk_update(
            [record for record, _ in updates],
            ["payload", "legacy_residue", "version", "updated_at"],
            batch_size=500,
        )
    ModelRecord.objects.bulk_create(new_rows, batch_size=500)
    events.extend(
        PendingEvent("record.created", category, row.name, None, record_state(row)) for row in new_rows
    )

    moved = [
        record
        for name, record in existing.items()
        if name not in set(deletes) and record.position != position_of.get(name, record.position)
    ]
    for record in moved:
        record.position = position_of[record.name]
    if moved:
        ModelRecord.objects.bulk_update(moved, ["position"], batch_size=500)
    if report.reordered:
        events.append(PendingEvent("category.reordered", category, "", None, None, {"order": target_order}))

    last_operation, last_model = (
        ("create", creates[-1].name)
        if creates
        else ("update", updates[-1][0].name)
        if updates
        else ("delete", deletes[-1])
        if deletes
        else ("", "")
    )
    state = _category_state_bump(
        category,
        created=len(creates),
        updated=len(updates),
        deleted=len(deletes),
        changes=max(1, len(creates) + len(updates) + len(deletes)),
        last_operation=last_operation,
        last_model=last_model,
    )
    report.revision = state.revision
    audit_events_append(events=events, actor=actor, source=source)
    return report
