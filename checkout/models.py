"""The app's persistent state: checkout attempts, orders, their timeline, inbox, outbox, emails.

Every invariant that matters is a database constraint, not only application code:
- one open ``CheckoutAttempt`` per cart, and at most one ``Order`` per attempt;
- one ``Order`` row per Spectra order id and per order number;
- one ``WebhookEvent`` per deduplication key;
- one (non-resend) ``EmailNotification`` per order and kind.

Models hold no business logic: services in ``checkout/services/`` change them.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from checkout.services.spectra.results import API_CURRENCY
from checkout.timeline_text import render as render_timeline_text

ZERO = Decimal("0.00")


def _money(verbose_name: StrOrPromise) -> models.DecimalField[Decimal, Decimal]:
    # The caller marks the name (``_("subtotal")``), so makemessages extracts it.
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, default=ZERO)


def _language() -> models.CharField[str, str]:
    # A code from settings.LANGUAGES ("de", "pt-br"); blank: the site's LANGUAGE_CODE.
    return models.CharField(_("language"), max_length=16, blank=True)


class CheckoutAttempt(models.Model):
    """One shopper's checkout of one cart: from the information step to a placed order."""

    class State(models.TextChoices):
        COLLECTING = "collecting", _("Collecting details")
        PAYMENT_AUTHORIZED = "payment_authorized", _("Payment authorized")
        SUBMITTING = "submitting", _("Submitting order")
        PLACED = "placed", _("Placed")
        FAILED = "failed", _("Failed")
        NEEDS_REVIEW = "needs_review", _("Needs review")

    OPEN_STATES = (State.COLLECTING, State.PAYMENT_AUTHORIZED, State.SUBMITTING)

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    cart_id = models.CharField(_("cart id"), max_length=64, db_index=True)
    # A keyed hash of a random token kept in the shopper's session (services.cart.
    # session_owner), never the session key: nothing stored here can be replayed as a
    # session cookie, and the binding survives the key rotation at login.
    owner = models.CharField(_("owner"), max_length=64, blank=True, db_index=True)
    # The customer signed in when the shopper last paid or placed (services.accounts):
    # what the order is linked to. Signing in or out mid-checkout only changes this.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=32, choices=State.choices, default=State.COLLECTING
    )

    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # The shopper's language when they last submitted a step; the order inherits it.
    language = _language()
    shipping_address: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("shipping address"), default=dict, blank=True
    )
    billing_same_as_shipping = models.BooleanField(_("billing same as shipping"), default=True)
    billing_address: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("billing address"), default=dict, blank=True
    )
    shipping_rate: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("shipping rate"), default=dict, blank=True
    )
    promo_code = models.CharField(_("promo code"), max_length=64, blank=True)
    gift_card_code = models.CharField(_("gift card code"), max_length=32, blank=True)

    currency = models.CharField(_("currency"), max_length=3, default=API_CURRENCY)
    subtotal = _money(_("subtotal"))
    shipping_total = _money(_("shipping"))
    discount_total = _money(_("discount"))
    tax_estimate = _money(_("estimated tax"))
    gift_card_amount = _money(_("gift card"))
    amount_due = _money(_("amount due"))

    payment_intent_id = models.CharField(
        _("PaymentIntent id"), max_length=255, blank=True, db_index=True
    )
    payment_tries = models.PositiveIntegerField(_("payment tries"), default=0)
    # The card-collection SetupIntent handed to this attempt's page, reused until a card
    # is confirmed on it, so a shopper's page can mint at most one per payment try.
    setup_intent_id = models.CharField(_("SetupIntent id"), max_length=255, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.TextField(_("failure message"), blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    authorized_at = models.DateTimeField(_("payment authorized"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("checkout attempt")
        verbose_name_plural = _("checkout attempts")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["cart_id"],
                condition=Q(state__in=["collecting", "payment_authorized", "submitting"]),
                name="checkout_one_open_attempt_per_cart",
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="checkout_attempt_state_idx")]
        # Staff actions in admin, each its own permission (see checkout/admin/).
        permissions = [
            ("recover_checkoutattempt", _("Can recover stuck checkout attempts")),
            ("release_payment_checkoutattempt", _("Can release a checkout attempt's payment")),
        ]

    def __str__(self) -> str:
        return f"attempt {self.public_id}"


class Order(models.Model):
    """A Spectra order, as the API last described it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    class Capture(models.TextChoices):
        """Whether the card hold behind the order was captured, as Stripe last said."""

        PENDING = "pending", _("Not verified yet")
        CAPTURED = "captured", _("Captured")
        NOT_REQUIRED = "not_required", _("Nothing to capture")
        FAILED = "failed", _("Not captured: needs attention")

    # Unique per environment (``is_test``), not alone: a test key's orders and a live
    # key's are separate id spaces, so sandbox-era rows never collide with live ones.
    spectra_id = models.BigIntegerField(_("Spectra id"), db_index=True)
    order_number = models.CharField(_("order number"), max_length=32, db_index=True)
    attempt = models.OneToOneField(
        CheckoutAttempt,
        verbose_name=_("checkout attempt"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
    )
    cart_id = models.CharField(_("cart id"), max_length=64, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    # The customer's account (services.accounts): the attempt's signed-in user, or by
    # email when the site opts in (CHECKOUT_LINK_GUEST_ORDERS_BY_EMAIL); None for guests.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checkout_orders",
        db_index=False,  # checkout_order_user_idx (user, -placed_at) serves every lookup
    )
    customer_name = models.CharField(_("customer name"), max_length=255, blank=True)
    # The language the shopper checked out in: every email to them is written in it.
    language = _language()
    # Unknown values from the API are stored as they come: choices are not enforced.
    status = models.CharField(_("status"), max_length=32, default=Status.PENDING)
    payment_status = models.CharField(_("payment status"), max_length=32, blank=True)
    is_test = models.BooleanField(_("test order"), default=False)

    currency = models.CharField(_("currency"), max_length=3, default=API_CURRENCY)
    subtotal = _money(_("subtotal"))
    shipping_total = _money(_("shipping"))
    discount_total = _money(_("discount"))
    tax_total = _money(_("tax"))
    gift_card_total = _money(_("gift card"))
    grand_total = _money(_("grand total"))
    amount_charged = _money(_("amount charged"))

    billing: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("billing address"), default=dict, blank=True
    )
    shipping: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("shipping address"), default=dict, blank=True
    )
    shipping_method: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("shipping method"), default=dict, blank=True
    )
    items: models.JSONField[list[dict[str, Any]], list[dict[str, Any]]] = models.JSONField(
        _("items"), default=list, blank=True
    )
    promo_code = models.CharField(_("promo code"), max_length=64, blank=True)
    payment_intent_id = models.CharField(
        _("PaymentIntent id"), max_length=255, blank=True, db_index=True
    )
    # Set by services.orders.capture after placement and by reconciliation: an order never
    # stands on a hold nobody captured.
    capture_state = models.CharField(
        _("payment capture"), max_length=16, choices=Capture.choices, default=Capture.PENDING
    )
    captured_amount = _money("captured")
    payment_checked_at = models.DateTimeField(_("payment checked"), null=True, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=128, blank=True)
    shipping_carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    raw: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("last API payload"), default=dict, blank=True
    )

    placed_at = models.DateTimeField(_("placed"), null=True, blank=True)
    spectra_updated_at = models.DateTimeField(_("updated in Spectra"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-placed_at", "-id")
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="checkout_order_placed_idx"),
            models.Index(fields=["status", "-placed_at"], name="checkout_order_status_idx"),
            models.Index(
                fields=["payment_status", "-placed_at"], name="checkout_order_payment_idx"
            ),
            models.Index(fields=["is_test", "-placed_at"], name="checkout_order_test_idx"),
            models.Index(fields=["last_synced_at"], name="checkout_order_synced_idx"),
            models.Index(fields=["user", "-placed_at"], name="checkout_order_user_idx"),
            models.Index(
                fields=["capture_state"],
                condition=~Q(capture_state__in=["captured", "not_required"]),
                name="checkout_order_capture_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["is_test", "spectra_id"], name="checkout_order_unique_env_spectra_id"
            ),
            models.UniqueConstraint(
                fields=["is_test", "order_number"], name="checkout_order_unique_env_number"
            ),
        ]
        # Staff actions in admin, each its own permission (see checkout/admin/).
        permissions = [
            ("ship_order", _("Can ship orders (add tracking)")),
            ("deliver_order", _("Can mark orders delivered")),
            ("cancel_order", _("Can cancel orders")),
            ("resync_order", _("Can re-sync orders from Spectra")),
            ("resend_email", _("Can resend order emails")),
        ]

    def __str__(self) -> str:
        return self.order_number


class OrderEvent(models.Model):
    """One entry of an order's (or an attempt's) timeline: what happened, when, by whom."""

    class Kind(models.TextChoices):
        ATTEMPT = "attempt", _("Checkout attempt")
        PAYMENT = "payment", _("Payment")
        API_CALL = "api_call", _("API call")
        WEBHOOK = "webhook", _("Webhook")
        STATUS = "status", _("Status change")
        IGNORED = "ignored", _("Ignored event")
        EMAIL = "email", _("Email")
        STAFF = "staff", _("Staff action")
        SYNC = "sync", _("Reconciliation")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    attempt = models.ForeignKey(
        CheckoutAttempt, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The entry in English, kept for exports, search and logs; rows written before
    # message ids (migration 0008) hold it in the language of the request that wrote them.
    message = models.TextField(_("message"))
    # What pages show, in the reader's language: the gettext message id and its
    # parameters (checkout.timeline_text). Blank for those older rows and for text that
    # is the same in every language (an API call's method, path and status).
    message_id = models.TextField(_("message id"), blank=True)
    message_params: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("message parameters"), default=dict, blank=True
    )
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("data"), default=dict, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_message_display()}"

    def get_message_display(self) -> str:
        """Return the entry in the active language (an older row: the text it stored)."""
        if not self.message_id:
            return self.message
        return render_timeline_text(self.message_id, self.message_params)


class WebhookEvent(models.Model):
    """An incoming webhook, stored raw before it is acknowledged (the inbox)."""

    class Source(models.TextChoices):
        SPECTRA = "spectra", _("Spectra")
        STRIPE = "stripe", _("Stripe")

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    event_type = models.CharField(_("event type"), max_length=64, db_index=True)
    # Spectra sends no event id: the key is a digest of the raw body, so a duplicate
    # delivery (or a replay of a captured body) lands on the same row.
    dedup_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    raw_body = models.TextField(_("raw body"))
    headers: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("headers"), default=dict, blank=True
    )
    signature_valid = models.BooleanField(_("signature valid"), default=False)
    spectra_order_id = models.BigIntegerField(_("Spectra order id"), null=True, blank=True)
    object_id = models.CharField(_("object id"), max_length=255, blank=True, db_index=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED
    )
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    processing_attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ("-received_at", "-id")
        indexes = [
            models.Index(fields=["outcome", "received_at"], name="checkout_webhook_outcome_idx"),
            models.Index(fields=["spectra_order_id"], name="checkout_webhook_order_idx"),
        ]
        permissions = [("replay_webhookevent", _("Can replay webhook events"))]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type} #{self.pk}"


class OutboxMessage(models.Model):
    """A Celery task to publish, written in the same transaction as the change it follows.

    A relay publishes unpublished rows and re-publishes rows whose publish was never
    confirmed, so a broker outage delays work but never loses it.
    """

    task_name = models.CharField(_("task"), max_length=200)
    kwargs: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("arguments"), default=dict, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    available_at = models.DateTimeField(_("available"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(_("publish attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ("id",)
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(published_at__isnull=True),
                name="checkout_outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name}({self.kwargs})"


class EmailNotification(models.Model):
    """The send-once ledger: one row per order and kind, plus deliberate resends."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", _("Order confirmation")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SUPPRESSED = "suppressed", _("Suppressed")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    to_email = models.EmailField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    is_resend = models.BooleanField(_("deliberate resend"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    suppressed_reason = models.CharField(_("suppressed because"), max_length=255, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("email notification")
        verbose_name_plural = _("email notifications")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(is_resend=False),
                name="checkout_one_email_per_order_and_kind",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="checkout_email_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.order_id}"
