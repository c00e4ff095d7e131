"""Staff's view of orders: a fast list, one page with the order's whole story, and actions.

The list reads only ``Order`` columns (one query for the rows, one for the count), so its
query count does not grow with the page. Search goes to indexed columns first (exact
order number, cart id, PaymentIntent id, email) and only falls back to a name search for
plain words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.admin import display
from checkout.admin.base import ObjectAction, has_codename
from checkout.admin.forms import ResendEmailForm, ShipForm
from checkout.admin.previews import EmailPreviewAdmin, email_kind_label
from checkout.conf import app_settings
from checkout.models import Order
from checkout.services import staff, staff_timeline

ORDER_NUMBER_RE = re.compile(r"^ORD-[0-9-]+$", re.IGNORECASE)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(v), str(label)) for v, label in Order.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return queryset.filter(status=self.value()) if self.value() else queryset


class PaymentStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("payment status")
    parameter_name = "payment_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(v, str(label)) for v, label in display.PAYMENT_STATUS_LABELS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return queryset.filter(payment_status=self.value()) if self.value() else queryset


class CaptureFilter(admin.SimpleListFilter):
    """Orders whose card payment is not captured: "needs attention" until it is."""

    title = gettext_lazy("needs attention")
    parameter_name = "capture"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("failed", _("Payment not captured")),
            ("pending", _("Payment not verified yet")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        return queryset.filter(capture_state=self.value()) if self.value() else queryset


class ModeFilter(admin.SimpleListFilter):
    title = gettext_lazy("test or live")
    parameter_name = "mode"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", _("Live")), ("test", _("Test"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if self.value() in ("live", "test"):
            return queryset.filter(is_test=self.value() == "test")
        return queryset


def _ship(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    order = staff.order_ship(
        order=order,
        tracking_number=data["tracking_number"],
        carrier=data["carrier"],
        actor=request.user,
    )
    return _("shipped with %(carrier)s %(number)s; status is now %(status)s.") % {
        "carrier": order.shipping_carrier or data["carrier"],
        "number": order.tracking_number or data["tracking_number"],
        "status": order.status,
    }


def _deliver(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    order = staff.order_deliver(order=order, actor=request.user)
    return _("marked delivered; status is now %(status)s.") % {"status": order.status}


def _cancel(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    order = staff.order_cancel(order=order, actor=request.user)
    return _("cancelled; status is now %(status)s, payment %(payment)s.") % {
        "status": order.status,
        "payment": order.payment_status or "-",
    }


def _resync(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    order = staff.order_resync(order=order, actor=request.user)
    return _("re-synced from Spectra; status %(status)s, payment %(payment)s.") % {
        "status": order.status,
        "payment": order.payment_status or "-",
    }


def _verify_payment(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    return staff.order_payment_check(order=order, actor=request.user).message


def _resend(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    return staff.email_resend(order=order, kind=data["kind"], actor=request.user).message


def _applies(action: str) -> Callable[[Order], bool]:
    return lambda order: staff.order_action_applies(order=order, action=action)


ORDER_ACTIONS = (
    ObjectAction(
        name="ship",
        label=gettext_lazy("Add tracking and mark shipped"),
        permission="ship_order",
        run=_ship,
        form_class=ShipForm,
        question=gettext_lazy("Spectra gets the tracking number, then the order is shipped."),
        available=_applies("ship"),
        form_kwargs=lambda o: {"order": o},
    ),
    ObjectAction(
        name="deliver",
        label=gettext_lazy("Mark delivered"),
        permission="deliver_order",
        run=_deliver,
        question=gettext_lazy("Mark this order delivered in Spectra?"),
        available=_applies("deliver"),
    ),
    ObjectAction(
        name="cancel",
        label=gettext_lazy("Cancel order"),
        permission="cancel_order",
        run=_cancel,
        danger=True,
        question=gettext_lazy(
            "Cancel in Spectra? Stock is released; the payment is then checked with Stripe "
            "and refunded (or its hold released) unless Spectra did it. The customer gets "
            "the cancellation email."
        ),
        available=_applies("cancel"),
    ),
    ObjectAction(
        name="resync",
        label=gettext_lazy("Re-sync from Spectra"),
        permission="resync_order",
        run=_resync,
        question=gettext_lazy("Fetch the order from Spectra and apply any change?"),
    ),
    ObjectAction(
        name="verify-payment",
        label=gettext_lazy("Verify payment"),
        permission="resync_order",
        run=_verify_payment,
        question=gettext_lazy(
            "Check the card payment with Stripe, and capture a hold still standing?"
        ),
        available=lambda o: o.capture_state != Order.Capture.CAPTURED,
    ),
    ObjectAction(
        name="resend-email",
        label=gettext_lazy("Resend an email"),
        permission="resend_email",
        run=_resend,
        form_class=ResendEmailForm,
        question=gettext_lazy(
            "The email is sent again and logged as a deliberate resend. Only emails this "
            "order has produced are offered."
        ),
        available=lambda o: bool(staff.email_kinds_produced(orders=[o])),
        form_kwargs=lambda o: {"kinds": staff.email_kinds_produced(orders=[o])},
    ),
)


@admin.register(Order)
class OrderAdmin(EmailPreviewAdmin):
    object_actions = ORDER_ACTIONS

    list_display = (
        "order_number",
        "customer",
        "status_badge",
        "payment_badge",
        "total",
        "mode_badge",
        "placed_at",
    )
    list_display_links = ("order_number",)
    list_filter = (
        CaptureFilter,
        StatusFilter,
        PaymentStatusFilter,
        ModeFilter,
        ("placed_at", admin.DateFieldListFilter),
    )
    # No date_hierarchy: it runs MIN/MAX(placed_at) and a DISTINCT DATE_TRUNC over every
    # order on each list view, a cost that grows with the table; the "placed" filter above
    # offers the same ranges without a query. The ordering matches checkout_order_placed_idx.
    ordering = ("-placed_at", "-id")
    # The list never shows the JSON columns; reading them is most of a 50-row page's bytes.
    list_deferred_fields = ("raw", "items", "billing", "shipping", "shipping_method")
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    list_select_related = False  # every column is on the order row
    search_help_text = gettext_lazy(
        "Order number, email, customer name, cart id, PaymentIntent id or Spectra id."
    )
    search_fields = ("order_number",)  # enables the box; get_search_results does the work
    actions = ("ship_orders", "deliver_orders", "cancel_orders", "resync_orders", "resend_email")

    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("order_number", "spectra_id"),
                    ("status_badge", "payment_badge", "mode_badge"),
                    ("placed_at", "spectra_updated_at", "last_synced_at"),
                )
            },
        ),
        (
            gettext_lazy("Customer"),
            {
                "fields": (
                    ("customer_name", "email"),
                    ("user", "language"),
                    ("billing_address", "shipping_address"),
                )
            },
        ),
        (gettext_lazy("Items"), {"fields": ("items_table",)}),
        (gettext_lazy("Totals, as Spectra computed them"), {"fields": ("totals_table",)}),
        (
            gettext_lazy("Shipping"),
            {"fields": ("shipping_method_text", "tracking")},
        ),
        (
            gettext_lazy("Payment and related records"),
            {
                "fields": (
                    "payment_intent_id",
                    "cart_id",
                    "attempt_link",
                    "webhooks_link",
                    "emails_link",
                )
            },
        ),
        (
            gettext_lazy("Last API payload"),
            {"fields": ("raw_json",), "classes": ("collapse",)},
        ),
    )
    readonly_fields = (
        "order_number",
        "spectra_id",
        "status_badge",
        "payment_badge",
        "mode_badge",
        "placed_at",
        "spectra_updated_at",
        "last_synced_at",
        "customer_name",
        "email",
        "user",
        "language",
        "billing_address",
        "shipping_address",
        "items_table",
        "totals_table",
        "shipping_method_text",
        "tracking",
        "payment_intent_id",
        "cart_id",
        "attempt_link",
        "webhooks_link",
        "emails_link",
        "raw_json",
    )

    # --- list columns -------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if (
            request.method == "GET"
            and match is not None
            and match.url_name == ("checkout_order_changelist")
        ):
            queryset = queryset.defer(*self.list_deferred_fields)
        return queryset

    @admin.display(description=gettext_lazy("customer"), ordering="customer_name")
    def customer(self, order: Order) -> SafeString:
        return format_html(
            '{}<br><span class="checkout-muted">{}</span>', order.customer_name or "-", order.email
        )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, order: Order) -> SafeString:
        return display.order_status_badge(order)

    @admin.display(description=gettext_lazy("payment"), ordering="payment_status")
    def payment_badge(self, order: Order) -> SafeString:
        return display.payment_status_badge(order.payment_status)

    @admin.display(description=gettext_lazy("total"), ordering="grand_total")
    def total(self, order: Order) -> str:
        return display.money_text(order.grand_total, order.currency)

    @admin.display(description=gettext_lazy("mode"), ordering="is_test")
    def mode_badge(self, order: Order) -> SafeString:
        return display.test_badge(order.is_test)

    # --- the order page ---------------------------------------------------------------------

    @admin.display(description=gettext_lazy("billing address"))
    def billing_address(self, order: Order) -> SafeString:
        return display.address_html(order.billing)

    @admin.display(description=gettext_lazy("shipping address"))
    def shipping_address(self, order: Order) -> SafeString:
        return display.address_html(order.shipping)

    @admin.display(description=gettext_lazy("items"))
    def items_table(self, order: Order) -> SafeString:
        if not order.items:
            return format_html("{}", "-")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='num'>{}</td><td class='num'>{}</td>"
            "<td class='num'>{}</td></tr>",
            (
                (
                    item.get("sku", ""),
                    item.get("name", ""),
                    item.get("quantity", ""),
                    display.money_text(item.get("unit_price"), order.currency)
                    if item.get("unit_price") is not None
                    else "-",
                    display.money_text(item.get("line_total"), order.currency)
                    if item.get("line_total") is not None
                    else "-",
                )
                for item in order.items
            ),
        )
        return format_html(
            '<table class="checkout-table"><thead><tr><th>{}</th><th>{}</th>'
            '<th class="num">{}</th><th class="num">{}</th><th class="num">{}</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            _("SKU"),
            _("Item"),
            _("Qty"),
            _("Unit price"),
            _("Line total"),
            rows,
        )

    @admin.display(description=gettext_lazy("totals"))
    def totals_table(self, order: Order) -> SafeString:
        money = display.money_text
        lines = [
            (_("Subtotal"), money(order.subtotal, order.currency)),
            (_("Shipping"), money(order.shipping_total, order.currency)),
            (_("Discount"), _minus(order.discount_total, order.currency)),
            (_("Tax"), money(order.tax_total, order.currency)),
            (_("Grand total"), money(order.grand_total, order.currency)),
            (_("Paid by gift card"), _minus(order.gift_card_total, order.currency)),
            (_("Charged to the card"), money(order.amount_charged, order.currency)),
        ]
        if order.promo_code:
            lines.insert(3, (_("Promo code"), order.promo_code))
        return format_html(
            '<table class="checkout-table checkout-totals"><tbody>{}</tbody></table>',
            format_html_join("", "<tr><th>{}</th><td class='num'>{}</td></tr>", lines),
        )

    @admin.display(description=gettext_lazy("shipping method"))
    def shipping_method_text(self, order: Order) -> str:
        method = order.shipping_method or {}
        if not method:
            return "-"
        carrier = str(method.get("carrier") or "")
        service = str(method.get("service") or method.get("method") or "")
        # Services often carry the carrier's name already ("FedEx Ground").
        text = service if carrier and service.startswith(carrier) else f"{carrier} {service}"
        text = text.strip()
        cost = method.get("cost")
        if cost is not None:
            text += f" ({display.money_text(cost, order.currency)})"
        return text

    @admin.display(description=gettext_lazy("tracking"))
    def tracking(self, order: Order) -> SafeString | str:
        if not order.tracking_number:
            return _("No tracking yet.")

        template = app_settings.TRACKING_URLS.get(order.shipping_carrier, "")
        label = f"{order.shipping_carrier} {order.tracking_number}".strip()
        if template:
            url = template.format(number=order.tracking_number)
            return format_html('<a href="{}" rel="noopener" target="_blank">{}</a>', url, label)
        return label

    @admin.display(description=gettext_lazy("checkout attempt"))
    def attempt_link(self, order: Order) -> SafeString | str:
        if not order.attempt_id:
            return _("None (adopted from Spectra)")
        url = reverse("admin:checkout_checkoutattempt_change", args=[order.attempt_id])
        return format_html(
            '<a href="{}">{}</a>', url, _("Attempt #%(id)s") % {"id": order.attempt_id}
        )

    @admin.display(description=gettext_lazy("webhook events"))
    def webhooks_link(self, order: Order) -> SafeString:
        url = reverse("admin:checkout_webhookevent_changelist")
        return format_html(
            '<a href="{}?spectra_order_id={}">{}</a>',
            url,
            order.spectra_id,
            _("Webhook events for this order"),
        )

    @admin.display(description=gettext_lazy("emails"))
    def emails_link(self, order: Order) -> SafeString:
        url = reverse("admin:checkout_emailnotification_changelist")
        return format_html(
            '<a href="{}?order__id__exact={}">{}</a> · <a href="{}">{}</a>',
            url,
            order.pk,
            _("Emails for this order"),
            self.email_previews_url(order),
            _("Preview emails"),
        )

    @admin.display(description=gettext_lazy("payload"))
    def raw_json(self, order: Order) -> SafeString:
        return format_html(
            '<pre class="checkout-pre">{}</pre>', json.dumps(order.raw, indent=2, sort_keys=True)
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        order = self.get_object(request, object_id)
        if order is not None:
            extra_context["timeline"] = timeline_rows(staff_timeline.order_timeline(order=order))
            extra_context["email_previews_url"] = self.email_previews_url(order)
        return super().change_view(request, object_id, form_url, extra_context)

    def object_action_context(
        self, request: HttpRequest, action: ObjectAction, obj: Any
    ) -> dict[str, Any]:
        if action.name != self.resend_action:
            return {}
        return {
            "links_title": _("Preview before resending"),
            "links": [
                (email_kind_label(kind), self.email_preview_url(obj, kind))
                for kind in staff.email_kinds_produced(orders=[obj])
            ],
        }

    # --- search ------------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Each branch uses an index: unique order_number, cart_id, payment_intent_id and
        # email are b-tree indexed (with LIKE-prefix variants on PostgreSQL).
        query = Q(order_number=term.upper()) | Q(cart_id=term) | Q(payment_intent_id=term)
        if ORDER_NUMBER_RE.match(term):
            query |= Q(order_number__startswith=term.upper())
        elif term.isdigit():
            query |= Q(spectra_id=int(term))
        elif "@" in term:
            query |= Q(email=term) | Q(email=term.lower()) | Q(email__startswith=term.lower())
        elif not (term.startswith(("pi_", "cart_")) or UUID_RE.match(term)):
            query |= Q(customer_name__icontains=term) | Q(email__startswith=term.lower())
        return queryset.filter(query), False

    # --- bulk actions ---------------------------------------------------------------------

    def has_ship_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "ship_order")

    def has_deliver_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "deliver_order")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "cancel_order")

    def has_resync_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "resync_order")

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "resend_email")

    @admin.action(description=gettext_lazy("Add tracking and mark shipped"), permissions=["ship"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        posted = request.POST.get("post") == "yes"
        rows = [
            (
                order,
                ShipForm(request.POST if posted else None, prefix=f"ship-{order.pk}", order=order),
            )
            for order in queryset
        ]
        if posted and all(form.is_valid() for _order, form in rows):
            action = self.get_object_action("ship")
            for order, form in rows:
                self.run_action(request, action, order, form.cleaned_data)
            return None
        return self.bulk_form_page(request, queryset, name="ship", rows=rows)

    @admin.action(description=gettext_lazy("Mark delivered"), permissions=["deliver"])
    def deliver_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.run_bulk(request, queryset, "deliver", {})

    @admin.action(description=gettext_lazy("Cancel orders"), permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        if request.POST.get("post") == "yes":
            self.run_bulk(request, queryset, "cancel", {})
            return None
        return self.bulk_form_page(request, queryset, name="cancel")

    @admin.action(description=gettext_lazy("Re-sync from Spectra"), permissions=["resync"])
    def resync_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.run_bulk(request, queryset, "resync", {})

    @admin.action(description=gettext_lazy("Resend an email"), permissions=["resend"])
    def resend_email(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        posted = request.POST.get("post") == "yes"
        kinds = staff.email_kinds_produced(orders=queryset)
        form = ResendEmailForm(request.POST if posted else None, kinds=kinds)
        if posted and form.is_valid():
            self.run_bulk(request, queryset, "resend-email", form.cleaned_data)
            return None
        return self.bulk_form_page(request, queryset, name="resend-email", form=form)


def _minus(value: Decimal | None, currency: str) -> str:
    """Return a deduction with a minus sign (and nothing deducted as ``$0.00``)."""
    return display.money_text(-value if value else value, currency)


TIMELINE_ADMIN_URLS = {
    "webhookevent": "admin:checkout_webhookevent_change",
    "emailnotification": "admin:checkout_emailnotification_change",
}


def timeline_rows(entries: list[staff_timeline.TimelineEntry]) -> list[dict[str, Any]]:
    """Return timeline entries with admin links to the rows they came from."""
    rows = []
    for entry in entries:
        url = ""
        if entry.ref and entry.ref[0] in TIMELINE_ADMIN_URLS:
            url = reverse(TIMELINE_ADMIN_URLS[entry.ref[0]], args=[entry.ref[1]])
        rows.append({"entry": entry, "url": url})
    return rows
