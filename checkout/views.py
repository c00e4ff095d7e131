"""The shopper's pages: storefront, cart, the three checkout steps, payment endpoints,
confirmation and the signed order-status page.

Views only handle the session and HTTP: every decision (which step is reachable, what
is due, whether an order is placed) belongs to ``checkout.services``. Errors are
handled here from the most to the least specific: a ``ShopperError`` shows its own
message where the shopper can act on it, a ``ProviderError`` a generic one (and is
logged). The JSON endpoints (``pay``, ``place``) answer 4xx with ``{"reason": ...}``
on bad input, never a 500.

Every page and answer that carries a shopper's data is ``never_cache`` (``Cache-Control:
private, no-store``), and none is kept in a cache: what is rendered for one visitor,
including a host base template's per-user header, is never served to another. A
session reaches only the checkout attempt it owns (``cart.session_owner``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checkout.conf import app_settings
from checkout.csp import checkout_csp
from checkout.exceptions import (
    CheckoutStateError,
    InvalidGiftCard,
    InvalidPromoCode,
    PaymentDeclined,
    ProviderError,
    ShopperError,
    SpectraConflict,
    SpectraNotFound,
    SpectraValidationError,
)
from checkout.forms import (
    AddToCartForm,
    BillingForm,
    CartLineForm,
    CodeForm,
    InformationForm,
    ShippingMethodForm,
    variant_attribute_names,
)
from checkout.links import order_from_status_token, order_status_url
from checkout.models import CheckoutAttempt, Order
from checkout.ratelimit import (
    rate_limit_form_error,
    rate_limit_hit,
    rate_limited,
    rate_limited_json,
)
from checkout.services import cart as cart_service
from checkout.services import orders
from checkout.services.notifications import tracking_url
from checkout.services.spectra import Product, Variant, get_spectra_client

logger = logging.getLogger(__name__)

STEPS = ("information", "shipping", "payment")
STEP_URLS = {
    "information": "checkout:checkout-information",
    "shipping": "checkout:checkout-shipping",
    "payment": "checkout:checkout-payment",
}
SESSION_ATTEMPT = "checkout_attempt"
PRODUCTS_PER_PAGE = 12


# --- Helpers ----------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def _json_error(reason: str, message: str, *, http_status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"reason": reason, "message": message, **extra}, status=http_status)


def _provider_message() -> str:
    return _(
        "We could not reach our store system just now. Nothing was charged; "
        "please try again in a moment."
    )


def _step_url(step: str) -> str:
    return reverse(STEP_URLS.get(step, STEP_URLS["information"]))


def _attempt_in_session(request: HttpRequest, public_id: Any) -> CheckoutAttempt:
    """Return this session's attempt with ``public_id``; another shopper's is a 404."""
    owner = cart_service.session_owner(request)
    attempt = orders.attempt_in_session(public_id=public_id, owner=owner)
    if attempt is None:
        raise Http404(_("No such checkout."))
    return attempt


def _current_attempt(request: HttpRequest) -> CheckoutAttempt | None:
    """Return the attempt the session last worked on (for pay/place), or None."""
    public_id = request.session.get(SESSION_ATTEMPT)
    if not public_id:
        return None
    try:
        return _attempt_in_session(request, public_id)
    except Http404:  # not this session's (a malformed id reads as none)
        return None


class _Guard:
    """The outcome of checking that a step may be shown."""

    def __init__(
        self,
        attempt: CheckoutAttempt | None = None,
        response: HttpResponse | None = None,
        snapshot: orders.CheckoutSnapshot | None = None,
    ):
        self.attempt = attempt
        self.response = response
        self.snapshot = snapshot


def _guard(request: HttpRequest, step: str) -> _Guard:
    """Return the open attempt when ``step`` is reachable, else a redirect to where to go.

    The attempt comes with its quote (``orders.checkout_snapshot``): from the quote cache
    when neither the cart nor the attempt changed, so a revisit makes no API call.
    """
    cart_id = cart_service.cart_id_from_session(request)
    snapshot = None
    if cart_id:
        try:
            snapshot = orders.checkout_snapshot(
                cart_id=cart_id,
                owner=cart_service.session_owner(request),
                with_rates=step == "shipping",
                with_quote=request.method == "GET",
            )
        except ProviderError:
            logger.exception("Could not load the cart for the %s step", step)
            messages.error(request, _provider_message())
            return _Guard(response=redirect("checkout:cart"))
        if snapshot.status in ("gone", "locked", "taken"):
            # Unknown to the API, an order was placed from it, or another session is
            # checking it out: this session starts a new cart.
            cart_service.cart_forget(request)
    if snapshot is not None and snapshot.status == "taken":
        messages.info(
            request,
            _("That cart is being checked out in another browser. Start a new cart here."),
        )
        return _Guard(response=redirect("checkout:cart"))
    if snapshot is None or snapshot.attempt is None or snapshot.status != "ok":
        messages.info(request, _("Your cart is empty. Add something before checking out."))
        return _Guard(response=redirect("checkout:cart"))
    cart_service.cart_count_seen(request, snapshot.item_count)
    attempt = snapshot.attempt
    public_id = str(attempt.public_id)
    if request.session.get(SESSION_ATTEMPT) != public_id:  # no session write when unchanged
        request.session[SESSION_ATTEMPT] = public_id
    reachable = orders.attempt_next_step(attempt)
    if STEPS.index(step) > STEPS.index(reachable):
        return _Guard(response=redirect(STEP_URLS[reachable]))
    return _Guard(attempt=attempt, snapshot=snapshot)


def _quote(request: HttpRequest, attempt: CheckoutAttempt) -> orders.Quote | None:
    try:
        return orders.attempt_quote(attempt=attempt)
    except ShopperError as err:
        messages.error(request, err.message)
    except ProviderError:
        logger.exception("attempt %s: could not compute the quote", attempt.public_id)
        messages.error(request, _provider_message())
    return None


def _snapshot_quote(request: HttpRequest, guard: _Guard) -> orders.Quote | None:
    """Return the guard's quote; when it could not be computed, tell the shopper why."""
    snapshot = guard.snapshot
    if snapshot is None or (snapshot.quote is None and snapshot.error is None):
        assert guard.attempt is not None  # a POST re-rendering: the guard did not quote
        return _quote(request, guard.attempt)
    if snapshot.quote is None:
        if isinstance(snapshot.error, ShopperError):
            messages.error(request, snapshot.error.message)
        else:
            logger.error(
                "attempt %s: could not compute the quote (%r)",
                guard.attempt.public_id if guard.attempt else "-",
                snapshot.error,
            )
            messages.error(request, _provider_message())
    return snapshot.quote


