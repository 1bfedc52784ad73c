"""The services and the database hold the curation invariants; every change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from common.errors import DomainError
from references.services import _records_committed_hooks, records_committed_hook_register
from text_models import selectors, services
from text_models.models import TextGroupAlias, TextModelFamily, TextModelFamilyMember

pytestmark = pytest.mark.django_db
CURATOR = Actor(kind="django", id="7", display_name="curator")


def test_an_alias_names_one_canonical_group_in_the_database() -> None:
    TextGroupAlias.objects.create(canonical="A", alias="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        TextGroupAlias.objects.create(canonical="B", alias="x")


def test_an_alias_is_never_its_own_canonical_in_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TextGroupAlias.objects.create(canonical="A", alias="A")


def test_empty_names_are_refused_by_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TextModelFamily.objects.create(name="")


def test_a_group_belongs_to_one_family_in_the_database() -> None:
    first = TextModelFamily.objects.create(name="F1")
    second = TextModelFamily.objects.create(name="F2")
    TextModelFamilyMember.objects.create(family=first, group_name="G")
    with pytest.raises(IntegrityError), transaction.atomic():
        TextModelFamilyMember.objects.create(family=second, group_name="G")


def test_each_change_is_one_audit_event_on_a_verifying_chain() -> None:
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR, source="admin")
    services.family_set(family_name="Llama", members=["Llama-3"], actor=CURATOR)
    services.family_member_add(family_name="Llama", group_name="Llama-2", actor=CURATOR)
    services.alias_remove(canonical="Llama-3", alias="L3", actor=CURATOR)
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [(e.action, e.model_name, e.category) for e in events] == [
        ("text_models.aliases_set", "Llama-3", "text_generation"),
        ("text_models.family_set", "Llama", "text_generation"),
        ("text_models.family_member_added", "Llama", "text_generation"),
        ("text_models.alias_removed", "Llama-3", "text_generation"),
    ]
    assert events[0].source == "admin"
    assert events[0].actor_display == "curator"
    assert events[2].before == {"family_name": "Llama", "members": ["Llama-3"]}
    assert events[2].after == {"family_name": "Llama", "members": ["Llama-2", "Llama-3"]}
    assert events[2].details == {"group": "Llama-2"}
    assert audit_chain_verify().ok


def test_a_refused_write_appends_no_event() -> None:
    services.aliases_set(canonical="A", aliases=["x"], actor=CURATOR)
    count = AuditEvent.objects.count()
    with pytest.raises(DomainError) as refused:
        services.aliases_set(canonical="B", aliases=["y", "x"], actor=CURATOR)
    assert refused.value.status == 409
    assert AuditEvent.objects.count() == count
    assert selectors.alias_entry(canonical="B") is None


def test_replacing_aliases_keeps_the_given_order() -> None:
    services.aliases_set(canonical="A", aliases=["zeta", "alpha"], actor=CURATOR)
    assert selectors.alias_entry(canonical="A") == {"canonical": "A", "aliases": ["zeta", "alpha"]}
    services.aliases_set(canonical="A", aliases=["alpha"], actor=CURATOR)
    assert selectors.alias_map() == {"alpha": "A"}


def test_an_empty_alias_list_removes_the_entry() -> None:
    services.aliases_set(canonical="A", aliases=["x"], actor=CURATOR)
    assert services.aliases_set(canonical="A", aliases=[], actor=CURATOR) == {"canonical": "A", "aliases": []}
    assert selectors.alias_entries() == []


def test_curation_changes_call_the_registered_hooks_on_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    calls: list[str] = []

    def hook() -> None:
        calls.append("committed")

    records_committed_hook_register(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.family_set(family_name="F", members=["G"], actor=CURATOR)
        assert calls == ["committed"]
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
            services.family_delete(family_name="Nope", actor=CURATOR)
        assert calls == ["committed"]
    finally:
        _records_committed_hooks.remove(hook)


def test_a_failing_hook_does_not_fail_the_change(django_capture_on_commit_callbacks: Any) -> None:
    def broken() -> None:
        raise RuntimeError("down")

    records_committed_hook_register(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.aliases_set(canonical="A", aliases=["x"], actor=CURATOR)
    finally:
        _records_committed_hooks.remove(broken)
    assert selectors.alias_map() == {"x": "A"}
