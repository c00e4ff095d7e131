"""Customers' pages: "Your orders" for a signed-in customer, and the guest order lookup that
emails a signed status link (and never shows an order itself).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from checkout.csp import checkout_csp
from checkout.forms import OrderLookupForm
from checkout.links import order_status_url
from checkout.models import Order
from checkout.ratelimit import rate_limit_form_error, rate_limited
from checkout.services import accounts

logger = logging.getLogger(__name__)

ORDERS_PER_PAGE = 20


@checkout_csp
@never_cache
@require_GET
@login_required
def customer_orders(request: HttpRequest) -> HttpResponse:
    """The signed-in customer's orders, newest first, each linking to its status page."""
    paginator = Paginator(accounts.orders_of_user(user=request.user), ORDERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    statuses = dict(Order.Status.choices)
    rows = [
        {
            "order": order,
            "status_label": statuses.get(order.status, order.status),
            "url": order_status_url(order),
        }
        for order in page.object_list
    ]
    return render(request, "checkout/customer_orders.html", {"page": page, "rows": rows})


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited("order_lookup", form_view=True)
def order_lookup(request: HttpRequest) -> HttpResponse:
    """Find an order by email and order number: the status link goes to that email.

    The answer is the same whether or not an order matches, so the form tells nobody
    which orders exist; the limiter bounds guesses and the emails a visitor can cause.
    """
    if request.method == "POST":
        form = OrderLookupForm(request.POST)
        if rate_limit_form_error(request, form):
            return _render_lookup(request, form, status=429)
        if form.is_valid():
            accounts.order_lookup_request(
                email=form.cleaned_data["email"], order_number=form.cleaned_data["order_number"]
            )
            messages.success(
                request,
                _(
                    "If %(number)s is an order placed with %(email)s, we have sent a link to "
                    "its status page to that address. It can take a few minutes to arrive."
                )
                % {
                    "number": form.cleaned_data["order_number"],
                    "email": form.cleaned_data["email"],
                },
            )
            return redirect("checkout:order-lookup")
        return _render_lookup(request, form, status=400)
    return _render_lookup(request, OrderLookupForm())


def _render_lookup(
    request: HttpRequest, form: OrderLookupForm, *, status: int = 200
) -> HttpResponse:
    return render(request, "checkout/order_lookup.html", {"form": form}, status=status)
