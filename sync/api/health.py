"""Health routes for operators, load balancers and Kubernetes probes.

``/api/health`` is the full report (200 while writes can be served, 503 otherwise),
``/api/health/ready`` the readiness probe (503 while the database is down or a
migration is pending), ``/api/health/live`` the liveness probe (200 while the process
answers; it asks nothing). ``/api/heartbeat`` stays the cheap poll.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import PublicReadView
from sync.health import health_report, readiness

# While the database is down or the schema is behind, a probe should come back soon.
RETRY_AFTER_SECONDS = "5"
UNAVAILABLE_DETAIL = "The service cannot serve writes: the database is unavailable or migrations are pending."
NOT_READY_DETAIL = "Not ready: the database is unavailable or migrations are pending."


class HealthCheckSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(help_text="ok, error, timeout; broker: eager without a broker")
    ms = serializers.FloatField(required=False)
    error = serializers.CharField(required=False)


class HealthChecksSerializer(serializers.Serializer[Any]):
    database = HealthCheckSerializer()
    migrations = serializers.DictField(help_text="status (ok, pending, unknown) and the pending migrations")
    cache = serializers.DictField(help_text="status and backend (redis or local)")
    broker = HealthCheckSerializer()
    ai_horde = serializers.DictField(help_text="the AI Horde circuit breaker's state")


class HealthSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["ok", "degraded", "unavailable"])
    writable = serializers.BooleanField()
    time = serializers.IntegerField(help_text="unix seconds")
    checks = HealthChecksSerializer()
    sync_runs = serializers.DictField(
        allow_null=True,
        help_text="per sync kind: the last successful run (`at`, unix seconds; `age_seconds`), or null",
    )
    audit_verification = serializers.DictField(
        allow_null=True, help_text="the last audit chain verification (status, at, age_seconds), or null"
    )
    detail = serializers.CharField(required=False, help_text="why writes cannot be served (503 only)")


class ReadinessSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["ready", "not_ready"])
    checks = serializers.DictField()
    detail = serializers.CharField(required=False)


def _unavailable(body: dict[str, Any], detail: str) -> Response:
    response = Response({"detail": detail, **body}, status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    response["Cache-Control"] = "no-store"
    return response


def _answer(body: dict[str, Any]) -> Response:
    response = Response(body)
    response["Cache-Control"] = "no-store"
    return response


class HealthReportView(PublicReadView):
    @extend_schema(
        operation_id="health",
        summary="The service's dependencies, checked for real (bounded in time)",
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(HealthSerializer, description="Writes cannot be served."),
        },
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        writable, report = health_report()
        return _answer(report) if writable else _unavailable(report, UNAVAILABLE_DETAIL)


class ReadinessView(PublicReadView):
    @extend_schema(
        operation_id="health_ready",
        summary="Readiness probe: the database answers and no migration is pending",
        responses={
            200: ReadinessSerializer,
            503: OpenApiResponse(ReadinessSerializer, description="Not ready."),
        },
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        ready, body = readiness()
        return _answer(body) if ready else _unavailable(body, NOT_READY_DETAIL)


class LivenessView(PublicReadView):
    @extend_schema(
        operation_id="health_live",
        summary="Liveness probe: the process answers (nothing else is asked)",
        responses={200: OpenApiTypes.OBJECT},
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        return _answer({"status": "alive"})
