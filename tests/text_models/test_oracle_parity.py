"""Our group tools' pure functions answer what horde-model-reference 8.6.2 answers.

The fixture is recorded by ``scripts/record_text_tools_oracle.py`` from the established
package over every real text model in ``models.csv`` (grouped by the established parser,
so these tests do not depend on our parser's grouping): per-group health issues and
common fields, family suggestions over the real group names, and composed names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from text_models.grouping import common_fields, compose_name, detect_families, health_issues

FIXTURE = Path(__file__).parent / "fixtures" / "established_8_6_2_text_tools.json"
ORACLE: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_the_fixture_covers_every_real_text_model() -> None:
    assert ORACLE["source"] == "horde-model-reference==8.6.2"
    assert ORACLE["models_csv_rows"] == sum(len(group["members"]) for group in ORACLE["groups"])
    assert len(ORACLE["groups"]) > 400


def test_health_issues_of_every_real_group() -> None:
    differences = []
    for group in ORACLE["groups"]:
        records = [member["record"] for member in group["members"]]
        ours = health_issues(group["group"], records)
        if ours != group["health_issues"]:
            differences.append((group["group"], ours, group["health_issues"]))
    assert differences == []


def test_common_fields_of_every_real_group() -> None:
    differences = []
    for group in ORACLE["groups"]:
        ours = common_fields([member["record"] for member in group["members"]])
        if ours != group["common_fields"]:
            differences.append((group["group"], ours, group["common_fields"]))
    assert differences == []


@pytest.mark.parametrize(
    "case", ORACLE["detect_families"], ids=lambda c: f"{c['min_prefix_length']}-{c['min_family_size']}"
)
def test_family_suggestions_over_the_real_groups(case: dict[str, Any]) -> None:
    ours = detect_families(
        ORACLE["group_names"],
        min_prefix_length=case["min_prefix_length"],
        min_family_size=case["min_family_size"],
    )
    assert ours == case["families"]


@pytest.mark.parametrize("case", ORACLE["compose_name"], ids=lambda c: c["composed_name"] or "empty")
def test_compose_name(case: dict[str, Any]) -> None:
    assert compose_name(**case["parts"]) == case["composed_name"]
