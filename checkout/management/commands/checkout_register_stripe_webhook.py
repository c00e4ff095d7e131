"""Register this site's Stripe webhook URL and show the signing secret once.

The Stripe counterpart of ``checkout_register_webhook``, with the same idempotence: Stripe
shows an endpoint's secret only when it is created, so the command creates a new
``WebhookEndpoint`` for the URL (for exactly the events the app handles), prints its
secret, and then deletes every other endpoint with the same URL. Afterwards exactly one
endpoint delivers there, signed with the secret just printed; a second run is safe.

Against localstripe (``CHECKOUT_STRIPE_API_BASE`` set to another server than Stripe) it
registers the URL through localstripe's ``/_config/webhooks`` route instead, under an id
derived from the URL, so running it again replaces the registration. localstripe forgets
registrations when it stops: run the command after each start.
"""

from __future__ import annotations

from typing import Any

import requests
import stripe
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from checkout.conf import app_settings
from checkout.services.payments import get_stripe_client
from checkout.services.stripe_webhooks import (
    StripeRegistration,
    localstripe_webhook_register,
    stripe_is_local,
    stripe_webhook_register,
)


class Command(BaseCommand):
    help = (
        "Register a webhook URL with Stripe (replacing any earlier endpoint with the same "
        "URL), or with localstripe when CHECKOUT_STRIPE_API_BASE points there; prints the "
        "secret for CHECKOUT_STRIPE_WEBHOOK_SECRET."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            required=True,
            help="Public URL of the checkout's webhooks/stripe/ endpoint.",
        )

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        if not url.startswith(("https://", "http://")):
            raise CommandError("--url must be an absolute http(s) URL.")
        base = app_settings.STRIPE_API_BASE
        if stripe_is_local(base):
            assert base is not None  # for the type checker: stripe_is_local said so
            registration = self._register_local(base, url)
        else:
            registration = self._register_stripe(url)
        self._print_secret(registration)
        for old in registration.removed:
            self.stdout.write(
                f"Deleted the earlier endpoint {old} with the same URL (its secret is void)."
            )
        if registration.left:
            raise CommandError(
                "Could not delete the earlier endpoints "
                + ", ".join(f"{old} ({reason})" for old, reason in registration.left)
                + ": their deliveries would be refused. Run the command again, or delete "
                "them in the Stripe dashboard (Developers > Webhooks)."
            )

    def _register_local(self, base: str, url: str) -> StripeRegistration:
        self.stdout.write(f"Registering {url} with localstripe at {base} ...")
        try:
            registration = localstripe_webhook_register(api_base=base, url=url)
        except requests.RequestException as exc:
            raise CommandError(f"localstripe at {base} refused the registration: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered localstripe webhook {registration.endpoint_id} for "
                f"{', '.join(registration.events)}."
            )
        )
        self.stdout.write(
            "localstripe forgets it when it stops: run this command again after each start."
        )
        return registration

    def _register_stripe(self, url: str) -> StripeRegistration:
        try:
            client = get_stripe_client()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        live = "_live_" in app_settings.STRIPE_SECRET_KEY[:8]
        self.stdout.write(f"Registering {url} with Stripe ({'live' if live else 'test'} mode) ...")
        try:
            registration = stripe_webhook_register(client=client, url=url)
        except stripe.StripeError as exc:
            reason = exc.user_message or exc.__class__.__name__
            raise CommandError(f"Stripe refused the registration: {reason}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered webhook endpoint {registration.endpoint_id} for "
                f"{', '.join(registration.events)}."
            )
        )
        return registration

    def _print_secret(self, registration: StripeRegistration) -> None:
        if not registration.secret:
            raise CommandError(
                f"Stripe returned no signing secret for {registration.endpoint_id}: reveal it "
                "in the Stripe dashboard (Developers > Webhooks) and store it in "
                "CHECKOUT_STRIPE_WEBHOOK_SECRET."
            )
        # Printed to the terminal only (never logged); the API shows it only in this answer.
        self.stdout.write(
            "\nSigning secret (store it now):\n\n"
            f"    {registration.secret}\n\n"
            "Set it in the environment of every web process and restart them:\n"
            "    CHECKOUT_STRIPE_WEBHOOK_SECRET=<the secret above>\n"
        )
