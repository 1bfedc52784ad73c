"""WSGI entry point: Django behind the in-memory fast path.

Production serves ``config.asgi`` (which runs this application for everything the
event loop does not answer); ``gunicorn config.wsgi:application --worker-class
gthread`` serves it directly, about half as fast on hot reads.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from config.startup import warn_about_server_settings  # noqa: E402

warn_about_server_settings()

# Imported after Django is set up: it reads settings and the document cache.
from references.fast_path import DocumentFastPath  # noqa: E402

application = DocumentFastPath(django_application)
