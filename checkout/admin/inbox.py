"""Operations lists: webhook events (with replay), the email ledger and the task outbox.

All read-only. A webhook event's page shows the raw body exactly as received, the
signature result and what processing made of it; "replay" runs that processing again.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.admin import display
from checkout.admin.base import ObjectAction, ReadOnlyAdmin, StaffActionsAdmin, has_codename
from checkout.models import EmailNotification, Order, OutboxMessage, WebhookEvent
from checkout.services import staff
from checkout.services.environments import spectra_environment_is_test


def _order_link(order_pk: int | None, label: Any) -> SafeString | str:
    if not order_pk:
        return str(label) if label else "-"
    url = reverse("admin:checkout_order_change", args=[order_pk])
    return format_html('<a href="{}">{}</a>', url, label)


def _replay(request: HttpRequest, event: WebhookEvent, data: dict[str, Any]) -> str:
    event = staff.webhook_replay(event=event, actor=request.user)
    return _("replayed: %(outcome)s.") % {"outcome": event.get_outcome_display()}


WEBHOOK_ACTIONS = (
    ObjectAction(
        name="replay",
        label=gettext_lazy("Replay"),
        permission="replay_webhookevent",
        run=_replay,
        question=gettext_lazy(
            "Process this event again, exactly as the worker did? Status changes only "
            "move forward and emails are sent once, so a replay is safe."
        ),
    ),
)


@admin.register(WebhookEvent)
class WebhookEventAdmin(StaffActionsAdmin):
    object_actions = WEBHOOK_ACTIONS

    list_display = (
        "id",
        "source",
        "event_type",
        "order",
        "signature",
        "outcome_badge",
        "deliveries",
        "processing_attempts",
        "received_at",
    )
    list_filter = (
        "source",
        "outcome",
        "signature_valid",
        "event_type",
        ("received_at", admin.DateFieldListFilter),
    )
    date_hierarchy = "received_at"
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-received_at", "-id")
    search_fields = ("object_id",)
    search_help_text = gettext_lazy("Spectra order id, order number, Stripe object id.")
    actions = ("replay_events",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("source", "event_type"),
                    ("order", "spectra_order_id", "object_id"),
                    ("signature", "outcome_badge"),
                    ("deliveries", "processing_attempts"),
                    ("received_at", "processed_at"),
                    "dedup_key",
                )
            },
        ),
        (gettext_lazy("Processing"), {"fields": ("error", "traceback_text")}),
        (gettext_lazy("As received"), {"fields": ("raw_body_pretty", "headers_pretty")}),
    )
    readonly_fields = (
        "order",
        "signature",
        "outcome_badge",
        "traceback_text",
        "raw_body_pretty",
        "headers_pretty",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        # Ids repeat across environments (test and live): the configured key's comes first.
        order = Order.objects.filter(spectra_id=OuterRef("spectra_order_id")).order_by(
            "-is_test" if spectra_environment_is_test() else "is_test"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                order_pk=Subquery(order.values("pk")[:1]),
                order_number=Subquery(order.values("order_number")[:1]),
            )
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The order page links here filtered by its Spectra id.
        return lookup == "spectra_order_id" or super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent], search_term: str
    ) -> tuple[QuerySet[WebhookEvent], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(spectra_order_id=int(term)), False
        order = Order.objects.filter(order_number=term.upper()).values("spectra_id").first()
        if order:
            return queryset.filter(spectra_order_id=order["spectra_id"]), False
        return queryset.filter(object_id=term), False

    @admin.display(description=gettext_lazy("order"))
    def order(self, event: WebhookEvent) -> SafeString | str:
        return _order_link(getattr(event, "order_pk", None), getattr(event, "order_number", ""))

    @admin.display(description=gettext_lazy("signature"), ordering="signature_valid")
    def signature(self, event: WebhookEvent) -> SafeString:
        return display.signature_badge(event.signature_valid)

    @admin.display(description=gettext_lazy("outcome"), ordering="outcome")
    def outcome_badge(self, event: WebhookEvent) -> SafeString:
        return display.webhook_outcome_badge(event)

    @admin.display(description=gettext_lazy("traceback"))
    def traceback_text(self, event: WebhookEvent) -> SafeString | str:
        if not event.traceback:
            return "-"
        return format_html('<pre class="checkout-pre">{}</pre>', event.traceback)

    @admin.display(description=gettext_lazy("raw body"))
    def raw_body_pretty(self, event: WebhookEvent) -> SafeString:
        if not event.raw_body:
            return format_html(
                "<p>{}</p>", _("Removed after its retention (personal data; checkout_purge).")
            )
        # Shown byte for byte (the signature is over these bytes); pretty-printed below.
        try:
            pretty = json.dumps(json.loads(event.raw_body), indent=2, sort_keys=True)
        except ValueError:
            pretty = ""
        if pretty and pretty != event.raw_body:
            return format_html(
                '<pre class="checkout-pre">{}</pre><details><summary>{}</summary>'
                '<pre class="checkout-pre">{}</pre></details>',
                pretty,
                _("Exact bytes received"),
                event.raw_body,
            )
        return format_html('<pre class="checkout-pre">{}</pre>', event.raw_body)

    @admin.display(description=gettext_lazy("headers"))
    def headers_pretty(self, event: WebhookEvent) -> SafeString:
        return format_html(
            '<pre class="checkout-pre">{}</pre>',
            json.dumps(event.headers, indent=2, sort_keys=True),
        )

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "replay_webhookevent")

    @admin.action(description=gettext_lazy("Replay selected events"), permissions=["replay"])
    def replay_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        self.run_bulk(request, queryset, "replay", {})


@admin.register(EmailNotification)
class EmailNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_link",
        "kind",
        "status_badge",
        "to_email",
        "is_resend",
        "requested_by",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = (
        "kind",
        "status",
        "is_resend",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("order", "requested_by")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    search_fields = ("=to_email", "=order__order_number")
    search_help_text = gettext_lazy("Exact email address or order number.")
    fields = (
        ("order_link", "kind", "status_badge"),
        ("to_email", "subject"),
        ("is_resend", "requested_by"),
        ("attempts", "error"),
        "suppressed_reason",
        ("created_at", "claimed_at", "sent_at"),
    )
    readonly_fields = ("order_link", "status_badge")

    class Media:
        css = {"all": ["checkout/admin/admin.css"]}

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The order page links here filtered by the order.
        return lookup == "order__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=gettext_lazy("order"), ordering="order__order_number")
    def order_link(self, email: EmailNotification) -> SafeString | str:
        return _order_link(email.order_id, email.order.order_number)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, email: EmailNotification) -> SafeString:
        return display.email_status_badge(email)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task_name",
        "kwargs",
        "created_at",
        "published_at",
        "publish_attempts",
        "last_error",
    )
    list_filter = (
        ("published_at", admin.EmptyFieldListFilter),
        "task_name",
    )
    list_per_page = 50
    show_full_result_count = False