def _step_context(step: str, attempt: CheckoutAttempt, quote: orders.Quote | None) -> dict:
    reachable = orders.attempt_next_step(attempt)
    return {
        "step": step,
        "steps": [
            {
                "name": name,
                "label": label,
                "url": _step_url(name),
                "done": STEPS.index(name) < STEPS.index(step),
                "current": name == step,
                "reachable": STEPS.index(name) <= STEPS.index(reachable),
            }
            for name, label in (
                ("information", _("Information")),
                ("shipping", _("Shipping")),
                ("payment", _("Payment")),
            )
        ],
        "attempt": attempt,
        "quote": quote,
    }


# --- Storefront -------------------------------------------------------------------------


@checkout_csp
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    """Show the catalog, a page at a time."""
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    try:
        page = get_spectra_client().list_products(page=number, per_page=PRODUCTS_PER_PAGE)
    except ProviderError:
        logger.exception("Could not load the catalog")
        return render(
            request,
            "checkout/product_list.html",
            {"products": [], "catalog_error": _provider_message()},
            status=503,
        )
    cards = [_product_card(p) for p in page.items]
    return render(
        request,
        "checkout/product_list.html",
        {
            "products": cards,
            "page": page,
            "previous_page": page.page - 1 if page.page > 1 else None,
            "next_page": page.page + 1 if page.has_next else None,
        },
    )


def _product_card(product: Product) -> dict[str, Any]:
    in_stock = [v for v in product.variants if v.in_stock]
    shown = in_stock or list(product.variants)
    cheapest = min(shown, key=lambda v: v.price) if shown else None
    return {
        "product": product,
        "price": cheapest.price if cheapest else None,
        "compare_at_price": cheapest.compare_at_price if cheapest else None,
        "image_url": next((v.image_url for v in product.variants if v.image_url), ""),
        "in_stock": bool(in_stock),
        "several_prices": len({v.price for v in shown}) > 1,
    }


