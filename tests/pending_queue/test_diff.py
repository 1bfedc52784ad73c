"""common.diff: field diffs, net operations, criticality (used by the queue and the record history)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.diff import (
    CONFIG_DOWNLOAD_PATH,
    ChangeDiff,
    FieldDiff,
    _json_equal,
    apply_field_diffs,
    change_diff,
    critical_fields,
    escape_key,
    field_diffs,
    is_critical_field_diff,
    join_path,
    split_path,
)
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

PROPERTY = settings(max_examples=60, deadline=None)


def fd(path: str, old: Any, new: Any, kind: str) -> FieldDiff:
    return FieldDiff(path, old, new, kind)  # type: ignore[arg-type]


def image_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": "Deliberate",
        "description": "A model",
        "baseline": "stable_diffusion_1",
        "nsfw": False,
        "inpainting": False,
        "trigger": [],
        "homepage": "https://example.com",
        "config": {
            "download": [{"file_name": "d.ckpt", "file_url": "https://example.com/d.ckpt"}],
            "files": [{"path": "d.ckpt"}],
        },
        "metadata": {"created_at": 1, "updated_at": 2},
    }
    record.update(overrides)
    return record


# --------------------------------------------------------------------------- field_diffs


def test_identical_records_have_no_diffs() -> None:
    assert field_diffs(image_record(), image_record()) == []
    assert field_diffs(None, None) == []
    assert field_diffs({}, None) == []


def test_scalar_change_is_one_modified_entry() -> None:
    assert field_diffs({"a": 1, "b": "x"}, {"a": 1, "b": "y"}) == [fd("b", "x", "y", "modified")]


def test_added_and_removed_keys() -> None:
    assert field_diffs({"a": 1}, {"b": 2}) == [fd("a", 1, None, "removed"), fd("b", None, 2, "added")]


def test_nested_objects_give_dotted_paths() -> None:
    old = image_record()
    new = image_record(metadata={"created_at": 1, "updated_at": 3})
    new["config"] = {**old["config"], "download": [{"file_name": "e.ckpt"}]}
    assert field_diffs(old, new) == [
        fd("config.download", old["config"]["download"], [{"file_name": "e.ckpt"}], "modified"),
        fd("metadata.updated_at", 2, 3, "modified"),
    ]


def test_deeply_nested_leaf_added_under_existing_objects() -> None:
    assert field_diffs({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1, "d": None}}}) == [
        fd("a.b.d", None, None, "added")
    ]


def test_added_or_removed_object_is_reported_whole_not_by_leaves() -> None:
    assert field_diffs({}, {"config": {"download": [], "files": []}}) == [
        fd("config", None, {"download": [], "files": []}, "added")
    ]
    assert field_diffs({"config": {"x": {"y": 1}}}, {"config": {}}) == [
        fd("config.x", {"y": 1}, None, "removed")
    ]


def test_lists_are_compared_as_whole_values() -> None:
    old = {"trigger": ["a", "b", {"x": 1}]}
    new = {"trigger": ["a", "c", {"x": 1}]}
    assert field_diffs(old, new) == [fd("trigger", old["trigger"], new["trigger"], "modified")]
    # Objects inside lists are not recursed into either.
    assert field_diffs({"l": [{"x": 1}]}, {"l": [{"x": 2}]}) == [fd("l", [{"x": 1}], [{"x": 2}], "modified")]


def test_type_change_between_object_and_other_is_modified() -> None:
    assert field_diffs({"a": {"b": 1}}, {"a": [1]}) == [fd("a", {"b": 1}, [1], "modified")]
    assert field_diffs({"a": None}, {"a": {"b": 1}}) == [fd("a", None, {"b": 1}, "modified")]


def test_null_value_is_a_present_key() -> None:
    assert field_diffs({"a": None}, {}) == [fd("a", None, None, "removed")]
    assert field_diffs({"a": None}, {"a": None}) == []


def test_booleans_are_not_numbers_but_int_equals_float() -> None:
    assert field_diffs({"nsfw": False}, {"nsfw": 0}) == [fd("nsfw", False, 0, "modified")]
    assert field_diffs({"l": [True]}, {"l": [1]}) == [fd("l", [True], [1], "modified")]
    assert field_diffs({"n": 1}, {"n": 1.0}) == []


def test_order_is_sorted_by_path_and_ignores_input_key_order() -> None:
    old = {"z": 1, "a": {"y": 1, "b": 1}, "m": 1}
    new = {"m": 2, "a": {"b": 2, "y": 2}, "z": 2, "c": 0}
    paths = [d.field_path for d in field_diffs(old, new)]
    assert paths == ["a.b", "a.y", "c", "m", "z"]
    reordered_old = dict(reversed(old.items()))
    reordered_new = dict(reversed(new.items()))
    assert field_diffs(reordered_old, reordered_new) == field_diffs(old, new)


def test_diffs_do_not_alias_their_inputs() -> None:
    new: dict[str, Any] = {"trigger": ["a"]}
    diffs = field_diffs({}, new)
    new["trigger"].append("b")
    assert diffs[0].new_value == ["a"]


def test_non_string_keys_are_rejected() -> None:
    with pytest.raises(TypeError):
        field_diffs({}, {"a": {1: 2}})


def test_field_diff_rejects_unknown_change_type() -> None:
    with pytest.raises(ValueError, match="change_type"):
        fd("a", 1, 2, "changed")


def test_field_diff_as_dict() -> None:
    assert fd("config.download", [1], [2], "modified").as_dict() == {
        "field_path": "config.download",
        "old_value": [1],
        "new_value": [2],
        "change_type": "modified",
    }


# --------------------------------------------------------------------------- escaping


def test_keys_with_dots_are_escaped() -> None:
    assert field_diffs({"a.b": 1}, {"a.b": 2}) == [fd("a\\.b", 1, 2, "modified")]
    assert field_diffs({"a": {"b": 1}}, {"a": {"b": 2}}) == [fd("a.b", 1, 2, "modified")]


def test_backslashes_are_escaped_too() -> None:
    # Without escaping the backslash, key "a\" + child "b" and key "a.b" would collide.
    assert field_diffs({}, {"a\\": {"b": 1}}) == [fd("a\\\\", None, {"b": 1}, "added")]
    assert field_diffs({"a\\": {"b": 1}}, {"a\\": {"b": 2}}) == [fd("a\\\\.b", 1, 2, "modified")]


@pytest.mark.parametrize(
    ("parts", "path"),
    [
        (("a",), "a"),
        (("a", "b"), "a.b"),
        (("a.b",), "a\\.b"),
        (("a\\",), "a\\\\"),
        (("a\\", "b"), "a\\\\.b"),
        (("",), ""),
        (("a", ""), "a."),
        (("", ""), "."),
        ((".",), "\\."),
    ],
)
def test_join_and_split_are_inverse(parts: tuple[str, ...], path: str) -> None:
    assert join_path(parts) == path
    assert split_path(path) == parts


@pytest.mark.parametrize("path", ["a\\b", "a\\", "\\x.y"])
def test_split_rejects_invalid_escapes(path: str) -> None:
    with pytest.raises(ValueError, match="invalid escape"):
        split_path(path)


def test_escape_key() -> None:
    assert escape_key("plain") == "plain"
    assert escape_key("v1.5\\x") == "v1\\.5\\\\x"


def test_apply_understands_escaping() -> None:
    base = {"a.b": 1, "a": {"b": 10}}
    diffs = [fd("a\\.b", 1, 2, "modified"), fd("a.b", 10, 20, "modified"), fd("a.c\\.d", None, 3, "added")]
    assert apply_field_diffs(base, diffs) == {"a.b": 2, "a": {"b": 20, "c.d": 3}}


# --------------------------------------------------------------------------- apply_field_diffs


def test_apply_rebuilds_new_record() -> None:
    old = image_record()
    new = image_record(nsfw=True, homepage=None, metadata={"created_at": 1})
    del new["description"]
    assert apply_field_diffs(old, field_diffs(old, new)) == new


def test_apply_on_none_and_to_empty() -> None:
    record = image_record()
    assert apply_field_diffs(None, field_diffs(None, record)) == record
    assert apply_field_diffs(record, field_diffs(record, None)) == {}


def test_apply_does_not_modify_base() -> None:
    base = {"a": {"b": 1}}
    apply_field_diffs(base, [fd("a.b", 1, 2, "modified"), fd("a.c", None, 3, "added")])
    assert base == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("base", "diff", "message"),
    [
        ({"a": 1}, fd("a", None, 2, "added"), "already exists"),
        ({}, fd("a", 1, None, "removed"), "does not exist"),
        ({}, fd("a", 1, 2, "modified"), "does not exist"),
        ({"a": 1}, fd("a.b", None, 2, "added"), "is not an object"),
        ({}, fd("a.b.c", None, 2, "added"), "is not an object"),
    ],
)
def test_apply_rejects_diffs_that_do_not_fit(base: dict[str, Any], diff: FieldDiff, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_field_diffs(base, [diff])


# --------------------------------------------------------------------------- change_diff


def make(operation: str, current: Any, proposed: Any, category: str = "image_generation") -> ChangeDiff:
    return change_diff(
        category=category, model_name="Deliberate", operation=operation, current=current, proposed=proposed
    )


def test_create_of_new_model_is_added_and_critical() -> None:
    record = image_record()
    diff = make("create", None, record)
    assert diff.net_operation == "added"
    assert diff.is_critical
    assert diff.current_state is None and diff.proposed_state == record
    assert [d.field_path for d in diff.field_diffs] == sorted(record)
    assert all(d.change_type == "added" for d in diff.field_diffs)
    assert (diff.fields_added, diff.fields_removed, diff.fields_modified) == (len(record), 0, 0)


def test_create_over_existing_model_is_modified() -> None:
    diff = make("create", image_record(), image_record(description="new"))
    assert diff.net_operation == "modified"
    assert diff.field_diffs == (fd("description", "A model", "new", "modified"),)
    assert not diff.is_critical
    # §6.8: a create over an existing model is "modified" even when nothing differs.
    same = make("create", image_record(), image_record())
    assert same.net_operation == "modified" and same.field_diffs == () and not same.is_critical


def test_delete_shows_every_top_level_field_removed() -> None:
    record = image_record()
    # The established service stores the record as the delete payload and diffed it
    # against itself (an empty diff); the payload must not matter here.
    diff = make("delete", record, record)
    assert diff.net_operation == "deleted"
    assert diff.is_critical
    assert diff.proposed_state is None
    assert diff.field_diffs == tuple(fd(k, record[k], None, "removed") for k in sorted(record))
    assert diff.fields_removed == len(record)
    assert apply_field_diffs(record, diff.field_diffs) == {}


def test_delete_of_missing_model_is_unchanged() -> None:
    diff = make("delete", None, None)
    assert (diff.net_operation, diff.field_diffs, diff.is_critical) == ("unchanged", (), False)


def test_update_of_missing_model_is_added() -> None:
    diff = make("update", None, image_record())
    assert diff.net_operation == "added" and diff.is_critical
    assert diff.fields_added == len(image_record())


def test_update_with_equal_payload_is_unchanged() -> None:
    # Key order is not a change.
    proposed = dict(reversed(image_record().items()))
    diff = make("update", image_record(), proposed)
    assert (diff.net_operation, diff.field_diffs, diff.is_critical) == ("unchanged", (), False)


def test_update_with_changes_is_modified() -> None:
    diff = make("update", image_record(), image_record(description="d", nsfw=True, style="x"))
    assert diff.net_operation == "modified"
    assert (diff.fields_added, diff.fields_removed, diff.fields_modified) == (1, 0, 2)
    assert diff.is_critical  # nsfw


def test_operation_accepts_enum_and_any_case() -> None:
    from pending_queue.models import Operation

    assert make(Operation.UPDATE, None, {"a": 1}).operation == "update"
    assert make("DELETE", {"a": 1}, None).operation == "delete"


def test_category_accepts_enum() -> None:
    diff = make("update", {"nsfw": False}, {"nsfw": True}, category=MODEL_REFERENCE_CATEGORY.clip)
    assert diff.category == "clip" and diff.is_critical


@pytest.mark.parametrize("operation", ["create", "update"])
def test_create_and_update_need_a_payload(operation: str) -> None:
    with pytest.raises(ValueError, match="payload"):
        make(operation, image_record(), None)


def test_unknown_operation_and_category_raise() -> None:
    with pytest.raises(ValueError, match="operation"):
        make("upsert", None, {})
    with pytest.raises(ValueError, match="category"):
        make("update", None, {}, category="stable_diffusion")


def test_change_diff_does_not_alias_inputs() -> None:
    current = image_record()
    diff = make("update", current, image_record(nsfw=True))
    current["config"]["download"].clear()
    assert diff.current_state is not None and diff.current_state["config"]["download"]
    out = diff.as_dict()
    out["current_state"]["nsfw"] = "mutated"
    assert diff.current_state["nsfw"] is False


def test_as_dict_has_the_established_shape() -> None:
    diff = make("update", image_record(), image_record(nsfw=True))
    expected_keys = [
        "category",
        "model_name",
        "operation",
        "current_state",
        "proposed_state",
        "net_operation",
        "field_diffs",
        "is_critical",
        "fields_added",
        "fields_removed",
        "fields_modified",
    ]
    assert list(diff.as_dict()) == expected_keys
    body = diff.as_dict(change_id=12)
    assert list(body) == ["change_id", *expected_keys]
    assert body["change_id"] == 12
    assert body["field_diffs"] == [
        {"field_path": "nsfw", "old_value": False, "new_value": True, "change_type": "modified"}
    ]
    assert (body["is_critical"], body["fields_modified"], body["net_operation"]) == (True, 1, "modified")
    assert json.loads(json.dumps(body)) == body


# --------------------------------------------------------------------------- criticality

CRITICAL_TABLE: dict[str, set[str]] = {
    "image_generation": {"baseline", "nsfw", "inpainting", "trigger", "homepage"},
    "text_generation": {"baseline", "nsfw", "url", "parameters", "parameters_count"},
    "controlnet": {"style", "nsfw", "controlnet_style"},
    "blip": {"style", "nsfw"},
    "clip": {"style", "nsfw"},
    "codeformer": {"style", "nsfw"},
    "esrgan": {"style", "nsfw"},
    "gfpgan": {"style", "nsfw"},
    "safety_checker": {"style", "nsfw"},
}
ALL_CATEGORIES = [c.value for c in MODEL_REFERENCE_CATEGORY]
ALL_CRITICAL_NAMES = set().union(*CRITICAL_TABLE.values())


@pytest.mark.parametrize("category", ALL_CATEGORIES)
def test_critical_fields_table(category: str) -> None:
    assert critical_fields(category) == frozenset(CRITICAL_TABLE.get(category, set()))


def test_critical_fields_rejects_unknown_category() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        critical_fields("image")


@pytest.mark.parametrize(
    ("category", "field"), [(c, f) for c, fields in CRITICAL_TABLE.items() for f in sorted(fields)]
)
@pytest.mark.parametrize("kind", ["added", "removed", "modified"])
def test_each_critical_field_makes_an_update_critical(category: str, field: str, kind: str) -> None:
    current: dict[str, Any] = {"name": "m", "description": "d"}
    proposed = dict(current)
    if kind in ("removed", "modified"):
        current[field] = "old"
    if kind in ("added", "modified"):
        proposed[field] = "new"
    diff = make("update", current, proposed, category=category)
    assert diff.net_operation == "modified"
    assert diff.field_diffs[0].change_type == kind
    assert diff.is_critical


@pytest.mark.parametrize("category", ALL_CATEGORIES)
def test_fields_critical_elsewhere_are_not_critical_here(category: str) -> None:
    for field in sorted(ALL_CRITICAL_NAMES - CRITICAL_TABLE.get(category, set())):
        diff = make("update", {field: 1}, {field: 2}, category=category)
        assert not diff.is_critical, field
    assert not make("update", {"description": "a"}, {"description": "b"}, category=category).is_critical


@pytest.mark.parametrize("category", ALL_CATEGORIES)
def test_config_download_is_critical_in_every_category(category: str) -> None:
    old = {"config": {"download": [{"file_url": "a"}], "files": []}}
    new = {"config": {"download": [{"file_url": "b"}], "files": []}}
    diff = make("update", old, new, category=category)
    assert [d.field_path for d in diff.field_diffs] == [CONFIG_DOWNLOAD_PATH]
    assert diff.is_critical


@pytest.mark.parametrize(
    ("old", "new", "critical"),
    [
        # Paths below config.download (when download is an object) count.
        ({"config": {"download": {"a": 1}}}, {"config": {"download": {"a": 2}}}, True),
        ({"config": {"download": {}}}, {"config": {"download": {"b": 1}}}, True),
        # Added or removed altogether.
        ({"config": {}}, {"config": {"download": []}}, True),
        ({"config": {"download": []}}, {"config": {}}, True),
        # An ancestor replaced whole counts only if download exists on one side.
        ({}, {"config": {"download": []}}, True),
        ({"config": {"download": []}}, {"config": "gone"}, True),
        ({}, {"config": {"files": []}}, False),
        ({"config": None}, {"config": {"files": []}}, False),
        # Neighbours and look-alikes do not.
        ({"config": {"files": [1]}}, {"config": {"files": [2]}}, False),
        ({"config": {"downloads": 1}}, {"config": {"downloads": 2}}, False),
        ({"config.download": 1}, {"config.download": 2}, False),
        ({"other": {"download": 1}}, {"other": {"download": 2}}, False),
    ],
)
def test_config_download_paths(old: dict[str, Any], new: dict[str, Any], critical: bool) -> None:
    assert make("update", old, new, category="miscellaneous").is_critical is critical


def test_nested_change_under_critical_field_is_critical() -> None:
    diff = make("update", {"nsfw": {"a": 1}}, {"nsfw": {"a": 2}}, category="blip")
    assert [d.field_path for d in diff.field_diffs] == ["nsfw.a"]
    assert diff.is_critical


def test_is_critical_field_diff_direct() -> None:
    assert is_critical_field_diff("image_generation", fd("trigger", [], ["x"], "modified"))
    assert not is_critical_field_diff("image_generation", fd("trigger\\.x", 1, 2, "modified"))
    assert is_critical_field_diff("lora", fd("config.download", 1, 2, "modified"))


# --------------------------------------------------------------------------- properties

# Keys drawn from a small alphabet that includes the escape characters, so collisions
# between escaped and unescaped forms ("a.b" vs "a" > "b") actually get generated.
keys = st.one_of(st.text(alphabet="ab.\\", max_size=4), st.text(max_size=6))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)
json_objects = st.dictionaries(keys, json_values, max_size=5)


@st.composite
def mutated(draw: st.DrawFn, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with a few keys dropped, replaced, recursed into or added."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        action = draw(st.sampled_from(["keep", "drop", "replace", "recurse"]))
        if action == "keep":
            out[key] = item
        elif action == "replace":
            out[key] = draw(json_values)
        elif action == "recurse":
            out[key] = draw(mutated(item)) if isinstance(item, dict) else draw(json_values)
    for key, item in draw(st.dictionaries(keys, json_values, max_size=2)).items():
        out.setdefault(key, item)
    return out


@st.composite
def related_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    a = draw(json_objects)
    b = draw(st.one_of(mutated(a), json_objects))
    return a, b


def reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reorder(v) for k, v in reversed(value.items())}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


@PROPERTY
@given(related_pairs())
def test_property_apply_rebuilds_new(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = pair
    rebuilt = apply_field_diffs(a, field_diffs(a, b))
    assert rebuilt == b
    assert _json_equal(rebuilt, b)  # also strict about True vs 1


@PROPERTY
@given(json_objects)
def test_property_no_diffs_against_itself(a: dict[str, Any]) -> None:
    assert field_diffs(a, a) == []
    assert field_diffs(a, reorder(a)) == []


@PROPERTY
@given(related_pairs())
def test_property_deterministic_and_sorted(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = pair
    diffs = field_diffs(a, b)
    assert field_diffs(a, b) == diffs
    assert field_diffs(reorder(a), reorder(b)) == diffs
    parts = [d.path_parts for d in diffs]
    assert parts == sorted(parts)
    assert len(set(parts)) == len(parts)


@PROPERTY
@given(related_pairs())
def test_property_diffs_are_well_formed(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = pair
    diffs = field_diffs(a, b)
    all_parts = {d.path_parts for d in diffs}
    for diff in diffs:
        assert join_path(diff.path_parts) == diff.field_path
        # No diff is nested under another: each is reported at its highest changed node.
        parts = diff.path_parts
        assert not any(parts[:n] in all_parts for n in range(1, len(parts)))
        if diff.change_type == "added":
            assert diff.old_value is None
        elif diff.change_type == "removed":
            assert diff.new_value is None
        else:
            assert not _json_equal(diff.old_value, diff.new_value)
            assert not (isinstance(diff.old_value, dict) and isinstance(diff.new_value, dict))


@PROPERTY
@given(st.lists(keys, min_size=1, max_size=4))
def test_property_paths_round_trip(parts: list[str]) -> None:
    assert split_path(join_path(parts)) == tuple(parts)


@PROPERTY
@given(related_pairs(), st.sampled_from(["create", "update", "delete"]), st.booleans())
def test_property_change_diff_consistent(
    pair: tuple[dict[str, Any], dict[str, Any]], operation: str, exists: bool
) -> None:
    a, b = pair
    current = a if exists else None
    diff = make(operation, current, b, category="text_generation")
    target = {} if operation == "delete" else b
    assert apply_field_diffs(current, diff.field_diffs) == target
    assert diff.fields_added + diff.fields_removed + diff.fields_modified == len(diff.field_diffs)
    if diff.net_operation in ("added", "deleted"):
        assert diff.is_critical
    if diff.net_operation == "unchanged":
        assert diff.field_diffs == () and not diff.is_critical
    assert json.loads(json.dumps(diff.as_dict(change_id=1))) == diff.as_dict(change_id=1)
