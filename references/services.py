"""The only code that writes records: one write engine (``records_plan`` + ``records_write``).

Every create, update and delete takes a new version from the global sequence and
bumps the category revision; its audit event is appended in the same transaction
by the caller (with the caller's own events). The callers are the pending queue's
apply, the upstream fast-forward (``records_apply``) and the importer
(``category_sync``).
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from pydantic import ValidationError

from audit.models import AuditAction
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from horde_model_reference.legacy import canonical_to_legacy_document
from horde_model_reference.legacy.types import CanonicalEntry
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import (
    V2_ONLY_FIELDS,
    GenericModelRecordMetadata,
    record_to_payload,
    unknown_model_licensing,
    validate_payload,
)
from references.document_cache import category_pointer_from_state, category_pointer_publish
from references.licensing import licensing_problems
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
    if strict:
        # Write paths only: the client parses licensing leniently, the server holds it to SPDX.
        problems += licensing_problems(canonical, ["body"])
    if problems:
        raise DomainError(problems, status=422)
    return canonical


def payload_with_fields(
    *, category: MODEL_REFERENCE_CATEGORY | str, payload: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """``payload`` carrying ``fields``, each in its canonical place among the fields."""
    record = validate_payload(MODEL_REFERENCE_CATEGORY(category), {**payload, **fields})
    return record_to_payload(record)


def payload_v2_only_fields_kept(
    *, category: MODEL_REFERENCE_CATEGORY | str, payload: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, Any]:
    """A new payload for a record, keeping each current v2-only field the payload lacks.

    The v2-only fields (``V2_ONLY_FIELDS``: licensing, and text's ``context_window``,
    ``interaction_modes``, ``capabilities``) exist only in v2: the legacy files have no
    place for them, so a v1 write, an import or an upstream change (payloads converted
    from legacy entries) must not wipe what was curated here, just as the legacy-only
    residue survives a v2 write. A v2 write that omits one keeps it too (the established
    rule for licensing); a v2 write replaces one by sending another.
    """
    if current is None:
        return payload
    kept = {
        name: current[name]
        for name in V2_ONLY_FIELDS
        if name not in payload and isinstance(current.get(name), dict)
    }
    if not kept:
        return payload
    return payload_with_fields(category=category, payload=payload, fields=kept)


#: The notes the established service writes into the "not reviewed" conclusion it
#: stores on a v2 write without licensing (kept verbatim: clients display them).
LICENSING_NOTE_NOT_SUPPLIED = "No licensing conclusion was supplied when this model was created."
LICENSING_NOTE_LEGACY = "Legacy record has not received a reviewed license conclusion."


def payload_licensing_for_v2_write(
    *,
    category: MODEL_REFERENCE_CATEGORY | str,
    body: dict[str, Any],
    payload: dict[str, Any],
    current: dict[str, Any] | None,
) -> dict[str, Any]:
    """The licensing a v2 create/update stores, as the established service decides it.

    A body with licensing stores it. Without it, an update keeps the current
    conclusion, and a create (or an update of a record that never had one) stores an
    explicit "not reviewed" one. ``"licensing": null`` on an update is refused (422):
    a conclusion is replaced, never cleared.
    """
    if "licensing" in payload:
        return payload
    if current is not None and "licensing" in body and body["licensing"] is None:
        raise DomainError(
            [
                {
                    "loc": ["body", "licensing"],
                    "msg": (
                        "licensing cannot be explicitly cleared; omit it to preserve the current conclusion."
                    ),
                    "type": "value_error",
                }
            ],
            status=422,
        )
    kept = payload_v2_only_fields_kept(category=category, payload=payload, current=current)
    if "licensing" in kept:
        return kept
    note = LICENSING_NOTE_NOT_SUPPLIED if current is None else LICENSING_NOTE_LEGACY
    licensing = unknown_model_licensing(note=note).model_dump(mode="json", exclude_none=True)
    return payload_with_fields(category=category, payload=payload, fields={"licensing": licensing})


def payload_without_v2_only_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The part of a payload the legacy files can carry (for comparing with a legacy source)."""
    return {key: value for key, value in payload.items() if key not in V2_ONLY_FIELDS}


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
    last_operation: str | None = "",
    last_model: str | None = "",
) -> CategoryState:
    """Advance a category's revision; every process sees it on its next request after commit.

    ``last_operation`` / ``last_model`` ``None`` keep the category's (no record changed).
    """
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
    if last_operation is not None:
        state.last_operation = last_operation
    if last_model is not None:
        state.last_operation_model = last_model
    state.save()
    pointer = category_pointer_from_state(state)
    transaction.on_commit(lambda: category_pointer_publish(category, pointer))
    transaction.on_commit(_records_committed)
    return state