@checkout_csp
@require_http_methods(["GET", "POST"])
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """Show a product with its variant choice; POST adds the chosen variant to the cart."""
    try:
        product = get_spectra_client().get_product(product_id)
    except SpectraNotFound as err:
        raise Http404(_("No such product.")) from err
    status = 200
    if request.method == "POST":
        form = AddToCartForm(request.POST, product=product)
        if form.is_valid() and form.variant is not None:
            try:
                cart_service.cart_add_item(
                    request, variant_id=form.variant.id, quantity=form.cleaned_data["quantity"]
                )
            except SpectraValidationError:
                form.add_error(
                    "quantity", _("We don't have that many in stock. Try a smaller quantity.")
                )
            except SpectraConflict:
                cart_service.cart_forget(request)
                form.add_error(None, _("Your previous cart was already ordered. Try again."))
            except ProviderError:
                logger.exception("Could not add variant %s to the cart", form.variant.id)
                form.add_error(None, _provider_message())
            else:
                messages.success(
                    request, _("%(name)s was added to your cart.") % {"name": product.name}
                )
                return redirect("checkout:cart")
        form.wire_accessibility()
        status = 400
    else:
        form = AddToCartForm(product=product, initial=_initial_variant_choice(request, product))
    variants = [
        {
            "id": v.id,
            "sku": v.sku,
            "attributes": {k: str(val or "") for k, val in v.attributes.items()},
            "price": str(v.price),
            "compare_at_price": str(v.compare_at_price) if v.compare_at_price else "",
            "in_stock": v.in_stock,
            "quantity_available": v.quantity_available,
        }
        for v in product.variants
    ]
    selected = form.variant or _variant_from_initial(product, form.initial)
    return render(
        request,
        "checkout/product_detail.html",
        {
            "product": product,
            "form": form,
            "variants_json": variants,
            "selected": selected,
            "attribute_names": variant_attribute_names(product.variants),
            "image_url": next((v.image_url for v in product.variants if v.image_url), ""),
            "variant_labels": {
                "in_stock": _("In stock"),
                "low_stock": _("Only %(n)s left"),
                "sold_out": _("Sold out"),
                "add": _("Add to cart"),
                "unavailable": _("Unavailable"),
            },
        },
        status=status,
    )


def _initial_variant_choice(request: HttpRequest, product: Product) -> dict[str, Any]:
    variant = None
    try:
        variant = product.get_variant(int(request.GET.get("variant", "")))
    except ValueError:
        variant = None
    if variant is None:
        variant = next((v for v in product.variants if v.in_stock), None) or (
            product.variants[0] if product.variants else None
        )
    if variant is None:
        return {"quantity": 1}
    initial: dict[str, Any] = {f"attr_{k}": str(v) for k, v in variant.attributes.items() if v}
    initial["quantity"] = 1
    return initial


def _variant_from_initial(product: Product, initial: Mapping[str, Any]) -> Variant | None:
    chosen = {k[5:]: v for k, v in initial.items() if k.startswith("attr_")}
    for variant in product.variants:
        if all(str(variant.attributes.get(k) or "") == v for k, v in chosen.items()):
            return variant
    return None


@checkout_csp
@never_cache
@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    """Show the cart: lines with quantity and remove, subtotal, checkout button."""
    try:
        cart = cart_service.cart_get(request)
    except ProviderError:
        logger.exception("Could not load the cart")
        messages.error(request, _provider_message())
        cart = None
    return render(request, "checkout/cart.html", {"cart": cart})


@never_cache
@require_POST
def cart_update(request: HttpRequest, item_id: str) -> HttpResponse:
    """Change a line's quantity (0 removes it)."""
    form = CartLineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity between 0 and 99."))
        return redirect("checkout:cart")
    return _cart_change(request, item_id, form.cleaned_data["quantity"])


@never_cache
@require_POST
def cart_remove(request: HttpRequest, item_id: str) -> HttpResponse:
    """Remove a line."""
    return _cart_change(request, item_id, 0)


