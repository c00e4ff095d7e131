"""``manage.py checkout_doctor``: check a running configuration end to end.

System checks (``manage.py check``) look at settings; the doctor talks to the services:
the Spectra key authenticates and holds every scope the app uses, Stripe answers with the
configured key, the site's templates give the payment page its scripts, the Celery
broker is reachable, Spectra will deliver webhooks to us and its deliveries (and
Stripe's) verify, the checkout's URLs are mounted where they belong, the rate limits see
each shopper's own address, and email can go out. Each check prints OK, WARN or FAIL
with what to fix; any FAIL makes the command exit non-zero. Probes never change data.
No secret is ever printed. The checks that read the site itself live in
``checkout/doctor/``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.smtp import EmailBackend as SMTPEmailBackend
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.conf import app_settings
from checkout.doctor import FAIL, OK, SKIP, WARN, Result
from checkout.doctor.deliveries import check_spectra_deliveries, check_stripe_deliveries
from checkout.doctor.site import check_client_address, check_urls
from checkout.exceptions import (
    SpectraAuthenticationError,
    SpectraError,
    SpectraPermissionError,
    SpectraRejection,
)
from checkout.services.spectra import SpectraClient
from checkout.services.stripe_webhooks import same_webhook_url

__all__ = ["FAIL", "OK", "SKIP", "WARN", "Result", "run_checks"]

# A Spectra order id no tenant has: the orders:write probe PATCHes it with a status that
# does not exist, so even a real order by that id could not change.
PROBE_ORDER_ID = 999_999_999_999
PROBE_STATUS = "checkout-doctor-probe"
PROBE_WEBHOOK_ID = 999_999_999_999

NON_DELIVERING_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": gettext_lazy("prints emails to the console"),
    "django.core.mail.backends.locmem.EmailBackend": gettext_lazy(
        "keeps emails in memory (tests only)"
    ),
    "django.core.mail.backends.dummy.EmailBackend": gettext_lazy("throws emails away"),
    "django.core.mail.backends.filebased.EmailBackend": gettext_lazy("writes emails to files"),
}


@dataclass(frozen=True)
class DoctorOptions:
    webhook_url: str = ""
    broker_timeout: float = 3.0
    smtp: bool = True


def _scope_probe(call: Callable[[], Any], scope: str) -> Result:
    """Run one read (or harmless write) and say whether the key holds ``scope``."""
    name = _("Spectra scope %(scope)s") % {"scope": scope}
    try:
        call()
    except SpectraPermissionError:
        return Result(
            name,
            FAIL,
            _("the key lacks %(scope)s: create a key with it in the Spectra dashboard.")
            % {"scope": scope},
        )
    except SpectraAuthenticationError as err:
        return Result(
            name, FAIL, _("the key does not authenticate (%(reason)s).") % {"reason": err.message}
        )
    except SpectraRejection:
        # 404/409/422 from the write probe: the call passed the scope check.
        return Result(name, OK, _("granted"))
    except SpectraError as err:
        return Result(name, FAIL, _("Spectra did not answer: %(reason)s") % {"reason": err})
    return Result(name, OK, _("granted"))


def check_spectra(client: SpectraClient) -> list[Result]:
    """Check the key authenticates and holds catalog:read, orders:read/write, webhooks:manage."""
    auth_name = _("Spectra API key")
    try:
        client.list_products(per_page=1)
    except SpectraAuthenticationError as err:
        return [
            Result(
                auth_name,
                FAIL,
                _(
                    "the key does not authenticate at %(base)s (%(reason)s): check "
                    "CHECKOUT_SPECTRA_API_KEY and that it is not revoked."
                )
                % {"base": client.api_base, "reason": err.message},
            )
        ]
    except SpectraPermissionError:
        pass  # authenticated; the catalog scope is reported below
    except SpectraError as err:
        return [
            Result(
                auth_name,
                FAIL,
                _("cannot reach Spectra at %(base)s: %(reason)s (check CHECKOUT_SPECTRA_API_BASE).")
                % {"base": client.api_base, "reason": err},
            )
        ]
    key = app_settings.SPECTRA_API_KEY
    mode = _("test mode") if key.startswith("spk_test_") else _("live mode")
    results = [
        Result(
            auth_name,
            OK,
            _("authenticates at %(base)s (%(mode)s)") % {"base": client.api_base, "mode": mode},
        )
    ]
    results.append(_scope_probe(lambda: client.list_products(per_page=1), "catalog:read"))
    results.append(_scope_probe(lambda: client.list_orders(per_page=1), "orders:read"))
    results.append(
        _scope_probe(lambda: client.set_order_status(PROBE_ORDER_ID, PROBE_STATUS), "orders:write")
    )
    # GET /webhooks is not documented; GET /webhooks/{id}/deliveries is, and a key
    # without the scope is refused before the unknown id is looked up.
    results.append(
        _scope_probe(lambda: client.list_webhook_deliveries(PROBE_WEBHOOK_ID), "webhooks:manage")
    )
    return results


def check_webhook(client: SpectraClient, *, webhook_url: str) -> list[Result]:
    """Check Spectra has a subscription that delivers to our webhook URL, and that its
    deliveries verify (where Spectra lists none, the deliveries are the evidence)."""
    name = _("Spectra webhook")
    try:
        path = reverse("checkout:webhook-spectra")
    except NoReverseMatch:
        return [
            Result(name, FAIL, _("no URL named checkout:webhook-spectra: include checkout.urls."))
        ]
    if not app_settings.WEBHOOK_SECRET:
        return [
            Result(
                name,
                FAIL,
                _(
                    "CHECKOUT_WEBHOOK_SECRET is not set, so every webhook is refused: run "
                    "'manage.py checkout_register_webhook' and store the secret it prints."
                ),
            )
        ]
    try:
        hooks = client.list_webhooks()
    except SpectraPermissionError as err:
        return [Result(name, FAIL, _("cannot list webhooks: %(reason)s") % {"reason": err})]
    except SpectraRejection:
        # No GET /webhooks on this API (it is not documented): judge by what arrived.
        return [check_spectra_deliveries(listed=False)]
    except SpectraError as err:
        return [Result(name, FAIL, _("cannot list webhooks: %(reason)s") % {"reason": err})]
    urls = [h.url for h in hooks if h.active]
    if webhook_url:
        matched = [u for u in urls if same_webhook_url(u, webhook_url)]
    else:
        matched = [u for u in urls if u.rstrip("/").endswith(path.rstrip("/"))]
    if not matched:
        wanted = webhook_url or f"https://<your-site>{path}"
        return [
            Result(
                name,
                FAIL,
                _(
                    "no active subscription delivers to %(url)s: run 'manage.py "
                    "checkout_register_webhook --url <public URL>'."
                )
                % {"url": wanted},
            )
        ]
    return [
        Result(name, OK, _("delivers to %(url)s") % {"url": matched[0]}),
        # A subscription exists; whether its deliveries verify is another question.
        check_spectra_deliveries(listed=True),
    ]


def check_stripe() -> Result:
    """Check Stripe answers a read with the configured secret key."""
    from checkout.services.payments import get_stripe_client

    name = _("Stripe")
    where = app_settings.STRIPE_API_BASE or "https://api.stripe.com"
    try:
        client = get_stripe_client()
        client.v1.payment_intents.list(params={"limit": 1})
    except ImproperlyConfigured as err:
        return Result(name, FAIL, str(err))
    except Exception as err:
        import stripe

        if isinstance(err, stripe.AuthenticationError):
            reason = _("the secret key is not accepted: check CHECKOUT_STRIPE_SECRET_KEY.")
        elif isinstance(err, stripe.PermissionError):
            reason = _("the key may not read PaymentIntents (restricted key?).")
        else:
            reason = _("no answer from %(base)s: %(error)s") % {
                "base": where,
                "error": err.__class__.__name__,
            }
        return Result(name, FAIL, reason)
    mode = _("test mode") if "_test_" in app_settings.STRIPE_SECRET_KEY[:8] else _("live mode")
    return Result(name, OK, _("answers at %(base)s (%(mode)s)") % {"base": where, "mode": mode})


def check_payment_ui() -> Result:
    """Say which payment form the payment step shows, and whether it can run here."""
    from checkout.checks import PAYMENT_UIS, STRIPE_API_ORIGIN

    name = _("Payment form")
    ui = app_settings.PAYMENT_UI
    base = app_settings.STRIPE_API_BASE
    other_stripe = bool(base) and base != STRIPE_API_ORIGIN
    if ui not in PAYMENT_UIS:
        return Result(
            name,
            FAIL,
            _("CHECKOUT_PAYMENT_UI is %(value)r; use 'payment_element' or 'card_element'.")
            % {"value": ui},
        )
    if ui == "payment_element":
        if other_stripe:
            return Result(
                name,
                FAIL,
                _(
                    "the Payment Element cannot run against %(base)s (localstripe?): set "
                    "CHECKOUT_PAYMENT_UI = 'card_element' there."
                )
                % {"base": base},
            )
        return Result(
            name,
            OK,
            _("the Payment Element (%(types)s; Apple Pay and Google Pay with cards)")
            % {"types": ", ".join(app_settings.PAYMENT_METHOD_TYPES)},
        )
    if other_stripe:
        return Result(name, OK, _("the Card Element (localstripe at %(base)s)") % {"base": base})
    return Result(
        name,
        WARN,
        _(
            "the Card Element: no Link, Apple Pay or Google Pay. It is for localstripe; "
            "set CHECKOUT_PAYMENT_UI = 'payment_element' with Stripe."
        ),
    )


def _celery_conf() -> tuple[str, bool]:
    url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    eager = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
    if not url:
        try:
            from celery import current_app

            url = str(current_app.conf.broker_url or "")
            eager = eager or bool(current_app.conf.task_always_eager)
        except Exception:  # noqa: S110  (no Celery app: reported as not configured)
            pass
    return url, eager


def _redacted(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def check_broker(*, timeout: float) -> Result:
    """Check the Celery broker accepts a connection (unless tasks run eagerly)."""
    name = _("Celery broker")
    url, eager = _celery_conf()
    if eager:
        return Result(
            name,
            WARN,
            _(
                "CELERY_TASK_ALWAYS_EAGER is on: tasks run inside the web request. Fine for "
                "a demo; in production set CELERY_BROKER_URL and run a worker and beat."
            ),
        )
    if not url:
        return Result(name, FAIL, _("CELERY_BROKER_URL is not set."))
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout, transport_options={}) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=max(1, int(timeout))
            )
    except Exception as err:
        return Result(
            name,
            FAIL,
            _("cannot connect to %(url)s (%(error)s): start the broker or fix CELERY_BROKER_URL.")
            % {"url": _redacted(url), "error": err.__class__.__name__},
        )
    return Result(name, OK, _("reachable at %(url)s") % {"url": _redacted(url)})


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SMTP_TIMEOUT = 5


def default_email_backend() -> str | None:
    """Return the dotted path of the backend that sends the checkout's emails.

    Django 6.1 configures email with ``MAILERS`` (``EMAIL_BACKEND`` then raises), earlier
    releases with ``EMAIL_BACKEND``. None when ``MAILERS`` has no ``default`` mailer.
    """
    mailers = getattr(settings, "MAILERS", None)
    if mailers is None:
        return str(settings.EMAIL_BACKEND)
    if "default" not in mailers:
        return None
    return str(mailers["default"].get("BACKEND", SMTP_BACKEND))


def _open_default_mailer() -> None:
    """Open and close a connection to the default email backend."""
    try:
        from django.core.mail import mailers  # Django 6.1+
    except ImportError:
        from django.core.mail import get_connection

        connection = get_connection(fail_silently=False, timeout=SMTP_TIMEOUT)
    else:
        connection = mailers.default
        if isinstance(connection, SMTPEmailBackend) and connection.timeout is None:
            # The doctor must answer even when the mail server does not.
            connection.timeout = SMTP_TIMEOUT
    connection.open()
    connection.close()


def check_email(*, smtp: bool) -> Result:
    """Check an email backend that delivers is configured and (``smtp``) that it connects.

    Backends that deliver nothing (console, locmem, file, dummy) are a warning and are not
    connected to; any other backend is opened and closed, so an unreachable mail server
    fails here rather than in the first customer's confirmation email.
    """
    name = _("Email")
    backend = default_email_backend()
    if backend is None:
        return Result(name, FAIL, _("MAILERS has no 'default' entry: no email can go out."))
    sender = app_settings.EMAIL_FROM
    if not sender or sender.endswith("@localhost"):
        return Result(
            name,
            FAIL,
            _("no sender address: set CHECKOUT_EMAIL_FROM or DEFAULT_FROM_EMAIL."),
        )
    if backend in NON_DELIVERING_BACKENDS:
        return Result(
            name,
            WARN,
            _("%(backend)s %(what)s: customers get no email. Configure SMTP or a provider.")
            % {"backend": backend.rsplit(".", 2)[-2], "what": NON_DELIVERING_BACKENDS[backend]},
        )
    if smtp:
        try:
            _open_default_mailer()
        except Exception as err:
            return Result(
                name,
                FAIL,
                _("%(backend)s cannot connect: %(error)s")
                % {"backend": backend, "error": err.__class__.__name__},
            )
    detail = _("%(backend)s, from %(sender)s") % {"backend": backend, "sender": sender}
    if not smtp:
        detail += " " + _("(connection not tried: --no-smtp)")
    return Result(name, OK, detail)


def check_background_budget() -> Result:
    """Show the background call budget: its size, this hour's use, and any 429 pause."""
    from checkout.services.budget import background_budget

    name = _("Background API budget")
    budget = background_budget()
    if budget.per_hour is None:
        return Result(
            name,
            WARN,
            _(
                "no limit set (CHECKOUT_SPECTRA_HOURLY_LIMIT): reconciliation may spend the "
                "key's whole rate limit and leave shoppers with 429s."
            ),
        )
    detail = _("%(per_hour)s calls/hour (%(share)s%% of %(limit)s), %(used)s used this hour") % {
        "per_hour": budget.per_hour,
        "share": round(budget.share * 100),
        "limit": budget.hourly_limit,
        "used": budget.used_this_hour,
    }
    if budget.backing_off:
        return Result(
            name,
            WARN,
            _("%(detail)s; paused after a 429 until %(until)s")
            % {"detail": detail, "until": budget.backoff_until},
        )
    return Result(name, OK, detail)


