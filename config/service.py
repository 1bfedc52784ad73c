"""Service-level routes: welcome, heartbeat, replicate mode.

They describe the whole service, not one app, so they live with the URL configuration:
the heartbeat reads what ``sync`` knows of the AI Horde and of the audit verification.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import PublicReadView
from common.health import CACHE_BREAKER, DATABASE_BREAKER
from sync.selectors import ai_horde_health, audit_verification_latest


class RootView(PublicReadView):
    @extend_schema(operation_id="root", responses={200: OpenApiTypes.OBJECT}, tags=["service"])
    def get(self, request: Request) -> Response:
        message = "Welcome to the Horde Model Reference API. See `/api/docs` for interactive documentation."
        return Response({"message": message})


class HeartbeatView(PublicReadView):
    @extend_schema(operation_id="heartbeat", responses={200: OpenApiTypes.OBJECT}, tags=["service"])
    def get(self, request: Request) -> Response:
        # What this process already knows from its breakers: polling the heartbeat
        # must not add a round trip to Redis, nor more than one small database read
        # per process per minute (the last audit verification, cached in memory).
        shared_cache = bool(settings.REDIS_URL)
        cache_state = (
            {"backend": "redis", **CACHE_BREAKER.state()}
            if shared_cache
            else {
                "backend": "local",
                "degraded": False,
                "consecutive_failures": 0,
                "seconds_until_retry": None,
            }
        )
        degraded = (shared_cache and CACHE_BREAKER.is_open) or DATABASE_BREAKER.is_open
        return Response(
            {
                "status": "degraded" if degraded else "ok",
                "ai_horde": ai_horde_health(),
                "cache": cache_state,
                "database": DATABASE_BREAKER.state(),
                # At most one indexed query per process per minute (cached in memory).
                "audit_verification": audit_verification_latest(),
            }
        )


class ReplicateModeView(PublicReadView):
    @extend_schema(operation_id="replicate_mode", responses={200: OpenApiTypes.OBJECT}, tags=["service"])
    def get(self, request: Request) -> Response:
        # This service is always the PRIMARY: every change is made and stored here.
        return Response({"replicate_mode": "PRIMARY", "canonical_format": "v2", "writable": True})
