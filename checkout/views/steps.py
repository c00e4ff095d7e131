"""The checkout steps a shopper fills in: information, shipping, payment (billing address,
promo code, gift card, the card). Every step is reachable only after the ones before it,
and only for the session that owns the checkout.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from checkout.addresses import country_name
from checkout.conf import app_settings
from checkout.csp import checkout_csp
from checkout.exceptions import (
    InvalidGiftCard,
    InvalidPromoCode,
    ProviderError,
    ShopperError,
)
from checkout.forms import (
    AddressForm,
    BillingForm,
    CodeForm,
    InformationForm,
    ShippingMethodForm,
)
from checkout.models import CheckoutAttempt
from checkout.ratelimit import (
    rate_limit_form_error,
    rate_limit_hit,
    rate_limited,
    rate_limited_json,
)
from checkout.services import accounts, orders
from checkout.services import cart as cart_service
from checkout.services.payment_element import payment_element_active, payment_element_options
from checkout.templatetags.checkout_tags import money
from checkout.views.common import (
    SESSION_ATTEMPT,
    STEP_URLS,
    STEPS,
    checkout_configured,
    json_error,
    provider_message,
    recent_order,
    step_url,
    wants_json,
)

logger = logging.getLogger(__name__)


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
            messages.error(request, provider_message())
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
        if recent_order(request) is not None:
            # Back after paying, or a second tab: the cart page shows that order.
            return _Guard(response=redirect("checkout:cart"))
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
        messages.error(request, provider_message())
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
            messages.error(request, provider_message())
    return snapshot.quote


def _fragment_cache(request: HttpRequest, guard: _Guard | None) -> dict[str, Any] | None:
    """Where this step page's content may be cached (``{% checkout_cache %}``), or None.

    Only a plain GET whose quote came with a cache token, and only when
    ``CHECKOUT_FRAGMENT_CACHE_SECONDS`` is set. The key names the step (with its query
    string), the attempt and its state (its fingerprint moves with every change of
    details), the cart version and quote the token names, the language, the signed-in
    user, and a digest of this browser's CSRF secret (the content holds CSRF tokens, and
    the secret changes at login). The guard has already checked that this session owns
    the attempt. The site's own layout around the content (a signed-in header, messages)
    is never inside it.
    """
    seconds = app_settings.FRAGMENT_CACHE_SECONDS
    if not seconds or request.method != "GET" or guard is None or guard.attempt is None:
        return None
    snapshot = guard.snapshot
    if snapshot is None or snapshot.quote is None or not snapshot.token:
        return None
    # The caller (_step_context) has made the page's CSRF token, so the secret exists.
    csrf = hashlib.sha256(str(request.META.get("CSRF_COOKIE", "")).encode()).hexdigest()
    # The information step's form is prefilled from the signed-in account (and the query
    # string picks a saved address): both name the key, since signing out keeps the
    # browser's CSRF secret.
    user = getattr(request, "user", None)
    parts = (
        request.get_full_path(),
        getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else "-",
        guard.attempt.public_id,
        *orders.attempt_fingerprint(guard.attempt),
        snapshot.token,
        get_language(),
        app_settings.PAYMENT_UI,  # a switched payment form never shows a cached old one
        csrf[:32],
    )
    return {"seconds": seconds, "key": ":".join(map(str, parts))}


def _progress(step: str, reachable: str) -> list[dict[str, Any]]:
    """The steps of the progress bar: each one's label, link and whether it is done."""
    return [
        {
            "name": name,
            "label": label,
            "url": step_url(name),
            "done": STEPS.index(name) < STEPS.index(step),
            "current": name == step,
            "reachable": STEPS.index(name) <= STEPS.index(reachable),
        }
        for name, label in (
            ("information", _("Information")),
            ("shipping", _("Shipping")),
            ("payment", _("Payment")),
        )
    ]


