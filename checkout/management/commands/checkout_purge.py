"""``manage.py checkout_purge``: remove personal data past its retention (see the service).

The beat task ``checkout.tasks.personal_data_purge`` runs the same every day; this command
is for a first run, a changed retention, or to see with ``--dry-run`` what would go.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from checkout.conf import app_settings
from checkout.services.retention import personal_data_purge


def _days(setting: str) -> str:
    days = app_settings.retention_days(setting)
    if days is None:
        return _("kept for good")
    return _("after %(days)d days") % {"days": days}


class Command(BaseCommand):
    # A plain string: argparse formats the description with ``re`` (see checkout_doctor).
    help = (
        "Delete or anonymize personal data the checkout no longer needs: abandoned checkout "
        "attempts, handled webhooks' raw bodies and published outbox rows, each after its "
        "CHECKOUT_RETENTION_*_DAYS. Orders are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Count what would be removed, and change nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        result = personal_data_purge(dry_run=dry_run)
        lines = [
            (
                _("Abandoned checkout attempts deleted (no payment tried, %(when)s)"),
                result.attempts_deleted,
                "ATTEMPT",
            ),
            (
                _("Abandoned checkout attempts anonymized (a payment was tried, %(when)s)"),
                result.attempts_anonymized,
                "ATTEMPT",
            ),
            (
                _("Webhook raw bodies and headers removed (handled, %(when)s)"),
                result.webhook_bodies_removed,
                "WEBHOOK_BODY",
            ),
            (
                _("Outbox rows deleted (published, %(when)s)"),
                result.outbox_rows_deleted,
                "OUTBOX",
            ),
        ]
        if dry_run:
            self.stdout.write(_("Dry run: nothing is changed."))
        for label, count, setting in lines:
            self.stdout.write(f"{count:>7}  {label % {'when': _days(setting)}}")
        if dry_run:
            done = _("%(n)d row(s) would change.") % {"n": result.total}
        else:
            done = _("%(n)d row(s) changed.") % {"n": result.total}
        self.stdout.write(self.style.SUCCESS(done))
