"""Reconcile local orders with Spectra now (what beat runs every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from checkout.models import Order
from checkout.services.reconcile import checkout_sweep, orders_reconcile
from checkout.services.relay import outbox_relay


class Command(BaseCommand):
    help = "Poll Spectra for every non-final order and apply what changed; then sweep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="At most this many orders this pass.")
        parser.add_argument("--no-sweep", action="store_true", help="Skip the sweep.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(order: Order, change: str) -> None:
            if options["verbosity"] >= 1:
                self.stdout.write(f"  {order.order_number}: {change}")

        self.stdout.write("Reconciling orders not yet final, oldest-synced first ...")
        result = orders_reconcile(limit=options["limit"], progress=progress)
        for error in result.errors:
            self.stderr.write(f"  {error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {result.checked}, changed {result.changed}, failed {result.failed}, "
                f"left for the next pass {result.remaining}."
            )
        )
        if result.payments_captured or result.payments_failed:
            self.stdout.write(
                f"Payments: {result.payments_captured} verified captured, "
                f"{result.payments_failed} not captured (see admin, needs attention)."
            )
        if result.budget_left is not None:
            self.stdout.write(f"Background budget left this hour: {result.budget_left} calls.")
        if result.rate_limited:
            self.stdout.write(
                self.style.WARNING(
                    f"Rate limited by Spectra: stopped; retry after {result.retry_after or '?'} s."
                )
            )
        if not options["no_sweep"]:
            sweep = checkout_sweep()
            self.stdout.write(
                f"Sweep: {sweep.events_requeued} events and {sweep.emails_requeued} emails "
                f"re-enqueued, {sweep.attempts_recovered} attempts recovered, "
                f"{sweep.outbox_published} outbox messages published."
            )
        else:
            outbox_relay()