def _step_context(
    request: HttpRequest,
    step: str,
    attempt: CheckoutAttempt,
    quote: orders.Quote | None,
    *,
    guard: _Guard | None = None,
) -> dict:
    """The context every step page shares; ``guard`` (a plain GET) allows fragment caching."""
    reachable = orders.attempt_next_step(attempt)
    # One masked CSRF token for the whole page (Django's context processor would mask
    # another); making it also makes the secret the fragment cache's key names.
    csrf_token = get_token(request)
    return {
        "csrf_token": csrf_token,
        "step": step,
        # Built when the progress bar is rendered: a cached fragment already holds it.
        "steps": functools.partial(_progress, step, reachable),
        "attempt": attempt,
        "quote": quote,
        "fragment_cache": _fragment_cache(request, guard),
    }


@never_cache
@require_GET
@checkout_configured
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
@checkout_configured
def checkout_information(request: HttpRequest) -> HttpResponse:
    """Step 1: email, shipping address, phone."""
    guard = _guard(request, "information")
    if guard.response is not None:
        return guard.response
    attempt = guard.attempt
    assert attempt is not None
    addresses = accounts.addresses_recent(user=request.user)  # none for a guest
    status = 200
    form: InformationForm | SimpleLazyObject
    if request.method == "POST":
        form = InformationForm(request.POST)
        if _address_refresh(request, form):
            form = form.refreshed()
        elif form.is_valid():
            try:
                orders.attempt_save_information(
                    attempt=attempt,
                    email=form.cleaned_data["email"],
                    phone=form.cleaned_data.get("phone") or "",
                    shipping_address=form.address(),
                    language=get_language(),  # kept in the same write
                )
            except ShopperError as err:
                form.add_error(None, err.message)
            except ProviderError:
                logger.exception("attempt %s: could not save information", attempt.public_id)
                form.add_error(None, provider_message())
            else:
                return redirect("checkout:checkout-shipping")
        if form.is_bound:  # not shown again for a new country: it has errors
            status = 400
    else:
        # A signed-in customer starts with the account's email and a last-used address
        # (``?address=<n>`` picks another of them).
        initial = accounts.information_initial(
            attempt=attempt,
            user=request.user,
            addresses=addresses,
            address_index=_address_choice(request),
        )
        # Built when the page is rendered, not when its content comes from the cache.
        form = SimpleLazyObject(lambda: InformationForm(initial=initial))
    quote = _snapshot_quote(request, guard)
    context = _step_context(
        request, "information", attempt, quote, guard=guard if request.method == "GET" else None
    )
    context["form"] = form
    context["saved_addresses"] = addresses
    return render(request, "checkout/information.html", context, status=status)


