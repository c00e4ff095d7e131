"""Delete the local test (sandbox-era) orders once the shop is live."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from checkout.services.environments import sandbox_orders_clear, spectra_environment_is_test


class Command(BaseCommand):
    help = (
        "Delete every local test order (is_test), its timeline and email ledger, and the "
        "checkout attempts that placed it. Counts only, unless --yes. Live orders are never "
        "touched; refused while CHECKOUT_SPECTRA_API_KEY is still a test key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--yes", action="store_true", help="Delete (default: count only).")

    def handle(self, *args: Any, **options: Any) -> None:
        if spectra_environment_is_test():
            raise CommandError(
                _(
                    "CHECKOUT_SPECTRA_API_KEY is a test key: these orders are still the "
                    "shop's working data. Switch to the live key first."
                )
            )
        counts = sandbox_orders_clear(dry_run=not options["yes"])
        summary = _(
            "%(orders)s test orders, %(attempts)s checkout attempts, %(events)s timeline "
            "entries, %(emails)s email ledger rows"
        ) % {
            "orders": counts.orders,
            "attempts": counts.attempts,
            "events": counts.events,
            "emails": counts.emails,
        }
        if options["yes"]:
            self.stdout.write(self.style.SUCCESS(_("Deleted %(summary)s.") % {"summary": summary}))
        else:
            self.stdout.write(
                _("Would delete %(summary)s. Run again with --yes to delete them.")
                % {"summary": summary}
            )
