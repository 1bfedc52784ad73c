"""The one domain error type; the API maps it to the established error shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on: carries the HTTP status and a ``detail``.

    ``detail`` is a string, or for validation errors (422) the established list of
    ``{"loc": [...], "msg": str, "type": str}`` items.
    """

    def __init__(
        self,
        detail: str | list[dict[str, Any]],
        *,
        status: int = 400,
        code: str = "",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else "validation error")
        self.detail = detail
        self.status = status
        #: Seconds, sent as ``Retry-After`` (a 503 says when trying again makes sense).
        self.retry_after = retry_after
        self.code = code or {
            400: "bad_request",
            404: "not_found",
            409: "conflict",
            413: "too_large",
            422: "validation_error",
        }.get(status, "error")

    def __str__(self) -> str:
        if isinstance(self.detail, str):
            return self.detail
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}" for item in self.detail
        )
