"""A small typed DSL for building record predicates and sort orders.

``ImageFields.baseline == "stable_diffusion_xl"`` builds a :class:`Predicate`;
predicates compose with ``&``, ``|`` and ``~`` and are passed to
:meth:`horde_model_reference.query.ModelQuery.where`. ``ImageFields.name.desc()``
builds an :class:`OrderSpec` for ``order_by``.

Field paths
    A :class:`FieldRef` names a field, or a nested value with ``__`` between
    segments (``finetune_series__name``, ``requirements__clip_skip``). Looking a
    path up walks the record: a pydantic model segment must be a declared field
    (otherwise ``ValueError``: a typo must not silently match nothing), a mapping
    segment is looked up by key (a missing key is ``None``: keys are data, not
    schema) and a ``None`` along the way makes the whole value ``None``.

Predicates are compiled lazily: a predicate is a recipe that, given a way to
build value getters for paths, returns a plain ``record -> bool`` function. A
query uses that to resolve field aliases (text ``parameters`` ->
``parameters_count``) once, instead of on every record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from pydantic import BaseModel

__all__ = [
    "AudioFields",
    "AudioGenFieldName",
    "BlipFields",
    "ClipFieldName",
    "ClipFields",
    "CodeformerFields",
    "ControlNetFieldName",
    "ControlNetFields",
    "EsrganFields",
    "FieldRef",
    "GenericFieldName",
    "GenericFields",
    "Getter",
    "GetterFactory",
    "GfpganFields",
    "ImageFields",
    "ImageGenFieldName",
    "MiscellaneousFields",
    "OrderSpec",
    "Predicate",
    "SafetyCheckerFields",
    "TextFields",
    "TextGenFieldName",
    "VideoFields",
    "VideoGenFieldName",
    "false",
    "is_non_string_iterable",
    "make_getter",
    "split_path",
    "true",
]

#: Separates the segments of a nested field path.
PATH_SEPARATOR = "__"

#: Reads one (possibly nested) value from a record.
Getter = Callable[[Any], Any]
#: Builds the getter for a path (a tuple of segments).
GetterFactory = Callable[[tuple[str, ...]], Getter]

RecordPredicate = Callable[[Any], bool]

# ---------------------------------------------------------------------------
# Field-name literal types (typing only; the runtime check is against the
# record class). Kept next to the namespaces so the drift test compares both.
# ---------------------------------------------------------------------------

GenericFieldName = Literal[
    "record_type",
    "name",
    "description",
    "version",
    "finetune_series",
    "metadata",
    "config",
    "model_classification",
    "size_on_disk_bytes",
    "licensing",
]
"""Fields every record has."""

ImageGenFieldName = (
    GenericFieldName
    | Literal[
        "inpainting",
        "baseline",
        "optimization",
        "tags",
        "showcases",
        "min_bridge_version",
        "trigger",
        "homepage",
        "nsfw",
        "style",
        "requirements",
    ]
)
"""Fields of image generation records."""

TextGenFieldName = (
    GenericFieldName
    | Literal[
        "baseline",
        "parameters_count",
        "parameters",
        "nsfw",
        "style",
        "display_name",
        "url",
        "tags",
        "instruct_format",
        "settings",
        "text_model_group",
        "name_schema_exception",
        "context_window",
        "interaction_modes",
        "capabilities",
        "guidance",
    ]
)
"""Fields of text generation records; ``parameters`` is the serialised alias of ``parameters_count``."""

ControlNetFieldName = GenericFieldName | Literal["controlnet_style"]
"""Fields of ControlNet records."""

ClipFieldName = GenericFieldName | Literal["pretrained_name"]
"""Fields of CLIP records."""

VideoGenFieldName = GenericFieldName | Literal["baseline", "nsfw", "tags"]
"""Fields of video generation records."""

AudioGenFieldName = GenericFieldName | Literal["baseline", "nsfw", "tags"]
"""Fields of audio generation records."""


# ---------------------------------------------------------------------------
# Paths and getters
# ---------------------------------------------------------------------------


def split_path(path: str) -> tuple[str, ...]:
    """Split ``"a__b"`` into ``("a", "b")``; raises ``ValueError`` on an empty segment."""
    segments = tuple(path.split(PATH_SEPARATOR))
    if not all(segments):
        raise ValueError(f"Invalid field path {path!r}: empty segment")
    return segments


# Scalars and sequences have attributes (``str.upper``) that must not be
# reachable as "fields": descending into one is always a path error.
_LEAF_TYPES: tuple[type, ...] = (str, bytes, int, float, bool, list, tuple, set, frozenset)


def _step(current: Any, segment: str, path: tuple[str, ...]) -> Any:
    """One lookup along ``path``; see the module docstring for the rules."""
    if current is None:
        return None
    if isinstance(current, BaseModel):
        if segment not in type(current).model_fields:
            raise ValueError(
                f"Field path {PATH_SEPARATOR.join(path)!r}: {type(current).__name__} has no field {segment!r}"
            )
        return getattr(current, segment)
    if isinstance(current, Mapping):
        return current.get(segment)
    if isinstance(current, _LEAF_TYPES):
        raise ValueError(
            f"Field path {PATH_SEPARATOR.join(path)!r}: cannot look up {segment!r} in a "
            f"{type(current).__name__} value"
        )
    try:
        return getattr(current, segment)
    except AttributeError:
        raise ValueError(
            f"Field path {PATH_SEPARATOR.join(path)!r}: {type(current).__name__} has no attribute {segment!r}"
        ) from None


def make_getter(path: tuple[str, ...], *, lenient_head: bool = False) -> Getter:
    """A getter for ``path`` following the module's lookup rules.

    With ``lenient_head`` the first segment is read with ``getattr(record, name,
    None)``: a query has already validated it against the record class, and in a
    cross-category query a record may lack a field that another category has.
    """
    head, rest = path[0], path[1:]

    def get_checked_head(record: Any) -> Any:
        return _step(record, head, path)

    def get_lenient_head(record: Any) -> Any:
        return getattr(record, head, None)

    get_head = get_lenient_head if lenient_head else get_checked_head
    if not rest:
        return get_head

    def get_nested(record: Any) -> Any:
        current = get_head(record)
        for segment in rest:
            if current is None:
                return None
            current = _step(current, segment, path)
        return current

    return get_nested


# ---------------------------------------------------------------------------
# Predicates
# ---------------------------------------------------------------------------

Binder = Callable[[GetterFactory], RecordPredicate]


class Predicate:
    """A composable test on a record.

    Compose with ``&`` (and), ``|`` (or) and ``~`` (not); both binary operators
    short-circuit, so the right-hand side is not evaluated when the left-hand
    side decides. Calling a predicate on a record evaluates it with the default
    path rules. Using a predicate in a boolean context (``and``, ``or``,
    ``not``, ``if``) raises ``TypeError``, because that would silently test the
    predicate object rather than a record.
    """

    __slots__ = ("_binder", "_default", "_fields", "_label")

    def __init__(self, binder: Binder, *, fields: Iterable[str] = (), label: str = "<predicate>") -> None:
        """Wrap ``binder``, which turns a :data:`GetterFactory` into a ``record -> bool`` function.

        ``fields`` lists the top-level field names the predicate reads (queries
        validate them); ``label`` is used in ``repr``.
        """
        self._binder = binder
        self._fields = frozenset(fields)
        self._label = label
        self._default: RecordPredicate | None = None

    @classmethod
    def from_callable(cls, function: Callable[[Any], bool], label: str | None = None) -> Predicate:
        """A predicate that calls ``function(record)`` (it reads no validated fields)."""
        name = label if label is not None else getattr(function, "__name__", "<callable>")
        return cls(lambda _getters: lambda record: bool(function(record)), label=name)

    @property
    def fields(self) -> frozenset[str]:
        """The top-level field names this predicate reads."""
        return self._fields

    @property
    def label(self) -> str:
        """A readable rendering of the predicate."""
        return self._label

    def bind(self, getters: GetterFactory = make_getter) -> RecordPredicate:
        """Compile to a plain ``record -> bool`` function using ``getters`` to read paths."""
        return self._binder(getters)

    def __call__(self, record: Any) -> bool:
        """Evaluate on ``record`` with the default path rules."""
        if self._default is None:
            self._default = self.bind()
        return self._default(record)

    def __and__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        left, right = self._binder, other._binder

        def bind(getters: GetterFactory) -> RecordPredicate:
            first, second = left(getters), right(getters)
            return lambda record: first(record) and second(record)

        return Predicate(bind, fields=self._fields | other._fields, label=f"({self._label} & {other._label})")

    def __or__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        left, right = self._binder, other._binder

        def bind(getters: GetterFactory) -> RecordPredicate:
            first, second = left(getters), right(getters)
            return lambda record: first(record) or second(record)

        return Predicate(bind, fields=self._fields | other._fields, label=f"({self._label} | {other._label})")

    def __invert__(self) -> Predicate:
        inner = self._binder

        def bind(getters: GetterFactory) -> RecordPredicate:
            test = inner(getters)
            return lambda record: not test(record)

        return Predicate(bind, fields=self._fields, label=f"~{self._label}")

    def __bool__(self) -> NoReturn:
        raise TypeError("A Predicate has no truth value; combine predicates with &, | and ~")

    def __repr__(self) -> str:
        return f"Predicate({self._label})"


def true() -> Predicate:
    """A predicate that always holds (the neutral element of ``&``)."""
    return Predicate(lambda _getters: lambda _record: True, label="true")


def false() -> Predicate:
    """A predicate that never holds (the neutral element of ``|``)."""
    return Predicate(lambda _getters: lambda _record: False, label="false")


def is_non_string_iterable(value: object) -> bool:
    """A non-string iterable (what ``in`` needs and what ``contains`` searches)."""
    if isinstance(value, str | bytes):
        return False
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


_ORDERING: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "lt": ("<", lambda a, b: a < b),
    "lte": ("<=", lambda a, b: a <= b),
    "gt": (">", lambda a, b: a > b),
    "gte": (">=", lambda a, b: a >= b),
}


def _ordered(compare: Callable[[Any, Any], bool], left: Any, right: Any, label: str) -> bool:
    # Comparing with None is false rather than an error: a record without the
    # value simply does not satisfy a range filter.
    if left is None or right is None:
        return False
    try:
        return bool(compare(left, right))
    except TypeError:
        raise ValueError(
            f"Cannot evaluate {label}: {type(left).__name__} and {type(right).__name__} are not comparable"
        ) from None


class _Membership:
    """``value in options`` using a set when possible (values may be unhashable, e.g. lists)."""

    __slots__ = ("_as_set", "_as_tuple")

    def __init__(self, options: Iterable[Any]) -> None:
        self._as_tuple = tuple(options)
        try:
            self._as_set: frozenset[Any] | None = frozenset(self._as_tuple)
        except TypeError:
            self._as_set = None

    def __contains__(self, value: Any) -> bool:
        if self._as_set is not None:
            try:
                return value in self._as_set
            except TypeError:
                pass  # an unhashable field value: fall back to comparing one by one
        return value in self._as_tuple


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """A sort key: a field and a direction (see ``ModelQuery.order_by``)."""

    field: FieldRef
    descending: bool = False


class FieldRef:
    """A reference to a (possibly nested) record field, for building predicates.

    ``FieldRef("baseline") == "stable_diffusion_xl"`` is a :class:`Predicate`, not
    a bool; so are the other comparisons. Two ``FieldRef`` operands compare two
    fields of the same record.
    """

    __slots__ = ("_path",)

    def __init__(self, name: str) -> None:
        """Reference ``name``; ``__`` separates nested segments (``finetune_series__name``)."""
        self._path = split_path(name)

    @property
    def path(self) -> tuple[str, ...]:
        """The path's segments."""
        return self._path

    @property
    def name(self) -> str:
        """The path as written (segments joined with ``__``)."""
        return PATH_SEPARATOR.join(self._path)

    def sub(self, segment: str) -> FieldRef:
        """A reference to ``segment`` inside this field (``finetune_series.sub("name")``)."""
        return FieldRef(PATH_SEPARATOR.join((*self._path, segment)))

    def __repr__(self) -> str:
        return f"FieldRef({self.name!r})"

    # Defining __eq__ removes the inherited hash; keep it explicit.
    __hash__ = None  # type: ignore[assignment]

    def _unary(self, test: Callable[[Any], bool], label: str) -> Predicate:
        path = self._path

        def bind(getters: GetterFactory) -> RecordPredicate:
            get = getters(path)
            return lambda record: test(get(record))

        return Predicate(bind, fields=(path[0],), label=label)

    def _binary(self, other: Any, test: Callable[[Any, Any], bool], symbol: str) -> Predicate:
        path = self._path
        if isinstance(other, FieldRef):
            other_path = other._path

            def bind_fields(getters: GetterFactory) -> RecordPredicate:
                get_left, get_right = getters(path), getters(other_path)
                return lambda record: test(get_left(record), get_right(record))

            return Predicate(
                bind_fields,
                fields=(path[0], other_path[0]),
                label=f"{self.name} {symbol} {other.name}",
            )

        def bind(getters: GetterFactory) -> RecordPredicate:
            get = getters(path)
            return lambda record: test(get(record), other)

        return Predicate(bind, fields=(path[0],), label=f"{self.name} {symbol} {other!r}")

    def __eq__(self, other: object) -> Predicate:  # type: ignore[override]
        return self._binary(other, lambda a, b: bool(a == b), "==")

    def __ne__(self, other: object) -> Predicate:  # type: ignore[override]
        return self._binary(other, lambda a, b: bool(a != b), "!=")

    def _ordering(self, op: str, other: Any) -> Predicate:
        symbol, compare = _ORDERING[op]
        label = f"{self.name} {symbol} {other.name if isinstance(other, FieldRef) else repr(other)}"
        return self._binary(other, lambda a, b: _ordered(compare, a, b, label), symbol)

    def __lt__(self, other: object) -> Predicate:
        return self._ordering("lt", other)

    def __le__(self, other: object) -> Predicate:
        return self._ordering("lte", other)

    def __gt__(self, other: object) -> Predicate:
        return self._ordering("gt", other)

    def __ge__(self, other: object) -> Predicate:
        return self._ordering("gte", other)

    def contains(self, item: object) -> Predicate:
        """The field is a non-string collection holding ``item`` (``None`` counts as empty)."""

        def test(value: Any) -> bool:
            if not is_non_string_iterable(value):
                return False
            try:
                return item in value
            except TypeError:  # an unhashable item against a set/dict field
                return False

        return self._unary(test, f"{item!r} in {self.name}")

    def is_in(self, options: Iterable[Any]) -> Predicate:
        """The field's value is one of ``options`` (a non-string iterable, else ``ValueError``)."""
        if not is_non_string_iterable(options):
            raise ValueError(f"'in' needs a non-string iterable, got {type(options).__name__}")
        listed = list(options)
        members = _Membership(listed)
        return self._unary(lambda value: value in members, f"{self.name} in {listed!r}")

    def is_none(self) -> Predicate:
        """The field's value is ``None``."""
        return self._unary(lambda value: value is None, f"{self.name} is None")

    def is_not_none(self) -> Predicate:
        """The field's value is not ``None``."""
        return self._unary(lambda value: value is not None, f"{self.name} is not None")

    def is_true(self) -> Predicate:
        """The field's value is ``True`` itself (not merely truthy)."""
        return self._unary(lambda value: value is True, f"{self.name} is True")

    def is_false(self) -> Predicate:
        """The field's value is ``False`` itself (``None`` is not false here)."""
        return self._unary(lambda value: value is False, f"{self.name} is False")

    def asc(self) -> OrderSpec:
        """Sort ascending by this field (``None`` last)."""
        return OrderSpec(self, descending=False)

    def desc(self) -> OrderSpec:
        """Sort descending by this field (``None`` first)."""
        return OrderSpec(self, descending=True)


