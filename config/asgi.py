"""ASGI entry point, the production set-up:

    gunicorn config.asgi:application --worker-class uvicorn_worker.UvicornWorker --workers 2

uvicorn parses HTTP in C (httptools) on an event loop (uvloop), and the hot reads
are answered there from memory (``references.fast_path.AsgiDocumentFastPath``).
Every other request goes to Django's WSGI application, run by a2wsgi in a thread
pool of ``WSGI_THREADS`` threads per process, so Django behaves exactly as under a
threaded WSGI server (persistent database connections included).
"""

from a2wsgi import WSGIMiddleware
from django.conf import settings

from config.wsgi import application as wsgi_application
from references.fast_path import AsgiDocumentFastPath
from sync.fast_path import AsgiStatisticsFastPath

# a2wsgi types environs, scopes and messages as TypedDicts; ours are plain mappings.
django_application = WSGIMiddleware(wsgi_application, workers=settings.WSGI_THREADS)  # type: ignore[arg-type]
application = AsgiDocumentFastPath(AsgiStatisticsFastPath(django_application))  # type: ignore[arg-type]