def _cart_change(request: HttpRequest, item_id: str, quantity: int) -> HttpResponse:
    try:
        cart = cart_service.cart_update_item(request, item_id=item_id, quantity=quantity)
    except SpectraValidationError:
        messages.error(request, _("We don't have that many in stock. Try a smaller quantity."))
    except SpectraNotFound:
        messages.error(request, _("That item is no longer in your cart."))
    except SpectraConflict:
        cart_service.cart_forget(request)
        messages.error(request, _("That cart was already ordered; start a new one."))
    except ProviderError:
        logger.exception("Could not change cart line %s", item_id)
        messages.error(request, _provider_message())
    else:
        if cart is not None:
            messages.success(request, _("Item removed.") if quantity == 0 else _("Cart updated."))
    return redirect("checkout:cart")


# --- Checkout steps -----------------------------------------------------------------------


@never_cache
@require_GET
def checkout_start(request: HttpRequest) -> HttpResponse:
    """Send the shopper to the first step they have not completed."""
    guard = _guard(request, "information")
    if guard.response is not None:
        return guard.response
    assert guard.attempt is not None
    return redirect(STEP_URLS[orders.attempt_next_step(guard.attempt)])


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
def checkout_information(request: HttpRequest) -> HttpResponse:
    """Step 1: email, shipping address, phone."""
    guard = _guard(request, "information")
    if guard.response is not None:
        return guard.response
    attempt = guard.attempt
    assert attempt is not None
    status = 200
    if request.method == "POST":
        form = InformationForm(request.POST)
        if form.is_valid():
            try:
                orders.attempt_save_information(
                    attempt=attempt,
                    email=form.cleaned_data["email"],
                    phone=form.cleaned_data.get("phone") or "",
                    shipping_address=form.address(),
                )
            except ShopperError as err:
                form.add_error(None, err.message)
            except ProviderError:
                logger.exception("attempt %s: could not save information", attempt.public_id)
                form.add_error(None, _provider_message())
            else:
                return redirect("checkout:checkout-shipping")
        status = 400
    else:
        initial: dict[str, Any] = dict(attempt.shipping_address or {})
        initial.update({"email": attempt.email, "phone": attempt.phone})
        form = InformationForm(initial={k: v for k, v in initial.items() if v})
    context = _step_context("information", attempt, _snapshot_quote(request, guard))
    context["form"] = form
    return render(request, "checkout/information.html", context, status=status)


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
def checkout_shipping(request: HttpRequest) -> HttpResponse:
    """Step 2: a shipping rate from the API for this cart and address."""
    guard = _guard(request, "shipping")
    if guard.response is not None:
        return guard.response
    attempt = guard.attempt
    assert attempt is not None
    try:
        snapshot_rates = guard.snapshot.rates if guard.snapshot is not None else None
        rates = (
            list(snapshot_rates)
            if snapshot_rates is not None and request.method == "GET"
            else orders.attempt_shipping_rates(attempt=attempt)
        )
    except ShopperError as err:
        messages.error(request, err.message)
        return redirect("checkout:checkout-information")
    except ProviderError:
        logger.exception("attempt %s: could not load shipping rates", attempt.public_id)
        rates = []
        messages.error(request, _provider_message())
    status = 200
    if request.method == "POST":
        form = ShippingMethodForm(request.POST, rates=rates)
        if form.is_valid():
            try:
                orders.attempt_choose_shipping(
                    attempt=attempt, service_code=form.cleaned_data["service_code"]
                )
            except ShopperError as err:
                form.add_error("service_code", err.message)
            except ProviderError:
                logger.exception("attempt %s: could not choose shipping", attempt.public_id)
                form.add_error(None, _provider_message())
            else:
                return redirect("checkout:checkout-payment")
        form.wire_accessibility()
        status = 400
    else:
        chosen = (attempt.shipping_rate or {}).get("service_code")
        codes = [r.service_code for r in rates]
        initial_code = chosen if chosen in codes else (codes[0] if codes else None)
        form = ShippingMethodForm(rates=rates, initial={"service_code": initial_code})
    context = _step_context("shipping", attempt, _snapshot_quote(request, guard))
    context.update({"form": form, "rates": rates})
    return render(request, "checkout/shipping.html", context, status=status)


def _billing_form(attempt: CheckoutAttempt, data: Any = None) -> BillingForm:
    if data is not None:
        return BillingForm(data, prefix="billing")
    initial = attempt.billing_address or attempt.shipping_address or {}
    return BillingForm(prefix="billing", initial={k: v for k, v in initial.items() if v})


