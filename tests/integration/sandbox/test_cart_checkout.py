"""Cart mutations, shipping rates, tax, promo codes and gift cards (incl. a redemption race)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
import stripe

from checkout.testing.sandbox.seed import GIFT_CARD_RE
from checkout.testing.servers import SandboxProcess

from .helpers import CABLE, IPHONE_14_PRO, SCREEN_PROTECTOR, Client, authorize, dec, guide_body

pytestmark = [
    pytest.mark.integration,
    pytest.mark.default_contract(
        "the sandbox's own tests of its default profile (test_contracts.py runs both)"
    ),
]

C = "/commerce-api/v1"


def test_cart_mutations_answer_the_full_cart(api: Client) -> None:
    created = api.post(f"{C}/cart")
    assert created.status_code == 201
    cart = created.json()["data"]
    assert cart["items"] == []
    assert cart["subtotal"] == 0.0
    assert cart["item_count"] == 0
    assert cart["locked"] is False
    assert cart["order_id"] is None
    items = f"{C}/cart/{cart['id']}/items"
    added = api.post(items, json={"variant_id": CABLE, "quantity": 1})
    assert added.status_code == 201
    again = api.post(items, json={"variant_id": CABLE, "quantity": 2}).json()["data"]
    assert len(again["items"]) == 1
    item = again["items"][0]
    assert item["quantity"] == 3
    assert {"id", "variant_id", "sku", "name", "unit_price", "quantity", "line_total"} <= set(item)
    assert "image_url" in item
    assert "attributes" in item
    assert dec(item["line_total"]) == dec(item["unit_price"]) * 3
    assert again["item_count"] == 3
    patched = api.patch(f"{items}/{item['id']}", json={"quantity": 5})
    assert patched.status_code == 200
    assert patched.json()["data"]["items"][0]["quantity"] == 5
    api.post(items, json={"variant_id": SCREEN_PROTECTOR, "quantity": 1})
    removed = api.delete(f"{items}/{item['id']}")
    assert removed.status_code == 200
    assert [i["variant_id"] for i in removed.json()["data"]["items"]] == [SCREEN_PROTECTOR]
    other = removed.json()["data"]["items"][0]["id"]
    emptied = api.patch(f"{items}/{other}", json={"quantity": 0}).json()["data"]
    assert emptied["items"] == []
    assert emptied["subtotal"] == 0.0
    assert api.patch(f"{items}/{other}", json={"quantity": 1}).status_code == 404
    assert api.patch(f"{items}/{other}", json={"quantity": -1}).status_code == 422


def test_shipping_rates_cheapest_first_and_free_over_threshold(api: Client) -> None:
    cheap = api.cart((CABLE, 1))
    address = {
        "address1": "1 Main",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
    }
    rates = api.post(
        f"{C}/checkout/shipping-rates", json={"cart_id": cheap["id"], "address": address}
    ).json()["data"]
    prices = [r["price"] for r in rates]
    assert prices == sorted(prices)
    assert {r["carrier"] for r in rates} == {"UPS", "FedEx"}
    assert all(r["price"] > 0 for r in rates)
    assert {
        "carrier",
        "service",
        "service_code",
        "price",
        "estimated_delivery",
        "transit_days",
    } <= set(rates[0])
    far = api.post(
        f"{C}/checkout/shipping-rates",
        json={"cart_id": cheap["id"], "address": {**address, "zip": "94103", "state": "CA"}},
    ).json()["data"]
    ground = {r["service"]: r["price"] for r in rates}
    far_ground = {r["service"]: r["price"] for r in far}
    assert far_ground["UPS Ground"] > ground["UPS Ground"]

    big = api.cart((IPHONE_14_PRO, 1))
    free = api.post(
        f"{C}/checkout/shipping-rates", json={"cart_id": big["id"], "address": address}
    ).json()["data"]
    assert free[0]["price"] == 0.0
    assert {r["service"] for r in free if r["price"] == 0} == {"UPS Ground", "FedEx Ground"}


def test_tax_rules(api: Client) -> None:
    cart = api.cart((CABLE, 10))  # 99.90
    ny = api.post(
        f"{C}/checkout/calculate-tax", json={"cart_id": cart["id"], "shipping_state": "NY"}
    ).json()["data"]
    assert ny["tax_rate"] == 0.08875
    assert dec(ny["tax_amount"]) == Decimal("8.87")
    oregon = api.post(
        f"{C}/checkout/calculate-tax", json={"cart_id": cart["id"], "shipping_state": "OR"}
    ).json()["data"]
    assert oregon["tax_amount"] == 0.0
    assert oregon["tax_rate"] == 0.0


@pytest.mark.parametrize(
    ("code", "lines", "valid", "discount", "free_shipping"),
    [
        ("SAVE10", [(CABLE, 10)], True, "9.99", False),
        ("save10", [(CABLE, 10)], True, "9.99", False),
        ("TAKE20", [(IPHONE_14_PRO, 1)], True, "50.00", False),  # capped
        ("TAKE20", [(CABLE, 1)], True, "2.00", False),
        ("FIVEOFF", [(CABLE, 1)], True, "5.00", False),
        ("FREESHIP", [(CABLE, 1)], True, "0.00", True),
        ("BIGSPEND100", [(CABLE, 1)], False, "0.00", False),  # minimum amount
        ("BIGSPEND100", [(IPHONE_14_PRO, 1)], True, "100.00", False),
        ("ACCESSORY50", [(IPHONE_14_PRO, 1), (CABLE, 2)], True, "9.99", False),
        ("EXPIRED15", [(CABLE, 1)], False, "0.00", False),
        ("FUTURE25", [(CABLE, 1)], False, "0.00", False),
        ("NOSUCHCODE", [(CABLE, 1)], False, "0.00", False),
    ],
)
def test_promo_kinds(
    api: Client,
    code: str,
    lines: list[tuple[int, int]],
    valid: bool,
    discount: str,
    free_shipping: bool,
) -> None:
    cart = api.cart(*lines)
    response = api.post(
        f"{C}/checkout/validate-promo",
        json={"cart_id": cart["id"], "code": code, "email": "a@example.com"},
    )
    assert response.status_code == 200
    result = response.json()["data"]
    assert result["valid"] is valid
    assert dec(result["discount_amount"]) == Decimal(discount)
    assert result["free_shipping"] is free_shipping
    assert result["message"]


def test_usage_limited_and_per_customer_promos(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    def order_with(code: str, email: str) -> requests.Response:
        cart = api.cart((CABLE, 1))
        due = api.amount_due(cart["id"], promo_code=code, email=email)
        body = guide_body(cart["id"], authorize(stripe_client, due), promo_code=code)
        body["billing"]["email"] = email
        return api.post("/api/v1/orders", json=body)

    first = order_with("ONEUSE", "a@example.com")
    assert first.status_code == 201
    assert first.json()["data"]["promo_code"] == "ONEUSE"
    assert dec(first.json()["data"]["discount_total"]) == Decimal("9.99")  # capped at subtotal
    second = order_with("ONEUSE", "b@example.com")
    assert second.status_code == 422
    assert "payment.promo_code" in second.json()["error"]["fields"]

    assert order_with("WELCOME15", "c@example.com").status_code == 201
    again = order_with("WELCOME15", "C@example.com")
    assert again.status_code == 422
    assert order_with("WELCOME15", "d@example.com").status_code == 201


def test_free_shipping_promo_in_an_order(api: Client, stripe_client: stripe.StripeClient) -> None:
    cart = api.cart((CABLE, 1))
    due = api.amount_due(cart["id"], promo_code="FREESHIP")
    body = guide_body(cart["id"], authorize(stripe_client, due), promo_code="FREESHIP")
    order = api.post("/api/v1/orders", json=body).json()["data"]
    assert order["shipping_total"] == 0.0
    assert dec(order["amount_charged"]) == due


def test_gift_card_validation(api: Client) -> None:
    expected = {
        "CARD25BALANCEABC": (True, 25.0, "active"),
        "CARDHUGEBALANCEX": (True, 5000.0, "active"),
        "CARDREDEEMEDXYZW": (False, 0.0, "redeemed"),
        "CARDLAPSEDXYZWVU": (False, 0.0, "expired"),
        "CARDBLCKEDXYZWVU": (False, 0.0, "disabled"),
        "ABCDEFGHJKLMNPQR": (False, 0.0, "not_found"),
    }
    for code, (valid, balance, status) in expected.items():
        assert GIFT_CARD_RE.match(code)
        data = api.post(f"{C}/checkout/validate-gift-card", json={"code": code}).json()["data"]
        assert (data["valid"], data["balance"], data["status"]) == (valid, balance, status)


def test_gift_card_partial_cover(api: Client, stripe_client: stripe.StripeClient) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    due = api.amount_due(cart["id"], gift_card_code="CARD25BALANCEABC")
    pi = authorize(stripe_client, due)
    response = api.post(
        "/api/v1/orders", json=guide_body(cart["id"], pi, gift_card_code="CARD25BALANCEABC")
    )
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert order["gift_card_total"] == 25.0
    assert dec(order["amount_charged"]) == dec(order["grand_total"]) - Decimal("25.00") == due
    assert order["gift_card_code"].endswith("EABC")
    assert "CARD25" not in order["gift_card_code"]
    card = api.post(f"{C}/checkout/validate-gift-card", json={"code": "CARD25BALANCEABC"})
    assert card.json()["data"]["status"] == "redeemed"
    assert stripe_client.v1.payment_intents.retrieve(pi).status == "succeeded"


def test_gift_card_full_cover_needs_no_payment(api: Client) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    body = guide_body(cart["id"], None, gift_card_code="CARDHUGEBALANCEX")
    response = api.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert order["amount_charged"] == 0.0
    assert order["payment_status"] == "captured"
    assert order["gift_card_total"] == order["grand_total"]
    left = api.post(f"{C}/checkout/validate-gift-card", json={"code": "CARDHUGEBALANCEX"})
    assert dec(left.json()["data"]["balance"]) == Decimal("5000.00") - dec(order["grand_total"])


def test_gift_card_race_never_overdraws(api: Client, sandbox: SandboxProcess) -> None:
    card = requests.post(
        f"{sandbox.control_base}/gift-cards", json={"balance": "30.00"}, timeout=5
    ).json()["data"]
    # Each order (a 12.99 case, shipping, tax) is below the card balance; all share the card.
    carts = [api.cart((10180, 1)) for _ in range(20)]

    def place(cart_id: str) -> requests.Response:
        body = guide_body(cart_id, "pi_any", gift_card_code=card["code"])
        return Client(sandbox, sandbox.test_key).post("/api/v1/orders", json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(place, [c["id"] for c in carts]))

    placed = [r.json()["data"] for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert placed, [r.text for r in responses]
    redeemed = sum(dec(o["gift_card_total"]) for o in placed)
    assert redeemed <= Decimal("30.00")
    assert all(r.status_code in {402, 422} for r in refused)
    state = sandbox.state()
    balance = state["gift_cards"][card["code"]]["balance"]  # type: ignore[index]
    assert dec(balance) == Decimal("30.00") - redeemed


# How fast each service is, as its name promises (1: next business day).
SERVICE_SPEED = {
    "ups_next_day_air": 1,
    "fedex_standard_overnight": 1,
    "fedex_2day": 2,
    "ups_2nd_day_air": 2,
    "ups_3_day_select": 3,
    "ups_ground": 4,
    "fedex_ground": 4,
}


@pytest.mark.parametrize("zip_code", ["07102", "11201", "30301", "60601", "94103"])
def test_delivery_estimates_follow_the_service(api: Client, zip_code: str) -> None:
    address = {"address1": "1 Main", "city": "Town", "state": "NY", "zip": zip_code}
    for cart in (api.cart((CABLE, 1)), api.cart((IPHONE_14_PRO, 1))):  # paid, free ground
        rates = api.post(
            f"{C}/checkout/shipping-rates",
            json={"cart_id": cart["id"], "address": {**address, "country": "US"}},
        ).json()["data"]
        assert {r["service_code"] for r in rates} == set(SERVICE_SPEED)
        for faster in rates:
            for slower in rates:
                speeds = (
                    SERVICE_SPEED[faster["service_code"]],
                    SERVICE_SPEED[slower["service_code"]],
                )
                pair = (faster["service"], slower["service"], zip_code)
                if speeds[0] < speeds[1]:
                    assert faster["estimated_delivery"] < slower["estimated_delivery"], pair
                    assert faster["transit_days"] < slower["transit_days"], pair
                elif speeds[0] == speeds[1]:
                    assert faster["estimated_delivery"] == slower["estimated_delivery"], pair
        by_code = {r["service_code"]: r for r in rates}
        assert by_code["ups_next_day_air"]["transit_days"] == 1
        assert by_code["fedex_2day"]["transit_days"] == 2
        assert by_code["ups_3_day_select"]["transit_days"] == 3
