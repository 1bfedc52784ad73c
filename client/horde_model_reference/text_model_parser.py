"""Parse text generation model names and group them by base model.

A text model name such as ``TheBloke/Llama-3-8B-Instruct-Q4_K_M`` packs several
facts into one string: an author, a base model, a size, a variant and a
quantisation. This module takes such names apart so that variants of the same
model (sizes, quants, backend copies) can be grouped, and it summarises each
group the way ``GET /v1/text_generation?include_group=true`` reports it.

Everything here is pure and deterministic; the parse itself is LRU-cached
because the same few thousand names are parsed on every grouped read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from horde_model_reference.meta_consts import TEXT_BACKENDS

#: The prefixes the legacy ``db.json`` puts in front of a model's per-backend copies.
BACKEND_PREFIXES: tuple[str, ...] = tuple(f"{backend.value}/" for backend in TEXT_BACKENDS)

#: The characters treated as separators between name parts.
SEPARATOR_CHARS = "-_ ."

_FLAGS = re.IGNORECASE | re.ASCII

# Boundaries are "no letter/digit next to it" rather than ``\b``: ``\b`` counts
# ``_`` as a word character, which would hide ``Q4`` in ``model_Q4``.
_NOT_AFTER_ALNUM = r"(?<![A-Za-z0-9])"
_NOT_BEFORE_ALNUM = r"(?![A-Za-z0-9])"

_LEADING_VERSION_RE = re.compile(r"^(\d+\.\d+(?:\.\d+)?)[-_]", _FLAGS)
# Variants and quants are whole words where ``_`` counts as a letter: in
# ``mini-instruct_Uncensored`` neither ``instruct`` nor ``Uncensored`` stands
# alone, and 8.6.2 (whose group keys clients store) does not take them.
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9_])"
_NOT_BEFORE_WORD = r"(?![A-Za-z0-9_])"
# The size that decides group identity. A mixture-of-experts size is taken whole
# only when the expert size is one digit (``8x7B``); for ``8x22B`` the identity
# rule takes the ``2B`` that is not preceded by a letter and leaves ``8x2`` in
# the base name, exactly as 8.6.2 does (DECISIONS 29: group keys never differ).
_SIZE_RE = re.compile(
    r"(?<![A-Za-z])(?:(\d+x\d[BMK])|(\d+\.?\d*[BMK]\d*))(?![A-Za-z])",
    _FLAGS,
)
# The size a name really states, reported instead of the identity match when
# that match is only the tail of it (``8x22B``, ``16x22B``, ``8x2.5B``); see
# docs/text-parser-differences.md.
_MOE_SIZE_RE = re.compile(r"(?<![A-Za-z0-9.])(\d+x\d+(?:\.\d+)?[BMK])(?![A-Za-z])", _FLAGS)
_VERSION_RES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![A-Za-z])(v\d+(?:\.\d+)+)", _FLAGS),
    re.compile(_NOT_AFTER_ALNUM + r"(v\d+)" + _NOT_BEFORE_ALNUM, _FLAGS),
)
_QUANT_RES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(_NOT_AFTER_WORD + f"({body})" + _NOT_BEFORE_WORD, _FLAGS)
    for body in (
        r"Q[2-8]_K(?:_[SMLH])?",
        r"Q[2-8]_[01]",
        r"Q[2-8]",
        r"GGUF|GGML|GPTQ|AWQ|EXL2",
        r"fp16|fp32|int8|int4",
    )
)
_VARIANT_RES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(_NOT_AFTER_WORD + f"({body})" + _NOT_BEFORE_WORD, _FLAGS)
    for body in (
        r"Instruct|Chat|Code|Base|Uncensored|Finetune|FT",
        r"Thinking|Reasoning",
        r"turbo|preview|latest",
    )
)
# Dates are loose on purpose (``13-2024`` counts): what is taken here leaves the
# base name, so the rule must be the one group keys were computed with.
_DATE_RES: tuple[re.Pattern[str], ...] = (
    re.compile(_NOT_AFTER_ALNUM + r"(\d{2}-\d{4})" + _NOT_BEFORE_ALNUM, _FLAGS),
    re.compile(_NOT_AFTER_ALNUM + r"(\d{4}-\d{2})" + _NOT_BEFORE_ALNUM, _FLAGS),
    re.compile(_NOT_AFTER_ALNUM + r"(\d{4})" + _NOT_BEFORE_ALNUM, _FLAGS),
)
# A run of one repeated separator collapses; a mixed run (``_-``) is kept as it is,
# because 8.6.2 keeps it and the base name is the group key.
_SEPARATOR_RUN_RE = re.compile(f"([{re.escape(SEPARATOR_CHARS)}])\\1+")
_NORMALIZE_RE = re.compile(r"[-. ]")
_UNDERSCORE_RUN_RE = re.compile(r"_+")

# Stands in for text already taken by an earlier step. It is neither a letter
# nor a digit, so the boundaries of later patterns treat it like a separator,
# and the base name is rebuilt from the mask, not from this character, so an
# input that happens to contain it is still handled correctly.
_TAKEN = "\x00"

#: Placeholder names used in a template for each part label.
_TEMPLATE_PLACEHOLDERS: dict[str, str] = {
    "base": "{base}",
    "size": "{size}",
    "variant": "{variant}",
    "version": "{version}",
    "quant": "{quant}",
}
_DEFAULT_PART_ORDER: tuple[str, ...] = ("base", "size")
_DEFAULT_TEMPLATE = "{base}-{size}"


@dataclass(frozen=True)
class ParsedNameExtra:
    """A name part that is neither size, variant, version nor quant (e.g. a date).

    ``position`` is the zero-based index of the segment it starts at, counting the
    separator-split segments of the name once the primary parts found before it
    are removed (the ``position`` of the established ``parse_name`` answer).
    """

    type: str
    value: str
    position: int = 0

    @property
    def inferred_type(self) -> str:
        """The type as the established API spells it (``DATE``, ``LEADING_VERSION``)."""
        return self.type.upper()


@dataclass(frozen=True)
class ParsedTextModelName:
    """The parts found in one text model name.

    ``part_order`` lists the labels of the parts that were found (``base``,
    ``size``, ``variant``, ``version``, ``quant`` and ``extra:<TYPE>``, e.g.
    ``extra:DATE``) in the order they appear in the name; each part is placed
    where its text first occurs (case-insensitively), and the base name is left
    out when it is not one piece of the name (``MN-12B-Starcannon`` has the base
    ``MN-Starcannon``), as the established service reports it.
    ``matched_size`` is the size text the grouping rule took; it differs from
    ``size`` only for a mixture-of-experts size such as ``8x22B`` (see
    docs/text-parser-differences.md).
    """

    original_name: str
    base_name: str
    size: str | None = None
    variant: str | None = None
    quant: str | None = None
    version: str | None = None
    normalized_name: str = ""
    extras: tuple[ParsedNameExtra, ...] = ()
    part_order: tuple[str, ...] = ("base",)
    matched_size: str | None = None

    def extra(self, extra_type: str) -> str | None:
        """The value of the first extra of ``extra_type``, or None."""
        for item in self.extras:
            if item.type == extra_type:
                return item.value
        return None


@dataclass(frozen=True)
class TextModelGroup:
    """Names that share one base model, in the order they were given."""

    base_name: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class NameFormatSchema:
    """The naming convention a group of model names follows."""

    separator: str = "-"
    part_order: tuple[str, ...] = _DEFAULT_PART_ORDER
    author_included: bool = False
    common_author: str | None = None
    template: str = _DEFAULT_TEMPLATE
    extra_parts: tuple[str, ...] = ()

    def as_dict(self, *, include_extra_parts: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples).

        ``extra_parts`` (e.g. ``["DATE"]``) is left out unless asked for: the
        group summary of ``include_group=true`` carries only the other five keys.
        """
        answer: dict[str, Any] = {
            "separator": self.separator,
            "part_order": list(self.part_order),
            "author_included": self.author_included,
            "common_author": self.common_author,
            "template": self.template,
        }
        if include_extra_parts:
            answer["extra_parts"] = list(self.extra_parts)
        return answer


