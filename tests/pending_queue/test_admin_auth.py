"""Approvers log in to the admin with their AI Horde API key; the key is never kept."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.horde_stub import HordeStub

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/admin/login/?next=/admin/"
SECRET_KEYS = ("approver-key", "requestor-key", "reader-key")


def key_login(client: Client, key: str) -> Any:
    return client.post(LOGIN, {"horde_api_key": key, "next": "/admin/"})


def test_an_approver_key_logs_in_with_the_approver_rights(horde: HordeStub) -> None:
    client = Client()
    response = key_login(client, "approver-key")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    user = User.objects.get(username="horde:2")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert user.first_name == "bob#2"
    assert user.has_perm("pending_queue.approve_changeproposal")
    assert user.has_perm("pending_queue.add_changeproposal")
    assert user.has_perm("references.view_modelrecord")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/pending_queue/changeproposal/").status_code == 200


def test_a_requestor_key_gets_only_the_requestor_rights(horde: HordeStub) -> None:
    client = Client()
    assert key_login(client, "requestor-key").status_code == 302
    user = User.objects.get(username="horde:1")
    assert user.has_perm("pending_queue.add_changeproposal")
    assert not user.has_perm("pending_queue.approve_changeproposal")
    assert client.get("/admin/references/modelrecord/").status_code == 200


def test_an_unknown_key_and_a_user_on_no_list_are_refused(horde: HordeStub) -> None:
    for key in ("no-such-key", "reader-key"):
        client = Client()
        response = key_login(client, key)
        assert response.status_code == 200
        assert "not valid, or its user is not on the approver or requestor list" in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username__startswith="horde:").exists()


def test_an_id_removed_from_the_list_loses_its_rights(horde: HordeStub, settings: Any) -> None:
    assert key_login(Client(), "approver-key").status_code == 302
    settings.APPROVER_IDS = []
    # Still a requestor? No: 2 was only on the approver list.
    client = Client()
    response = key_login(client, "approver-key")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    user = User.objects.get(username="horde:2")
    assert not user.is_staff and not user.user_permissions.exists()
    # Moved to the requestor list: requestor rights only.
    settings.REQUESTOR_IDS = ["1", "2"]
    assert key_login(Client(), "approver-key").status_code == 302
    user = User.objects.get(username="horde:2")
    assert user.is_staff and user.has_perm("pending_queue.add_changeproposal")
    assert not user.has_perm("pending_queue.approve_changeproposal")


def test_the_ai_horde_down_is_a_clear_error_not_a_500(horde: HordeStub) -> None:
    horde.fail = True
    client = Client()
    response = key_login(client, "approver-key")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The AI Horde could not be asked who this key belongs to" in body
    assert "_auth_user_id" not in client.session


def test_password_logins_keep_working(horde: HordeStub) -> None:
    User.objects.create_user(username="ann", password="pw-123456", is_staff=True)
    client = Client()
    response = client.post(LOGIN, {"username": "ann", "password": "pw-123456", "next": "/admin/"})
    assert response.status_code == 302
    assert key_login(Client(), "").status_code == 200  # neither a key nor a password: refused
    # The horde user cannot be logged in to with a password.
    key_login(Client(), "approver-key")
    assert Client().post(LOGIN, {"username": "horde:2", "password": "", "next": "/"}).status_code == 200


def test_the_key_is_never_stored_or_logged(horde: HordeStub, caplog: Any, capfd: Any) -> None:
    caplog.set_level(logging.DEBUG)
    for key in SECRET_KEYS:
        key_login(Client(), key)
    key_login(Client(), "unknown-secret-key")
    horde.fail = True
    from common.horde_api import AI_HORDE_BREAKER

    AI_HORDE_BREAKER.record_success()
    key_login(Client(), "down-secret-key")
    captured = capfd.readouterr()
    logs = caplog.text + captured.out + captured.err
    dump = _database_dump()
    for key in (*SECRET_KEYS, "unknown-secret-key", "down-secret-key"):
        assert key not in logs
        assert key not in dump
    assert "horde:2" in dump  # the dump is real: it holds the users


def _database_dump() -> str:
    """Every row of every table as text."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_login_page_shows_both_ways(horde: HordeStub) -> None:
    body = Client().get(LOGIN).content.decode()
    assert 'name="horde_api_key"' in body and 'name="username"' in body
    assert "Horde Model Reference" in body
    call_command("check")


def test_key_checks_are_throttled_per_address(horde: HordeStub, settings: Any) -> None:
    settings.AUTH_CHECKS_PER_MINUTE = 2
    for attempt in range(2):
        key_login(Client(), f"unknown-{attempt}")
    response = key_login(Client(), "unknown-3")
    assert response.status_code == 200 and "Too many API key checks" in response.content.decode()
    assert horde.lookups("unknown-3") == 0
