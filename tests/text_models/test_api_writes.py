"""The group tool writes: auth, aliases, families, naming schemas (SQL data, audited) and the
record changes queued as proposals (common_fields, name_exception)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from pending_queue.models import ChangeProposal
from references.selectors import record_get
from tests.text_models.conftest import BASE, TEXT, add_text, send
from text_models import selectors

pytestmark = pytest.mark.django_db


def curation_state() -> dict[str, Any]:
    """Everything a refused write must leave as it was."""
    return {
        "aliases": selectors.alias_entries(),
        "families": selectors.family_entries(),
        "schemas": selectors.text_models_export_documents()["text_group_name_schemas.json"],
        "proposals": ChangeProposal.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def actions() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="text_models.").values_list("action", flat=True))


WRITES = [
    ("put", "/aliases/Llama-3", {"aliases": ["Llama3"]}),
    ("post", "/aliases/Llama-3/add", {"alias": "Llama3"}),
    ("post", "/aliases/Llama-3/remove", {"alias": "Llama3"}),
    ("delete", "/aliases/Llama-3", None),
    ("put", "/families/Llama", {"members": ["Llama-3"]}),
    ("post", "/families/Llama/add", {"group_name": "Llama-3"}),
    ("post", "/families/Llama/remove", {"group_name": "Llama-3"}),
    ("delete", "/families/Llama", None),
    ("put", "/group/name_schema?name=Llama-3", {"separator": "_"}),
    ("delete", "/group/name_schema?name=Llama-3", None),
    ("put", "/group/common_fields?name=Llama-3", {"baseline": "llama"}),
    ("put", "/meta-llama/Llama-3-8B-Instruct/name_exception", {"reason": "x"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_writes_need_a_key(
    client: Client, text_models: list[str], horde: Any, method: str, suffix: str, body: Any
) -> None:
    before = curation_state()
    response = send(client, method, BASE + suffix, body, key=None)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert curation_state() == before


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_writes_need_the_requestor_role(
    client: Client, text_models: list[str], horde: Any, method: str, suffix: str, body: Any
) -> None:
    before = curation_state()
    response = send(client, method, BASE + suffix, body, key="reader-key")
    assert response.status_code == 403
    assert curation_state() == before


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES[:2])
def test_an_invalid_key_is_401(
    client: Client, db: None, horde: Any, method: str, suffix: str, body: Any
) -> None:
    assert send(client, method, BASE + suffix, body, key="wrong-key").status_code == 401


def test_a_get_on_a_write_only_route_is_405_with_allow(client: Client, db: None) -> None:
    response = client.get(BASE + "/aliases/Llama-3/add")
    assert response.status_code == 405
    assert "POST" in response["Allow"]


# --- aliases -------------------------------------------------------------------------


def test_alias_lifecycle(client: Client, db: None, horde: Any) -> None:
    put = send(client, "put", BASE + "/aliases/Llama-3", {"aliases": ["Llama3", "llama-3", "Llama3"]})
    assert put.status_code == 200
    assert put.json() == {"canonical": "Llama-3", "aliases": ["Llama3", "llama-3"]}
    assert client.get(BASE + "/aliases/Llama-3").json() == put.json()
    added = send(client, "post", BASE + "/aliases/Llama-3/add", {"alias": "L3"})
    assert added.json() == {"canonical": "Llama-3", "aliases": ["Llama3", "llama-3", "L3"]}
    again = send(client, "post", BASE + "/aliases/Llama-3/add", {"alias": "L3"})
    assert again.json() == added.json()
    removed = send(client, "post", BASE + "/aliases/Llama-3/remove", {"alias": "llama-3"})
    assert removed.json() == {"canonical": "Llama-3", "aliases": ["Llama3", "L3"]}
    assert client.get(BASE + "/aliases").json() == {"entries": [removed.json()]}
    assert send(client, "delete", BASE + "/aliases/Llama-3").status_code == 204
    assert client.get(BASE + "/aliases/Llama-3").status_code == 404
    assert send(client, "delete", BASE + "/aliases/Llama-3").status_code == 404
    assert actions() == [
        "text_models.aliases_set",
        "text_models.alias_added",
        "text_models.alias_removed",
        "text_models.aliases_deleted",
    ]
    event = AuditEvent.objects.get(action="text_models.aliases_set")
    assert (event.actor_kind, event.actor_id, event.actor_display) == ("horde", "1", "alice#1")
    assert event.source == "api"
    assert event.before is None
    assert event.after == {"canonical": "Llama-3", "aliases": ["Llama3", "llama-3"]}


def test_removing_the_last_alias_answers_an_empty_list(client: Client, db: None, horde: Any) -> None:
    send(client, "put", BASE + "/aliases/Qwen3", {"aliases": ["Qwen-3"]})
    removed = send(client, "post", BASE + "/aliases/Qwen3/remove", {"alias": "Qwen-3"})
    assert removed.status_code == 200
    assert removed.json() == {"canonical": "Qwen3", "aliases": []}
    assert client.get(BASE + "/aliases/Qwen3").status_code == 404


def test_removing_an_unknown_alias_is_404(client: Client, db: None, horde: Any) -> None:
    before = curation_state()
    assert send(client, "post", BASE + "/aliases/Qwen3/remove", {"alias": "nope"}).status_code == 404
    assert curation_state() == before


@pytest.mark.parametrize(
    ("method", "suffix", "body", "detail"),
    [
        (
            "put",
            "/aliases/Other",
            {"aliases": ["Llama3"]},
            "Alias 'Llama3' is already registered under canonical group 'Llama-3'",
        ),
        (
            "post",
            "/aliases/Other/add",
            {"alias": "Llama3"},
            "Alias 'Llama3' is already registered under canonical group 'Llama-3'",
        ),
        (
            "put",
            "/aliases/Other",
            {"aliases": ["x", "Other"]},
            "Canonical name 'Other' cannot be its own alias",
        ),
        ("post", "/aliases/Other/add", {"alias": "Other"}, "Cannot alias 'Other' to itself"),
    ],
)
def test_alias_conflicts_are_409_and_change_nothing(
    client: Client, db: None, horde: Any, method: str, suffix: str, body: Any, detail: str
) -> None:
    send(client, "put", BASE + "/aliases/Llama-3", {"aliases": ["Llama3"]})
    before = curation_state()
    response = send(client, method, BASE + suffix, body)
    assert response.status_code == 409
    assert response.json() == {"detail": detail}
    assert curation_state() == before


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("put", "/aliases/Llama-3", {"aliases": "Llama3"}),
        ("put", "/aliases/Llama-3", {"aliases": [1]}),
        ("put", "/aliases/Llama-3", {}),
        ("put", "/aliases/Llama-3", {"aliases": ["  "]}),
        ("put", "/aliases/Llama-3", {"aliases": ["a\x00b"]}),
        ("put", "/aliases/Llama-3", {"aliases": ["x" * 201]}),
        ("post", "/aliases/Llama-3/add", {"alias": None}),
        ("post", "/aliases/Llama-3/add", ["Llama3"]),
        ("post", "/aliases/Llama-3/add", "{not json"),
        ("post", "/aliases/Llama-3/add", {"alias": "tab\there"}),
        ("put", "/families/Llama", {"members": [["nested"]]}),
        ("post", "/families/Llama/add", {}),
        ("put", "/group/name_schema?name=Llama-3", {"author_included": "yes"}),
        ("put", "/group/name_schema?name=Llama-3", {"separator": "too-long-separator"}),
        ("put", "/group/name_schema?name=" + "x" * 256, {"separator": "_"}),
        ("put", "/group/common_fields?name=Llama-3", {"nsfw": "no"}),
        ("put", "/group/common_fields?name=Llama-3", {"tags": "x"}),
        ("put", "/meta-llama/Llama-3-8B-Instruct/name_exception", {}),
        ("put", "/meta-llama/Llama-3-8B-Instruct/name_exception", {"reason": 5}),
    ],
)
def test_malformed_bodies_are_422_and_change_nothing(
    client: Client, text_models: list[str], horde: Any, method: str, suffix: str, body: Any
) -> None:
    before = curation_state()
    response = send(client, method, BASE + suffix, body)
    assert response.status_code == 422, response.content
    assert "detail" in response.json()
    assert curation_state() == before


def test_a_blank_canonical_in_the_path_is_refused(client: Client, db: None, horde: Any) -> None:
    assert send(client, "put", BASE + "/aliases/%20", {"aliases": ["x"]}).status_code == 422


# --- families ------------------------------------------------------------------------


def test_family_lifecycle(client: Client, db: None, horde: Any) -> None:
    put = send(client, "put", BASE + "/families/Llama", {"members": ["Llama-3", "Llama-2", "Llama-3"]})
    assert put.status_code == 200
    assert put.json() == {"family_name": "Llama", "members": ["Llama-2", "Llama-3"]}
    assert client.get(BASE + "/families/Llama").json() == put.json()
    added = send(client, "post", BASE + "/families/Llama/add", {"group_name": "Llama-1"})
    assert added.json() == {"family_name": "Llama", "members": ["Llama-1", "Llama-2", "Llama-3"]}
    removed = send(client, "post", BASE + "/families/Llama/remove", {"group_name": "Llama-2"})
    assert removed.json() == {"family_name": "Llama", "members": ["Llama-1", "Llama-3"]}
    assert client.get(BASE + "/families").json() == {"families": [removed.json()]}
    assert send(client, "delete", BASE + "/families/Llama").status_code == 204
    assert client.get(BASE + "/families/Llama").status_code == 404
    assert send(client, "delete", BASE + "/families/Llama").status_code == 404
    assert actions() == [
        "text_models.family_set",
        "text_models.family_member_added",
        "text_models.family_member_removed",
        "text_models.family_deleted",
    ]


def test_an_emptied_family_is_deleted(client: Client, db: None, horde: Any) -> None:
    send(client, "put", BASE + "/families/Qwen", {"members": ["Qwen3"]})
    removed = send(client, "post", BASE + "/families/Qwen/remove", {"group_name": "Qwen3"})
    assert removed.json() == {"family_name": "Qwen", "members": []}
    assert client.get(BASE + "/families/Qwen").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status", "detail"),
    [
        (
            "put",
            "/families/Other",
            {"members": ["Llama-3"]},
            409,
            "Group 'Llama-3' already belongs to family 'Llama'. Remove it from that family first.",
        ),
        ("put", "/families/Other", {"members": []}, 409, "A family must have at least one member group."),
        ("post", "/families/Nope/add", {"group_name": "X"}, 404, "Family 'Nope' does not exist."),
        (
            "post",
            "/families/Qwen/add",
            {"group_name": "Llama-3"},
            409,
            "Group 'Llama-3' already belongs to family 'Llama'.",
        ),
        (
            "post",
            "/families/Llama/remove",
            {"group_name": "Qwen3"},
            404,
            "Group 'Qwen3' is not a member of family 'Llama'.",
        ),
        (
            "post",
            "/families/Nope/remove",
            {"group_name": "Qwen3"},
            404,
            "Group 'Qwen3' is not a member of family 'Nope'.",
        ),
    ],
)
def test_family_refusals_change_nothing(
    client: Client, db: None, horde: Any, method: str, suffix: str, body: Any, status: int, detail: str
) -> None:
    send(client, "put", BASE + "/families/Llama", {"members": ["Llama-3"]})
    send(client, "put", BASE + "/families/Qwen", {"members": ["Qwen3"]})
    before = curation_state()
    response = send(client, method, BASE + suffix, body)
    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert curation_state() == before


# --- naming schemas ------------------------------------------------------------------


def test_name_schema_put_merges_and_delete_restores_inference(
    client: Client, text_models: list[str], horde: Any
) -> None:
    put = send(
        client, "put", BASE + "/group/name_schema?name=Llama-3", {"separator": "_", "extra_parts": ["date"]}
    )
    assert put.status_code == 200
    assert put.json() == {
        "group_name": "Llama-3",
        "name_schema": {
            "separator": "_",
            "part_order": ["base", "size", "variant"],
            "author_included": True,
            "common_author": "meta-llama",
            "template": "{author}/{base}-{size}-{variant}",
            "extra_parts": ["date"],
        },
        "is_custom": True,
    }
    second = send(
        client, "put", BASE + "/group/name_schema?name=Llama-3", {"template": "{base}_{size}"}
    ).json()
    assert second["name_schema"]["separator"] == "_"
    assert second["name_schema"]["template"] == "{base}_{size}"
    assert send(client, "delete", BASE + "/group/name_schema?name=Llama-3").status_code == 204
    inferred = client.get(BASE + "/group/name_schema", {"name": "Llama-3"}).json()
    assert inferred["is_custom"] is False
    assert inferred["name_schema"]["separator"] == "-"
    missing = send(client, "delete", BASE + "/group/name_schema?name=Llama-3")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No custom naming schema found for group 'Llama-3'"}
    assert actions() == [
        "text_models.name_schema_set",
        "text_models.name_schema_set",
        "text_models.name_schema_deleted",
    ]


def test_name_schema_of_an_unknown_group_is_404(client: Client, text_models: list[str], horde: Any) -> None:
    before = curation_state()
    assert send(client, "put", BASE + "/group/name_schema?name=Nope", {"separator": "_"}).status_code == 404
    assert curation_state() == before


# --- record changes through proposals --------------------------------------------------


def test_common_fields_queue_one_update_per_member(
    client: Client, text_models: list[str], horde: Any
) -> None:
    response = send(
        client, "put", BASE + "/group/common_fields?name=Llama-3", {"baseline": "llama", "tags": ["x"]}
    )
    assert response.status_code == 202
    body = response.json()
    assert body["updated_count"] == 2
    assert len(body["batch_id"]) == 36
    proposals = ChangeProposal.objects.filter(pk__in=body["pending_change_ids"]).order_by("pk")
    assert [p.model_name for p in proposals] == text_models[:2]
    for proposal in proposals:
        assert proposal.operation == "update"
        assert proposal.status == "pending"
        assert proposal.payload["baseline"] == "llama"
        assert proposal.payload["tags"] == ["x"]
        assert proposal.payload["description"] == "Llama three"
    # Nothing changes until applied.
    record = record_get(category=TEXT, name=text_models[0])
    assert record is not None
    assert record.payload["baseline"] == "llama3"
    event = AuditEvent.objects.get(action="text_models.group_common_fields_proposed")
    assert event.details == {"batch_id": body["batch_id"], "change_ids": body["pending_change_ids"]}


def test_common_fields_refusals(client: Client, text_models: list[str], horde: Any) -> None:
    before = curation_state()
    empty = send(client, "put", BASE + "/group/common_fields?name=Llama-3", {})
    assert empty.status_code == 400
    assert empty.json()["detail"].startswith("No fields to update")
    nulls = send(client, "put", BASE + "/group/common_fields?name=Llama-3", {"baseline": None})
    assert nulls.status_code == 400
    missing = send(client, "put", BASE + "/group/common_fields?name=Nope", {"baseline": "x"})
    assert missing.status_code == 404
    assert curation_state() == before


def test_name_exception_is_queued(client: Client, text_models: list[str], horde: Any) -> None:
    response = send(
        client, "put", BASE + "/meta-llama/Llama-3-8B-Instruct/name_exception", {"reason": "legacy"}
    )
    assert response.status_code == 202
    proposal = ChangeProposal.objects.get(pk=response.json()["pending_change_id"])
    assert proposal.model_name == "meta-llama/Llama-3-8B-Instruct"
    assert proposal.payload["name_schema_exception"] == "legacy"
    assert proposal.request_metadata["route"] == "set_name_exception"


def test_name_exception_can_be_cleared(client: Client, db: None, horde: Any) -> None:
    add_text("Odd-7B", name_schema_exception="was odd")
    response = send(client, "put", BASE + "/Odd-7B/name_exception", {"reason": None})
    assert response.status_code == 202
    proposal = ChangeProposal.objects.get(pk=response.json()["pending_change_id"])
    assert proposal.payload.get("name_schema_exception") is None


def test_name_exception_of_a_missing_model_is_404(client: Client, db: None, horde: Any) -> None:
    before = curation_state()
    response = send(client, "put", BASE + "/org/Missing/name_exception", {"reason": "x"})
    assert response.status_code == 404
    assert curation_state() == before
