"""Approvers and requestors log in to the admin with their AI Horde API key.

The key is sent to the AI Horde (``common.horde_api.find_user``: cached by key hash,
behind the breaker and the look-up slots) to learn whose it is; the key itself is
never stored or logged. A user on ``APPROVER_IDS`` / ``REQUESTOR_IDS`` gets a Django
user ``horde:<id>`` (unusable password, staff) whose permissions are recomputed from
the allowlists at every login, so an id removed from a list loses its rights at its
next login attempt; a user on no list cannot log in.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from rest_framework.exceptions import Throttled

from common.cache_keys import horde_user_key
from common.horde_api import (
    HordeUnavailableError,
    HordeUser,
    find_user,
    is_well_formed_key,
)
from common.shared_cache import cache_get
from pending_queue.auth import (
    APPROVE_PERMISSION,
    REQUEST_PERMISSION,
    _throttle_key_checks,
    approver_ids,
    requestor_ids,
)

USERNAME_PREFIX = "horde:"


def _app_and_codename(permission: str) -> tuple[str, str]:
    app_label, _, codename = permission.partition(".")
    return app_label, codename


# (app_label, codename) per role; approvers hold the requestors' too.
REQUESTOR_PERMISSIONS = (
    _app_and_codename(REQUEST_PERMISSION),
    ("pending_queue", "view_changeproposal"),
    ("references", "view_modelrecord"),
)
APPROVER_PERMISSIONS = (
    *REQUESTOR_PERMISSIONS,
    _app_and_codename(APPROVE_PERMISSION),
    ("pending_queue", "view_batch"),
    ("sync", "view_syncrun"),
    ("sync", "view_downloadlinkcheck"),
)


def horde_username(user_id: str) -> str:
    return f"{USERNAME_PREFIX}{user_id}"


def _permissions(pairs: tuple[tuple[str, str], ...]) -> list[Permission]:
    query = Q(pk__in=[])
    for app_label, codename in pairs:
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


@transaction.atomic
def horde_staff_user_sync(*, horde_user: HordeUser) -> User | None:
    """The Django user of ``horde_user`` with rights from the allowlists now; None if on no list.

    A user removed from every list keeps its row (its name stays on past reviews) but
    loses staff status and every permission.
    """
    is_approver = horde_user.user_id in approver_ids()
    is_requestor = horde_user.user_id in requestor_ids()
    username = horde_username(horde_user.user_id)
    user = User.objects.select_for_update().filter(username=username).first()
    if not (is_approver or is_requestor):
        if user is not None:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
            user.user_permissions.clear()
        return None
    if user is None:
        user = User(username=username)
        user.set_unusable_password()
    # The display name follows the AI Horde's (it may be renamed there).
    user.first_name = horde_user.username[:150]
    user.is_staff = True
    user.is_active = True
    user.save()
    user.user_permissions.set(_permissions(APPROVER_PERMISSIONS if is_approver else REQUESTOR_PERMISSIONS))
    return user


class HordeApiKeyBackend(BaseBackend):
    """``authenticate(request, horde_api_key=...)``: the AI Horde says whose key it is.

    Raises ``HordeUnavailableError`` (not caught by ``django.contrib.auth.authenticate``)
    when the AI Horde cannot say, so the login form can tell "try again" from "refused".
    """

    def authenticate(
        self, request: HttpRequest | None, horde_api_key: str | None = None, **_: Any
    ) -> User | None:
        if not horde_api_key:
            return None
        key = horde_api_key.strip()
        if not is_well_formed_key(key):
            return None
        if not requestor_ids():
            return None  # fail closed, without sending the key anywhere
        horde_user = find_user(key)
        if horde_user is None:
            return None
        return horde_staff_user_sync(horde_user=horde_user)

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


class HordeKeyLoginForm(AdminAuthenticationForm):
    """The admin login: username and password, or an AI Horde API key."""

    horde_api_key = forms.CharField(
        label="AI Horde API key",
        required=False,
        strip=True,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "id": "id_horde_api_key"}),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "horde_refused": (
            "This AI Horde API key is not valid, or its user is not on the approver or requestor list."
        ),
        "horde_throttled": "Too many API key checks from this address; try again in a minute.",
        "horde_unavailable": (
            "The AI Horde could not be asked who this key belongs to (%(reason)s). Try again shortly."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].required = False
        self.fields["password"].required = False

    def clean(self) -> dict[str, Any]:
        key = self.cleaned_data.get("horde_api_key") or ""
        if not key:
            if not self.cleaned_data.get("username") or not self.cleaned_data.get("password"):
                raise self.get_invalid_login_error()
            return super().clean()
        try:
            # The same per-address budget as the API: each unknown key costs an AI Horde call.
            if self.request is not None and cache_get(horde_user_key(key)) is None:
                _throttle_key_checks(self.request)  # type: ignore[arg-type]
        except Throttled:
            raise forms.ValidationError(
                self.error_messages["horde_throttled"], code="horde_throttled"
            ) from None
        try:
            user = authenticate(self.request, horde_api_key=key)
        except HordeUnavailableError as error:
            raise forms.ValidationError(
                self.error_messages["horde_unavailable"],
                code="horde_unavailable",
                params={"reason": str(error)},
            ) from None
        if user is None:
            raise forms.ValidationError(self.error_messages["horde_refused"], code="horde_refused")
        self.user_cache = user
        self.confirm_login_allowed(user)
        return self.cleaned_data