@transaction.atomic(savepoint=False)
def category_revision_bump(*, category: str) -> int:
    """Give a category a new revision and ETag without changing a record; return the revision.

    For data above references that changes what the category's documents serve (the
    guidance catalog's assignments become text records' ``guidance``): rendered
    documents are cached per revision, so every process re-renders on its next request
    after the caller's commit. Not audited on its own, as the 2.1 migration's bump is
    not: the trail replays records, and none changed; the caller's own event, in the
    same transaction, records why. A category with no state yet has served no records,
    so it has nothing to re-render and gets no state (0).
    """
    if not CategoryState.objects.filter(category=category).exists():
        return 0
    state = _category_state_bump(category, changes=1, last_operation=None, last_model=None)
    return state.revision


def _conflict(category: str, name: str, current: int, expected: int) -> DomainError:
    return DomainError(
        f"'{category}/{name}' is at version {current}, but the change was based on version {expected}",
        status=409,
        code="conflict",
    )


# --- the write engine ------------------------------------------------------------
#
# One executor for "apply these record changes at this base", used by the pending
# queue's apply, the upstream import and the legacy importer (``category_sync``):
# ``records_plan`` locks the records and checks each change against the state the
# previous ones leave; ``records_write`` allocates versions, writes in bulk, bumps
# each category's revision and returns the ``record.*`` events. The caller appends
# those events (merged with its own, such as ``proposal.applied``) once, in the same
# transaction: nothing here calls back up into the apps that use it.


@dataclass(frozen=True)
class RecordChange:
    """One requested change of one record (what an applied proposal or an import asks for)."""

    category: str
    name: str
    operation: str  # "create" | "update" | "delete"
    payload: dict[str, Any] | None = None
    # None keeps the record's legacy-only data (an update) or stores none (a create).
    legacy_residue: dict[str, Any] | None = None
    # The version the change was written against; a different current version is a 409.
    expected_version: int | None = None


@dataclass
class RecordStep:
    """One change, checked: the record's state before it and the state it leaves (None: deleted)."""

    index: int
    change: RecordChange
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class RecordsPlan:
    """Checked changes (a prefix of those asked for) and, if any, why the next one failed.

    Made by ``records_plan`` and written by ``records_write``, in one transaction: the
    records it read are locked until that transaction ends.
    """

    steps: list[RecordStep]
    failure: DomainError | None = None
    failed_index: int | None = None
    # Changes left out because they would store exactly what is stored (``skip_unchanged``).
    unchanged: list[str] = field(default_factory=list)
    current: dict[tuple[str, str], ModelRecord] = field(default_factory=dict)


@dataclass
class RecordsWritten:
    """What ``records_write`` did, step by step; ``events`` are for the caller to append."""

    versions: list[int | None]
    # One ``record.*`` event per step, in step order.
    events: list[PendingEvent]
    revisions: dict[str, int]


@dataclass
class RecordChangesResult:
    """The changes applied (a prefix of those asked for) and, if any, why the next one failed."""

    versions: list[int | None] = field(default_factory=list)
    failure: DomainError | None = None
    failed_index: int | None = None


def _state_after(change: RecordChange, before: dict[str, Any] | None) -> dict[str, Any]:
    """The record a create or update leaves, through the one validation every write gets here.

    Lenient on purpose: the strict rules ran once, at the edge (a write route's
    validated draft, DECISIONS 9). What arrives here may have been valid under older
    rules (a proposal queued before a rule tightened, a record as upstream publishes
    it) and must still apply; what it must never do is store a payload the client's
    models cannot read.
    """
    assert change.payload is not None
    # v2-only fields (licensing...): a payload converted from a legacy entry (a v1 write,
    # an import, an upstream change) must not wipe what was curated here.
    incoming = payload_v2_only_fields_kept(
        category=change.category,
        payload=change.payload,
        current=before["payload"] if before is not None else None,
    )
    payload = payload_validate(category=change.category, payload=incoming, strict=False)
    residue = change.legacy_residue
    if residue is None:
        residue = before["legacy_residue"] if before is not None else {}
    return {"payload": payload, "legacy_residue": residue, "version": 0}


