"""The Celery application. Tasks live in ``sync/tasks.py``; beat schedules them."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("horde_model_reference")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id travels with every task (common.request_id); connected here so the
# web process (which publishes) and the worker (which runs) both have the handlers.
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun  # noqa: E402

from common.request_id import (  # noqa: E402
    celery_publish_with_request_id,
    celery_task_ends,
    celery_task_starts,
)

before_task_publish.connect(celery_publish_with_request_id, weak=False)
task_prerun.connect(celery_task_starts, weak=False)
task_postrun.connect(celery_task_ends, weak=False)


@setup_logging.connect(weak=False)
def use_django_logging(**_: object) -> None:
    """Workers log as the web processes do: request ids, redaction, LOG_FORMAT."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