def _address_choice(request: HttpRequest) -> int | None:
    value = request.GET.get("address", "")
    return int(value) if value.isdigit() and len(value) < 3 else None


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
@checkout_configured
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
            # A POST is checked against the rates its page showed, while they are current.
            else orders.attempt_rates_shown(attempt=attempt)
        )
    except ShopperError as err:
        messages.error(request, err.message)
        return redirect("checkout:checkout-information")
    except ProviderError:
        logger.exception("attempt %s: could not load shipping rates", attempt.public_id)
        rates = []
        messages.error(request, provider_message())
    status = 200
    form: ShippingMethodForm | SimpleLazyObject
    if request.method == "POST":
        form = ShippingMethodForm(request.POST, rates=rates)
        if form.is_valid():
            try:
                orders.attempt_choose_shipping(
                    attempt=attempt, service_code=form.cleaned_data["service_code"], rates=rates
                )
            except ShopperError as err:
                form.add_error("service_code", err.message)
            except ProviderError:
                logger.exception("attempt %s: could not choose shipping", attempt.public_id)
                form.add_error(None, provider_message())
            else:
                return redirect("checkout:checkout-payment")
        status = 400
        selected = str(form["service_code"].value() or "")
    else:
        chosen = (attempt.shipping_rate or {}).get("service_code")
        codes = [r.service_code for r in rates]
        initial_code = chosen if chosen in codes else (codes[0] if codes else None)
        # Built when the page is rendered, not when its content comes from the cache.
        form = SimpleLazyObject(
            lambda: ShippingMethodForm(rates=rates, initial={"service_code": initial_code})
        )
        selected = str(initial_code or "")
    quote = _snapshot_quote(request, guard)

    # The summary prices the rate that is selected on the page (saved or not), and the
    # page's script switches between the rates' summaries as the shopper picks one.
    def previews() -> dict[str, orders.Quote]:
        if quote is None:
            return {}
        return {rate.service_code: orders.quote_for_rate(quote=quote, rate=rate) for rate in rates}

    shown = next(
        (
            orders.quote_for_rate(quote=quote, rate=rate)
            for rate in rates
            if quote is not None and rate.service_code == selected
        ),
        quote,
    )
    context = _step_context(
        request, "shipping", attempt, shown, guard=guard if status == 200 else None
    )
    context.update(
        {
            "form": form,
            "rates": rates,
            # A callable: computed only when the page is rendered, not when it is cached.
            "rate_summaries": lambda: {code: _summary_figures(q) for code, q in previews().items()},
        }
    )
    return render(request, "checkout/shipping.html", context, status=status)


def _summary_figures(quote: orders.Quote) -> dict[str, str]:
    """The summary's lines that change with the rate, as the page shows them."""
    return {
        "shipping": (
            _("Free") if quote.shipping_is_free else money(quote.shipping_total, quote.currency)
        ),
        "gift_card": (
            money(-quote.gift_card_amount, quote.currency) if quote.gift_card_amount else ""
        ),
        "total": money(quote.amount_due, quote.currency),
        "note": quote.shipping_note,
    }


