"""Warnings a web server process gives when it starts (``config.wsgi``, and so ``config.asgi``).

They concern serving only, so management commands, workers and tests stay quiet.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("config")


def warn_about_server_settings() -> None:
    if settings.DEBUG or settings.REDIS_URL:
        return
    if "sqlite" in settings.DATABASES["default"]["ENGINE"] and settings.REVISION_SIGNAL_DIR:
        logger.warning(
            "REDIS_URL is not set: processes learn each other's changes from the revision files "
            "in %s, which works for processes on this host only. Set REDIS_URL in production.",
            settings.REVISION_SIGNAL_DIR,
        )
    else:
        logger.warning(
            "REDIS_URL is not set: every read not answered from memory checks the revision in the "
            "database, and the local-memory cache is per process. Set REDIS_URL in production."
        )
