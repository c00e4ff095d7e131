"""Process stored webhook events again (they are idempotent: only new facts change anything)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from checkout.services.inbox import webhook_event_process, webhook_events_replay


class Command(BaseCommand):
    help = "Replay stored webhook events (all valid ones, --since, --id, or --failed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="ISO date-time, or a duration like 2h / 30m / 1d.")
        parser.add_argument("--id", type=int, nargs="+", dest="ids", help="Event ids.")
        parser.add_argument("--failed", action="store_true", help="Only failed events.")
        parser.add_argument(
            "--now",
            action="store_true",
            help="Process here and now instead of enqueueing for the workers.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = _since(options["since"]) if options["since"] else None
        if not (options["ids"] or since or options["failed"]):
            raise CommandError("Choose events with --since, --id or --failed.")
        if options["now"]:
            from checkout.models import WebhookEvent

            events = (
                WebhookEvent.objects.filter(signature_valid=True)
                .exclude(raw_body="")  # removed after its retention
                .order_by("received_at")
            )
            if options["ids"]:
                events = events.filter(pk__in=options["ids"])
            if since:
                events = events.filter(received_at__gte=since)
            if options["failed"]:
                events = events.filter(outcome=WebhookEvent.Outcome.FAILED)
            outcomes: dict[str, int] = {}
            for pk in events.values_list("pk", flat=True):
                try:
                    outcome = webhook_event_process(webhook_event_id=pk, force=True)
                except Exception as exc:
                    outcome = "failed"
                    self.stderr.write(f"event {pk}: {type(exc).__name__}: {exc}")
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                self.stdout.write(f"event {pk}: {outcome}")
            summary = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "nothing"
            self.stdout.write(self.style.SUCCESS(f"Replayed: {summary}."))
            return
        ids = webhook_events_replay(ids=options["ids"], since=since, failed_only=options["failed"])
        self.stdout.write(
            self.style.SUCCESS(f"Enqueued {len(ids)} event(s) for the workers: {ids[:50]}")
        )


def _since(value: str) -> dt.datetime:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return timezone.now() - dt.timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError("--since takes an ISO date-time or a duration like 2h.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
