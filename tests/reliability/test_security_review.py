"""The security review's findings, each replayed against the real views.

1. Nothing the app stores or shows about an attempt can be used as someone's session.
2. Card checks through SetupIntents count against the pay limits; one live SetupIntent
   per payment try; none when a gift card covers the order.
3. and 6. Client addresses behind a proxy: the production settings take the proxy count
   from the environment, and ``X-Forwarded-For`` counts only from trusted proxies.
4. Gift-card codes appear to staff as their last four characters only.
5. The step pages reach only the session's own attempt, never another's by cart id.
7. Pages and answers with personal data are ``Cache-Control: private, no-store``.
Also: cart line ids that are path steps never reach the API.

``docs/reliability.md`` ("Security review") lists each finding with its test here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.checks import run_checks
from django.db import connection
from django.test import Client

from checkout.models import CheckoutAttempt, Order
from checkout.services.cart import SESSION_CART_ID
from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

VIEW_PERMS = ("view_order", "view_checkoutattempt", "view_webhookevent")


def at_payment(client: Client) -> Client:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    assert client.get("/checkout/payment/").status_code == 200
    return client


def viewer(client: Client) -> Client:
    user = User.objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="checkout", codename__in=VIEW_PERMS)
    )
    client.force_login(user)
    return client


def attempt_page(client: Client, attempt: CheckoutAttempt) -> str:
    response = client.get(f"/admin/checkout/checkoutattempt/{attempt.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def stored_values(attempt: CheckoutAttempt) -> list[str]:
    """Every column of the attempt's row, as text (what a database reader sees)."""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(CheckoutAttempt._meta.db_table)
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [attempt.pk])  # noqa: S608
        row = cursor.fetchone()
    return [str(value) for value in row]


# --- 1. Session keys -----------------------------------------------------------------------


def test_a_view_only_user_cannot_learn_a_superusers_session(live: Live) -> None:
    boss = Client()
    boss.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    at_payment(boss)  # as docs/install.md step 9 suggests, in the admin's own browser
    session_key = boss.cookies["sessionid"].value
    attempt = CheckoutAttempt.objects.get()

    page = attempt_page(viewer(Client()), attempt)

    assert session_key not in page
    assert session_key not in stored_values(attempt)
    assert attempt.owner  # the binding is there, as a keyed hash of another value


def test_nothing_shown_or_stored_works_as_a_session_cookie(live: Live) -> None:
    shopper = at_payment(Client())
    attempt = CheckoutAttempt.objects.get()
    page = attempt_page(viewer(Client()), attempt)
    for candidate in {*stored_values(attempt), attempt.owner}:
        thief = Client()
        thief.cookies["sessionid"] = candidate
        response = thief.get("/checkout/payment/")
        assert response.status_code == 302, candidate  # to the (empty) cart
        assert "Ada Lovelace" not in thief.get("/cart/", follow=True).content.decode()
    assert shopper.cookies["sessionid"].value not in page


def test_logging_in_mid_checkout_keeps_the_checkout(live: Live) -> None:
    shopper = Client()
    add_to_cart(shopper)
    complete_information(shopper)
    before = shopper.cookies["sessionid"].value
    User.objects.create_user("ada", "ada@example.com", "pw-ada-12345")
    assert shopper.login(username="ada", password="pw-ada-12345")
    assert shopper.cookies["sessionid"].value != before  # Django rotated the key
    complete_shipping(shopper)
    response = shopper.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": live.payment_method()}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authorized"


# --- 2. Card checks through SetupIntents ---------------------------------------------------


def card_setup(client: Client) -> Any:
    return client.post(
        "/checkout/payment/",
        {"same_as_shipping": "on"},
        HTTP_ACCEPT="application/json",
    )


def confirm_on_stripe(live: Live, secret: str) -> None:
    """What Stripe.js does in the browser: confirm the SetupIntent with a card."""
    setup_intent_id = secret.split("_secret_")[0]
    live.stripe.v1.setup_intents.confirm(
        setup_intent_id, params={"payment_method": live.payment_method()}
    )


