"""Staff's view of checkout attempts, with a quick filter for the stuck ones and their fixes.

Stuck means a person should look: the attempt needs review, or the card was authorized
(or the order submitted) and nothing has moved for a while. "Recover now" runs the
periodic sweep's logic on it at once; "release payment" cancels the PaymentIntent when
no order exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.admin import display
from checkout.admin.base import ObjectAction, StaffActionsAdmin, has_codename
from checkout.admin.orders import UUID_RE, timeline_rows
from checkout.models import CheckoutAttempt
from checkout.services import staff, staff_timeline


class StuckFilter(admin.SimpleListFilter):
    title = gettext_lazy("needs attention")
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("all", _("Stuck (any reason)")),
            ("review", _("Needs review")),
            ("authorized", _("Paid, no order")),
            ("submitting", _("Submitting for long")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[CheckoutAttempt]
    ) -> QuerySet[CheckoutAttempt]:
        value = self.value()
        if not value:
            return queryset
        stuck = staff.stuck_attempts_q()
        states = {
            "review": CheckoutAttempt.State.NEEDS_REVIEW,
            "authorized": CheckoutAttempt.State.PAYMENT_AUTHORIZED,
            "submitting": CheckoutAttempt.State.SUBMITTING,
        }
        if value in states:
            return queryset.filter(stuck, state=states[value])
        return queryset.filter(stuck)


def _recover(request: HttpRequest, attempt: CheckoutAttempt, data: dict[str, Any]) -> str:
    return staff.attempt_recover_now(attempt=attempt, actor=request.user).message


def _release(request: HttpRequest, attempt: CheckoutAttempt, data: dict[str, Any]) -> str:
    return staff.attempt_release_payment(attempt=attempt, actor=request.user).message


def _has_order(attempt: CheckoutAttempt) -> bool:
    try:
        return attempt.order is not None
    except ObjectDoesNotExist:
        return False


ATTEMPT_ACTIONS = (
    ObjectAction(
        name="recover",
        label=gettext_lazy("Recover now"),
        permission="recover_checkoutattempt",
        run=_recover,
        question=gettext_lazy(
            "Look the order up in Spectra and adopt it, place it if the payment is good, "
            "or release the payment, as the recovery sweep would."
        ),
        available=lambda a: not _has_order(a) and a.state != CheckoutAttempt.State.PLACED,
    ),
    ObjectAction(
        name="release",
        label=gettext_lazy("Release payment"),
        permission="release_payment_checkoutattempt",
        run=_release,
        danger=True,
        question=gettext_lazy(
            "Cancel the PaymentIntent, releasing the hold on the shopper's card? "
            "Refused if Spectra has an order for this cart."
        ),
        available=lambda a: (
            bool(a.payment_intent_id)
            and not _has_order(a)
            and a.state != CheckoutAttempt.State.PLACED
        ),
    ),
)


@admin.register(CheckoutAttempt)
class CheckoutAttemptAdmin(StaffActionsAdmin):
    object_actions = ATTEMPT_ACTIONS

    list_display = (
        "short_id",
        "email",
        "state_badge",
        "amount",
        "payment_intent_id",
        "payment_tries",
        "order_link",
        "updated_at",
    )
    list_filter = (StuckFilter, "state", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("order",)
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    search_fields = ("cart_id",)
    search_help_text = gettext_lazy("Attempt id, cart id, PaymentIntent id or email.")
    actions = ("recover_attempts", "release_payments")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("public_id", "state_badge"),
                    "cart_id",
                    "order_link",
                    ("failure_code", "failure_message"),
                )
            },
        ),
        (
            gettext_lazy("Shopper"),
            {"fields": (("email", "phone", "user"), ("shipping", "billing"), "shipping_rate")},
        ),
        (
            gettext_lazy("Amounts (the checkout's own estimate)"),
            {
                "fields": (
                    ("subtotal", "shipping_total", "discount_total"),
                    ("tax_estimate", "gift_card_amount", "amount_due"),
                    ("promo_code", "gift_card"),
                )
            },
        ),
        (
            gettext_lazy("Payment"),
            {"fields": (("payment_intent_id", "payment_tries"),)},
        ),
        (
            gettext_lazy("Times"),
            {
                "fields": (
                    ("created_at", "updated_at"),
                    ("authorized_at", "submitted_at", "finished_at"),
                )
            },
        ),
    )
    # Neither the session binding (``owner``) nor a full gift-card code is shown: a code
    # works like cash, so staff see only its last four characters, as everywhere else.
    readonly_fields = ("state_badge", "order_link", "shipping", "billing", "gift_card")

    @admin.display(description=gettext_lazy("attempt"), ordering="created_at")
    def short_id(self, attempt: CheckoutAttempt) -> str:
        return str(attempt.public_id)[:8]

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_badge(self, attempt: CheckoutAttempt) -> SafeString:
        return display.attempt_state_badge(attempt)

    @admin.display(description=gettext_lazy("amount due"), ordering="amount_due")
    def amount(self, attempt: CheckoutAttempt) -> str:
        return display.money_text(attempt.amount_due, attempt.currency)

    @admin.display(description=gettext_lazy("order"))
    def order_link(self, attempt: CheckoutAttempt) -> SafeString | str:
        try:
            order = attempt.order
        except ObjectDoesNotExist:
            return "-"
        url = reverse("admin:checkout_order_change", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, order.order_number)

    @admin.display(description=gettext_lazy("gift card"))
    def gift_card(self, attempt: CheckoutAttempt) -> str:
        return display.gift_card_text(attempt.gift_card_code)

    @admin.display(description=gettext_lazy("shipping address"))
    def shipping(self, attempt: CheckoutAttempt) -> SafeString:
        return display.address_html(attempt.shipping_address)

    @admin.display(description=gettext_lazy("billing address"))
    def billing(self, attempt: CheckoutAttempt) -> SafeString | str:
        if attempt.billing_same_as_shipping:
            return _("Same as shipping")
        return display.address_html(attempt.billing_address)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CheckoutAttempt], search_term: str
    ) -> tuple[QuerySet[CheckoutAttempt], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(cart_id=term) | Q(payment_intent_id=term) | Q(email__iexact=term)

        if UUID_RE.match(term):
            query |= Q(public_id=term)
        return queryset.filter(query), False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        attempt = self.get_object(request, object_id)
        if attempt is not None:
            timeline = staff_timeline.attempt_timeline(attempt=attempt)
            extra_context["timeline"] = timeline_rows(timeline)
            extra_context["is_stuck"] = staff.attempt_is_stuck(attempt)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_recover_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "recover_checkoutattempt")

    def has_release_permission(self, request: HttpRequest) -> bool:
        return has_codename(request, "release_payment_checkoutattempt")

    @admin.action(description=gettext_lazy("Recover now"), permissions=["recover"])
    def recover_attempts(self, request: HttpRequest, queryset: QuerySet[CheckoutAttempt]) -> None:
        self.run_bulk(request, queryset, "recover", {})

    @admin.action(description=gettext_lazy("Release payment"), permissions=["release"])
    def release_payments(
        self, request: HttpRequest, queryset: QuerySet[CheckoutAttempt]
    ) -> HttpResponse | None:
        if request.POST.get("post") == "yes":
            self.run_bulk(request, queryset, "release", {})
            return None
        return self.bulk_form_page(request, queryset, name="release")
