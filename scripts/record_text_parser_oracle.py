"""Record what horde-model-reference 8.6.2 answers for every real text model name.

Run with the Python of a separate virtual environment that has the established
package installed (never this project's environment, whose ``horde_model_reference``
is our own client)::

    python3.12 -m venv /tmp/oracle-venv
    /tmp/oracle-venv/bin/pip install horde-model-reference==8.6.2
    /tmp/oracle-venv/bin/python scripts/record_text_parser_oracle.py

It reads ``../shared/reference-data/text/models.csv`` and ``db.json`` (the real data)
and writes ``tests/client/fixtures/established_8_6_2_text_parser.json``: the answers
only (parse fields, group keys, name formats, group summaries), which the differential
test in ``tests/client/test_text_parser_parity.py`` compares ours against. Nothing of
the established code is copied; it is only called.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "reference-data" / "text"
DEFAULT_OUT = ROOT / "tests" / "client" / "fixtures" / "established_8_6_2_text_parser.json"
EXPECTED_VERSION = "8.6.2"


def _csv_names(models_csv: Path) -> list[str]:
    # models.csv repeats a few rows upstream; the names, first-seen order, are the records.
    with models_csv.open(newline="", encoding="utf-8") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    return list(dict.fromkeys(names))


def _parse_answer(parser: Any, name: str) -> dict[str, Any]:
    parsed = parser.parse_text_model_name(name)
    return {
        "base_name": parsed.base_name,
        "size": parsed.size,
        "variant": parsed.variant,
        "quant": parsed.quant,
        "version": parsed.version,
        "normalized_name": parsed.normalized_name,
        "extras": [
            {"value": extra.value, "position": extra.position, "inferred_type": extra.inferred_type.value}
            for extra in parsed.extras
        ],
        # What the name helpers answer for the full name (prefixes and author included).
        "suggested_group": parser.get_base_model_name(name),
        "get_model_size": parser.get_model_size(name),
        "get_model_variant": parser.get_model_variant(name),
        "is_quantized_variant": parser.is_quantized_variant(name),
    }


def _name_format_answer(schema: Any) -> dict[str, Any]:
    return {
        "separator": schema.separator,
        "part_order": list(schema.part_order),
        "author_included": schema.author_included,
        "common_author": schema.common_author,
        "template": schema.template,
        "extra_parts": list(schema.extra_parts),
    }


def _groups_answer(parser: Any, names: list[str]) -> dict[str, Any]:
    groups = parser.group_text_models_by_base(names)
    return {
        key: {
            "base_name": group.base_name,
            "variants": list(group.variants),
            "name_format": _name_format_answer(parser.infer_name_format(list(group.variants))),
        }
        for key, group in groups.items()
    }


def _include_group_answer(parser: Any, db: dict[str, Any]) -> dict[str, Any]:
    # What GET /v1/text_generation?include_group=true adds to each entry upstream:
    # text_model_group from the key, then one summary per group.
    document = {
        name: {**entry, "text_model_group": parser.get_base_model_name(name)} for name, entry in db.items()
    }
    summaries = parser.compute_group_summaries(document)
    return {
        "text_model_group": {name: entry["text_model_group"] for name, entry in document.items()},
        "summaries": {
            group: {
                "member_count": summary.member_count,
                "available_sizes": list(summary.available_sizes),
                "available_quants": list(summary.available_quants),
                "common_baseline": summary.common_baseline,
                "any_nsfw": summary.any_nsfw,
                "any_has_description": summary.any_has_description,
                "merged_tags": list(summary.merged_tags),
                # The route upstream emits these five keys (no extra_parts).
                "name_format": {
                    key: value
                    for key, value in _name_format_answer(summary.name_format).items()
                    if key != "extra_parts"
                },
            }
            for group, summary in summaries.items()
        },
    }


def _dump(value: dict[str, Any]) -> str:
    # One line per name or group keeps the fixture small and its diffs readable.
    def compact(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":"))

    def block(item: Any, indent: str) -> str:
        if not isinstance(item, dict) or not item or not any(isinstance(v, dict) for v in item.values()):
            return compact(item)
        inner = indent + " "
        rows = [f"{inner}{compact(key)}: {block(sub, inner)}" for key, sub in item.items()]
        return "{\n" + ",\n".join(rows) + "\n" + indent + "}"

    return block(value, "") + "\n"


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real text data folder")
    arguments.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the fixture to write")
    options = arguments.parse_args(argv)

    package = importlib.import_module("horde_model_reference")
    version = importlib.import_module("importlib.metadata").version("horde-model-reference")
    if version != EXPECTED_VERSION:
        print(f"expected horde-model-reference {EXPECTED_VERSION}, found {version}", file=sys.stderr)
        return 1
    parser = importlib.import_module("horde_model_reference.analytics.text_model_parser")

    csv_names = _csv_names(options.data / "models.csv")
    db: dict[str, Any] = json.loads((options.data / "db.json").read_text(encoding="utf-8"))
    names = list(dict.fromkeys([*csv_names, *db]))
    fixture = {
        "_note": (
            f"Answers of horde-model-reference {version} ({package.__name__}.analytics.text_model_parser) "
            "over the real text names; recorded by scripts/record_text_parser_oracle.py. Do not edit by hand."
        ),
        "csv_names": csv_names,
        "parse": {name: _parse_answer(parser, name) for name in names},
        "groups_csv": _groups_answer(parser, csv_names),
        "include_group": _include_group_answer(parser, db),
    }
    options.out.write_text(_dump(fixture), encoding="utf-8")
    print(f"wrote {options.out} ({len(names)} names)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
