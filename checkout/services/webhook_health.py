"""Whether webhook deliveries verify: the last accepted and the last refused one per source.

A delivery signed with a secret the site does not have (a stale secret after the webhook
was registered again, or a secret never stored) is refused with 401 and stored nowhere:
anyone can post to the endpoint, so refusals get no database row. When a refused delivery
carries a signature in its sender's own format (``sha256=<64 hex>`` for Spectra,
``t=...,v1=...`` for Stripe), the time is noted in the cache: one write per such
refusal, none for an accepted delivery. Accepted deliveries are the ``WebhookEvent`` rows
themselves. ``checkout_doctor`` compares the two.

The notes live in Django's cache, so the doctor sees the web processes' notes only when
the cache is shared (Redis, Memcached, database): with a per-process cache (LocMem) it
can only say so.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CACHE_PREFIX = "checkout:webhook-refused"
# How long a refusal is remembered; the doctor is run within days of a change.
NOTE_SECONDS = 7 * 24 * 3600
RUN_GAP_SECONDS = 3600
# A refusal this soon after a verified delivery, with a verified one inside the run of
# refusals, is one event delivered twice: by the subscription whose secret the site has
# and by another one (the two interleave).
INTERLEAVED = dt.timedelta(minutes=10)
PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)

_SPECTRA_SIGNATURE = re.compile(r"^\s*sha256=[0-9a-fA-F]{64}\s*$")
_STRIPE_SIGNATURE = re.compile(r"(^|,)\s*t=\d+\s*,.*\bv1=[0-9a-fA-F]{64}")


def signed_like_sender(source: str, headers: dict[str, str]) -> bool:
    """Whether a delivery carries a signature in its sender's format (right or wrong)."""
    if source == "spectra":
        return bool(_SPECTRA_SIGNATURE.match(headers.get("X-Webhook-Signature", "")))
    if source == "stripe":
        return bool(_STRIPE_SIGNATURE.search(headers.get("Stripe-Signature", "")))
    return False


def webhook_refusal_note(*, source: str, now: float | None = None) -> None:
    """Note that a delivery from ``source`` was refused for its signature (never raises)."""
    moment = time.time() if now is None else now
    first_key, last_key = f"{CACHE_PREFIX}:{source}:first", f"{CACHE_PREFIX}:{source}:last"
    try:
        previous = cache.get(last_key)
        # A refusal an hour after the previous one starts a new run of refusals.
        if not isinstance(previous, int | float) or moment - previous > RUN_GAP_SECONDS:
            cache.set(first_key, moment, NOTE_SECONDS)
        cache.set(last_key, moment, NOTE_SECONDS)
    except Exception:
        # The delivery is refused either way; a cache outage must not turn that into a 500.
        logger.warning("webhook refusal from %s not noted: cache unavailable", source)


def webhook_refusals_forget(*, source: str) -> None:
    """Forget the refusals noted for ``source`` (tests; after fixing the secret)."""
    cache.delete_many([f"{CACHE_PREFIX}:{source}:first", f"{CACHE_PREFIX}:{source}:last"])


@dataclass(frozen=True)
class DeliveryHealth:
    """The last verified delivery from a source, and the refusals noted in the cache."""

    last_accepted: dt.datetime | None
    first_refused: dt.datetime | None  # the first of the current run of refusals
    last_refused: dt.datetime | None
    cache_is_shared: bool
    # Deliveries verified while others were refused: two subscriptions, two secrets.
    interleaved: bool = False

    @property
    def refused_since_accepted(self) -> bool:
        """Whether the most recent deliveries were refused (none verified after them)."""
        if self.last_refused is None:
            return False
        return self.last_accepted is None or self.last_refused > self.last_accepted

    @property
    def refused_since(self) -> dt.datetime | None:
        """Since when deliveries have been refused (the last verified one, if later)."""
        if not self.refused_since_accepted:
            return None
        first = self.first_refused or self.last_refused
        if self.last_accepted is not None and (first is None or first < self.last_accepted):
            return self.last_accepted
        return first


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)


def cache_is_shared() -> bool:
    """Whether other processes (the web workers) share this process's default cache."""
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    return backend not in PROCESS_LOCAL_CACHES


def webhook_delivery_health(*, source: str) -> DeliveryHealth:
    """Read the last accepted delivery (database) and the refusals noted (cache)."""
    from checkout.models import WebhookEvent

    last_accepted = (
        WebhookEvent.objects.filter(source=source, signature_valid=True)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    try:
        notes = cache.get_many([f"{CACHE_PREFIX}:{source}:first", f"{CACHE_PREFIX}:{source}:last"])
    except Exception:
        logger.warning("webhook refusals from %s unknown: cache unavailable", source)
        notes = {}
    first_refused = _moment(notes.get(f"{CACHE_PREFIX}:{source}:first"))
    last_refused = _moment(notes.get(f"{CACHE_PREFIX}:{source}:last"))
    interleaved = False
    if last_refused is not None and last_accepted is not None:
        start = max(first_refused or last_refused, last_refused - INTERLEAVED)
        interleaved = WebhookEvent.objects.filter(
            source=source,
            signature_valid=True,
            received_at__gt=start,
            received_at__lt=last_refused,
        ).exists()
    return DeliveryHealth(
        last_accepted=last_accepted,
        first_refused=first_refused,
        last_refused=last_refused,
        cache_is_shared=cache_is_shared(),
        interleaved=interleaved,
    )