@dataclass(frozen=True)
class TextModelGroupSummary:
    """What the members of one text model group have in common."""

    member_count: int
    available_sizes: tuple[str, ...]
    available_quants: tuple[str, ...]
    common_baseline: str | None
    any_nsfw: bool
    any_has_description: bool
    merged_tags: tuple[str, ...]
    name_format: NameFormatSchema = field(default_factory=NameFormatSchema)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, the shape of ``text_model_group_summary``."""
        return {
            "member_count": self.member_count,
            "available_sizes": list(self.available_sizes),
            "available_quants": list(self.available_quants),
            "common_baseline": self.common_baseline,
            "any_nsfw": self.any_nsfw,
            "any_has_description": self.any_has_description,
            "merged_tags": list(self.merged_tags),
            "name_format": self.name_format.as_dict(),
        }


class _Scanner:
    """The working copy of a name: matched text is masked so later steps skip it."""

    def __init__(self, name: str) -> None:
        self.original = name
        self.working = name
        self.taken = [False] * len(name)
        # (label, start offset in the original name) of every part found.
        self.positions: list[tuple[str, int]] = []

    def take_first(self, patterns: Iterable[re.Pattern[str]], label: str) -> str | None:
        """Mask the first match of the first pattern that matches; return its text."""
        for pattern in patterns:
            match = pattern.search(self.working)
            if match is None:
                continue
            group = next(index for index in range(1, len(match.groups()) + 1) if match.group(index))
            start, end = match.span(group)
            self._mask(start, end, label)
            return self.original[start:end]
        return None

    def segment_index(self, offset: int) -> int:
        """Index of the separator-split segment at ``offset`` among what is not taken."""
        before = "".join(
            char for char, taken in zip(self.original[:offset], self.taken[:offset], strict=True) if not taken
        )
        return sum(1 for char in _SEPARATOR_RUN_RE.sub(r"\1", before) if char in SEPARATOR_CHARS)

    def take_first_at(self, patterns: Iterable[re.Pattern[str]], label: str) -> tuple[str, int] | None:
        """Like :meth:`take_first`, also returning the segment index the match starts at."""
        for pattern in patterns:
            match = pattern.search(self.working)
            if match is None:
                continue
            group = next(index for index in range(1, len(match.groups()) + 1) if match.group(index))
            start, end = match.span(group)
            index = self.segment_index(start)
            self._mask(start, end, label)
            return self.original[start:end], index
        return None

    def _mask(self, start: int, end: int, label: str) -> None:
        self.working = self.working[:start] + _TAKEN * (end - start) + self.working[end:]
        for index in range(start, end):
            self.taken[index] = True
        self.positions.append((label, start))

    def base_name(self) -> tuple[str, int]:
        """The untaken remainder, tidied, and where it starts (0 on fallback)."""
        remainder = "".join(char for char, taken in zip(self.original, self.taken, strict=True) if not taken)
        collapsed = _SEPARATOR_RUN_RE.sub(r"\1", remainder)
        base = collapsed.strip(SEPARATOR_CHARS)
        if not base:
            return self.original, 0
        start = next(
            (
                index
                for index, (char, taken) in enumerate(zip(self.original, self.taken, strict=True))
                if not taken and char not in SEPARATOR_CHARS
            ),
            0,
        )
        return base, start


def normalize_model_name(name: str) -> str:
    """Lower-case ``name`` with ``-``, space and ``.`` turned into ``_`` (runs collapsed)."""
    normalized = _NORMALIZE_RE.sub("_", name.lower())
    return _UNDERSCORE_RUN_RE.sub("_", normalized).strip("_")


@lru_cache(maxsize=2048)
def parse_text_model_name(name: str) -> ParsedTextModelName:
    """Split a text model name into base name, size, version, quant, variant and extras.

    Parts are taken in a fixed order (leading dotted version, size, version,
    quant, variant, date), each from what the earlier steps left. The base name
    is what remains, with separator runs collapsed and separators stripped from
    both ends; when nothing remains the original name is the base name. Never
    raises.

    >>> parsed = parse_text_model_name("Llama-3-8B-Instruct-Q4_K_M")
    >>> (parsed.base_name, parsed.size, parsed.variant, parsed.quant)
    ('Llama-3', '8B', 'Instruct', 'Q4_K_M')
    """
    scanner = _Scanner(name)
    extras: list[ParsedNameExtra] = []

    leading = scanner.take_first((_LEADING_VERSION_RE,), "extra:leading_version")
    if leading is not None:
        extras.append(ParsedNameExtra("leading_version", leading, 0))
    size_found = scanner.take_first_at((_SIZE_RE,), "size")
    size = _reported_size(name, size_found, scanner)
    version = scanner.take_first(_VERSION_RES, "version")
    quant = scanner.take_first(_QUANT_RES, "quant")
    variant = scanner.take_first(_VARIANT_RES, "variant")
    date = scanner.take_first_at(_DATE_RES, "extra:date")
    if date is not None:
        extras.append(ParsedNameExtra("date", date[0], date[1]))

    base_name, _ = scanner.base_name()
    matched_size = size_found[0] if size_found is not None else None
    labelled: list[tuple[str, str | None]] = [
        ("base", base_name),
        ("size", matched_size),
        ("variant", variant),
        ("version", version),
        ("quant", quant),
        *((f"extra:{extra.inferred_type}", extra.value) for extra in extras),
    ]
    return ParsedTextModelName(
        original_name=name,
        base_name=base_name,
        size=size,
        variant=variant,
        quant=quant.upper() if quant is not None else None,
        version=version,
        normalized_name=normalize_model_name(name),
        extras=tuple(extras),
        part_order=_part_order(name, labelled),
        matched_size=matched_size,
    )


def _part_order(name: str, labelled: Iterable[tuple[str, str | None]]) -> tuple[str, ...]:
    # Parts are placed where their text first occurs, not where the scan took
    # them: the name format of a group (and so its template) must be the one
    # 8.6.2 reports. A part whose text is not found (a base name that was split
    # around a size) has no place and is left out; the sort is stable, so on a
    # tie the fixed order base, size, variant, version, quant, extras decides.
    folded = name.casefold()
    placed = [
        (folded.find(value.casefold()), label)
        for label, value in labelled
        if value and folded.find(value.casefold()) >= 0
    ]
    placed.sort(key=lambda item: item[0])
    return tuple(label for _, label in placed)


def _reported_size(name: str, found: tuple[str, int] | None, scanner: _Scanner) -> str | None:
    """The size to report: the identity match, or the whole MoE size it is the tail of."""
    if found is None:
        return None
    start = scanner.positions[-1][1]
    end = start + len(found[0])
    for match in _MOE_SIZE_RE.finditer(name):
        if match.start(1) < start and match.end(1) == end:
            return match.group(1).upper()
    return found[0].upper()


def strip_backend_prefix(name: str) -> str:
    """``name`` without a leading ``aphrodite/`` or ``koboldcpp/``."""
    for prefix in BACKEND_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def has_backend_prefix(name: str) -> bool:
    """True when ``name`` starts with ``aphrodite/`` or ``koboldcpp/``."""
    return name.startswith(BACKEND_PREFIXES)


def split_author(name: str) -> tuple[str | None, str]:
    """``(author, model)`` for ``author/model``; ``(None, name)`` without a ``/``.

    A backend prefix is removed first. A name whose model part would be empty
    (``"org/"``) keeps the whole name as the model, so callers never parse "".
    """
    unprefixed = strip_backend_prefix(name)
    author, slash, model = unprefixed.partition("/")
    if not slash:
        return None, unprefixed
    if not model:
        return None, unprefixed
    return author, model


def _model_part(name: str) -> str:
    return split_author(name)[1]


@lru_cache(maxsize=2048)
def get_base_model_name(name: str) -> str:
    """The base model a name belongs to: the grouping key of text models.

    The backend prefix and the author (everything up to the first ``/``) are
    removed before parsing, so ``aphrodite/org/X`` and ``koboldcpp/X`` share the
    group of ``org/X``.

    >>> get_base_model_name("acrastt/Marx-3B-V3")
    'Marx'
    """
    model = _model_part(name)
    return parse_text_model_name(model).base_name if model else name


def is_quantized_variant(name: str) -> bool:
    """True when the name carries a quantisation token (``Q4_K_M``, ``GGUF``, ``AWQ``, ...)."""
    return parse_text_model_name(_model_part(name)).quant is not None


def get_model_size(name: str) -> str | None:
    """The size token of a name, upper-cased (``"8B"``, ``"8X7B"``), or None."""
    return parse_text_model_name(_model_part(name)).size


def get_model_variant(name: str) -> str | None:
    """The variant token of a name as written (``"Instruct"``, ``"chat"``), or None."""
    return parse_text_model_name(_model_part(name)).variant


def group_text_models_by_base(names: Iterable[str]) -> dict[str, TextModelGroup]:
    """Group names by :func:`get_base_model_name`, groups and members in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        grouped.setdefault(get_base_model_name(name), []).append(name)
    return {
        base: TextModelGroup(base_name=base, variants=tuple(members)) for base, members in grouped.items()
    }


