"""Who is calling, and what they may do.

AI Horde users authenticate with the ``apikey`` header (checked against the AI
Horde, cached by key hash); Django users with a session or token. Roles come from
the ``REQUESTOR_IDS`` / ``APPROVER_IDS`` allowlists for Horde users and from Django
permissions for Django users. Empty allowlists mean no Horde key may write, and
the key is then not even sent to the AI Horde.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotAuthenticated, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from audit.models import ActorKind
from audit.services import Actor
from common.cache_keys import horde_user_key, key_checks_key
from common.errors import DomainError
from common.horde_api import (
    HordeUnavailableError,
    HordeUser,
    find_user,
    is_well_formed_key,
)
from common.shared_cache import CacheUnavailableError, cache_call, cache_get

READER = "reader"
REQUESTOR = "requestor"
APPROVER = "approver"
#: The Django permissions that hold the roles (the admin, the API and the key login's grants).
REQUEST_PERMISSION = "pending_queue.add_changeproposal"
APPROVE_PERMISSION = "pending_queue.approve_changeproposal"


def django_user_actor(user: Any) -> Actor:
    """A logged-in Django user as the actor of a proposal, review or apply."""
    return Actor(kind=ActorKind.DJANGO, id=str(user.pk), display_name=user.get_username())


class HordePrincipal:
    """``request.user`` for a caller identified by an AI Horde API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, user: HordeUser) -> None:
        self.horde_user = user
        self.pk = None

    def __str__(self) -> str:
        return self.horde_user.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


def requestor_ids() -> set[str]:
    """Approvers are requestors too."""
    return set(settings.REQUESTOR_IDS) | set(settings.APPROVER_IDS)


def approver_ids() -> set[str]:
    return set(settings.APPROVER_IDS)


@dataclass(frozen=True)
class Identity:
    actor: Actor
    is_requestor: bool
    is_approver: bool

    @property
    def roles(self) -> list[str]:
        return sorted(
            role for role, held in ((APPROVER, self.is_approver), (REQUESTOR, self.is_requestor)) if held
        )


def identity_of(request: Request) -> Identity:
    """The caller's identity and roles; NotAuthenticated (401) for anonymous callers."""
    user: Any = request.user
    if isinstance(user, HordePrincipal):
        horde = user.horde_user
        return Identity(
            actor=Actor(kind=ActorKind.HORDE, id=horde.user_id, display_name=horde.username),
            is_requestor=horde.user_id in requestor_ids(),
            is_approver=horde.user_id in approver_ids(),
        )
    if user is not None and getattr(user, "is_authenticated", False):
        is_approver = bool(user.has_perm(APPROVE_PERMISSION))
        return Identity(
            actor=django_user_actor(user),
            is_requestor=is_approver or bool(user.has_perm(REQUEST_PERMISSION)),
            is_approver=is_approver,
        )
    raise NotAuthenticated("Not authenticated: send an AI Horde API key in the `apikey` header")


def _writes_disabled(required_role: str) -> str | None:
    if required_role == REQUESTOR and not requestor_ids():
        return (
            "Writes are disabled by configuration: no requestor or approver ids are set "
            "(REQUESTOR_IDS / APPROVER_IDS)."
        )
    if required_role == APPROVER and not approver_ids():
        return "Approvals are disabled by configuration: no approver ids are set (APPROVER_IDS)."
    return None


def _throttle_key_checks(request: Request) -> None:
    """Limit AI Horde look-ups per client address (each unknown key costs one)."""
    address = request.META.get("REMOTE_ADDR", "unknown")
    window = int(time.time() // 60)
    key = key_checks_key(address, window)
    try:
        cache_call(lambda: cache.add(key, 0, 120))
        count = cache_call(lambda: cache.incr(key))
    except CacheUnavailableError:  # fail open: the cache is an accelerator
        return
    if count > settings.AUTH_CHECKS_PER_MINUTE:
        raise Throttled(wait=60 - time.time() % 60, detail="Too many API key checks from this address.")


class HordeApiKeyAuthentication(BaseAuthentication):
    """The ``apikey`` header, checked against the AI Horde (cached by key hash)."""

    def authenticate(self, request: Request) -> tuple[HordePrincipal, str] | None:
        apikey = request.META.get("HTTP_APIKEY", "").strip()
        if not apikey:
            return None
        if not is_well_formed_key(apikey):
            # Non-ASCII, control characters, absurd lengths: no AI Horde key looks like
            # that, and no HTTP header could carry it on to the AI Horde.
            raise DomainError("Invalid API key", status=401, code="invalid_api_key")
        view = (request.parser_context or {}).get("view")
        refusal = _writes_disabled(getattr(view, "required_role", READER))
        if refusal:
            # Fail closed without sending the key anywhere.
            raise DomainError(refusal, status=403, code="writes_disabled")
        known = cache_get(horde_user_key(apikey))
        if known is None:
            _throttle_key_checks(request)
        try:
            user = find_user(apikey)
        except HordeUnavailableError as error:
            raise DomainError(
                str(error), status=503, code="auth_unavailable", retry_after=error.retry_after
            ) from error
        if user is None:
            raise DomainError("Invalid API key", status=401, code="invalid_api_key")
        return HordePrincipal(user), apikey

    def authenticate_header(self, request: Request) -> str:
        return "APIKey"


class HasRole(BasePermission):
    """Grants the view's ``required_role`` (reader, requestor or approver)."""

    message = "You do not have the role this action needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        required = getattr(view, "required_role", READER)
        identity = identity_of(request)
        if required == READER:
            return True
        if required == REQUESTOR and not identity.is_requestor:
            if identity.actor.kind == ActorKind.DJANGO:
                raise DomainError("You need the permission to propose changes.", status=403)
            refusal = _writes_disabled(REQUESTOR)
            raise DomainError(refusal or "You are not on the pending queue requestor list.", status=403)
        if required == APPROVER and not identity.is_approver:
            if identity.actor.kind == ActorKind.DJANGO:
                raise DomainError("You need the permission to approve changes.", status=403)
            refusal = _writes_disabled(APPROVER)
            raise DomainError(refusal or "You are not on the pending queue approver list.", status=403)
        return True


def authentication_classes() -> tuple[type[BaseAuthentication], ...]:
    from rest_framework.authentication import SessionAuthentication, TokenAuthentication

    return (HordeApiKeyAuthentication, SessionAuthentication, TokenAuthentication)
