"""The scheduled audit-chain verification, recorded as a ``SyncRun`` of kind ``audit_verify``.

The Celery tasks live in ``sync`` (STYLE: sync holds them); ``sync`` sits above
``audit`` in the layers, so it may call ``audit.selectors.audit_chain_verify`` while
the audit app stays free of run bookkeeping.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from audit.selectors import audit_chain_verify
from sync.models import SyncRun
from sync.services.runs import lease_holder, run_finish, run_skipped, sync_lease_acquire, sync_lease_release

logger = logging.getLogger(__name__)


def audit_verify_run(*, trigger: str) -> SyncRun:
    """Walk the chain once; ``succeeded`` when it verifies, ``failed`` naming the first bad event.

    A broken chain is an outcome, not an error: the run is recorded as failed and the
    task does not retry (retrying cannot mend it). Any other error is recorded and re-raised.
    """
    kind = SyncRun.Kind.AUDIT_VERIFY
    holder = lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return run_skipped(kind=kind, trigger=trigger, dry_run=False, source="audit chain")
    run = SyncRun.objects.create(kind=kind, trigger=trigger, source="audit chain", started_at=timezone.now())
    try:
        result = audit_chain_verify()
    except Exception as error:
        logger.exception("audit verification run %s failed", run.pk)
        run_finish(
            run, status=SyncRun.Status.FAILED, counts={}, log="", error=f"{type(error).__name__}: {error}"
        )
        raise
    finally:
        sync_lease_release(kind=kind, holder=holder)
    counts = {"events_checked": result.events_checked, "first_bad_sequence": result.first_bad_sequence}
    if result.ok:
        log = f"{result.events_checked} event(s) checked, head hash {result.head_hash}"
        return run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, log=log)
    broken = f"event {result.first_bad_sequence}: {result.reason} ({result.detail})"
    logger.error("audit chain verification failed at %s", broken)
    log = f"{result.events_checked} event(s) verified before the first bad one"
    return run_finish(run, status=SyncRun.Status.FAILED, counts=counts, log=log, error=broken)


def audit_verify_enqueue(*, trigger: str) -> bool:
    """Send ``audit.verify_chain`` to the workers (run it here in eager mode); never raises."""
    from sync.tasks import verify_audit_chain

    try:
        verify_audit_chain.apply_async(kwargs={"trigger": trigger})
    except Exception:
        logger.exception("could not run or enqueue an audit verification")
        return False
    return True