def check_customer_emails() -> Result:
    """Warn when a live customer would likely get one email from Spectra and one from us."""
    name = _("Customer emails")
    live = app_settings.SPECTRA_API_KEY.startswith("spk_live_")
    ours = [
        kind
        for kind in app_settings.EMAIL_KINDS
        if app_settings.EMAIL_SENDER.get(kind, "app") == "app"
    ]
    if live and app_settings.SPECTRA_SENDS_CUSTOMER_EMAILS and ours:
        return Result(
            name,
            WARN,
            _(
                "likely sent twice: Spectra emails live customers, and this app sends "
                "%(kinds)s too. Switch Spectra's customer emails off (then set "
                'CHECKOUT_SPECTRA_SENDS_CUSTOMER_EMAILS = False) or name "spectra" for '
                "those kinds in CHECKOUT_EMAIL_SENDER (docs/install.md, Going live)."
            )
            % {"kinds": ", ".join(ours)},
        )
    spectra_kinds = [k for k, v in app_settings.EMAIL_SENDER.items() if v == "spectra"]
    if spectra_kinds and not app_settings.SPECTRA_SENDS_CUSTOMER_EMAILS:
        return Result(
            name,
            WARN,
            _(
                "nobody sends %(kinds)s: CHECKOUT_EMAIL_SENDER leaves them to Spectra, but "
                "CHECKOUT_SPECTRA_SENDS_CUSTOMER_EMAILS says Spectra's are off."
            )
            % {"kinds": ", ".join(spectra_kinds)},
        )
    return Result(
        name,
        OK,
        _("this app sends %(ours)s; Spectra sends %(theirs)s")
        % {"ours": ", ".join(ours) or "-", "theirs": ", ".join(spectra_kinds) or "-"},
    )


