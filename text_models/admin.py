"""Aliases, families and naming schemas in the admin.

Every save and delete here calls ``text_models.services`` as the logged-in user (source
``admin``), so an admin edit is validated and audited exactly like an API write; a
refusal (409, 404, 422) is shown as a form error or a message and changes nothing.
Django's model permissions decide who may edit.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import ActorKind, EventSource
from audit.services import Actor
from common.errors import DomainError
from text_models import selectors, services
from text_models.models import TextGroupAlias, TextGroupNameSchema, TextModelFamily

ADMIN = EventSource.ADMIN


def _actor(request: HttpRequest) -> Actor:
    user: Any = request.user
    return Actor(kind=ActorKind.DJANGO, id=str(user.pk), display_name=user.get_username())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class ServiceForm(forms.ModelForm):  # type: ignore[type-arg]
    """A model form whose ``save_through_services`` runs in ``clean``, so a refusal is a form error."""

    request: HttpRequest | None = None
    original: Any = None

    def save_through_services(self, actor: Actor) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def validate_unique(self) -> None:
        # Uniqueness is the services' and the database's call. Checked after clean(), it
        # would find the row the service has just written and show an error page over a
        # committed change.
        return None

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors or self.request is None:
            return cleaned
        try:
            self.save_through_services(_actor(self.request))
        except DomainError as error:
            raise forms.ValidationError(str(error)) from error
        return cleaned


class AliasForm(ServiceForm):
    class Meta:
        model = TextGroupAlias
        fields = ("canonical", "alias")

    def save_through_services(self, actor: Actor) -> None:
        canonical, alias = self.cleaned_data["canonical"], self.cleaned_data["alias"]
        if self.original is not None and (self.original.canonical, self.original.alias) != (canonical, alias):
            services.alias_remove(
                canonical=self.original.canonical, alias=self.original.alias, actor=actor, source=ADMIN
            )
        services.alias_add(canonical=canonical, alias=alias, actor=actor, source=ADMIN)


class FamilyForm(ServiceForm):
    member_groups = forms.CharField(
        widget=forms.Textarea, help_text="One group name per line (or comma-separated)."
    )

    class Meta:
        model = TextModelFamily
        fields = ("name",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            entry = selectors.family_entry(family_name=self.instance.name)
            self.fields["member_groups"].initial = "\n".join(entry["members"] if entry else [])

    def save_through_services(self, actor: Actor) -> None:
        name = self.cleaned_data["name"]
        if self.original is not None and self.original.name != name:
            services.family_delete(family_name=self.original.name, actor=actor, source=ADMIN)
        services.family_set(
            family_name=name, members=_lines(self.cleaned_data["member_groups"]), actor=actor, source=ADMIN
        )


class NameSchemaForm(ServiceForm):
    part_order_text = forms.CharField(
        label="Part order", required=False, help_text="Part labels (base, size, variant...), one per line."
    )
    extra_parts_text = forms.CharField(label="Extra parts", required=False)

    class Meta:
        model = TextGroupNameSchema
        fields = ("group_name", "separator", "author_included", "common_author", "template")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["part_order_text"].initial = "\n".join(self.instance.part_order)
            self.fields["extra_parts_text"].initial = "\n".join(self.instance.extra_parts)

    def save_through_services(self, actor: Actor) -> None:
        data = self.cleaned_data
        changes = {
            "separator": data["separator"],
            "author_included": data["author_included"],
            "common_author": data["common_author"] or None,
            "template": data["template"] or None,
            "part_order": _lines(data["part_order_text"]),
            "extra_parts": _lines(data["extra_parts_text"]),
        }
        if self.original is not None and self.original.group_name != data["group_name"]:
            services.name_schema_delete(group_name=self.original.group_name, actor=actor, source=ADMIN)
        services.name_schema_set(group_name=data["group_name"], changes=changes, actor=actor, source=ADMIN)


class ServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Writes go through the form's services call; the model admin itself saves nothing."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form: Any = super().get_form(request, obj, change=change, **kwargs)
        original = None
        if obj is not None and obj.pk:
            original = type(obj).objects.get(pk=obj.pk)
        return type(form.__name__, (form,), {"request": request, "original": original})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Already written by the form's clean(); load the row the service wrote so the
        # admin's success message and redirect point at it.
        written = self.written_row(form)
        if written is not None:
            obj.pk = written.pk

    def written_row(self, form: Any) -> Any:  # pragma: no cover - overridden
        return None

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            self.delete_through_services(obj, _actor(request))
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in list(queryset):
            self.delete_model(request, obj)

    def delete_through_services(self, obj: Any, actor: Actor) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


@admin.register(TextGroupAlias)
class TextGroupAliasAdmin(ServiceAdmin):
    form = AliasForm
    list_display = ("alias", "canonical")
    search_fields = ("alias", "canonical")

    def written_row(self, form: Any) -> Any:
        return TextGroupAlias.objects.filter(alias=form.cleaned_data["alias"]).first()

    def delete_through_services(self, obj: Any, actor: Actor) -> None:
        services.alias_remove(canonical=obj.canonical, alias=obj.alias, actor=actor, source=ADMIN)


@admin.register(TextModelFamily)
class TextModelFamilyAdmin(ServiceAdmin):
    form = FamilyForm
    list_display = ("name", "member_list")
    # Members are edited as the form's list (one call to family_set), not as inline rows:
    # an inline formset validated after the service has written could show an error
    # page over a committed change.
    search_fields = ("name", "members__group_name")

    @admin.display(description="Members")
    def member_list(self, obj: TextModelFamily) -> str:
        return ", ".join(obj.members.order_by("group_name").values_list("group_name", flat=True))

    def written_row(self, form: Any) -> Any:
        return TextModelFamily.objects.filter(name=form.cleaned_data["name"]).first()

    def delete_through_services(self, obj: Any, actor: Actor) -> None:
        services.family_delete(family_name=obj.name, actor=actor, source=ADMIN)


@admin.register(TextGroupNameSchema)
class TextGroupNameSchemaAdmin(ServiceAdmin):
    form = NameSchemaForm
    list_display = ("group_name", "separator", "template")
    search_fields = ("group_name",)

    def written_row(self, form: Any) -> Any:
        return TextGroupNameSchema.objects.filter(group_name=form.cleaned_data["group_name"]).first()

    def delete_through_services(self, obj: Any, actor: Actor) -> None:
        services.name_schema_delete(group_name=obj.group_name, actor=actor, source=ADMIN)