def test_an_unused_setup_intent_is_reused_not_minted_again(limits: Live) -> None:
    shopper = at_payment(Client())
    secrets = {card_setup(shopper).json()["setup_intent_secret"] for _ in range(10)}
    assert len(secrets) == 1
    assert len(limits.stripe.v1.setup_intents.list(params={"limit": 100}).data) == 1


def test_card_checks_through_setup_intents_are_refused_beyond_the_pay_limit(
    limits: Live,
) -> None:
    shopper = at_payment(Client())
    answers = []
    for _ in range(4):
        response = card_setup(shopper)
        answers.append(response.status_code)
        if response.status_code == 200:
            confirm_on_stripe(limits, response.json()["setup_intent_secret"])
    assert answers == [200, 200, 200, 429]
    refused = card_setup(shopper)
    assert refused.status_code == 429
    assert refused.json()["reason"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert len(limits.stripe.v1.setup_intents.list(params={"limit": 100}).data) == 3


def test_setup_intents_and_pay_share_one_budget(limits: Live) -> None:
    shopper = at_payment(Client())
    for _ in range(2):
        response = card_setup(shopper)
        assert response.status_code == 200
        confirm_on_stripe(limits, response.json()["setup_intent_secret"])
    pay = shopper.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": "pm_fake1"}),
        content_type="application/json",
    )
    assert pay.status_code != 429
    again = shopper.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": "pm_fake2"}),
        content_type="application/json",
    )
    assert again.status_code == 429


def test_new_sessions_from_one_address_cannot_mint_card_checks(limits: Live) -> None:
    answers = []
    for _ in range(7):
        shopper = at_payment(Client())
        response = card_setup(shopper)
        answers.append(response.status_code)
    assert answers.count(200) == 5  # "5/h ip"
    assert answers[5:] == [429, 429]


def test_no_setup_intent_when_a_gift_card_covers_the_order(limits: Live) -> None:
    shopper = at_payment(Client())
    applied = shopper.post("/checkout/gift-card/", {"gift-code": "CARDHUGEBALANCEX"})
    assert applied.status_code == 302
    response = card_setup(shopper)
    assert response.status_code == 200
    assert response.json()["setup_intent_secret"] == ""
    assert limits.stripe.v1.setup_intents.list(params={"limit": 100}).data == []


# --- 3. and 6. Client addresses behind a proxy ----------------------------------------------


