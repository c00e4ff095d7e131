"""Hostile input: property-based fuzzing of every checkout form (directly and through the
views with Django's test client) and of the webhook endpoint.

Never a 500; never a stored change from invalid input. ``RELIABILITY_FUZZ_EXAMPLES``
(default 60, so CI stays fast) sets hypothesis's examples per test; the full run recorded in
docs/reliability.md uses 1000, over 10,000 generated inputs in all: each example of the
view tests posts 5 forms, 2 JSON endpoints or 3 webhook deliveries.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from checkout.forms import BillingForm, CodeForm, InformationForm, ShippingMethodForm
from checkout.models import CheckoutAttempt, Order, WebhookEvent
from checkout.services.spectra import ShippingRate
from checkout.testing.signing import sign_webhook_body
from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information, complete_shipping

from .conftest import Figures

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES") or 60)
# The suite's 300 s per test is for the default count; a full run gets time in proportion.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(max(300, 2 * EXAMPLES))]

FUZZ = hsettings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "A" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202egnp.exe",
    "\U0001d56c\U0001d591\U0001d58e \U0001f469\u200d\U0001f467",
    "e\u0301\u0301\u0301",
    "%s%s%n",
    "../../etc/passwd",
    "${jndi:ldap://x/a}",
    "\uff11\uff12\uff13\uff14\uff15",
    "\ufeff10001",
    "10001\n",
    "NY\r\nSet-Cookie: x=1",
]
# Everything but lone surrogates (they cannot be encoded into a request at all).
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)
ADDRESS_FIELDS = ("name", "address1", "address2", "city", "state", "zip", "country")
INFO_FIELDS = ("email", "phone", *ADDRESS_FIELDS)


def form_data(fields: tuple[str, ...], prefix: str = "") -> st.SearchStrategy[dict[str, str]]:
    names = [f"{prefix}-{f}" if prefix else f for f in fields]
    return st.dictionaries(st.sampled_from(names), TEXT, max_size=len(names))


RATES = [
    ShippingRate.from_api(
        {
            "carrier": "UPS",
            "service": "UPS Ground",
            "service_code": "ups_ground",
            "method": "ground",
            "price": 8.99,
            "estimated_delivery": "2026-06-01",
            "transit_days": 5,
        }
    )
]


# --- Forms, directly ----------------------------------------------------------------------


@FUZZ
@given(data=form_data(INFO_FIELDS))
def test_information_form_never_raises_and_cleans_to_sane_values(data: dict[str, str]) -> None:
    form = InformationForm(data)
    if form.is_valid():
        address = form.address()
        assert address["country"] == "US"
        assert len(address["zip"]) in (5, 10)
        assert all("\x00" not in v for v in address.values())
        assert len(address["state"]) == 2


@FUZZ
@given(data=form_data(ADDRESS_FIELDS, prefix="billing"))
def test_billing_form_never_raises(data: dict[str, str]) -> None:
    form = BillingForm(data, prefix="billing")
    if form.is_valid():
        assert all("\x00" not in v for v in form.address().values())


@FUZZ
@given(code=TEXT)
def test_shipping_choice_accepts_only_offered_codes(code: str) -> None:
    form = ShippingMethodForm({"service_code": code}, rates=RATES)
    assert form.is_valid() == (code == "ups_ground")


@FUZZ
@given(code=TEXT)
def test_code_form_never_raises_and_is_bounded(code: str) -> None:
    form = CodeForm({"promo-code": code}, prefix="promo", label="Promo")
    if form.is_valid():
        cleaned = form.cleaned_data["code"]
        assert len(cleaned) <= 64
        assert "\x00" not in cleaned
        assert cleaned == cleaned.upper()


# --- The views, through the test client ---------------------------------------------------


@pytest.fixture
def at_payment(live: Live, client: Client, settings: Any) -> Client:
    # Fuzzing is about parsing, not abuse: the rate limits would answer 429 after a few.
    settings.CHECKOUT_RATE_LIMITS = {"promo": (), "gift_card": (), "pay": (), "place": ()}
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    return client


def snapshot(attempt: CheckoutAttempt) -> dict[str, Any]:
    attempt.refresh_from_db()
    fields = (
        "email",
        "phone",
        "shipping_address",
        "billing_address",
        "billing_same_as_shipping",
        "shipping_rate",
        "promo_code",
        "gift_card_code",
        "payment_intent_id",
        "state",
    )
    return {f: getattr(attempt, f) for f in fields}


@pytest.mark.django_db
def test_fuzzed_posts_to_every_step_never_500_and_change_nothing_when_refused(
    at_payment: Client, figures: Figures
) -> None:
    client = at_payment
    attempt = CheckoutAttempt.objects.get()
    before = snapshot(attempt)
    statuses: dict[str, dict[int, int]] = {}
    started = time.monotonic()

    def record(name: str, status: int) -> None:
        assert status < 500, (name, status)
        statuses.setdefault(name, {}).setdefault(status, 0)
        statuses[name][status] += 1

    @FUZZ
    @given(
        info=form_data(INFO_FIELDS),
        shipping=TEXT,
        billing=form_data(ADDRESS_FIELDS, prefix="billing"),
        promo=TEXT,
        gift=TEXT,
    )
    def run(
        info: dict[str, str],
        shipping: str,
        billing: dict[str, str],
        promo: str,
        gift: str,
    ) -> None:
        # Missing required fields make sure every example is invalid, so nothing may change.
        info.pop("email", None)
        response = client.post("/checkout/information/", info)
        record("information", response.status_code)
        response = client.post("/checkout/shipping/", {"service_code": "x" + shipping})
        record("shipping", response.status_code)
        billing.pop("billing-address1", None)
        response = client.post("/checkout/payment/", billing)
        record("billing", response.status_code)
        response = client.post("/checkout/promo/", {"promo-code": promo})
        record("promo", response.status_code)
        response = client.post("/checkout/gift-card/", {"gift-code": "Z" + gift})
        record("gift_card", response.status_code)
        assert snapshot(attempt) == before

    run()
    figures.record(
        "hostile-forms",
        scenario="Hostile input: checkout forms through the views",
        done=f"{EXAMPLES} hypothesis examples x 5 forms (information, shipping "
        "choice, billing, promo, gift card) with unicode edge cases, NUL bytes, 5,000-char "
        "fields, injection strings, missing fields",
        expected="never a 500; the attempt unchanged by any refused post",
        observed=f"status counts {statuses}; "
        f"{sum(sum(c.values()) for c in statuses.values())} requests; attempt unchanged",
        seconds=time.monotonic() - started,
        statuses=statuses,
    )


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["payment_method_id", "amount", "x", ""]), children)
    ),
    max_leaves=10,
)


@pytest.mark.django_db
def test_fuzzed_json_to_pay_and_place_never_500(at_payment: Client, figures: Figures) -> None:
    client = at_payment
    client.get("/checkout/payment/")  # the session knows its attempt
    statuses: dict[str, dict[int, int]] = {"pay": {}, "place": {}}
    started = time.monotonic()

    @FUZZ
    @given(body=JSON_VALUE)
    def run(body: Any) -> None:
        for name, path in (("pay", "/checkout/pay/"), ("place", "/checkout/place/")):
            response = client.post(path, data=json.dumps(body), content_type="application/json")
            # 503 is the endpoint's deliberate "provider error" answer (Stripe refused a
            # made-up PaymentMethod id); a 500 would be a crash.
            assert response.status_code in (400, 402, 404, 409, 503), (path, body)
            assert "reason" in response.json()
            counts = statuses[name]
            counts[response.status_code] = counts.get(response.status_code, 0) + 1

    run()
    # No card was authorized by any of it (no valid PaymentMethod was ever sent).
    assert CheckoutAttempt.objects.get().state == CheckoutAttempt.State.COLLECTING
    figures.record(
        "hostile-json",
        scenario="Hostile input: the JSON endpoints (pay, place)",
        done=f"{EXAMPLES} hypothesis JSON bodies (nested lists and objects, wrong types, "
        "unicode edge cases) each posted to /checkout/pay/ and /checkout/place/",
        expected="a 4xx (or the deliberate 503 for a card Stripe refuses) with a JSON "
        "reason; never a 500; no card authorized",
        observed=f"status counts {statuses}; {sum(sum(c.values()) for c in statuses.values())} "
        "requests; attempt still collecting",
        seconds=time.monotonic() - started,
        statuses=statuses,
    )


@pytest.mark.django_db
def test_deeply_nested_json_to_pay_is_refused_not_500(at_payment: Client) -> None:
    response = at_payment.post(
        "/checkout/pay/", data="[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json"


# --- The webhook endpoint -----------------------------------------------------------------

WEBHOOK = "/webhooks/spectra/"


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    settings.CHECKOUT_WEBHOOK_SECRET = "whsec_reliability_fuzz_secret"
    return str(settings.CHECKOUT_WEBHOOK_SECRET)


def hostile_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2000),
        st.builds(lambda v: json.dumps(v).encode(), JSON_VALUE),
        st.builds(
            lambda data: json.dumps({"event": "order.shipped", "data": data}).encode(),
            st.dictionaries(
                st.sampled_from(["id", "status", "order_number", "grand_total", "items"]),
                JSON_VALUE,
            ),
        ),
        st.sampled_from(
            [
                b"",
                b"\xff\xfe\x00",
                '{"event": "order.shipped", "data": {"id": "\uff11"}}'.encode(),
                b'{"event": "order.shipped", "data": {"id": 1e309}}',
                b'{"event": "order.shipped", "data": {"id": true}}',
                b'{"event": null, "data": []}',
                b'{"event": "order.shipped", "data": {"id": 99999999999999999999999}}',
                '{"event": "\u202e", "data": {}}'.encode(),
            ]
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_fuzzed_webhooks_never_500_and_unsigned_change_nothing(
    client: Client, webhook_secret: str, figures: Figures
) -> None:
    statuses: dict[str, dict[int, int]] = {"unsigned": {}, "bad signature": {}, "signed": {}}
    started = time.monotonic()

    @FUZZ
    @given(body=hostile_bodies())
    def run(body: bytes) -> None:
        stored = WebhookEvent.objects.count()
        for kind, headers in (
            ("unsigned", {}),
            ("bad signature", {"X-Webhook-Signature": "sha256=" + "0" * 64}),
        ):
            response = client.post(
                WEBHOOK, data=body, content_type="application/json", headers=headers
            )
            assert response.status_code == 401, (kind, response.status_code)
            statuses[kind][401] = statuses[kind].get(401, 0) + 1
            assert WebhookEvent.objects.count() == stored
        signed = client.post(
            WEBHOOK,
            data=body,
            content_type="application/json",
            HTTP_X_WEBHOOK_SIGNATURE=sign_webhook_body(body, webhook_secret),
        )
        assert signed.status_code in (200, 202, 400), signed.status_code
        statuses["signed"][signed.status_code] = statuses["signed"].get(signed.status_code, 0) + 1
        assert Order.objects.count() == 0  # nothing here may create an order

    run()
    figures.record(
        "hostile-webhooks",
        scenario="Hostile input: the webhook endpoint",
        done=f"{EXAMPLES} hypothesis bodies (random bytes, random JSON, order events "
        "with wrong types, unicode edge cases), each unsigned, with a forged signature and "
        "signed",
        expected="unsigned/forged: 401 and nothing stored; signed garbage: 400 or stored "
        "and ignored; never a 500",
        observed=f"status counts {statuses}; "
        f"{sum(sum(c.values()) for c in statuses.values())} requests; 0 orders created",
        seconds=time.monotonic() - started,
        statuses=statuses,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"x" * (256 * 1024 + 1), 413),
        (b"[" * 100_000, 400),
        (b'{"event": "order.shipped", "data": ' * 5000, 400),
    ],
    ids=["huge", "deep-array", "deep-object"],
)
def test_huge_and_deep_signed_bodies_are_refused(
    client: Client, webhook_secret: str, body: bytes, status: int
) -> None:
    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        HTTP_X_WEBHOOK_SIGNATURE=sign_webhook_body(body, webhook_secret),
    )
    assert response.status_code == status
    assert WebhookEvent.objects.count() == 0