def check_payment_page() -> Result:
    """Check the site's templates give the payment page its content, CSS, JS and Stripe.js."""
    from checkout.assets import payment_page_assets

    name = _("Payment page")
    found = payment_page_assets()
    if found.error:
        return Result(name, FAIL, _("cannot be rendered: %(error)s") % {"error": found.error})
    if found.content_missing:
        return Result(
            name,
            FAIL,
            _(
                "renders no content: base.html needs {% block content %} (or your "
                "checkout/base.html must keep {% block checkout_content %})."
            ),
        )
    if found.missing:
        return Result(
            name,
            FAIL,
            _("does not load %(assets)s: shoppers would get no card field (see docs/install.md).")
            % {"assets": ", ".join(found.missing)},
        )
    if found.root_missing:
        return Result(
            name,
            WARN,
            _(
                "loads the checkout's CSS, JS and Stripe.js, but has no element of class "
                "checkout-root around its content: keep it in your checkout/base.html."
            ),
        )
    return Result(name, OK, _("loads the checkout's CSS, JS and Stripe.js"))


def run_checks(options: DoctorOptions) -> list[Result]:
    """Run every check; no check stops another."""
    results: list[Result] = []
    client: SpectraClient | None
    try:
        # Its own client: no catalog cache (a cached answer would hide a bad key) and no
        # retries (a doctor should answer quickly).
        client = SpectraClient(cache_ttl=0, max_retries=0)
    except ImproperlyConfigured as err:
        results.append(Result(_("Spectra API key"), FAIL, str(err)))
        client = None
    if client is not None:
        spectra = check_spectra(client)
        results.extend(spectra)
        if all(r.status == OK for r in spectra):
            results.extend(check_webhook(client, webhook_url=options.webhook_url))
        else:
            results.append(
                Result(_("Spectra webhook"), SKIP, _("needs a working key with webhooks:manage."))
            )
        client.close()
    results.append(check_stripe())
    results.append(check_stripe_deliveries())
    results.append(check_urls(webhook_url=options.webhook_url))
    results.append(check_client_address())
    results.append(check_payment_page())
    results.append(check_payment_ui())
    results.append(check_broker(timeout=options.broker_timeout))
    results.append(check_email(smtp=options.smtp))
    results.append(check_customer_emails())
    results.append(check_background_budget())
    return results


