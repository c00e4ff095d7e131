"""The doctor's webhook delivery checks: do Spectra's and Stripe's deliveries verify?

A subscription that exists proves nothing if it signs with a secret the site does not
have: every delivery is then refused with 401. These checks compare the last verified
delivery (a ``WebhookEvent`` row) with the refusals noted in the cache
(``checkout/services/webhook_health.py``): FAIL when the most recent deliveries were
refused, WARN when some are refused among verified ones (another subscription signs
with another secret) or when nothing has arrived yet, OK with the time of the last
verified delivery.
"""

from __future__ import annotations

import datetime as dt

from django.db import DatabaseError
from django.utils.translation import gettext as _

from checkout.conf import app_settings
from checkout.doctor import FAIL, OK, WARN, Result
from checkout.services.webhook_health import DeliveryHealth, webhook_delivery_health

SPECTRA_COMMAND = "checkout_register_webhook"
STRIPE_COMMAND = "checkout_register_stripe_webhook"


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def delivery_verdict(
    health: DeliveryHealth, *, command: str, setting: str
) -> tuple[str, str] | None:
    """FAIL or WARN with what to do when deliveries are refused; None when none are."""
    if health.last_refused is None:
        return None
    args = {
        "command": command,
        "setting": setting,
        "last": _when(health.last_refused),
    }
    if health.interleaved:
        assert health.last_accepted is not None  # interleaved: some were accepted
        return WARN, _(
            "deliveries verify (the last at %(accepted)s), but others to the same URL are "
            "refused (the last at %(last)s): another subscription signs with a secret this "
            "site does not have. Run 'manage.py %(command)s' again (it removes the other "
            "subscriptions to the URL where the API lists them) and store the secret it "
            "prints in %(setting)s."
        ) % {**args, "accepted": _when(health.last_accepted)}
    if health.refused_since_accepted:
        since = health.refused_since
        assert since is not None  # refused_since_accepted: there is a first refusal
        return FAIL, _(
            "deliveries since %(since)s are refused (the last at %(last)s): the signing "
            "secret does not match the subscription's. Run 'manage.py %(command)s' again "
            "and store the secret it prints in %(setting)s."
        ) % {**args, "since": _when(since)}
    return None


def _health(name: str, source: str) -> DeliveryHealth | Result:
    try:
        return webhook_delivery_health(source=source)
    except DatabaseError as err:
        return Result(
            name,
            FAIL,
            _("cannot read the stored webhook events (%(error)s): has 'migrate' run?")
            % {"error": err.__class__.__name__},
        )


def _local_cache_note(health: DeliveryHealth) -> str:
    if health.cache_is_shared:
        return ""
    return " " + _(
        "(Refused deliveries are noted in the cache, which is per process here: this check "
        "cannot see the web processes' refusals. Use a shared cache such as Redis.)"
    )


def check_spectra_deliveries(*, listed: bool) -> Result:
    """Judge Spectra's deliveries; ``listed``: a subscription was found in Spectra's list.

    Without a list (the route is not documented), this is the only evidence there is, and
    it answers for the subscription too.
    """
    name = _("Spectra deliveries") if listed else _("Spectra webhook")
    health = _health(name, "spectra")
    if isinstance(health, Result):
        return health
    verdict = delivery_verdict(health, command=SPECTRA_COMMAND, setting="CHECKOUT_WEBHOOK_SECRET")
    if verdict is not None:
        return Result(name, verdict[0], verdict[1])
    note = _local_cache_note(health)
    if health.last_accepted is None:
        if listed:
            detail = _("no signed delivery has arrived yet: check again after an order moves.")
        else:
            detail = _(
                "this API does not list webhook subscriptions, and no signed delivery has "
                "arrived yet: run 'manage.py checkout_register_webhook --url <public URL>' "
                "once, then check again after an order moves."
            )
        return Result(name, WARN, detail + note)
    when = _when(health.last_accepted)
    if listed:
        detail = _("signed deliveries arrive and verify (the last at %(when)s)") % {"when": when}
    else:
        detail = _(
            "signed deliveries arrive (the last at %(when)s); this API does not list "
            "subscriptions, so that is the evidence."
        ) % {"when": when}
    return Result(name, OK, detail + note)


def check_stripe_deliveries() -> Result:
    """Judge Stripe's deliveries to ``checkout:webhook-stripe``."""
    name = _("Stripe webhook")
    health = _health(name, "stripe")
    if isinstance(health, Result):
        return health
    verdict = delivery_verdict(
        health, command=STRIPE_COMMAND, setting="CHECKOUT_STRIPE_WEBHOOK_SECRET"
    )
    if verdict is not None:
        return Result(name, verdict[0], verdict[1])
    note = _local_cache_note(health)
    if not app_settings.STRIPE_WEBHOOK_SECRET:
        return Result(
            name,
            WARN,
            _(
                "CHECKOUT_STRIPE_WEBHOOK_SECRET is not set, so Stripe's deliveries are "
                "refused. They are optional (they speed up the recovery of abandoned "
                "payments): run 'manage.py checkout_register_stripe_webhook --url <public "
                "URL>' and store the secret it prints."
            )
            + note,
        )
    if health.last_accepted is None:
        return Result(
            name,
            WARN,
            _("no signed delivery has arrived yet: check again after a payment.") + note,
        )
    return Result(
        name,
        OK,
        _("signed deliveries arrive and verify (the last at %(when)s)")
        % {"when": _when(health.last_accepted)}
        + note,
    )
