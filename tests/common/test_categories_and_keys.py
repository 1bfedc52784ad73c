"""The one category check and the one module of cache keys."""

from __future__ import annotations

import pytest

from common.cache_keys import category_pointer_key, horde_user_key, key_checks_key
from common.categories import CATEGORY_VALUES, category_param
from common.errors import DomainError


def test_a_known_category_passes_unchanged() -> None:
    assert category_param("image_generation") == "image_generation"
    assert category_param("lora", ["lora"], echo_input=False) == "lora"


def test_an_unknown_category_is_422_in_the_validation_shape() -> None:
    with pytest.raises(DomainError) as raised:
        category_param("nope", loc="category")
    assert raised.value.status == 422
    detail = raised.value.detail
    assert isinstance(detail, list)
    [item] = detail
    assert item["loc"] == ["path", "category"] and item["type"] == "enum" and item["input"] == "nope"
    assert all(f"'{value}'" in item["msg"] for value in CATEGORY_VALUES)


def test_the_queue_routes_keep_their_shape_without_the_input() -> None:
    with pytest.raises(DomainError) as raised:
        category_param("lora", ["image_generation"], echo_input=False)
    assert raised.value.detail == [
        {"loc": ["path", "model_category_name"], "msg": "Input should be 'image_generation'", "type": "enum"}
    ]


def test_keys_never_hold_an_api_key_and_do_not_collide() -> None:
    keys = {
        category_pointer_key("image_generation"),
        horde_user_key("secret-key"),
        key_checks_key("1.2.3.4", 7),
    }
    assert len(keys) == 3
    assert all("secret-key" not in key for key in keys)
    assert horde_user_key("secret-key") == horde_user_key("secret-key") != horde_user_key("other-key")