def _render_payment(
    request: HttpRequest,
    attempt: CheckoutAttempt,
    *,
    billing_form: BillingForm | None = None,
    same_as_shipping: bool | None = None,
    promo_form: CodeForm | None = None,
    gift_card_form: CodeForm | None = None,
    status: int = 200,
    guard: _Guard | None = None,
) -> HttpResponse:
    quote = _snapshot_quote(request, guard) if guard is not None else _quote(request, attempt)
    context = _step_context("payment", attempt, quote)
    context.update(
        {
            "billing_form": billing_form or _billing_form(attempt),
            "same_as_shipping": attempt.billing_same_as_shipping
            if same_as_shipping is None
            else same_as_shipping,
            "promo_form": promo_form or CodeForm(prefix="promo", label=_("Promo code")),
            "gift_card_form": gift_card_form
            or CodeForm(prefix="gift", label=_("Gift card number")),
            "stripe_js_url": app_settings.STRIPE_JS_URL,
            "stripe_publishable_key": app_settings.STRIPE_PUBLISHABLE_KEY,
            "payment_needed": quote is None or quote.amount_due > 0,
            "payment_labels": {
                "processing": _("Processing your payment…"),
                "authenticating": _("Waiting for your bank to confirm…"),
                "placing": _("Placing your order…"),
                "card_incomplete": _("Enter your card number, expiry date, CVC and ZIP."),
                "generic": _("Something went wrong. Your card was not charged; try again."),
                "network": _("We could not reach the shop. Check your connection and try again."),
                "stripe_missing": _("The payment form could not load. Reload the page."),
                "card_number": _("Card number"),
                "exp_month": _("Expiry month (MM)"),
                "exp_year": _("Expiry year (YY)"),
                "cvc": _("Security code (CVC)"),
                "postal_code": _("Billing ZIP code"),
            },
        }
    )
    return render(request, "checkout/payment.html", context, status=status)


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
def checkout_payment(request: HttpRequest) -> HttpResponse:
    """Step 3: billing address, promo code, gift card, summary and the card.

    A POST saves the billing address. checkout.js posts it with ``Accept:
    application/json`` before collecting the card, and gets the billing details and a
    SetupIntent secret back: the attempt's own while no card was confirmed on it, else a
    new one, counted against the pay limits (none when a gift card covers the amount);
    without JavaScript (or on invalid input) the page re-renders with errors.
    """
    guard = _guard(request, "payment")
    if guard.response is not None:
        if request.method == "POST" and _wants_json(request):
            return _json_error(
                "step_unreachable",
                _("Complete the earlier checkout steps first."),
                http_status=409,
                redirect=guard.response.url
                if isinstance(guard.response, HttpResponseRedirect)
                else "",
            )
        return guard.response
    attempt = guard.attempt
    assert attempt is not None
    if request.method == "GET":
        return _render_payment(request, attempt, guard=guard)

    same = request.POST.get("same_as_shipping") in {"on", "true", "1"}
    billing_form = _billing_form(attempt, None if same else request.POST)
    if not same and not billing_form.is_valid():
        billing_form.wire_accessibility()
        if _wants_json(request):
            return _json_error(
                "invalid_billing",
                _("Check the billing address."),
                errors={k: [str(m) for m in v] for k, v in billing_form.errors.items()},
            )
        return _render_payment(
            request,
            attempt,
            billing_form=billing_form,
            same_as_shipping=False,
            status=400,
            guard=guard,
        )
    try:
        attempt = orders.attempt_set_billing(
            attempt=attempt,
            same_as_shipping=same,
            billing_address=None if same else billing_form.address(),
        )
        secret = (
            orders.attempt_setup_intent_reusable(attempt=attempt) if _wants_json(request) else ""
        )
        if secret is None:
            # A new SetupIntent lets the browser check a card with Stripe: it counts
            # against the same limits as a payment try.
            limit = rate_limit_hit(request=request, scope="pay")
            if not limit:
                return rate_limited_json(limit)
            secret = orders.attempt_setup_intent_create(attempt=attempt)
    except ShopperError as err:
        if _wants_json(request):
            return _json_error(err.code or "invalid", err.message, http_status=409)
        messages.error(request, err.message)
        return redirect("checkout:checkout-payment")
    except ProviderError:
        logger.exception("attempt %s: could not prepare the payment", attempt.public_id)
        if _wants_json(request):
            return _json_error("provider_error", _provider_message(), http_status=503)
        messages.error(request, _provider_message())
        return redirect("checkout:checkout-payment")
    if _wants_json(request):
        return JsonResponse(
            {
                "status": "ok",
                "setup_intent_secret": secret,
                "billing_details": _billing_details(attempt),
            }
        )
    messages.success(request, _("Billing address saved."))
    return redirect("checkout:checkout-payment")


