"""The group tools over the real text models: every read answers, and the totals add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.text_models.conftest import BASE
from text_models.selectors import text_records

pytestmark = pytest.mark.django_db


def test_reads_over_the_real_text_models(client: Client, real_reference: Path) -> None:
    total = len(text_records())
    assert total > 700
    groups = client.get(BASE + "/groups").json()["groups"]
    assert groups == sorted(set(groups))
    summary = client.get(BASE + "/groups/summary").json()
    assert summary["total_models"] == total
    assert summary["total_groups"] == len(groups)
    assert sum(line["canonical_count"] for line in summary["groups"]) == total
    health = client.get(BASE + "/groups/health").json()
    assert health["total_groups_checked"] == len(groups)
    assert sum(health["issue_counts_by_type"].values()) == len(health["issues"])
    baselines = client.get(BASE + "/distinct_baselines").json()["baselines"]
    assert baselines == sorted(set(baselines))
    assert all(baseline == baseline.strip() and baseline for baseline in baselines)
    detected = client.get(BASE + "/families/detect").json()
    assert detected["groups_in_families"] + detected["standalone_groups"] == len(groups)
    # Every member of every group is listed once, under its group.
    for group in groups[:: max(1, len(groups) // 25)]:
        answer = client.get(BASE + "/group", {"name": group})
        assert answer.status_code == 200, group
        body = answer.json()
        assert body["canonical_count"] == len(body["members"])
        schema = client.get(BASE + "/group/name_schema", {"name": group})
        assert schema.status_code == 200
        assert schema.json()["is_custom"] is False
