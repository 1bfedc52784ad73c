"""The manager's public surface is the one recorded before it was split into modules.

``fixtures/manager_public_surface.json`` was written from the single-module manager
(``python -m tests.client.test_manager_surface > tests/client/fixtures/manager_public_surface.json``):
every public name of ``ModelReferenceManager`` and ``DeferredPrefetchHandle``, its kind
(property, method, async method, classmethod, staticmethod) and its signature with the
annotations as written. A refactoring that renames, drops, retypes or re-kinds any of
them fails here, so users' code and type checkers see the same API.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from horde_model_reference import model_reference_manager

FIXTURE = Path(__file__).parent / "fixtures" / "manager_public_surface.json"

# Dunders that belong to the API (construction and awaiting a handle); others are Python's.
_PUBLIC_DUNDERS = frozenset({"__new__", "__init__", "__await__"})


def _describe_member(raw: Any) -> list[str]:
    if isinstance(raw, property):
        assert raw.fget is not None
        return ["property", str(inspect.signature(raw.fget))]
    if isinstance(raw, classmethod):
        return ["classmethod", str(inspect.signature(raw.__func__))]
    if isinstance(raw, staticmethod):
        return ["staticmethod", str(inspect.signature(raw.__func__))]
    if inspect.isfunction(raw):
        kind = "async" if inspect.iscoroutinefunction(raw) else "method"
        return [kind, str(inspect.signature(raw))]
    # Inherited from object (e.g. object.__init__): no signature of ours to compare.
    return [type(raw).__name__, ""]


def _describe_class(cls: type) -> dict[str, list[str]]:
    return {
        name: _describe_member(inspect.getattr_static(cls, name))
        for name in sorted(dir(cls))
        if not name.startswith("_") or name in _PUBLIC_DUNDERS
    }


def public_surface() -> dict[str, Any]:
    """The manager module's public surface, in the fixture's shape."""
    module = model_reference_manager
    return {
        "ModelReferenceManager": _describe_class(module.ModelReferenceManager),
        "DeferredPrefetchHandle": _describe_class(module.DeferredPrefetchHandle),
        "PrefetchStrategy": {member.name: member.value for member in module.PrefetchStrategy},
        "DataSource": str(module.DataSource),
        "build_sources": str(inspect.signature(module.build_sources)),
        "__all__": list(module.__all__),
    }


def test_the_public_surface_is_unchanged() -> None:
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))
    current = public_surface()
    for cls_name in ("ModelReferenceManager", "DeferredPrefetchHandle"):
        # Per member, so a failure names what changed.
        assert sorted(current[cls_name]) == sorted(recorded[cls_name]), cls_name
        for name, described in recorded[cls_name].items():
            assert current[cls_name][name] == described, f"{cls_name}.{name}"
    assert current == recorded


if __name__ == "__main__":
    sys.stdout.write(json.dumps(public_surface(), indent=1, sort_keys=True) + "\n")