def test_one_abuser_behind_the_proxy_does_not_block_other_shoppers(
    limits: Live, settings: Any
) -> None:
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(6):
        abuser = at_payment(Client(HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR=proxy))
        abuser.post("/checkout/pay/", "{}", content_type="application/json")
    blocked = at_payment(Client(HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR=proxy))
    assert card_setup(blocked).status_code == 429
    shopper = at_payment(Client(HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR=proxy))
    response = shopper.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": limits.payment_method()}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_forwarded_for_counts_only_from_a_trusted_proxy(limits: Live, settings: Any) -> None:
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    answers = []
    for i in range(7):
        # Straight to the app's port, a new claimed address each time.
        client = Client(REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        answers.append(card_setup(at_payment(client)).status_code)
    assert answers[5:] == [429, 429]


def test_a_site_behind_a_proxy_with_no_proxy_counted_gets_a_warning(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 0
    assert "checkout.W030" in {m.id for m in run_checks()}
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_TRUSTED_PROXIES = ["not-an-address"]
    ids = {m.id for m in run_checks()}
    assert "checkout.W030" not in ids
    assert "checkout.E024" in ids


# --- 4. Gift-card codes in the admin --------------------------------------------------------


def test_view_only_staff_see_only_the_last_four_of_a_gift_card(live: Live) -> None:
    shopper = at_payment(Client())
    applied = shopper.post("/checkout/gift-card/", {"gift-code": "CARD25BALANCEABC"})
    assert applied.status_code == 302
    attempt = CheckoutAttempt.objects.get()
    assert attempt.gift_card_code == "CARD25BALANCEABC"
    page = attempt_page(viewer(Client()), attempt)
    assert "CARD25BALANCEABC" not in page
    assert "\u2022\u2022\u2022\u2022 EABC" in page


# --- 5. Steps by session, not by cart -------------------------------------------------------


def test_another_session_holding_the_cart_id_cannot_read_or_change_the_checkout(
    live: Live,
) -> None:
    shopper = at_payment(Client())
    attempt = CheckoutAttempt.objects.get()
    intruder = Client()
    intruder.get("/cart/")  # a session of its own

    def hold_the_cart() -> None:
        session = intruder.session
        session[SESSION_CART_ID] = attempt.cart_id
        session.save()

    for step in ("information", "shipping", "payment"):
        hold_the_cart()
        response = intruder.get(f"/checkout/{step}/", follow=True)
        page = response.content.decode()
        assert "Ada Lovelace" not in page, step
        assert "1 Main St" not in page, step
        assert "another browser" in page
        assert SESSION_CART_ID not in intruder.session  # it starts a cart of its own
    hold_the_cart()
    changed = intruder.post(
        "/checkout/information/",
        {
            "email": "thief@example.com",
            "name": "Thief",
            "address1": "9 Elsewhere",
            "city": "Newark",
            "state": "NJ",
            "zip": "07102",
            "country": "US",
            "phone": "212-555-0199",
        },
    )
    assert changed.status_code == 302
    attempt.refresh_from_db()
    assert attempt.email == "shopper@example.com"
    assert attempt.shipping_address["address1"] == "1 Main St"
    assert shopper.get("/checkout/payment/").status_code == 200  # the shopper goes on


# --- 7. Cache-Control ----------------------------------------------------------------------


def test_pages_with_personal_data_are_private_and_not_stored(
    live: Live, placed_status_url: Callable[[Client], tuple[Order, str]]
) -> None:
    shopper = Client()
    order, status_url = placed_status_url(shopper)
    public_id = order.attempt.public_id if order.attempt else None
    urls = [
        "/cart/",
        "/checkout/information/",
        f"/checkout/confirmation/{public_id}/",
        f"/checkout/pending/{public_id}/",
        status_url,
    ]
    for url in urls:
        response = shopper.get(url)
        cache_control = response.get("Cache-Control", "")
        assert "private" in cache_control, url
        assert "no-store" in cache_control, url


@pytest.fixture
def placed_status_url(live: Live) -> Callable[[Client], tuple[Order, str]]:
    from checkout.links import order_status_url

    def place(client: Client) -> tuple[Order, str]:
        at_payment(client)
        pay = client.post(
            "/checkout/pay/",
            json.dumps({"payment_method_id": live.payment_method()}),
            content_type="application/json",
        )
        assert pay.json()["status"] == "authorized"
        placed = client.post("/checkout/place/", "{}", content_type="application/json")
        assert placed.json()["status"] == "placed", placed.content
        order = Order.objects.get()
        return order, order_status_url(order)

    return place


# --- Also: cart line ids --------------------------------------------------------------------


@pytest.mark.parametrize("item_id", ["..", ".", "%2e%2e", "1%2F..%2F.."])
def test_a_cart_line_id_that_is_a_path_step_never_reaches_the_api(live: Live, item_id: str) -> None:
    shopper = Client()
    add_to_cart(shopper)
    response = shopper.post(f"/cart/items/{item_id}/update/", {"quantity": "2"})
    assert response.status_code == 404
    cart = live.spectra.get_cart(shopper.session[SESSION_CART_ID])
    assert [line.quantity for line in cart.items] == [1]


@pytest.mark.parametrize("item_id", ["..", ".", ""])
def test_the_api_client_refuses_path_steps_as_ids(live: Live, item_id: str) -> None:
    with pytest.raises(ValueError, match="not a valid id"):
        live.spectra.update_cart_item("cart-1", item_id, quantity=1)