def _address_refresh(request: HttpRequest, form: AddressForm) -> bool:
    """Return whether to show ``form`` again for its newly chosen country, not to save it.

    checkout.js asks for that (``refresh_address``) when the shopper picks a country, and
    swaps in the new fields; without JavaScript the next submit shows them, with a note.
    """
    if "refresh_address" in request.POST:
        return True
    if form.country_changed:
        messages.info(
            request,
            _("The address now has the fields %(country)s uses. Check them and continue.")
            % {"country": country_name(form.country_code)},
        )
        return True
    return False


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
    unchanged = status == 200 and not (billing_form or promo_form or gift_card_form)
    context = _step_context(request, "payment", attempt, quote, guard=guard if unchanged else None)
    context.update(
        {
            # Built when rendered, not when the page's content comes from the cache.
            "billing_form": billing_form or SimpleLazyObject(lambda: _billing_form(attempt)),
            "same_as_shipping": attempt.billing_same_as_shipping
            if same_as_shipping is None
            else same_as_shipping,
            "promo_form": promo_form
            or SimpleLazyObject(lambda: CodeForm(prefix="promo", label=_("Promo code"))),
            "gift_card_form": gift_card_form
            or SimpleLazyObject(lambda: CodeForm(prefix="gift", label=_("Gift card number"))),
            "stripe_js_url": app_settings.STRIPE_JS_URL,
            "stripe_publishable_key": app_settings.STRIPE_PUBLISHABLE_KEY,
            "payment_needed": quote is None or quote.amount_due > 0,
            "payment_element": payment_element_active(),
            "payment_element_options": payment_element_options(
                amount=quote.amount_due, currency=attempt.currency
            )
            if quote is not None and quote.amount_due > 0 and payment_element_active()
            else None,
            "payment_labels": {
                "processing": _("Processing your payment…"),
                "authenticating": _("Waiting for your bank to confirm…"),
                "placing": _("Placing your order…"),
                "card_incomplete": _("Enter your card number, expiry date, CVC and ZIP."),
                "generic": _("Something went wrong. Your card was not charged; try again."),
                "authentication_failed": _(
                    "Your bank could not authenticate this payment, so your card was not "
                    "charged. Try again, or use another card."
                ),
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
@checkout_configured
def checkout_payment(request: HttpRequest) -> HttpResponse:
    """Step 3: billing address, promo code, gift card, summary and the card.

    A POST saves the billing address. checkout.js posts it with ``Accept:
    application/json`` before collecting the card, and gets the billing details and a
    SetupIntent secret back: the attempt's own while no card was confirmed on it, else a
    new one, counted against the pay limits (none when a gift card covers the amount, and
    none with the Payment Element, which needs no SetupIntent); without JavaScript (or on
    invalid input) the page re-renders with errors.
    """
    guard = _guard(request, "payment")
    if guard.response is not None:
        if request.method == "POST" and wants_json(request):
            return json_error(
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
    if not same and not wants_json(request) and _address_refresh(request, billing_form):
        return _render_payment(
            request,
            attempt,
            billing_form=billing_form.refreshed(),
            same_as_shipping=False,
            guard=guard,
        )
    if not same and not billing_form.is_valid():
        if wants_json(request):
            return json_error(
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
        # The Payment Element needs no SetupIntent: its ConfirmationToken goes straight
        # to the PaymentIntent (so 3-D Secure is asked once, on the payment).
        secret = (
            orders.attempt_setup_intent_reusable(attempt=attempt)
            if wants_json(request) and not payment_element_active()
            else ""
        )
        if secret is None:
            # A new SetupIntent lets the browser check a card with Stripe: it counts
            # against the same limits as a payment try.
            limit = rate_limit_hit(request=request, scope="pay")
            if not limit:
                return rate_limited_json(limit)
            secret = orders.attempt_setup_intent_create(attempt=attempt)
    except ShopperError as err:
        if wants_json(request):
            return json_error(err.code or "invalid", err.message, http_status=409)
        messages.error(request, err.message)
        return redirect("checkout:checkout-payment")
    except ProviderError:
        logger.exception("attempt %s: could not prepare the payment", attempt.public_id)
        if wants_json(request):
            return json_error("provider_error", provider_message(), http_status=503)
        messages.error(request, provider_message())
        return redirect("checkout:checkout-payment")
    if wants_json(request):
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

    A refusal re-renders the payment step here (400) so the entered code stays beside
    its error; a GET of this URL (a reload, the history, a bookmark) answers with the
    payment step rather than a 405, and the page's script puts the step's own URL in the
    address bar.
    """
    if request.method == "GET":
        return redirect("checkout:checkout-payment")
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
            messages.error(request, provider_message())
        else:
            messages.success(request, removed_message)
        return redirect("checkout:checkout-payment")
    form = CodeForm(request.POST, prefix=prefix, label=label)

    def rerender(status: int) -> HttpResponse:
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
            form.add_error("code", provider_message())
        else:
            messages.success(request, message)
            return redirect("checkout:checkout-payment")
    return rerender(400)


def _removing(request: HttpRequest) -> bool:
    """A POST that removes the applied code: it guesses nothing, so it is never limited."""
    return request.POST.get("action") == "remove"


def _apply_promo(attempt: CheckoutAttempt, code: str) -> str:
    # What the promo gives is shown beside the applied code; the message only confirms.
    quote = orders.attempt_apply_promo(attempt=attempt, code=code)
    return _("Promo code %(code)s applied.") % {"code": quote.promo_code or code}


def _apply_gift_card(attempt: CheckoutAttempt, code: str) -> str:
    orders.attempt_apply_gift_card(attempt=attempt, code=code)
    return _("Gift card applied.")


@checkout_csp
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited("promo", form_view=True, exempt=_removing)
@checkout_configured
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
@require_http_methods(["GET", "POST"])
@rate_limited("gift_card", form_view=True, exempt=_removing)
@checkout_configured
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
