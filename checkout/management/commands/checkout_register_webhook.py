"""Register this site's webhook URL with Spectra and show the signing secret once.

Idempotent: Spectra shows a subscription's secret only when it is created, so a second
run cannot reuse an old subscription's secret. It creates the new subscription first,
then deletes every other subscription to the same URL, so afterwards exactly one delivers
there, signed with the secret just printed; none is left signing with a secret the site
does not have (its deliveries would all be refused with 401).

Listing and deleting subscriptions (``GET /webhooks``, ``DELETE /webhooks/{id}``) are not
in Spectra's docs. Where the API has no list, the command still registers and prints the
secret, and says that an earlier subscription to the URL must be deleted in the Spectra
dashboard.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from checkout.exceptions import SpectraError, SpectraNotFound
from checkout.services.spectra import get_spectra_client
from checkout.services.stripe_webhooks import same_webhook_url


class Command(BaseCommand):
    help = (
        "Register a webhook URL with Spectra (replacing any earlier registration of the same "
        "URL); prints the secret for CHECKOUT_WEBHOOK_SECRET."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            required=True,
            help="Public URL of the checkout's webhooks/spectra/ endpoint.",
        )
        parser.add_argument(
            "--events", nargs="+", default=["*"], help="Events to subscribe to (default: all)."
        )

    def handle(self, *args: Any, url: str, events: list[str], **options: Any) -> None:
        if not url.startswith(("https://", "http://")):
            raise CommandError("--url must be an absolute http(s) URL.")
        client = get_spectra_client()
        listed = True
        try:
            earlier = [h for h in client.list_webhooks() if same_webhook_url(h.url, url)]
        except SpectraNotFound:
            listed, earlier = False, []  # no list route: nothing to compare against
        except SpectraError as exc:
            raise CommandError(f"Could not list the webhooks registered: {exc}") from exc
        self.stdout.write(f"Registering {url} for {', '.join(events)} ...")
        try:
            subscription = client.register_webhook(url=url, events=events)
        except SpectraError as exc:
            raise CommandError(f"Spectra refused the registration: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Registered webhook {subscription.id}."))
        if subscription.secret:
            # Printed to the terminal only (never logged): Spectra shows it this one time.
            self.stdout.write(
                "\nSigning secret (shown once, store it now):\n\n"
                f"    {subscription.secret}\n\n"
                "Set it in the environment of every web process and restart them:\n"
                "    CHECKOUT_WEBHOOK_SECRET=<the secret above>\n"
            )
        else:
            self.stdout.write(self.style.WARNING("Spectra returned no secret."))
        if not listed:
            self.stdout.write(
                self.style.WARNING(
                    "Spectra offers no list of webhook subscriptions, so earlier ones to this "
                    "URL could not be removed. If you registered it before, delete the older "
                    "subscription in the Spectra dashboard: it signs with a secret this site "
                    "no longer has, and its deliveries are refused."
                )
            )
        # Only after the new one exists, so deliveries to the URL never stop; the old
        # subscriptions sign with secrets this run cannot show.
        left: list[str] = []
        for old in earlier:
            if str(old.id) == str(subscription.id):
                continue
            try:
                client.delete_webhook(old.id)
            except SpectraError as exc:
                left.append(f"{old.id} ({exc})")
            else:
                self.stdout.write(
                    f"Removed the earlier webhook {old.id} to the same URL (its secret is void)."
                )
        if left:
            raise CommandError(
                "Could not remove the earlier webhooks "
                + ", ".join(left)
                + ": their deliveries would be refused. Run the command again, or delete "
                "them in the Spectra dashboard."
            )
