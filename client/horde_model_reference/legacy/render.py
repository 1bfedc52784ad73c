"""Byte-level rendering of legacy documents, as the public repositories write them."""

from __future__ import annotations

import json
from typing import Any

# How each public file is laid out, by file name: the image repository's files are
# tab-indented except stable_diffusion.json, and controlnet.json has CRLF line endings.
# Anything not listed uses the default (four spaces, LF), as stable_diffusion.json and
# the text db.json do. A hand-edited file may still stray from its own style on a few
# lines; pull requests keep upstream's bytes for those records (see sync.legacy_format).
LEGACY_JSON_STYLES: dict[str, tuple[str, str]] = {
    "blip.json": ("\t", "\n"),
    "clip.json": ("\t", "\n"),
    "codeformer.json": ("\t", "\n"),
    "controlnet.json": ("\t", "\r\n"),
    "esrgan.json": ("\t", "\n"),
    "gfpgan.json": ("\t", "\n"),
    "miscellaneous.json": ("\t", "\n"),
    "safety_checker.json": ("\t", "\n"),
}


def render_legacy_json(document: Any, *, indent: int | str = 4, newline: str = "\n") -> bytes:
    """``json.dumps(indent=4)`` with ASCII escapes and a trailing newline.

    This is how ``stable_diffusion.json`` and the text ``db.json`` are written
    upstream, so exports of unchanged data reproduce those files byte for byte.
    ``indent`` and ``newline`` give other files their own layout.
    """
    text = json.dumps(document, indent=indent, ensure_ascii=True) + "\n"
    if newline != "\n":
        text = text.replace("\n", newline)
    return text.encode("ascii")


def render_legacy_file(filename: str, document: Any) -> bytes:
    """Render ``document`` as the public repository lays out ``filename``."""
    indent, newline = LEGACY_JSON_STYLES.get(filename, (4, "\n"))
    return render_legacy_json(document, indent=indent, newline=newline)