def _billing_details(attempt: CheckoutAttempt) -> dict[str, Any]:
    address = (
        attempt.shipping_address if attempt.billing_same_as_shipping else attempt.billing_address
    ) or {}
    details: dict[str, Any] = {
        "name": address.get("name", ""),
        "email": attempt.email,
        "address": {
            "line1": address.get("address1", ""),
            "line2": address.get("address2", "") or None,
            "city": address.get("city", ""),
            "state": address.get("state", ""),
            "postal_code": address.get("zip", ""),
            "country": address.get("country", ""),
        },
    }
    if attempt.phone:
        details["phone"] = attempt.phone
    return details


def _code_view(
    request: HttpRequest,
    *,
    kind: str,
    prefix: str,
    label: str,
    apply: Callable[[CheckoutAttempt, str], str],
    remove: Callable[[CheckoutAttempt], object],
    removed_message: str,
    refusal: type[ShopperError],
) -> HttpResponse:
    """Apply or remove a promo code or gift card from the payment step's small form.

    ``apply`` returns the success message; ``refusal`` is the shopper-safe error it
    raises for a code that does not apply, shown beside the field.
    """
    guard = _guard(request, "payment")
    if guard.response is not None:
        return guard.response
    attempt = guard.attempt
    assert attempt is not None
    if request.POST.get("action") == "remove":
        try:
            remove(attempt)
        except (ShopperError, ProviderError):
            logger.exception("attempt %s: could not remove the %s", attempt.public_id, kind)
            messages.error(request, _provider_message())
        else:
            messages.success(request, removed_message)
        return redirect("checkout:checkout-payment")
    form = CodeForm(request.POST, prefix=prefix, label=label)

    def rerender(status: int) -> HttpResponse:
        form.wire_accessibility()
        if prefix == "promo":
            return _render_payment(request, attempt, promo_form=form, status=status, guard=guard)
        return _render_payment(request, attempt, gift_card_form=form, status=status, guard=guard)

    if rate_limit_form_error(request, form):
        return rerender(429)
    if form.is_valid():
        try:
            message = apply(attempt, form.cleaned_data["code"])
        except refusal as err:
            form.add_error("code", err.message)
        except ProviderError:
            logger.exception("attempt %s: could not check the %s", attempt.public_id, kind)
            form.add_error("code", _provider_message())
        else:
            messages.success(request, message)
            return redirect("checkout:checkout-payment")
    return rerender(400)


def _apply_promo(attempt: CheckoutAttempt, code: str) -> str:
    quote = orders.attempt_apply_promo(attempt=attempt, code=code)
    return quote.promo_message or _("Promo code applied.")


def _apply_gift_card(attempt: CheckoutAttempt, code: str) -> str:
    orders.attempt_apply_gift_card(attempt=attempt, code=code)
    return _("Gift card applied.")


@checkout_csp
@never_cache
@require_POST
@rate_limited("promo", form_view=True)
def checkout_promo(request: HttpRequest) -> HttpResponse:
    """Apply (or remove, with ``action=remove``) a promo code."""
    return _code_view(
        request,
        kind="promo code",
        prefix="promo",
        label=_("Promo code"),
        apply=_apply_promo,
        remove=lambda attempt: orders.attempt_remove_promo(attempt=attempt),
        removed_message=_("Promo code removed."),
        refusal=InvalidPromoCode,
    )


