"""Text model names and their backend-prefixed spellings (``aphrodite/``, ``koboldcpp/``).

The legacy ``db.json`` lists each text model three times; workers advertise whichever
spelling their backend uses. These helpers map between the spellings.
"""

from __future__ import annotations

from horde_model_reference.legacy.text import default_legacy_keys
from horde_model_reference.text_model_parser import has_backend_prefix
from horde_model_reference.text_model_parser import strip_backend_prefix as _strip_backend_prefix


def strip_backend_prefix(model_name: str) -> str:
    """``model_name`` without a leading ``aphrodite/`` or ``koboldcpp/``."""
    return _strip_backend_prefix(model_name)


def has_legacy_text_backend_prefix(model_name: str) -> bool:
    """True when ``model_name`` starts with a backend prefix (``aphrodite/``, ``koboldcpp/``)."""
    return has_backend_prefix(model_name)


def get_model_name_variants(canonical_name: str) -> list[str]:
    """Every spelling a model has in the legacy ``db.json``: the name, then its backend spellings.

    ``koboldcpp/`` drops the author (``koboldcpp/Model-7B`` for ``org/Model-7B``), as the
    public ``convert.py`` writes it.
    """
    return default_legacy_keys(canonical_name)


__all__ = ["get_model_name_variants", "has_legacy_text_backend_prefix", "strip_backend_prefix"]