# ---------------------------------------------------------------------------
# Field namespaces: one FieldRef per declared record field.
# ---------------------------------------------------------------------------


class GenericFields:
    """Fields every record has."""

    record_type = FieldRef("record_type")
    name = FieldRef("name")
    description = FieldRef("description")
    version = FieldRef("version")
    finetune_series = FieldRef("finetune_series")
    metadata = FieldRef("metadata")
    config = FieldRef("config")
    model_classification = FieldRef("model_classification")
    size_on_disk_bytes = FieldRef("size_on_disk_bytes")
    licensing = FieldRef("licensing")


class ImageFields(GenericFields):
    """Fields of image generation records."""

    inpainting = FieldRef("inpainting")
    baseline = FieldRef("baseline")
    optimization = FieldRef("optimization")
    tags = FieldRef("tags")
    showcases = FieldRef("showcases")
    min_bridge_version = FieldRef("min_bridge_version")
    trigger = FieldRef("trigger")
    homepage = FieldRef("homepage")
    nsfw = FieldRef("nsfw")
    style = FieldRef("style")
    requirements = FieldRef("requirements")


class TextFields(GenericFields):
    """Fields of text generation records (``parameters_count`` is serialised as ``parameters``)."""

    baseline = FieldRef("baseline")
    parameters_count = FieldRef("parameters_count")
    nsfw = FieldRef("nsfw")
    style = FieldRef("style")
    display_name = FieldRef("display_name")
    url = FieldRef("url")
    tags = FieldRef("tags")
    instruct_format = FieldRef("instruct_format")
    settings = FieldRef("settings")
    text_model_group = FieldRef("text_model_group")
    name_schema_exception = FieldRef("name_schema_exception")
    context_window = FieldRef("context_window")
    interaction_modes = FieldRef("interaction_modes")
    capabilities = FieldRef("capabilities")
    guidance = FieldRef("guidance")


class ControlNetFields(GenericFields):
    """Fields of ControlNet records."""

    controlnet_style = FieldRef("controlnet_style")


class ClipFields(GenericFields):
    """Fields of CLIP records."""

    pretrained_name = FieldRef("pretrained_name")


class VideoFields(GenericFields):
    """Fields of video generation records."""

    baseline = FieldRef("baseline")
    nsfw = FieldRef("nsfw")
    tags = FieldRef("tags")


class AudioFields(GenericFields):
    """Fields of audio generation records."""

    baseline = FieldRef("baseline")
    nsfw = FieldRef("nsfw")
    tags = FieldRef("tags")


class BlipFields(GenericFields):
    """Fields of BLIP records (the generic ones)."""


class CodeformerFields(GenericFields):
    """Fields of CodeFormer records (the generic ones)."""


class EsrganFields(GenericFields):
    """Fields of ESRGAN records (the generic ones)."""


class GfpganFields(GenericFields):
    """Fields of GFPGAN records (the generic ones)."""


class SafetyCheckerFields(GenericFields):
    """Fields of safety checker records (the generic ones)."""


class MiscellaneousFields(GenericFields):
    """Fields of miscellaneous records (the generic ones)."""
