"""The parts of :class:`~horde_model_reference.ModelReferenceManager`, one concern per module.

Each layer uses only the ones below it:

- :mod:`.prefetch`: the warm-up strategies and the background warm-up task.
- :mod:`.typed`: the one ``{category: record type}`` table and the typed accessors built on it;
  :mod:`.metadata`: metadata and popularity; :mod:`.freshness`: data age, source, invalidation.
- :mod:`.reads`: the public reads (``*_or_none``, raising, and their ``_async`` twins).
- :mod:`.sync_runtime` and :mod:`.async_runtime`: the HTTP clients and the locking that
  drive the core's refresh steps, once per flavour.
- :mod:`.core`: the per-category state, the refresh and the fallback chain, sans I/O.
- :mod:`.state`: the immutable per-category state and the lenient record parsing.

The public facade stays :mod:`horde_model_reference.model_reference_manager`. Nothing here
imports httpx or asyncio at import time (a local export read never needs them).
"""
