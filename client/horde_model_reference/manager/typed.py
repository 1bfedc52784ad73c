"""The typed accessors, all built on one ``{category: record type}`` table.

Each ``<category>_models`` property and ``query_<category>`` method is a one-line
delegation naming only its record type; :data:`TYPED_CATEGORIES` says which category
that type belongs to. They are written out (rather than generated at import) so that
type checkers and editors see every name with its exact return type.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeVar, cast, overload

from horde_model_reference.manager.reads import ReferenceReads
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import (
    AudioGenerationModelRecord,
    BlipModelRecord,
    ClipModelRecord,
    CodeformerModelRecord,
    ControlNetAnnotatorModelRecord,
    ControlNetModelRecord,
    EsrganModelRecord,
    GenericModelRecord,
    GfpganModelRecord,
    ImageGenerationModelRecord,
    MiscellaneousModelRecord,
    SafetyCheckerModelRecord,
    TextGenerationModelRecord,
    VideoGenerationModelRecord,
    get_record_type_for_category,
)

if TYPE_CHECKING:
    from horde_model_reference.query import (
        AnyFieldName,
        AudioGenFieldName,
        ClipFieldName,
        ControlNetQuery,
        GenericFieldName,
        ImageGenerationQuery,
        ModelQuery,
        TextModelQuery,
        VideoGenFieldName,
    )

TModelRecord = TypeVar("TModelRecord", bound=GenericModelRecord)

_C = MODEL_REFERENCE_CATEGORY

#: The record class of each category that has typed accessors (``lora`` and ``ti`` are
#: managed elsewhere and have none).
TYPED_CATEGORIES: Final[Mapping[MODEL_REFERENCE_CATEGORY, type[GenericModelRecord]]] = MappingProxyType(
    {
        _C.blip: BlipModelRecord,
        _C.clip: ClipModelRecord,
        _C.codeformer: CodeformerModelRecord,
        _C.controlnet: ControlNetModelRecord,
        _C.controlnet_annotator: ControlNetAnnotatorModelRecord,
        _C.esrgan: EsrganModelRecord,
        _C.gfpgan: GfpganModelRecord,
        _C.safety_checker: SafetyCheckerModelRecord,
        _C.image_generation: ImageGenerationModelRecord,
        _C.text_generation: TextGenerationModelRecord,
        _C.audio_generation: AudioGenerationModelRecord,
        _C.video_generation: VideoGenerationModelRecord,
        _C.miscellaneous: MiscellaneousModelRecord,
    }
)

_CATEGORY_OF_RECORD_TYPE: Final = {
    record_type: category for category, record_type in TYPED_CATEGORIES.items()
}


class TypedReads(ReferenceReads):
    """``manager.<category>_models`` and ``manager.query_<category>()``, typed per category."""

    def _typed(self, record_type: type[TModelRecord]) -> dict[str, TModelRecord]:
        # Every record was validated with the category's registered class, so this is a
        # view, not a copy: a typed property costs no more than get_model_reference.
        return cast(dict[str, TModelRecord], self.get_model_reference(_CATEGORY_OF_RECORD_TYPE[record_type]))

    def _plain_query(self, record_type: type[TModelRecord]) -> ModelQuery[TModelRecord, str]:
        from horde_model_reference.query import build_query

        return build_query(self._typed(record_type), record_type)

    # ------------------------------------------------------------------ typed properties

    @property
    def blip_models(self) -> dict[str, BlipModelRecord]:
        """BLIP models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(BlipModelRecord)

    @property
    def clip_models(self) -> dict[str, ClipModelRecord]:
        """CLIP models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(ClipModelRecord)

    @property
    def codeformer_models(self) -> dict[str, CodeformerModelRecord]:
        """CodeFormer models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(CodeformerModelRecord)

    @property
    def controlnet_models(self) -> dict[str, ControlNetModelRecord]:
        """ControlNet models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(ControlNetModelRecord)

    @property
    def controlnet_annotator_models(self) -> dict[str, ControlNetAnnotatorModelRecord]:
        """ControlNet annotators by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(ControlNetAnnotatorModelRecord)

    @property
    def esrgan_models(self) -> dict[str, EsrganModelRecord]:
        """ESRGAN models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(EsrganModelRecord)

    @property
    def gfpgan_models(self) -> dict[str, GfpganModelRecord]:
        """GFPGAN models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(GfpganModelRecord)

    @property
    def safety_checker_models(self) -> dict[str, SafetyCheckerModelRecord]:
        """Safety checker models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(SafetyCheckerModelRecord)

    @property
    def image_generation_models(self) -> dict[str, ImageGenerationModelRecord]:
        """Image generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(ImageGenerationModelRecord)

    @property
    def text_generation_models(self) -> dict[str, TextGenerationModelRecord]:
        """Text generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(TextGenerationModelRecord)

    @property
    def audio_generation_models(self) -> dict[str, AudioGenerationModelRecord]:
        """Audio generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(AudioGenerationModelRecord)

    @property
    def video_generation_models(self) -> dict[str, VideoGenerationModelRecord]:
        """Video generation models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(VideoGenerationModelRecord)

    @property
    def miscellaneous_models(self) -> dict[str, MiscellaneousModelRecord]:
        """Miscellaneous models by name (raises ``RuntimeError`` when unavailable)."""
        return self._typed(MiscellaneousModelRecord)

    # ------------------------------------------------------------------ queries

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["image_generation", MODEL_REFERENCE_CATEGORY.image_generation]
    ) -> ImageGenerationQuery: ...

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["text_generation", MODEL_REFERENCE_CATEGORY.text_generation]
    ) -> TextModelQuery: ...

    @overload
    def query(  # type: ignore[overload-overlap]
        self, category: Literal["controlnet", MODEL_REFERENCE_CATEGORY.controlnet]
    ) -> ControlNetQuery: ...

    @overload
    def query(
        self, category: MODEL_REFERENCE_CATEGORY | str
    ) -> ModelQuery[GenericModelRecord, AnyFieldName]: ...

    def query(
        self, category: MODEL_REFERENCE_CATEGORY | str
    ) -> (
        ImageGenerationQuery | TextModelQuery | ControlNetQuery | ModelQuery[GenericModelRecord, AnyFieldName]
    ):
        """A query builder over one category's records.

        ``image_generation``, ``text_generation`` and ``controlnet`` give their typed
        builders (:class:`ImageGenerationQuery`, :class:`TextModelQuery`,
        :class:`ControlNetQuery`); other categories a plain :class:`ModelQuery`.
        Example: ``manager.query("image_generation").where(nsfw=False).limit(5).to_list()``.

        Raises:
            RuntimeError: When the category's data is unavailable.
        """
        from horde_model_reference.query import build_query

        member = self._category(category)
        if member == MODEL_REFERENCE_CATEGORY.image_generation:
            return self.query_image_generation()
        if member == MODEL_REFERENCE_CATEGORY.text_generation:
            return self.query_text_generation()
        if member == MODEL_REFERENCE_CATEGORY.controlnet:
            return self.query_controlnet()
        return build_query(self.get_model_reference(member), get_record_type_for_category(member))

    def query_all(self) -> ModelQuery[GenericModelRecord, AnyFieldName]:
        """A query builder over every available category at once (unavailable ones are left out)."""
        from horde_model_reference.query import build_cross_category_query

        return build_cross_category_query(self.get_all_model_references_or_none())

    def query_image_generation(self) -> ImageGenerationQuery:
        """A typed query builder over image generation models."""
        from horde_model_reference.query import build_image_query

        return build_image_query(self.image_generation_models)

    def query_text_generation(self) -> TextModelQuery:
        """A typed query builder over text generation models."""
        from horde_model_reference.query import build_text_query

        return build_text_query(self.text_generation_models)

    def query_controlnet(self) -> ControlNetQuery:
        """A typed query builder over ControlNet models."""
        from horde_model_reference.query import build_controlnet_query

        return build_controlnet_query(self.controlnet_models)

    def query_blip(self) -> ModelQuery[BlipModelRecord, GenericFieldName]:
        """A query builder over BLIP models."""
        return self._plain_query(BlipModelRecord)

    def query_clip(self) -> ModelQuery[ClipModelRecord, ClipFieldName]:
        """A query builder over CLIP models."""
        return self._plain_query(ClipModelRecord)

    def query_codeformer(self) -> ModelQuery[CodeformerModelRecord, GenericFieldName]:
        """A query builder over CodeFormer models."""
        return self._plain_query(CodeformerModelRecord)

    def query_controlnet_annotator(self) -> ModelQuery[ControlNetAnnotatorModelRecord, str]:
        """A query builder over ControlNet annotators."""
        return self._plain_query(ControlNetAnnotatorModelRecord)

    def query_esrgan(self) -> ModelQuery[EsrganModelRecord, GenericFieldName]:
        """A query builder over ESRGAN models."""
        return self._plain_query(EsrganModelRecord)

    def query_gfpgan(self) -> ModelQuery[GfpganModelRecord, GenericFieldName]:
        """A query builder over GFPGAN models."""
        return self._plain_query(GfpganModelRecord)

    def query_safety_checker(self) -> ModelQuery[SafetyCheckerModelRecord, GenericFieldName]:
        """A query builder over safety checker models."""
        return self._plain_query(SafetyCheckerModelRecord)

    def query_audio_generation(self) -> ModelQuery[AudioGenerationModelRecord, AudioGenFieldName]:
        """A query builder over audio generation models."""
        return self._plain_query(AudioGenerationModelRecord)

    def query_video_generation(self) -> ModelQuery[VideoGenerationModelRecord, VideoGenFieldName]:
        """A query builder over video generation models."""
        return self._plain_query(VideoGenerationModelRecord)

    def query_miscellaneous(self) -> ModelQuery[MiscellaneousModelRecord, GenericFieldName]:
        """A query builder over miscellaneous models."""
        return self._plain_query(MiscellaneousModelRecord)
