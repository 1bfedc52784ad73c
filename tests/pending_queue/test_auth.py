"""Who may call the curation routes: AI Horde keys (cached, fail closed), Django users, throttling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.authtoken.models import Token

from common.horde_api import AI_HORDE_BREAKER
from pending_queue.models import ChangeProposal
from tests.factories import sd_payload

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
Q2 = f"{V2}/pending_queue"
ROLES = f"{V2}/me/roles"
ADD = f"{V2}/image_generation/add"


def post(client: Client, url: str, body: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


# --- AI Horde keys ------------------------------------------------------------------------


def test_a_valid_key_is_looked_up_once(client: Client, horde: Any) -> None:
    for _ in range(3):
        assert client.get(ROLES, HTTP_APIKEY="requestor-key").status_code == 200
    assert post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY="requestor-key").status_code == 202
    assert horde.lookups("requestor-key") == 1


def test_an_invalid_key_is_cached_too(client: Client, horde: Any) -> None:
    for _ in range(3):
        response = client.get(ROLES, HTTP_APIKEY="wrong-key")
        assert response.status_code == 401 and response.json() == {"detail": "Invalid API key"}
        assert response["WWW-Authenticate"] == "APIKey"
    assert horde.lookups("wrong-key") == 1


def test_keys_are_cached_by_hash_never_in_clear(client: Client, horde: Any) -> None:
    from django.core.cache import cache

    from common.cache_keys import horde_user_key

    client.get(ROLES, HTTP_APIKEY="requestor-key")
    key = horde_user_key("requestor-key")
    assert "requestor-key" not in key and cache.get(key) == {"user_id": "1", "username": "alice#1"}


def test_a_timeout_is_503(client: Client, horde: Any, settings: Any) -> None:
    settings.AI_HORDE_TIMEOUT_SECONDS = 0.2
    horde.slow_seconds = 0.5
    response = client.get(ROLES, HTTP_APIKEY="requestor-key")
    assert response.status_code == 503
    assert response.json() == {"detail": "the AI Horde timed out while checking the API key"}


def test_the_circuit_opens_and_fails_fast(client: Client, horde: Any) -> None:
    horde.fail = True
    for index in range(AI_HORDE_BREAKER.failure_threshold):
        assert client.get(ROLES, HTTP_APIKEY=f"key-{index}").status_code == 503
    sent = horde.lookups()
    assert sent == AI_HORDE_BREAKER.failure_threshold
    response = post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY="requestor-key")
    assert response.status_code == 503 and "circuit open" in response.json()["detail"]
    assert horde.lookups() == sent  # failed fast, nothing sent
    # After the cool-down (simulated by a success) keys work again.
    horde.fail = False
    AI_HORDE_BREAKER.record_success()
    assert client.get(ROLES, HTTP_APIKEY="requestor-key").status_code == 200


def test_empty_allowlists_refuse_writes_and_approvals_without_a_lookup(
    client: Client, horde: Any, settings: Any
) -> None:
    settings.REQUESTOR_IDS = []
    settings.APPROVER_IDS = []
    response = post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY="requestor-key")
    assert response.status_code == 403 and "Writes are disabled by configuration" in response.json()["detail"]
    response = post(
        client, f"{Q2}/batches", {"batch_title": "t", "approved_ids": [1]}, HTTP_APIKEY="approver-key"
    )
    assert response.status_code == 403 and "disabled by configuration" in response.json()["detail"]
    response = client.get(f"{Q2}/my_changes", HTTP_APIKEY="requestor-key")
    assert response.status_code == 403
    assert horde.lookups() == 0
    # Reading stays possible for any valid key (the queue is a transparency surface).
    roles = client.get(ROLES, HTTP_APIKEY="approver-key")
    assert roles.status_code == 200 and roles.json()["roles"] == []


def test_only_approvers_listed_means_approvals_only_for_them(
    client: Client, horde: Any, settings: Any
) -> None:
    settings.REQUESTOR_IDS = []
    settings.APPROVER_IDS = ["2"]
    # Approvers are requestors too.
    assert post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY="approver-key").status_code == 202
    response = post(client, ADD, sd_payload("Beta"), HTTP_APIKEY="requestor-key")
    assert response.status_code == 403
    assert response.json() == {"detail": "You are not on the pending queue requestor list."}


def test_an_empty_key_header_is_not_authenticated(client: Client, horde: Any) -> None:
    response = post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY="   ")
    assert response.status_code == 401 and horde.lookups() == 0


# --- Django users -------------------------------------------------------------------------


def _user(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username=username, password="pw")
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_django_users_propose_by_session_and_approve_by_token(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    editor = _user("editor", "add_changeproposal")
    reviewer = _user("reviewer", "approve_changeproposal")
    client.force_login(editor)
    proposed = post(client, ADD, sd_payload("Alpha"))
    assert proposed.status_code == 202, proposed.content
    record = proposed.json()
    assert record["requester"] == {"kind": "django", "id": str(editor.pk), "display_name": "editor"}
    roles = client.get(ROLES).json()
    assert roles == {
        "user_id": str(editor.pk),
        "username": "editor",
        "roles": ["requestor"],
        "is_approver": False,
        "is_requestor": True,
    }
    mine = client.get(f"{Q2}/my_changes").json()
    assert [item["change_id"] for item in mine["items"]] == [record["change_id"]]
    # An editor may not approve.
    refused = post(client, f"{Q2}/batches", {"batch_title": "t", "approved_ids": [record["change_id"]]})
    assert refused.status_code == 403
    client.logout()

    token = Token.objects.create(user=reviewer)
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    review = post(
        client, f"{Q2}/batches", {"batch_title": "t", "approved_ids": [record["change_id"]]}, **auth
    )
    assert review.status_code == 200, review.content
    assert review.json()["approved"][0]["approver"]["kind"] == "django"
    with django_capture_on_commit_callbacks(execute=True):
        applied = post(client, f"{Q2}/changes/{record['change_id']}/apply", {}, **auth)
    assert applied.status_code == 200 and applied.json()["record"]["applied_username"] == "reviewer"
    assert client.get(ROLES, **auth).json()["roles"] == ["approver", "requestor"]
    assert horde.lookups() == 0


def test_django_users_without_permissions_are_readers(client: Client, horde: Any) -> None:
    client.force_login(_user("visitor"))
    assert client.get(f"{Q2}/changes").status_code == 200
    response = post(client, ADD, sd_payload("Alpha"))
    assert response.status_code == 403 and "permission" in response.json()["detail"]
    assert client.get(ROLES).json()["roles"] == []
    assert post(client, ADD, sd_payload("Alpha"), HTTP_AUTHORIZATION="Token nope").status_code == 403


def test_a_bad_token_is_401(client: Client, horde: Any) -> None:
    response = post(client, ADD, sd_payload("Alpha"), HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_django_users_work_with_empty_allowlists(client: Client, horde: Any, settings: Any) -> None:
    settings.REQUESTOR_IDS = []
    settings.APPROVER_IDS = []
    client.force_login(_user("editor", "add_changeproposal"))
    assert post(client, ADD, sd_payload("Alpha")).status_code == 202


# --- throttling ---------------------------------------------------------------------------


def test_writes_are_throttled_per_caller(client: Client, horde: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"writes": "2/min"}}
    assert post(client, ADD, sd_payload("A"), HTTP_APIKEY="requestor-key").status_code == 202
    assert post(client, ADD, sd_payload("B"), HTTP_APIKEY="requestor-key").status_code == 202
    throttled = post(client, ADD, sd_payload("C"), HTTP_APIKEY="requestor-key")
    assert throttled.status_code == 429 and isinstance(throttled.json()["detail"], str)
    # Another Horde user has a bucket of its own (a Horde principal has no pk to share).
    assert post(client, ADD, sd_payload("D"), HTTP_APIKEY="approver-key").status_code == 202
    # Public reads are never throttled.
    for _ in range(5):
        assert client.get(f"{V2}/image_generation").status_code == 200
    assert ChangeProposal.objects.count() == 3


# --- malformed keys and a slow AI Horde -----------------------------------------------------


@pytest.mark.parametrize("apikey", ["clé", "key\u202e", "k" * 300, "tab\tkey", "nul\x00key"])
def test_a_key_no_header_could_carry_is_401_without_a_lookup(client: Client, horde: Any, apikey: str) -> None:
    for response in (
        post(client, ADD, sd_payload("Alpha"), HTTP_APIKEY=apikey),
        client.get(f"{Q2}/changes", HTTP_APIKEY=apikey),
        client.get(ROLES, HTTP_APIKEY=apikey),
        post(client, f"{Q2}/batches", {"batch_title": "t", "approved_ids": [1]}, HTTP_APIKEY=apikey),
    ):
        assert response.status_code == 401, response.content
        assert response.json() == {"detail": "Invalid API key"}
    assert horde.lookups() == 0
    assert ChangeProposal.objects.count() == 0


def test_lookups_beyond_the_concurrency_bound_are_refused_at_once(horde: Any, settings: Any) -> None:
    import threading
    import time

    from common.horde_api import HordeUnavailableError, find_user

    settings.AI_HORDE_MAX_CONCURRENT_LOOKUPS = 2
    settings.AI_HORDE_TIMEOUT_SECONDS = 2.0
    horde.slow_seconds = 0.8
    outcomes: list[str] = []

    def lookup(apikey: str) -> None:
        started = time.monotonic()
        try:
            find_user(apikey)
            outcomes.append("answered")
        except HordeUnavailableError as error:
            # Refused callers must not wait, and are told when to come back.
            waited = time.monotonic() - started
            busy = "too many API key checks" in str(error) and error.retry_after >= 1
            outcomes.append("refused" if waited < 0.3 and busy else f"failed after {waited:.1f}s: {error}")

    # The same key twice shares one request (and both slots); every other key is refused.
    threads = [threading.Thread(target=lookup, args=("requestor-key",)) for _ in range(2)]
    threads += [threading.Thread(target=lookup, args=(f"other-{n}",)) for n in range(6)]
    for index, thread in enumerate(threads):
        thread.start()
        if index < 2:
            time.sleep(0.2)
    for thread in threads:
        thread.join(5)
    assert sorted(outcomes) == ["answered"] * 2 + ["refused"] * 6
    assert horde.lookups() == 1