class Command(BaseCommand):
    # A plain string, as in Django's own commands: argparse formats the description with
    # ``re``, which refuses a lazy translation proxy.
    help = (
        "Check the checkout's configuration end to end: Spectra key and scopes, Stripe, the "
        "payment page's scripts, the Celery broker, the webhook registrations and whether "
        "their deliveries verify, the URL mounting, the client address behind proxies, and "
        "email. Exits non-zero on a failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--webhook-url",
            default="",
            help=_(
                "The public webhook URL Spectra should deliver to (default: any URL "
                "ending with this site's webhook path)."
            ),
        )
        parser.add_argument(
            "--broker-timeout",
            type=float,
            default=3.0,
            help=_("Seconds to wait for the broker."),
        )
        parser.add_argument(
            "--no-smtp",
            dest="smtp",
            action="store_false",
            help=_("Do not open a connection to the email server (it is tried by default)."),
        )
        # Kept so existing scripts that pass --smtp still work: connecting is the default.
        parser.add_argument("--smtp", dest="smtp", action="store_true", help=argparse.SUPPRESS)
        parser.set_defaults(smtp=True)

    def handle(self, *args: Any, **options: Any) -> None:
        results = run_checks(
            DoctorOptions(
                webhook_url=options["webhook_url"],
                broker_timeout=options["broker_timeout"],
                smtp=options["smtp"],
            )
        )
        styles = {
            OK: self.style.SUCCESS,
            WARN: self.style.WARNING,
            FAIL: self.style.ERROR,
            SKIP: self.style.NOTICE,
        }
        width = max(len(r.name) for r in results)
        for result in results:
            label = styles[result.status](f"[{result.status:<4}]")
            self.stdout.write(f"{label} {result.name:<{width}}  {result.detail}")
        failed = [r for r in results if r.status == FAIL]
        if failed:
            raise CommandError(
                _("%(n)d check(s) failed: %(names)s")
                % {"n": len(failed), "names": ", ".join(r.name for r in failed)}
            )
        self.stdout.write(self.style.SUCCESS(_("All checks passed.")))
