"""Rendering a legacy file against upstream's bytes, so a pull request shows only real changes.

The public files are edited by hand: a few lines stray from the file's own indentation,
``models.csv`` repeats some rows. No renderer reproduces that, so a file is rebuilt from
upstream's text record by record: a record whose value did not change keeps upstream's
exact bytes; a changed or new record is rendered in the style the file mostly uses
(indent unit, line endings, CSV column order and line terminator); a removed record's
bytes go. An unchanged document therefore gives upstream's file back byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_WHITESPACE = " \t\r\n"


class UpstreamFormatError(ValueError):
    """Upstream's file is not the shape we can splice into (we then render it whole)."""


@dataclass(frozen=True)
class _Member:
    key: str
    value: Any
    segment: str  # from just after the previous "{" or "," to the end of the value
    value_text: str  # the value's own text (the end of ``segment``)


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _object_members(text: str) -> tuple[str, list[_Member], str]:
    """Split a JSON object's text into its head (``{``), members and tail (``\\n}\\n``)."""
    decoder = json.JSONDecoder()
    index = _skip_whitespace(text, 0)
    if index >= len(text) or text[index] != "{":
        raise UpstreamFormatError("not a JSON object")
    head_end = index + 1
    members: list[_Member] = []
    cursor = position = head_end
    while True:
        position = _skip_whitespace(text, cursor)
        if position < len(text) and text[position] == "}" and not members:
            break
        try:
            key, after_key = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise UpstreamFormatError(f"bad member at {position}: {error}") from error
        if not isinstance(key, str):
            raise UpstreamFormatError(f"non-string key at {position}")
        colon = _skip_whitespace(text, after_key)
        if colon >= len(text) or text[colon] != ":":
            raise UpstreamFormatError(f"expected ':' at {colon}")
        value_start = _skip_whitespace(text, colon + 1)
        try:
            value, value_end = decoder.raw_decode(text, value_start)
        except json.JSONDecodeError as error:
            raise UpstreamFormatError(f"bad value at {colon}: {error}") from error
        members.append(_Member(key, value, text[cursor:value_end], text[value_start:value_end]))
        following = _skip_whitespace(text, value_end)
        if following < len(text) and text[following] == ",":
            cursor = following + 1
            continue
        if following < len(text) and text[following] == "}":
            position = value_end
            break
        raise UpstreamFormatError(f"expected ',' or '}}' at {following}")
    closing = text.index("}", position)
    if text[_skip_whitespace(text, closing + 1) :].strip():
        raise UpstreamFormatError("text after the object")
    return text[:head_end], members, text[position if members else head_end :]


def _json_style(text: str) -> tuple[str, str]:
    """(indent unit, line ending) most of the file uses."""
    newline = "\r\n" if "\r\n" in text else "\n"
    units: dict[str, int] = {}
    for line in text.splitlines():
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        # The unit is what one level adds: a tab, or the smallest run of spaces seen.
        unit = "\t" if lead.startswith("\t") else lead
        if unit:
            units[unit] = units.get(unit, 0) + 1
    if not units:
        return "    ", newline
    tabs = units.pop("\t", 0)
    spaces = min(units, key=len) if units else ""
    return ("\t" if tabs >= sum(units.values()) else spaces), newline


def _value_render(value: Any, *, indent: str, newline: str, depth: int) -> str:
    lines = json.dumps(value, indent=indent, ensure_ascii=True).split("\n")
    return newline.join([lines[0]] + [indent * depth + line for line in lines[1:]])


def _object_render(text: str, document: dict[str, Any], *, indent: str, newline: str, depth: int) -> str:
    head, members, tail = _object_members(text)
    old = {member.key: member for member in members}
    segments = []
    for key, value in document.items():
        member = old.get(key)
        # Equal values keep upstream's bytes even if the key order inside differs: a
        # reordering is not a change worth a diff.
        if member is not None and member.value == value:
            segments.append(member.segment)
        elif member is not None and isinstance(member.value, dict) and isinstance(value, dict):
            # Descend, so only the changed fields' lines change (and stray indentation
            # elsewhere in the record stays as upstream has it).
            prefix = member.segment[: len(member.segment) - len(member.value_text)]
            inner = _object_render(member.value_text, value, indent=indent, newline=newline, depth=depth + 1)
            segments.append(prefix + inner)
        else:
            rendered = _value_render(value, indent=indent, newline=newline, depth=depth + 1)
            segments.append(
                f"{newline}{indent * (depth + 1)}{json.dumps(key, ensure_ascii=True)}: {rendered}"
            )
    if not segments:
        return head + "}" + tail.rsplit("}", 1)[-1]
    if not members:
        # Upstream was "{}": close the object on its own line, as a dump would.
        tail = newline + indent * depth + "}" + tail.split("}", 1)[-1]
    return head + ",".join(segments) + tail


def json_document_render(upstream: bytes, document: dict[str, Any]) -> bytes:
    """``document`` laid out as ``upstream`` is: unchanged records (and fields) keep upstream's bytes.

    Raises ``UpstreamFormatError`` when upstream is not a JSON object we can split.
    """
    try:
        text = upstream.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UpstreamFormatError(f"not UTF-8: {error}") from error
    indent, newline = _json_style(text)
    return _object_render(text, document, indent=indent, newline=newline, depth=0).encode("utf-8")


def _csv_raw_rows(text: str) -> Iterator[tuple[list[str], str]]:
    """Each CSV row with its exact source text (a quoted cell may span lines)."""
    lines = iter(text.splitlines(keepends=True))
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    for row in csv.reader(feed()):
        raw = "".join(consumed)
        consumed.clear()
        yield row, raw


def csv_document_render(upstream: bytes, rows: list[dict[str, str]], columns: list[str]) -> bytes:
    """``rows`` (cells by column, in our order) laid out as upstream's ``models.csv``.

    A row whose cells equal upstream's keeps upstream's bytes, duplicates included; a
    changed or new row is written in upstream's column order and line terminator.
    """
    try:
        text = upstream.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UpstreamFormatError(f"not UTF-8: {error}") from error
    parsed = list(_csv_raw_rows(text))
    if not parsed:
        raise UpstreamFormatError("empty CSV")
    header, header_raw = parsed[0]
    order = [cell.strip().lower() for cell in header]
    if "name" not in order or set(order) - set(columns):
        raise UpstreamFormatError(f"unexpected CSV header {header!r}")
    terminator = "\r\n" if header_raw.endswith("\r\n") else "\n"
    upstream_rows: dict[str, tuple[dict[str, str], list[str]]] = {}
    for cells, raw in parsed[1:]:
        if not cells:
            continue
        named = dict(zip(order, cells, strict=False))
        name = named.get("name", "")
        _, raws = upstream_rows.get(name, ({}, []))
        # The last row of a name is the one an import keeps.
        upstream_rows[name] = (named, [*raws, raw])
    out = io.StringIO(newline="")
    out.write(header_raw)
    writer = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        theirs = upstream_rows.get(row["name"])
        ours = {column: row.get(column, "") for column in order}
        if theirs is not None and {c: theirs[0].get(c, "") for c in order} == ours:
            out.write("".join(theirs[1]))
        else:
            writer.writerow([ours[column] for column in order])
    return out.getvalue().encode("utf-8")


def csv_rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Columns and rows (cells by lower-case column) of a CSV file."""
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    lines = [row for row in reader if row]
    if not lines:
        return [], []
    columns = [cell.strip().lower() for cell in lines[0]]
    return columns, [dict(zip(columns, row, strict=False)) for row in lines[1:]]
