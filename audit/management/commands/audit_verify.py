"""``manage.py audit_verify``: walk the whole audit chain; non-zero at the first bad event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain from the first event to the head. Prints the number of "
        "events checked and the head hash; exits 1 naming the first event whose hash or link to the "
        "previous event does not match (and what did not match)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(
                f"audit chain broken at event {result.first_bad_sequence}: {result.reason} "
                f"({result.detail}); {result.events_checked} event(s) before it verified"
            )
        self.stdout.write(
            f"audit chain ok: {result.events_checked} event(s) checked, head hash {result.head_hash}"
        )
