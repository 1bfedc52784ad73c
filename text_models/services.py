"""Writes: aliases, families and naming schemas of text model groups, and the proposals
the group tools queue for records.

Every function is one transaction that appends its audit event (``text_models.*``)
in the same transaction. Refusals are ``DomainError``s in the established shape:
409 for a conflict with other curation data, 404 for something missing, 422 for a
malformed name. Record changes (``common_fields``, ``name_exception``) are never
written here: they are proposals, through ``pending_queue.services``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from audit.models import EventSource
from audit.services import Actor, PendingEvent, audit_events_append
from common.errors import DomainError
from pending_queue.models import Operation
from pending_queue.services import proposal_create_v2
from references.services import exported_documents_changed
from text_models import selectors
from text_models.grouping import COMMON_FIELD_NAMES, backend_prefix_of, name_format_answer
from text_models.models import (
    NAME_MAX_LENGTH,
    TextGroupAlias,
    TextGroupNameSchema,
    TextModelFamily,
    TextModelFamilyMember,
)

TEXT = selectors.TEXT
logger = logging.getLogger(__name__)


def _name(value: str, loc: list[str | int]) -> str:
    """A group, alias or family name: non-blank, bounded, no control characters."""
    problem = None
    if not value.strip():
        problem = "must not be empty"
    elif len(value) > NAME_MAX_LENGTH:
        problem = f"must be at most {NAME_MAX_LENGTH} characters"
    elif any(ord(char) < 32 or ord(char) == 127 for char in value):
        problem = "must not contain control characters"
    if problem:
        raise DomainError([{"loc": loc, "msg": f"Name {problem}", "type": "value_error"}], status=422)
    return value


def _audit(
    action: str,
    actor: Actor,
    source: str,
    *,
    target: str,
    before: Any,
    after: Any,
    curation_changed: bool = True,
    **details: Any,
) -> None:
    audit_events_append(
        events=[
            PendingEvent(
                action=f"text_models.{action}",
                category=TEXT,
                model_name=target,
                before=before,
                after=after,
                details=details or None,
            )
        ],
        actor=actor,
        source=source,
    )
    if curation_changed:
        # The curation data is part of every export: a change asks for one.
        exported_documents_changed()


@contextmanager
def _conflicts_are_409(message: str) -> Iterator[None]:
    # The unique constraints are the last word when two curators race: the loser's
    # insert fails and is answered like the check above would have answered it.
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        raise DomainError(message, status=409) from error


def _unique_in_order(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- aliases ------------------------------------------------------------------------


def _alias_conflicts(canonical: str, aliases: Sequence[str], *, adding: bool) -> None:
    for alias in aliases:
        if alias == canonical:
            text = (
                f"Cannot alias '{alias}' to itself"
                if adding
                else f"Canonical name '{canonical}' cannot be its own alias"
            )
            raise DomainError(text, status=409)
    owners = dict(
        TextGroupAlias.objects.filter(alias__in=aliases)
        .exclude(canonical=canonical)
        .values_list("alias", "canonical")
    )
    for alias in aliases:
        if alias in owners:
            raise DomainError(
                f"Alias '{alias}' is already registered under canonical group '{owners[alias]}'", status=409
            )


@transaction.atomic
def aliases_set(
    *, canonical: str, aliases: Sequence[str], actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Replace the aliases of ``canonical`` (duplicates dropped, order kept).

    409 when an alias is the canonical name itself or belongs to another canonical
    group. An empty list removes every alias of the group.
    """
    _name(canonical, ["path", "canonical"])
    wanted = _unique_in_order([_name(alias, ["body", "aliases", i]) for i, alias in enumerate(aliases)])
    _alias_conflicts(canonical, wanted, adding=False)
    before = selectors.alias_entry(canonical=canonical)
    with _conflicts_are_409("An alias is already registered under another canonical group"):
        TextGroupAlias.objects.filter(canonical=canonical).delete()
        TextGroupAlias.objects.bulk_create(
            TextGroupAlias(canonical=canonical, alias=alias, position=index)
            for index, alias in enumerate(wanted)
        )
    after = {"canonical": canonical, "aliases": wanted}
    _audit("aliases_set", actor, source, target=canonical, before=before, after=after)
    return after


@transaction.atomic
def alias_add(*, canonical: str, alias: str, actor: Actor, source: str = EventSource.API) -> dict[str, Any]:
    """Add one alias to ``canonical`` (already there: nothing changes). 409 as for ``aliases_set``."""
    _name(canonical, ["path", "canonical"])
    _name(alias, ["body", "alias"])
    _alias_conflicts(canonical, [alias], adding=True)
    before = selectors.alias_entry(canonical=canonical)
    if before is not None and alias in before["aliases"]:
        return before
    position = len(before["aliases"]) if before is not None else 0
    with _conflicts_are_409(f"Alias '{alias}' is already registered under another canonical group"):
        TextGroupAlias.objects.create(canonical=canonical, alias=alias, position=position)
    after = {"canonical": canonical, "aliases": [*(before["aliases"] if before else []), alias]}
    _audit("alias_added", actor, source, target=canonical, before=before, after=after, alias=alias)
    return after