def _template_for(part_order: tuple[str, ...], separator: str, author_included: bool) -> str:
    # Extras keep their label as the placeholder ({extra:DATE}), as upstream.
    body = separator.join(_TEMPLATE_PLACEHOLDERS.get(label, "{" + label + "}") for label in part_order)
    return "{author}/" + body if author_included else body


def _split_author_verbatim(name: str) -> tuple[str | None, str]:
    # Name formats take the author as everything before the first "/", backend
    # prefix or not: a legacy key "koboldcpp/Model" counts "koboldcpp" as an
    # author, which is why a group with backend copies has no common_author in
    # 8.6.2's include_group answer, and clients compare against that answer.
    author, slash, model = name.partition("/")
    return (author, model) if slash else (None, name)


def infer_name_format(members: Iterable[str]) -> NameFormatSchema:
    """Infer the naming convention shared by ``members`` (full names).

    * the author is what comes before the first ``/`` (a backend prefix such as
      ``koboldcpp/`` counts as one); ``author_included`` is true when any member
      has one, and ``common_author`` is set when exactly one distinct author
      appears;
    * the separator is ``_`` when, quant tokens aside, underscores outnumber
      hyphens in the model parts, else ``-``;
    * the part order is that of the member with the most recognised parts (the
      first such member on a tie), see :attr:`ParsedTextModelName.part_order`;
      ``extra_parts`` lists the extra types in it (``DATE``, ...).
    """
    authors: list[str] = []
    underscores = hyphens = 0
    richest: ParsedTextModelName | None = None
    for name in members:
        author, model = _split_author_verbatim(name)
        if author is not None and author not in authors:
            authors.append(author)
        parsed = parse_text_model_name(model)
        # Quant tokens such as Q4_K_M are full of underscores whatever the
        # group's own convention is, so they must not vote.
        counted = re.sub(re.escape(parsed.quant), "", model, flags=re.IGNORECASE) if parsed.quant else model
        underscores += counted.count("_")
        hyphens += counted.count("-")
        if richest is None or len(parsed.part_order) > len(richest.part_order):
            richest = parsed
    if richest is None:
        return NameFormatSchema()
    separator = "_" if underscores > hyphens else "-"
    author_included = bool(authors)
    return NameFormatSchema(
        separator=separator,
        part_order=richest.part_order,
        author_included=author_included,
        common_author=authors[0] if len(authors) == 1 else None,
        template=_template_for(richest.part_order, separator, author_included),
        extra_parts=tuple(
            label.removeprefix("extra:") for label in richest.part_order if label.startswith("extra:")
        ),
    )


