"""The request id: accepted when well formed, echoed, stored with audit events, carried by tasks."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, cast

import pytest
from django.test import Client
from django_guid.context import guid as guid_context

from audit.models import AuditEvent
from common.request_id import CELERY_HEADER, current_request_id
from config.celery import app
from pending_queue.models import ChangeProposal
from tests.factories import sd_payload

V2 = "/api/model_references/v2"
Q2 = f"{V2}/pending_queue"
SD = "image_generation"
GENERATED = re.compile(r"[0-9a-f]{32}")


@app.task(name="tests.request_id_seen")
def request_id_seen() -> str:
    return current_request_id()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    ["req-12345678", "a" * 64, "Trace.ID_0001-x", "abcdefgh"],
)
def test_a_well_formed_request_id_is_echoed(client: Client, sent: str) -> None:
    response = client.get("/api/health/live", HTTP_X_REQUEST_ID=sent)
    assert response.status_code == 200
    assert response["X-Request-ID"] == sent


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    [None, "", "short", "a" * 65, "has space in it", "new\\nline-00000", "semi;colon-000", "ünïcödé-12345"],
)
def test_a_missing_or_malformed_request_id_is_replaced(client: Client, sent: str | None) -> None:
    headers: dict[str, Any] = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = client.get("/api/model_references/v2/model_categories", **headers)
    second = client.get("/api/model_references/v2/model_categories", **headers)
    assert first.status_code == second.status_code == 200
    assert GENERATED.fullmatch(first["X-Request-ID"]), first["X-Request-ID"]
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db
def test_error_answers_carry_the_request_id_too(client: Client, horde: Any) -> None:
    response = client.post(
        f"{V2}/{SD}/add",
        data=json.dumps(sd_payload("Alpha")),
        content_type="application/json",
        HTTP_APIKEY="unknown-key",
        HTTP_X_REQUEST_ID="failed-auth-0001",
    )
    assert response.status_code == 401
    assert response["X-Request-ID"] == "failed-auth-0001"


@pytest.mark.django_db
def test_audit_events_record_the_request_that_caused_them(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    proposed = client.post(
        f"{V2}/{SD}/add",
        data=json.dumps(sd_payload("Alpha")),
        content_type="application/json",
        HTTP_APIKEY="requestor-key",
        HTTP_X_REQUEST_ID="propose-0001",
    )
    assert proposed.status_code == 202, proposed.content
    change_id = proposed.json()["change_id"]
    reviewed = client.post(
        f"{Q2}/batches",
        data=json.dumps({"batch_title": "review", "approved_ids": [change_id], "rejected_ids": []}),
        content_type="application/json",
        HTTP_APIKEY="approver-key",
        HTTP_X_REQUEST_ID="review-0002",
    )
    assert reviewed.status_code in (200, 201), reviewed.content
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(
            f"{Q2}/changes/{change_id}/apply",
            content_type="application/json",
            HTTP_APIKEY="approver-key",
            HTTP_X_REQUEST_ID="apply-000003",
        )
    assert applied.status_code == 200, applied.content
    by_request = {(event.action, event.request_id) for event in AuditEvent.objects.all()}
    actions = {rid: sorted(a for a, r in by_request if r == rid) for _, rid in by_request}
    assert set(actions) == {"propose-0001", "review-0002", "apply-000003"}, by_request
    assert any(action.startswith("record.") for action in actions["apply-000003"]), actions
    assert ChangeProposal.objects.get(id=change_id).status == "applied"


def test_an_eager_task_runs_under_the_request_id_and_leaves_it_in_place() -> None:
    token = guid_context.set("eager-request-01")
    try:
        assert request_id_seen.apply_async().get() == "eager-request-01"
        # django-guid's own integration would have cleared it: the response then had none.
        assert current_request_id() == "eager-request-01"
    finally:
        guid_context.reset(token)


def test_a_task_from_the_broker_takes_the_id_from_its_message_else_a_new_one() -> None:
    assert request_id_seen.apply(headers={CELERY_HEADER: "from-broker-01"}).get() == "from-broker-01"
    generated = request_id_seen.apply().get()
    assert GENERATED.fullmatch(generated)
    malformed = request_id_seen.apply(headers={CELERY_HEADER: "bad id"}).get()
    assert GENERATED.fullmatch(malformed)
    # The worker thread is left without an id between tasks.
    assert current_request_id() == ""


@pytest.mark.django_db(transaction=True)
def test_a_published_task_message_carries_the_request_id() -> None:
    """On a real Redis broker with no worker: read the message the publish put on the queue."""
    import redis

    from tests.sync.test_workers import REDIS_BROKER, celery_pointed_at, require_broker

    require_broker(REDIS_BROKER)
    queue = f"hmr-test-{uuid.uuid4().hex}"
    broker = redis.Redis.from_url(REDIS_BROKER, socket_timeout=5)
    token = guid_context.set("published-0001")
    try:
        with celery_pointed_at(REDIS_BROKER, queue):
            request_id_seen.apply_async()
        messages = [json.loads(raw) for raw in cast(list[bytes], broker.lrange(queue, 0, -1))]
    finally:
        guid_context.reset(token)
        broker.delete(queue)
    assert len(messages) == 1
    assert messages[0]["headers"][CELERY_HEADER] == "published-0001"