def _step_check(change: RecordChange, before: dict[str, Any] | None) -> dict[str, Any] | None:
    """Existence, base version and payload of one change against the state before it."""
    if change.operation == "create":
        problem = record_name_problem(change.name)
        if problem:
            raise DomainError([{"loc": ["path", "name"], "msg": problem, "type": "value_error"}], status=422)
        if before is not None:
            raise DomainError(
                f"'{change.category}/{change.name}' already exists", status=409, code="conflict"
            )
    elif before is None:
        raise DomainError(f"'{change.category}/{change.name}' does not exist", status=404, code="not_found")
    elif change.expected_version is not None and before["version"] != change.expected_version:
        raise _conflict(change.category, change.name, before["version"], change.expected_version)
    if change.operation == "delete":
        return None
    return _state_after(change, before)


def _unchanged(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    return (
        before is not None
        and after is not None
        and (after["payload"], after["legacy_residue"]) == (before["payload"], before["legacy_residue"])
    )


def records_plan(
    *, changes: Sequence[RecordChange], skip_unchanged: bool = False, check_render: bool = True
) -> RecordsPlan:
    """Lock the records the changes name and check each change in order; stop at the first that fails.

    Each change is checked against the state the previous ones leave. With
    ``skip_unchanged`` an update that would store exactly what is stored is left out
    (and listed in ``unchanged``): the importer brings a whole category in line and
    writes only what differs. ``check_render`` refuses (422) a record that would not
    render in every format (DECISIONS 33); only the importer turns it off (see
    ``category_sync``). Must run in the transaction that writes the plan.
    """
    names_by_category: dict[str, set[str]] = {}
    for change in changes:
        if record_name_problem(change.name) is None:  # a bad name (say, with NUL) never reaches SQL
            names_by_category.setdefault(MODEL_REFERENCE_CATEGORY(change.category).value, set()).add(
                change.name
            )
    plan = RecordsPlan(steps=[])
    for category, names in sorted(names_by_category.items()):
        for record in ModelRecord.objects.select_for_update().filter(category=category, name__in=names):
            plan.current[(record.category, record.name)] = record
    state: dict[tuple[str, str], dict[str, Any] | None] = {
        key: record_state(record) for key, record in plan.current.items()
    }
    for index, change in enumerate(changes):
        key = (change.category, change.name)
        before = state.get(key)
        try:
            after = _step_check(change, before)
            if skip_unchanged and change.operation == "update" and _unchanged(before, after):
                plan.unchanged.append(change.name)
                continue
            if check_render and after is not None:
                problem = record_render_problem(
                    change.category, change.name, after["payload"], after["legacy_residue"]
                )
                if problem:
                    raise DomainError(problem, status=422)
        except DomainError as error:
            plan.failure, plan.failed_index = error, index
            break
        plan.steps.append(RecordStep(index, change, before, after))
        state[key] = after
    return plan


_RECORD_ACTIONS = {
    "create": AuditAction.RECORD_CREATED,
    "update": AuditAction.RECORD_UPDATED,
    "delete": AuditAction.RECORD_DELETED,
}


def _positions(
    plan: RecordsPlan, order: Mapping[str, Sequence[str]], final: dict[tuple[str, str], dict[str, Any] | None]
) -> dict[tuple[str, str], int]:
    """Where each new record goes: its index in ``order`` if given, else after the category's last."""
    positions: dict[tuple[str, str], int] = {}
    index_of = {category: {name: i for i, name in enumerate(names)} for category, names in order.items()}
    next_position: dict[str, int] = {}
    for (category, name), after in final.items():
        if after is None or (category, name) in plan.current:
            continue
        if category in index_of:
            positions[(category, name)] = index_of[category][name]
            continue
        if category not in next_position:
            top = ModelRecord.objects.filter(category=category).aggregate(top=Max("position"))["top"]
            next_position[category] = -1 if top is None else top
        next_position[category] += 1
        positions[(category, name)] = next_position[category]
    return positions


@transaction.atomic(savepoint=False)
def records_write(*, plan: RecordsPlan, order: Mapping[str, Sequence[str]] | None = None) -> RecordsWritten:
    """Write a plan in bulk, in the caller's transaction; return versions and ``record.*`` events.

    Versions come from the global sequence in step order; each category touched
    (or named in ``order``) gets one revision bump. ``order`` gives a category's
    whole record order (the importer's): every record's position becomes its index.
    The caller must append ``events`` (with its own) in this transaction.
    """
    order = order or {}
    versions = iter(_versions_allocate(sum(1 for step in plan.steps if step.after is not None)))
    now = timezone.now()
    written = RecordsWritten(versions=[], events=[], revisions={})
    final: dict[tuple[str, str], dict[str, Any] | None] = {}
    counts: dict[str, dict[str, int]] = {
        category: {"create": 0, "update": 0, "delete": 0} for category in order
    }
    last: dict[str, tuple[str, str]] = {}
    for step in plan.steps:
        change = step.change
        version = next(versions) if step.after is not None else None
        if step.after is not None:
            step.after["version"] = version
        final[(change.category, change.name)] = step.after
        counts.setdefault(change.category, {"create": 0, "update": 0, "delete": 0})[change.operation] += 1
        last[change.category] = (change.operation, change.name)
        written.events.append(
            PendingEvent(
                _RECORD_ACTIONS[change.operation], change.category, change.name, step.before, step.after
            )
        )
        written.versions.append(version)

    positions = _positions(plan, order, final)
    to_create: list[ModelRecord] = []
    to_update: list[ModelRecord] = []
    to_delete: dict[str, list[str]] = {}
    for (category, name), after in final.items():
        existing = plan.current.get((category, name))
        if after is None:
            if existing is not None:
                to_delete.setdefault(category, []).append(name)
        elif existing is None:
            to_create.append(
                ModelRecord(
                    category=category,
                    name=name,
                    payload=after["payload"],
                    legacy_residue=after["legacy_residue"],
                    version=after["version"],
                    position=positions[(category, name)],
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
        ModelRecord.objects.bulk_update(
            to_update, ["payload", "legacy_residue", "version", "updated_at"], batch_size=500
        )
    if to_create:
        ModelRecord.objects.bulk_create(to_create, batch_size=500)
    for category, names in order.items():
        _category_reorder(category, names)
    for category, tally in sorted(counts.items()):
        operation, name = last.get(category, ("", ""))
        state = _category_state_bump(
            category,
            created=tally["create"],
            updated=tally["update"],
            deleted=tally["delete"],
            changes=max(1, sum(tally.values())),
            last_operation=operation,
            last_model=name,
        )
        written.revisions[category] = state.revision
    return written


def _category_reorder(category: str, names: Sequence[str]) -> None:
    """Give every record of the category its index in ``names`` (records not named keep theirs)."""
    position_of = {name: index for index, name in enumerate(names)}
    moved = [
        record
        for record in ModelRecord.objects.filter(category=category).only("pk", "name", "position")
        if record.position != position_of.get(record.name, record.position)
    ]
    for record in moved:
        record.position = position_of[record.name]
    if moved:
        ModelRecord.objects.bulk_update(moved, ["position"], batch_size=500)


@transaction.atomic(savepoint=False)
def records_apply(
    *, changes: Sequence[RecordChange], actor: Actor, source: str, request_id: str = ""
) -> RecordChangesResult:
    """Plan, write and audit changes in the caller's transaction, stopping at the first that fails.

    For callers with no events of their own (the upstream fast-forward). Nothing is
    written for the failed change or those after it.
    """
    plan = records_plan(changes=changes)
    result = RecordChangesResult(failure=plan.failure, failed_index=plan.failed_index)
    if not plan.steps:
        return result
    written = records_write(plan=plan)
    result.versions = written.versions
    audit_events_append(events=written.events, actor=actor, source=source, request_id=request_id)
    return result


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
    """Make a category hold exactly ``entries`` (in their order), through the write engine.

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
    existing = dict(
        ModelRecord.objects.filter(category=category)
        .order_by("position", "name")
        .values_list("name", "version")
    )
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
    deletes = [name for name in existing if name not in seen and name not in keep]
    # Deletes, then updates, then creates: a category's last operation is then, as it
    # always was, its last create, else its last update, else its last delete.
    changes = [RecordChange(category, name, "delete", expected_version=existing[name]) for name in deletes]
    changes += [
        RecordChange(category, e.name, "update", e.payload, e.legacy_residue, existing[e.name])
        for e in entries
        if e.name in existing
    ]
    changes += [
        RecordChange(category, e.name, "create", e.payload, e.legacy_residue)
        for e in entries
        if e.name not in existing
    ]
    # The importer has never run the per-record render check, and keeps it so: it
    # would double the cost of a full import, and every entry was just converted
    # from a legacy document (an image entry must rebuild its source exactly). The
    # lenient validation still bounds every payload number.
    plan = records_plan(changes=changes, skip_unchanged=True, check_render=False)
    if plan.failure is not None:
        raise plan.failure
    report.created = [s.change.name for s in plan.steps if s.change.operation == "create"]
    report.updated = [s.change.name for s in plan.steps if s.change.operation == "update"]
    report.unchanged = plan.unchanged
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
    target_order = [*desired_names, *kept_in_place]
    report.reordered = default_order != target_order and bool(existing)
    if dry_run or not report.changed:
        return report

    written = records_write(plan=plan, order={category: target_order})
    events = written.events
    if report.reordered:
        events.append(
            PendingEvent(AuditAction.CATEGORY_REORDERED, category, "", None, None, {"order": target_order})
        )
    report.revision = written.revisions[category]
    audit_events_append(events=events, actor=actor, source=source)
    return report


# --- privileged metadata correction ------------------------------------------------------

#: The record metadata fields an approver may correct, and the JSON type each takes.
METADATA_CORRECTION_FIELDS: dict[str, type] = {
    "created_at": int,
    "updated_at": int,
    "created_by": str,
    "updated_by": str,
}
METADATA_CORRECTED_ACTION = AuditAction.RECORD_METADATA_CORRECTED


def _metadata_correction_problems(fields: object) -> list[dict[str, Any]]:
    if not isinstance(fields, dict):
        return [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
    problems: list[dict[str, Any]] = []
    for key, value in fields.items():
        expected = METADATA_CORRECTION_FIELDS.get(key)
        if expected is None:
            problems.append(
                {"loc": ["body", key], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
            )
        elif value is None:
            continue
        elif expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(
                {"loc": ["body", key], "msg": "Input should be a valid integer", "type": "int_type"}
            )
        elif expected is int:
            problems.extend(number_problems(value, ["body", key], field=key))
        elif expected is str and not isinstance(value, str):
            problems.append(
                {"loc": ["body", key], "msg": "Input should be a valid string", "type": "string_type"}
            )
    return problems


@dataclass(frozen=True)
class MetadataCorrection:
    """What a metadata correction left: the record's metadata and version after it."""

    category: str
    name: str
    metadata: dict[str, Any]
    version: int
    changed: bool


@transaction.atomic
def record_metadata_correct(
    *,
    category: str,
    name: str,
    fields: object,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> MetadataCorrection:
    """Set some of a record's ``metadata`` fields (provenance), keeping the others.

    The approvers' exception to "metadata is server-owned": seeding or correcting
    ``created_at``/``updated_at``/``created_by``/``updated_by`` (for example from the
    upstream history). ``fields`` holds only the fields to change (``None`` clears
    one). Written like any change (a new version, the category revision, a
    ``record.updated`` event) plus a ``record.metadata_corrected`` event naming the
    fields, in one transaction; a correction that changes nothing writes nothing.

    400 for ``text_generation`` (its canonical data is the CSV, which has no
    metadata) or no field; 422 for an unknown field or a wrong type; 404 when the
    record does not exist.
    """
    category = MODEL_REFERENCE_CATEGORY(category).value
    if category == MODEL_REFERENCE_CATEGORY.text_generation.value:
        raise DomainError(
            "text_generation stores canonical data as CSV and does not carry per-record metadata.", status=400
        )
    problems = _metadata_correction_problems(fields)
    if problems:
        raise DomainError(problems, status=422)
    assert isinstance(fields, dict)
    if not fields:
        raise DomainError("At least one metadata field must be provided.", status=400)
    if record_name_problem(name) is not None:  # such a name can exist nowhere (and never reaches SQL)
        raise DomainError(f"Model '{name}' not found in category '{category}'", status=404, code="not_found")
    record = ModelRecord.objects.select_for_update().filter(category=category, name=name).first()
    if record is None:
        raise DomainError(f"Model '{name}' not found in category '{category}'", status=404, code="not_found")

    current_metadata = record.payload.get("metadata")
    merged = {**(current_metadata if isinstance(current_metadata, dict) else {}), **fields}
    payload = payload_validate(
        category=category, payload={**record.payload, "metadata": merged}, strict=False
    )
    version = record.version
    changed = payload != record.payload
    if changed:
        corrected = {key: fields[key] for key in METADATA_CORRECTION_FIELDS if key in fields}
        plan = records_plan(changes=[RecordChange(category, name, "update", payload, None, record.version)])
        if plan.failure is not None:
            raise plan.failure
        written = records_write(plan=plan)
        events = [
            *written.events,
            PendingEvent(
                AuditAction.RECORD_METADATA_CORRECTED, category, name, details={"fields": corrected}
            ),
        ]
        audit_events_append(events=events, actor=actor, source=source, request_id=request_id)
        assert written.versions[0] is not None
        version = written.versions[0]
    stored = payload.get("metadata")
    metadata = GenericModelRecordMetadata.model_validate(stored if isinstance(stored, dict) else {})
    return MetadataCorrection(category, name, metadata.model_dump(mode="json"), version, changed)
