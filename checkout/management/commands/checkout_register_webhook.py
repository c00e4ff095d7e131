"""Register this site's webhook URL with Spectra and show the signing secret once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from checkout.exceptions import SpectraError
from checkout.services.spectra import get_spectra_client


class Command(BaseCommand):
    help = "Register a webhook URL with Spectra; prints the secret for CHECKOUT_WEBHOOK_SECRET."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="Public URL of /webhooks/spectra/.")
        parser.add_argument(
            "--events", nargs="+", default=["*"], help="Events to subscribe to (default: all)."
        )

    def handle(self, *args: Any, url: str, events: list[str], **options: Any) -> None:
        if not url.startswith(("https://", "http://")):
            raise CommandError("--url must be an absolute http(s) URL.")
        self.stdout.write(f"Registering {url} for {', '.join(events)} ...")
        try:
            subscription = get_spectra_client().register_webhook(url=url, events=events)
        except SpectraError as exc:
            raise CommandError(f"Spectra refused the registration: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Registered webhook {subscription.id}."))
        if not subscription.secret:
            self.stdout.write(self.style.WARNING("Spectra returned no secret."))
            return
        # Printed to the terminal only (never logged): Spectra shows it this one time.
        self.stdout.write(
            "\nSigning secret (shown once, store it now):\n\n"
            f"    {subscription.secret}\n\n"
            "Set it in the environment of every web process and restart them:\n"
            "    CHECKOUT_WEBHOOK_SECRET=<the secret above>\n"
        )