_SIZE_UNITS: dict[str, float] = {"K": 1e3, "M": 1e6, "B": 1e9}
_SIZE_VALUE_RE = re.compile(r"^(?:(\d+)X)?(\d+\.?\d*)([BMK])", re.ASCII)


def _size_sort_key(size: str) -> tuple[float, str]:
    # Sizes sort by magnitude ("0.6B" < "8B" < "8X7B" < "70B"); anything the
    # pattern does not explain sorts after them, alphabetically.
    match = _SIZE_VALUE_RE.match(size)
    if match is None:
        return math.inf, size
    experts = int(match.group(1)) if match.group(1) else 1
    try:
        magnitude = float(match.group(2))
    except ValueError:
        return math.inf, size
    return experts * magnitude * _SIZE_UNITS[match.group(3)], size


def _entry_group(name: str, entry: Mapping[str, Any]) -> str:
    group = entry.get("text_model_group")
    return group if isinstance(group, str) and group else get_base_model_name(name)


def compute_group_summaries(models: Mapping[str, Mapping[str, Any]]) -> dict[str, TextModelGroupSummary]:
    """Summarise each text model group of ``models`` (``{name: record}``, legacy or v2).

    A record's group is its ``text_model_group`` when set, otherwise the base
    model of its name. Every entry counts as a member, backend copies included,
    so the member counts add up to ``len(models)``. ``common_baseline`` is set
    when the members that state a baseline all state the same one (members
    without one do not count), as 8.6.2 reports it.
    """
    members: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for name, entry in models.items():
        members.setdefault(_entry_group(name, entry), []).append((name, entry))

    summaries: dict[str, TextModelGroupSummary] = {}
    for group, entries in members.items():
        sizes: set[str] = set()
        quants: set[str] = set()
        baselines: set[str] = set()
        tags: set[str] = set()
        any_nsfw = any_description = False
        for name, entry in entries:
            parsed = parse_text_model_name(_model_part(name))
            if parsed.size:
                sizes.add(parsed.size)
            if parsed.quant:
                quants.add(parsed.quant)
            baseline = entry.get("baseline")
            if isinstance(baseline, str) and baseline:
                baselines.add(baseline)
            entry_tags = entry.get("tags")
            if isinstance(entry_tags, list | tuple):
                tags.update(tag for tag in entry_tags if isinstance(tag, str))
            any_nsfw = any_nsfw or entry.get("nsfw") is True
            description = entry.get("description")
            any_description = any_description or (isinstance(description, str) and bool(description.strip()))
        only_baseline = next(iter(baselines)) if len(baselines) == 1 else None
        summaries[group] = TextModelGroupSummary(
            member_count=len(entries),
            available_sizes=tuple(sorted(sizes, key=_size_sort_key)),
            available_quants=tuple(sorted(quants)),
            common_baseline=only_baseline,
            any_nsfw=any_nsfw,
            any_has_description=any_description,
            merged_tags=tuple(sorted(tags)),
            name_format=infer_name_format(name for name, _ in entries),
        )
    return summaries