@checkout_csp
@never_cache
@require_POST
@rate_limited("gift_card", form_view=True)
def checkout_gift_card(request: HttpRequest) -> HttpResponse:
    """Apply (or remove, with ``action=remove``) a gift card."""
    return _code_view(
        request,
        kind="gift card",
        prefix="gift",
        label=_("Gift card number"),
        apply=_apply_gift_card,
        remove=lambda attempt: orders.attempt_remove_gift_card(attempt=attempt),
        removed_message=_("Gift card removed."),
        refusal=InvalidGiftCard,
    )


# --- Machine endpoints (JSON) -------------------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting recurses
        return None
    return body if isinstance(body, dict) else None


def _no_checkout() -> JsonResponse:
    return _json_error(
        "no_checkout",
        _("Your checkout has expired. Please start again."),
        http_status=404,
        redirect=reverse("checkout:cart"),
    )


def _payable_attempt(
    request: HttpRequest, attempt: CheckoutAttempt | None = None
) -> CheckoutAttempt | JsonResponse:
    """The session's attempt (or ``attempt``, already read), if it may be paid now."""
    attempt = attempt or _current_attempt(request)
    if attempt is None:
        return _no_checkout()
    if attempt.state == CheckoutAttempt.State.COLLECTING and (
        orders.attempt_next_step(attempt) != "payment"
    ):
        return _json_error(
            "step_unreachable",
            _("Complete the earlier checkout steps first."),
            http_status=409,
            redirect=_step_url(orders.attempt_next_step(attempt)),
        )
    return attempt


@never_cache
@require_POST
@rate_limited("pay")
def checkout_pay(request: HttpRequest) -> JsonResponse:
    """Authorize the card: ``{"payment_method_id"}`` -> ``{"status", "client_secret"}``."""
    body = _json_body(request)
    if body is None:
        return _json_error("invalid_json", _("The request was not valid JSON."))
    payment_method_id = body.get("payment_method_id", "")
    if not isinstance(payment_method_id, str) or len(payment_method_id) > 255:
        return _json_error("invalid_payment_method", _("The card details were not received."))
    # The usual click: the try is claimed and the attempt read in one statement.
    claimed = orders.attempt_claim_payment_try(
        public_id=request.session.get(SESSION_ATTEMPT),
        owner=cart_service.session_owner(request),
        payment_method_id=payment_method_id,
    )
    found = _payable_attempt(request, claimed)
    if isinstance(found, JsonResponse):
        return found
    attempt = found
    try:
        outcome = orders.attempt_pay(
            attempt=attempt,
            payment_method_id=payment_method_id,
            reload=False,
            try_claimed=claimed is not None,
        )
    except PaymentDeclined as err:
        return _json_error(err.code or "card_declined", err.message, http_status=402)
    except CheckoutStateError as err:
        return _json_error(err.code or "invalid_state", err.message, http_status=409)
    except ShopperError as err:
        return _json_error(err.code or "invalid", err.message, http_status=400)
    except ProviderError:
        logger.exception("attempt %s: payment failed at the provider", attempt.public_id)
        return _json_error("provider_error", _provider_message(), http_status=503)
    return JsonResponse({"status": outcome.status, "client_secret": outcome.client_secret})


@never_cache
@require_POST
@rate_limited("place")
def checkout_place(request: HttpRequest) -> JsonResponse:
    """Place the order for the authorized payment -> ``{"status", "redirect"}``."""
    if _json_body(request) is None:
        return _json_error("invalid_json", _("The request was not valid JSON."))
    public_id = request.session.get(SESSION_ATTEMPT)
    try:
        # The usual click: the paid attempt is claimed and read in one statement.
        placed = orders.order_place_in_session(
            public_id=public_id, owner=cart_service.session_owner(request)
        )
        if placed is None:
            attempt = _current_attempt(request)
            if attempt is None:
                return _no_checkout()
            placed = attempt, orders.order_place(attempt=attempt, reload=False)
    except ShopperError as err:
        return _json_error(err.code or "invalid_state", err.message, http_status=409)
    except ProviderError:
        logger.exception("attempt %s: placing the order failed", public_id)
        return JsonResponse(
            {
                "status": "pending",
                "redirect": reverse("checkout:checkout-pending", args=[public_id]),
            },
            status=202,
        )
    return _placement_json(request, *placed)


