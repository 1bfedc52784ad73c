"""The licensing-editor role: ``LICENSING_EDITOR_IDS`` (AI Horde user ids), independent of the queue's roles.

As in 8.6.2, the list is separate from the requestor/approver lists. Empty means nobody
may edit: a request with a key is refused with 403 before the key is sent anywhere
(DECISIONS 13). Django users hold the role through the ``licensing.edit_licensing``
permission.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from audit.models import ActorKind
from audit.services import Actor
from common.errors import DomainError
from pending_queue.auth import identity_of

EDIT_PERMISSION = "licensing.edit_licensing"
WRITES_DISABLED = (
    "Licensing writes are disabled by configuration: no licensing editor ids are set (LICENSING_EDITOR_IDS)."
)


def licensing_editor_ids() -> set[str]:
    return set(settings.LICENSING_EDITOR_IDS)


def refuse_keys_while_no_editor(request: Request) -> None:
    """A write carrying a key while no editor is configured: 403 before the key is looked up."""
    if request.META.get("HTTP_APIKEY", "").strip() and not licensing_editor_ids():
        raise DomainError(WRITES_DISABLED, status=403, code="writes_disabled")


class IsLicensingEditor(BasePermission):
    """401 for anonymous callers, 403 for a caller without the role."""

    def has_permission(self, request: Request, view: Any) -> bool:
        identity = identity_of(request)
        actor = identity.actor
        if actor.kind == ActorKind.DJANGO:
            if not request.user.has_perm(EDIT_PERMISSION):
                raise DomainError("You need the permission to edit the licensing catalog.", status=403)
            return True
        editors = licensing_editor_ids()
        if not editors:
            raise DomainError(WRITES_DISABLED, status=403, code="writes_disabled")
        if actor.id not in editors:
            raise DomainError("You are not on the licensing editor list.", status=403)
        return True


def editor_actor(request: Request) -> Actor:
    return identity_of(request).actor