def add_text_model_groups(legacy_document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a legacy text document with group fields added to every entry.

    Each entry gains ``text_model_group`` (the base model of its key) and
    ``text_model_group_summary`` (that group's summary as a JSON-ready dict), as
    ``GET /v1/text_generation?include_group=true`` returns them. The input is
    not modified; an entry that is not an object is copied through unchanged.
    """
    grouped: dict[str, dict[str, Any]] = {}
    for name, entry in legacy_document.items():
        if isinstance(entry, Mapping):
            grouped[name] = {**entry, "text_model_group": get_base_model_name(name)}
    summaries = {group: summary.as_dict() for group, summary in compute_group_summaries(grouped).items()}

    result: dict[str, Any] = {}
    for name, entry in legacy_document.items():
        if name not in grouped:
            result[name] = entry
            continue
        enriched = grouped[name]
        # Each entry gets its own copy so a caller editing one summary cannot
        # change what the other members of the group show.
        enriched["text_model_group_summary"] = _copy_json(summaries[enriched["text_model_group"]])
        result[name] = enriched
    return result


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


__all__ = [
    "BACKEND_PREFIXES",
    "NameFormatSchema",
    "ParsedNameExtra",
    "ParsedTextModelName",
    "TextModelGroup",
    "TextModelGroupSummary",
    "add_text_model_groups",
    "compute_group_summaries",
    "get_base_model_name",
    "get_model_size",
    "get_model_variant",
    "group_text_models_by_base",
    "has_backend_prefix",
    "infer_name_format",
    "is_quantized_variant",
    "normalize_model_name",
    "parse_text_model_name",
    "split_author",
    "strip_backend_prefix",
]