def _placement_json(
    request: HttpRequest, attempt: CheckoutAttempt, result: orders.PlacementResult
) -> JsonResponse:
    if result.status == "placed":
        cart_service.cart_forget(request)
        return JsonResponse(
            {
                "status": "placed",
                "redirect": reverse("checkout:checkout-confirmation", args=[attempt.public_id]),
            }
        )
    if result.status == "pending":
        return JsonResponse(
            {
                "status": "pending",
                "redirect": reverse("checkout:checkout-pending", args=[attempt.public_id]),
            },
            status=202,
        )
    step = result.step or "payment"
    if step != "payment":
        messages.error(request, result.message)
    return _json_error(
        result.code or "rejected",
        result.message,
        http_status=409,
        status="rejected",
        step=step,
        redirect=_step_url(step) if step != "payment" else "",
    )


# --- After payment ------------------------------------------------------------------------


@checkout_csp
@never_cache
@require_GET
def checkout_pending(request: HttpRequest, public_id: Any) -> HttpResponse:
    """'We are confirming your order': refreshes itself until the attempt resolves."""
    attempt = _attempt_in_session(request, public_id)
    if Order.objects.filter(attempt=attempt).exists():
        return redirect("checkout:checkout-confirmation", public_id=attempt.public_id)
    result: orders.PlacementResult | None = None
    if attempt.state in CheckoutAttempt.OPEN_STATES and attempt.state != (
        CheckoutAttempt.State.COLLECTING
    ):
        try:
            result = orders.order_place(attempt=attempt)
        except (ShopperError, ProviderError):
            logger.warning("attempt %s: still resolving the order", attempt.public_id)
    if result is not None and result.status == "placed":
        cart_service.cart_forget(request)
        return redirect("checkout:checkout-confirmation", public_id=attempt.public_id)
    attempt.refresh_from_db()
    failed = (result is not None and result.status == "rejected") or attempt.state in (
        CheckoutAttempt.State.FAILED,
        CheckoutAttempt.State.COLLECTING,
    )
    message = (result.message if result is not None else "") or attempt.failure_message
    step = (result.step if result is not None else None) or "payment"
    return render(
        request,
        "checkout/pending.html",
        {
            "attempt": attempt,
            "failed": failed,
            "message": message,
            "fix_url": _step_url(step),
            "refresh_seconds": 3,
        },
    )


@checkout_csp
@never_cache
@require_GET
def checkout_confirmation(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The confirmation page: order number, items, totals, addresses; safe to refresh."""
    attempt = _attempt_in_session(request, public_id)
    order = Order.objects.filter(attempt=attempt).first()
    if order is None:
        return redirect("checkout:checkout-pending", public_id=attempt.public_id)
    cart_service.cart_forget(request)
    return render(
        request,
        "checkout/confirmation.html",
        {
            "order": order,
            "status_url": order_status_url(order),
            **_order_context(order),
        },
    )


@checkout_csp
@never_cache
@require_GET
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """The guest order-status page behind a signed, expiring link."""
    order = order_from_status_token(token)
    if order is None:
        raise Http404(_("This link is not valid or has expired."))
    response = render(
        request, "checkout/order_status.html", {"order": order, **_order_context(order)}
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


def _order_context(order: Order) -> dict[str, Any]:
    method = order.shipping_method or {}
    progress = ["pending", "processing", "shipped", "delivered"]
    position = progress.index(order.status) if order.status in progress else -1
    return {
        "shipping_method": method,
        "tracking_url": tracking_url(
            carrier=order.shipping_carrier or str(method.get("carrier") or ""),
            tracking_number=order.tracking_number,
        ),
        "status_steps": [
            {"name": name, "label": label, "done": i <= position, "current": i == position}
            for i, (name, label) in enumerate(
                (
                    ("pending", _("Received")),
                    ("processing", _("Processing")),
                    ("shipped", _("Shipped")),
                    ("delivered", _("Delivered")),
                )
            )
        ],
        "status_label": dict(Order.Status.choices).get(order.status, order.status),
    }


# --- CSRF failures ------------------------------------------------------------------------


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseBase:
    """``CSRF_FAILURE_VIEW``: JSON for the machine endpoints, Django's page otherwise."""
    if _wants_json(request):
        return _json_error(
            "csrf_failed",
            _("Your session has expired. Reload the page and try again."),
            http_status=403,
        )
    return django_csrf_failure(request, reason=reason)
