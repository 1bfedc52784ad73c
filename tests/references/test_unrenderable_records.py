"""Issue #9, item 6: a record that cannot render never splits or breaks its category.

The write paths refuse such a record (tests/pending_queue/test_api_input_limits.py);
here one gets into the database behind the services' back, as a corrupt row would,
and every representation keeps serving the same previous revision.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from audit.services import Actor
from common.errors import DomainError
from references.document_cache import (
    category_pointer_from_state,
    category_pointer_publish,
    document_cache_reset,
)
from references.models import CategoryState, ModelRecord
from references.selectors import record_get
from tests.record_writes import record_update

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
MISC = "miscellaneous"
NAME = "layer_diffuse_sd15"
ACTOR = Actor.system("test")


def corrupt(name: str = NAME, value: int = 2**70) -> None:
    """Write a value no 64-bit reader can parse straight into the table, then publish."""
    row = ModelRecord.objects.get(category=MISC, name=name)
    ModelRecord.objects.filter(pk=row.pk).update(payload={**row.payload, "size_on_disk_bytes": value})
    state = CategoryState.objects.get(category=MISC)
    CategoryState.objects.filter(pk=state.pk).update(
        revision=state.revision + 1, etag=f"{state.revision + 1}-{uuid.uuid4().hex[:16]}"
    )
    category_pointer_publish(MISC, category_pointer_from_state(CategoryState.objects.get(pk=state.pk)))


def reads(client: Client) -> dict[str, Any]:
    answers = {
        "v1": client.get(f"{V1}/{MISC}"),
        "v2": client.get(f"{V2}/{MISC}"),
        "single": client.get(f"{V2}/{MISC}/model/{NAME}"),
        "search": client.get(f"{V2}/{MISC}/search"),
        "search_all": client.get(f"{V2}/search", {"name_contains": "layer_diffuse"}),
    }
    for kind, response in answers.items():
        assert response.status_code == 200, (kind, response.status_code, response.content[:200])
    return {kind: response.content for kind, response in answers.items()}


def test_a_corrupt_row_leaves_every_representation_on_the_previous_revision(
    client: Client, real_reference: Path
) -> None:
    before = reads(client)
    etag = client.get(f"{V2}/{MISC}")["ETag"]
    corrupt()
    after = reads(client)
    assert after == before
    assert client.get(f"{V2}/{MISC}")["ETag"] == etag
    assert client.get(f"{V1}/{MISC}")["ETag"] != ""
    # v1 and v2 agree: both still say what they said before.
    assert json.loads(after["v1"])[NAME].get("size_on_disk_bytes") != 2**70


def test_a_fresh_process_leaves_out_only_the_record_it_cannot_render(
    client: Client, real_reference: Path
) -> None:
    corrupt()
    document_cache_reset()  # a process that never served the good revision
    v2 = client.get(f"{V2}/{MISC}")
    assert v2.status_code == 200 and NAME not in v2.json() and v2.json()
    v1 = client.get(f"{V1}/{MISC}")
    assert v1.status_code == 200 and NAME not in v1.json()
    assert client.get(f"{V2}/{MISC}/model/{NAME}").status_code == 404
    assert client.get(f"{V2}/{MISC}/search").status_code == 200
    assert client.get(f"{V2}/search").status_code == 200


def test_a_record_that_would_not_render_is_refused_before_commit(real_reference: Path) -> None:
    record = record_get(category=MISC, name=NAME)
    assert record is not None
    with pytest.raises(DomainError) as refused:
        record_update(
            category=MISC,
            name=NAME,
            payload=record.payload,
            legacy_residue={**record.legacy_residue, "download_all": 2**64},
            actor=ACTOR,
            source="api",
        )
    assert refused.value.status == 422 and "cannot be rendered" in str(refused.value)
    after = record_get(category=MISC, name=NAME)
    assert after is not None and after.version == record.version


def test_an_approved_proposal_with_a_bad_number_is_not_applied(
    client: Client, horde: Any, real_reference: Path
) -> None:
    from pending_queue.models import ChangeProposal, Status

    record = record_get(category=MISC, name=NAME)
    assert record is not None
    response = client.put(
        f"{V2}/{MISC}/model/{NAME}",
        data=json.dumps({**record.payload, "description": "fine"}),
        content_type="application/json",
        HTTP_APIKEY="requestor-key",
    )
    assert response.status_code == 202
    change_id = response.json()["change_id"]
    # The stored proposal is changed behind the services, as a corrupt row would be.
    ChangeProposal.objects.filter(pk=change_id).update(
        payload={**record.payload, "size_on_disk_bytes": 2**64}
    )
    batch = client.post(
        f"{V2}/pending_queue/batches",
        data=json.dumps({"batch_title": "t", "approved_ids": [change_id]}),
        content_type="application/json",
        HTTP_APIKEY="approver-key",
    )
    assert batch.status_code == 200, batch.content
    applied = client.post(
        f"{V2}/pending_queue/changes/{change_id}/apply",
        data="{}",
        content_type="application/json",
        HTTP_APIKEY="approver-key",
    )
    assert applied.status_code == 422, applied.content
    assert ChangeProposal.objects.get(pk=change_id).status == Status.APPROVED
    after = record_get(category=MISC, name=NAME)
    assert after is not None and after.version == record.version


def test_export_refuses_cleanly_and_keeps_the_previous_export(real_reference: Path, tmp_path: Path) -> None:
    call_command("export_reference", dest=str(tmp_path))
    files = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert tmp_path / "manifest.json" in files
    corrupt()
    with pytest.raises(CommandError, match="miscellaneous"):
        call_command("export_reference", dest=str(tmp_path))
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == files
