"""Warnings a web server process gives when it starts (``config.wsgi``, and so ``config.asgi``).

They concern serving only, so management commands, workers and tests stay quiet.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("config")


def server_settings_problems() -> list[str]:
    """What in the settings is wrong for a server that may run beside others."""
    problems = []
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(
            "REDIS_URL is not set: the local-memory cache is per process, so several web "
            "processes would not share cache invalidations. Set REDIS_URL in production."
        )
    return problems


def warn_about_server_settings() -> None:
    for problem in server_settings_problems():
        logger.warning(problem)
