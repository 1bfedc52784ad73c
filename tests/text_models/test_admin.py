"""The admin shows aliases, families and naming schemas and edits them through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor
from tests.text_models.conftest import add_text
from text_models import selectors, services
from text_models.models import TextGroupAlias, TextGroupNameSchema, TextModelFamily

pytestmark = pytest.mark.django_db
CURATOR = Actor.system("curator")


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = User.objects.create_superuser(username="root", password="pw")
    client.force_login(user)
    return client


def test_every_model_is_listed(admin_client: Client) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR)
    services.family_set(family_name="Llama", members=["Llama-3"], actor=CURATOR)
    add_text("Llama-3-8B")
    services.name_schema_set(group_name="Llama-3", changes={"separator": "_"}, actor=CURATOR)
    for model, text in (
        ("textgroupalias", "L3"),
        ("textmodelfamily", "Llama"),
        ("textgroupnameschema", "Llama-3"),
    ):
        page = admin_client.get(reverse(f"admin:text_models_{model}_changelist"))
        assert page.status_code == 200
        assert text in page.content.decode()
    family = TextModelFamily.objects.get(name="Llama")
    detail = admin_client.get(reverse("admin:text_models_textmodelfamily_change", args=[family.pk]))
    assert detail.status_code == 200
    assert "Llama-3" in detail.content.decode()


def test_adding_an_alias_goes_through_the_service(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:text_models_textgroupalias_add"), {"canonical": "Llama-3", "alias": "L3"}
    )
    assert response.status_code == 302
    assert selectors.alias_map() == {"L3": "Llama-3"}
    event = AuditEvent.objects.get(action="text_models.alias_added")
    assert (event.source, event.actor_kind, event.actor_display) == ("admin", "django", "root")


def test_a_conflicting_alias_is_a_form_error_and_changes_nothing(admin_client: Client) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR)
    events = AuditEvent.objects.count()
    response = admin_client.post(
        reverse("admin:text_models_textgroupalias_add"), {"canonical": "Other", "alias": "L3"}
    )
    assert response.status_code == 200
    assert "already registered under canonical group" in response.content.decode()
    assert selectors.alias_map() == {"L3": "Llama-3"}
    assert AuditEvent.objects.count() == events


def test_changing_an_alias_moves_it(admin_client: Client) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR)
    row = TextGroupAlias.objects.get(alias="L3")
    response = admin_client.post(
        reverse("admin:text_models_textgroupalias_change", args=[row.pk]),
        {"canonical": "Llama-3", "alias": "Llama3"},
    )
    assert response.status_code == 302
    assert selectors.alias_map() == {"Llama3": "Llama-3"}


def test_deleting_an_alias_is_audited(admin_client: Client) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["L3"], actor=CURATOR)
    row = TextGroupAlias.objects.get(alias="L3")
    response = admin_client.post(
        reverse("admin:text_models_textgroupalias_delete", args=[row.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert selectors.alias_map() == {}
    assert AuditEvent.objects.filter(action="text_models.alias_removed", source="admin").count() == 1


def test_a_family_is_edited_with_its_member_list(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:text_models_textmodelfamily_add"),
        {"name": "Llama", "member_groups": "Llama-3\nLlama-2"},
    )
    assert response.status_code == 302
    assert selectors.family_entry(family_name="Llama") == {
        "family_name": "Llama",
        "members": ["Llama-2", "Llama-3"],
    }
    family = TextModelFamily.objects.get(name="Llama")
    change = admin_client.post(
        reverse("admin:text_models_textmodelfamily_change", args=[family.pk]),
        {
            "name": "Llama",
            "member_groups": "Llama-3",
        },
    )
    assert change.status_code == 302, change.content.decode()[:2000]
    assert selectors.family_entry(family_name="Llama") == {"family_name": "Llama", "members": ["Llama-3"]}
    assert AuditEvent.objects.filter(action="text_models.family_set", source="admin").count() == 2


def test_a_naming_schema_is_stored_through_the_service(admin_client: Client) -> None:
    add_text("Llama-3-8B")
    response = admin_client.post(
        reverse("admin:text_models_textgroupnameschema_add"),
        {
            "group_name": "Llama-3",
            "separator": "_",
            "author_included": "on",
            "common_author": "",
            "template": "{base}_{size}",
            "part_order_text": "base\nsize",
            "extra_parts_text": "",
        },
    )
    assert response.status_code == 302
    assert selectors.name_schema_custom(group_name="Llama-3") == {
        "separator": "_",
        "part_order": ["base", "size"],
        "author_included": True,
        "common_author": None,
        "template": "{base}_{size}",
        "extra_parts": [],
    }
    schema = TextGroupNameSchema.objects.get(group_name="Llama-3")
    deleted = admin_client.post(
        reverse("admin:text_models_textgroupnameschema_delete", args=[schema.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert selectors.name_schema_custom(group_name="Llama-3") is None
    assert AuditEvent.objects.filter(action="text_models.name_schema_deleted", source="admin").count() == 1
