"""Warnings a web server process gives when it starts (``config.wsgi``, and so ``config.asgi``).

They concern serving only, so management commands, workers and tests stay quiet.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("config")


def warn_about_server_settings() -> None:
    if not settings.DEBUG and not settings.REDIS_URL:
        logger.warning(
            "REDIS_URL is not set: the local-memory cache is per process, so several web "
            "processes would not share cache invalidations. Set REDIS_URL in production."
        )