@transaction.atomic
def alias_remove(
    *, canonical: str, alias: str, actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Remove one alias; 404 when ``canonical`` has no such alias. ``aliases: []`` once none is left."""
    before = selectors.alias_entry(canonical=canonical)
    deleted, _ = TextGroupAlias.objects.filter(canonical=canonical, alias=alias).delete()
    if not deleted:
        raise DomainError(f"Alias '{alias}' not found for canonical group '{canonical}'", status=404)
    after = selectors.alias_entry(canonical=canonical) or {"canonical": canonical, "aliases": []}
    _audit("alias_removed", actor, source, target=canonical, before=before, after=after, alias=alias)
    return after


@transaction.atomic
def aliases_delete(*, canonical: str, actor: Actor, source: str = EventSource.API) -> None:
    """Remove every alias of ``canonical``; 404 when it has none."""
    before = selectors.alias_entry(canonical=canonical)
    if before is None:
        raise DomainError(f"No aliases found for canonical group '{canonical}'", status=404)
    TextGroupAlias.objects.filter(canonical=canonical).delete()
    _audit("aliases_deleted", actor, source, target=canonical, before=before, after=None)


# --- families -----------------------------------------------------------------------


def _family_conflicts(family_name: str, groups: Sequence[str], *, hint: bool) -> None:
    owners = dict(
        TextModelFamilyMember.objects.filter(group_name__in=groups)
        .exclude(family__name=family_name)
        .values_list("group_name", "family__name")
    )
    for group in groups:
        if group in owners:
            suffix = " Remove it from that family first." if hint else ""
            raise DomainError(
                f"Group '{group}' already belongs to family '{owners[group]}'.{suffix}", status=409
            )


def _family_missing(family_name: str) -> DomainError:
    return DomainError(f"Family '{family_name}' does not exist.", status=404)


@transaction.atomic
def family_set(
    *, family_name: str, members: Sequence[str], actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Create or replace a family; members sorted and deduplicated.

    409 when the list is empty (as the established service answers) or when a group
    already belongs to another family.
    """
    _name(family_name, ["path", "family_name"])
    groups = sorted({_name(group, ["body", "members", i]) for i, group in enumerate(members)})
    if not groups:
        raise DomainError("A family must have at least one member group.", status=409)
    _family_conflicts(family_name, groups, hint=True)
    before = selectors.family_entry(family_name=family_name)
    with _conflicts_are_409("A group already belongs to another family."):
        family, _ = TextModelFamily.objects.get_or_create(name=family_name)
        family.members.all().delete()
        TextModelFamilyMember.objects.bulk_create(
            TextModelFamilyMember(family=family, group_name=group) for group in groups
        )
    after = {"family_name": family_name, "members": groups}
    _audit("family_set", actor, source, target=family_name, before=before, after=after)
    return after


@transaction.atomic
def family_member_add(
    *, family_name: str, group_name: str, actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Add a group to an existing family (404 unknown family; 409 the group is in another one)."""
    _name(group_name, ["body", "group_name"])
    family = TextModelFamily.objects.select_for_update().filter(name=family_name).first()
    if family is None:
        raise _family_missing(family_name)
    _family_conflicts(family_name, [group_name], hint=False)
    before = selectors.family_entry(family_name=family_name)
    assert before is not None
    if group_name in before["members"]:
        return before
    with _conflicts_are_409(f"Group '{group_name}' already belongs to another family."):
        TextModelFamilyMember.objects.create(family=family, group_name=group_name)
    after = {"family_name": family_name, "members": sorted([*before["members"], group_name])}
    _audit(
        "family_member_added", actor, source, target=family_name, before=before, after=after, group=group_name
    )
    return after


@transaction.atomic
def family_member_remove(
    *, family_name: str, group_name: str, actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Remove a group from a family (404 when it is not a member); an emptied family is deleted."""
    before = selectors.family_entry(family_name=family_name)
    deleted, _ = TextModelFamilyMember.objects.filter(
        family__name=family_name, group_name=group_name
    ).delete()
    if before is None or not deleted:
        raise DomainError(f"Group '{group_name}' is not a member of family '{family_name}'.", status=404)
    remaining = [group for group in before["members"] if group != group_name]
    if not remaining:
        TextModelFamily.objects.filter(name=family_name).delete()
    after = {"family_name": family_name, "members": remaining}
    _audit(
        "family_member_removed",
        actor,
        source,
        target=family_name,
        before=before,
        after=after,
        group=group_name,
    )
    return after


@transaction.atomic
def family_delete(*, family_name: str, actor: Actor, source: str = EventSource.API) -> None:
    """Delete a family (404 when it does not exist); its groups become standalone."""
    before = selectors.family_entry(family_name=family_name)
    if before is None:
        raise _family_missing(family_name)
    TextModelFamily.objects.filter(name=family_name).delete()
    _audit("family_deleted", actor, source, target=family_name, before=before, after=None)


# --- naming schemas -----------------------------------------------------------------

SCHEMA_FIELDS = ("separator", "part_order", "author_included", "common_author", "template", "extra_parts")


def _group_members_or_404(group_name: str) -> list[tuple[str, dict[str, Any]]]:
    members = selectors.text_records_by_group().get(group_name)
    if not members:
        raise DomainError(f"No models found in group '{group_name}'", status=404)
    return members


@transaction.atomic
def name_schema_set(
    *, group_name: str, changes: Mapping[str, Any], actor: Actor, source: str = EventSource.API
) -> dict[str, Any]:
    """Merge ``changes`` (fields given and not null) into the group's schema and store it.

    The base is the stored schema, or the inferred one for a group without one; 404
    for a group no record belongs to.
    """
    _name(group_name, ["query", "name"])
    members = _group_members_or_404(group_name)
    stored = selectors.name_schema_custom(group_name=group_name)
    base = name_format_answer([name for name, _ in members], stored)
    merged = {field: base.get(field) for field in SCHEMA_FIELDS}
    merged.update(
        {field: value for field, value in changes.items() if field in SCHEMA_FIELDS and value is not None}
    )
    TextGroupNameSchema.objects.update_or_create(group_name=group_name, defaults=merged)
    after = selectors.name_schema_custom(group_name=group_name)
    _audit("name_schema_set", actor, source, target=group_name, before=stored, after=after)
    assert after is not None
    return after


@transaction.atomic
def name_schema_delete(*, group_name: str, actor: Actor, source: str = EventSource.API) -> None:
    """Drop the curated schema (the group's schema is inferred again); 404 when there is none."""
    stored = selectors.name_schema_custom(group_name=group_name)
    if stored is None:
        raise DomainError(f"No custom naming schema found for group '{group_name}'", status=404)
    TextGroupNameSchema.objects.filter(group_name=group_name).delete()
    _audit("name_schema_deleted", actor, source, target=group_name, before=stored, after=None)


# --- record changes: proposals ------------------------------------------------------


@dataclass(frozen=True)
class CommonFieldsProposal:
    batch_id: str
    change_ids: list[int]


def _propose_update(name: str, payload: dict[str, Any], actor: Actor, source: str, route: str) -> int:
    body = {key: value for key, value in payload.items() if key != "text_model_group" or value}
    proposal = proposal_create_v2(
        category=TEXT,
        operation=Operation.UPDATE,
        body=body,
        path_name=name,
        actor=actor,
        source=source,
        route=route,
    )
    return proposal.id


@transaction.atomic
def group_common_fields_propose(
    *, group_name: str, fields: Mapping[str, Any], actor: Actor, source: str = EventSource.API
) -> CommonFieldsProposal:
    """Queue one update per canonical member of the group, with ``fields`` merged in.

    Nothing changes until the proposals are approved and applied. 400 when no field is
    given, 404 for an empty group; all proposals or none (one transaction). The batch
    id names this set of proposals in the audit event.
    """
    changes = {field: value for field, value in fields.items() if field in COMMON_FIELD_NAMES}
    if not changes:
        raise DomainError(
            "No fields to update. Provide at least one of: " + ", ".join(COMMON_FIELD_NAMES), status=400
        )
    members = _group_members_or_404(group_name)
    canonical = [(name, payload) for name, payload in members if backend_prefix_of(name) is None]
    if not canonical:
        raise DomainError(f"No canonical models found in group '{group_name}'", status=404)
    batch_id = str(uuid.uuid4())
    change_ids = [
        _propose_update(name, {**payload, **changes}, actor, source, "update_group_common_fields")
        for name, payload in canonical
    ]
    _audit(
        "group_common_fields_proposed",
        actor,
        source,
        target=group_name,
        before=None,
        after=changes,
        curation_changed=False,
        batch_id=batch_id,
        change_ids=change_ids,
    )
    return CommonFieldsProposal(batch_id=batch_id, change_ids=change_ids)


@transaction.atomic
def name_exception_propose(
    *, model_name: str, reason: str | None, actor: Actor, source: str = EventSource.API
) -> int:
    """Queue an update that sets (``reason``) or clears (None) a model's naming exception."""
    payload = selectors.text_record_payload(name=model_name)
    if payload is None:
        raise DomainError(f"Model '{model_name}' not found in category '{TEXT}'.", status=404)
    payload["name_schema_exception"] = reason
    return _propose_update(model_name, payload, actor, source, "set_name_exception")
