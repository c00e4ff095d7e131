"""Customers with accounts, through Django's test client against the live sandbox and
localstripe: the account's email and last addresses on the information step, orders
linked to whoever pays, "Your orders", signing in and out mid-checkout, the opt-in
link of guest orders by email, and the guest order lookup that only ever emails."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from checkout.conf import DEFAULTS
from checkout.models import CheckoutAttempt, Order
from checkout.testing.stripe_helpers import localstripe_client

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PASSWORD = "correct horse battery staple"


def make_user(username: str = "grace", email: str = "grace@example.com") -> Any:
    return get_user_model().objects.create_user(username, email, PASSWORD)


def log_in(client: Client, username: str = "grace") -> None:
    """Sign in through the site's login view (the session key rotates, as in real life)."""
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def pay_and_place(client: Client, localstripe: Any) -> Order:
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    paid = client.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": method.id}),
        content_type="application/json",
    )
    assert paid.json()["status"] == "authorized", paid.content
    placed = client.post("/checkout/place/", "{}", content_type="application/json")
    assert placed.json()["status"] == "placed", placed.content
    return Order.objects.get(attempt__public_id=placed.json()["redirect"].split("/")[-2])


def buy(client: Client, localstripe: Any, **information: str) -> Order:
    add_to_cart(client)
    complete_information(client, **information)
    complete_shipping(client)
    return pay_and_place(client, localstripe)


def form_values(response: Any) -> dict[str, str]:
    """The values the information form shows (what the shopper sees prefilled)."""
    form = response.context["form"]
    return {name: str(form[name].value() or "") for name in form.fields}


def test_a_signed_in_customers_email_is_filled_in(client: Client, shop: Any) -> None:
    make_user()
    log_in(client)
    add_to_cart(client)
    response = client.get("/checkout/information/")
    assert response.status_code == 200
    assert form_values(response)["email"] == "grace@example.com"
    assert 'value="grace@example.com"' in response.content.decode()
    # A guest starts with an empty form.
    guest = Client()
    add_to_cart(guest)
    assert form_values(guest.get("/checkout/information/"))["email"] == ""


def test_orders_are_linked_to_the_customer_and_listed_newest_first(
    client: Client, shop: Any, localstripe: Any
) -> None:
    make_user()
    log_in(client)
    first = buy(client, localstripe, email="grace@example.com")
    second = buy(client, localstripe, email="grace@example.com", city="Albany", zip="12207")
    assert first.user is not None
    assert first.user.username == "grace"
    assert second.user == first.user
    # Someone else's order is neither linked nor listed.
    other = Client()
    other_order = buy(other, localstripe, email="someone@example.com")
    assert other_order.user is None

    page = client.get("/orders/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(second.order_number) < html.index(first.order_number)
    assert other_order.order_number not in html
    links = re.findall(r'href="(/orders/status/[^"]+/)" data-testid="customer-order-link"', html)
    assert len(links) == 2
    status = client.get(links[0])
    assert status.status_code == 200
    assert second.order_number in status.content.decode()
    # Staff see whose order it is.
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("staff", "s@example.com", "x"))
    admin_page = staff.get(f"/admin/checkout/order/{second.pk}/change/").content.decode()
    assert "Customer account" in admin_page
    assert ">grace<" in admin_page


def test_your_orders_needs_a_signed_in_customer(client: Client, shop: Any) -> None:
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/orders/"
    make_user()
    log_in(client)
    page = client.get("/orders/")
    assert page.status_code == 200
    assert "You have no orders yet." in page.content.decode()


def test_signing_in_halfway_keeps_the_checkout_and_links_the_order(
    client: Client, shop: Any, localstripe: Any
) -> None:
    make_user()
    add_to_cart(client)
    complete_information(client)
    attempt = CheckoutAttempt.objects.get()
    session_before = client.session.session_key
    log_in(client)
    assert client.session.session_key != session_before  # Django rotated it
    complete_shipping(client)  # the same checkout, where the shopper left it
    order = pay_and_place(client, localstripe)
    assert order.attempt_id == attempt.pk
    assert order.user is not None
    assert order.user.username == "grace"
    assert order.order_number in client.get("/orders/").content.decode()


def test_signing_out_halfway_keeps_the_checkout_as_a_guest(
    client: Client, shop: Any, localstripe: Any
) -> None:
    make_user()
    log_in(client)
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.post("/accounts/logout/", {"next": "/checkout/payment/"})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    payment = client.get("/checkout/payment/")
    assert payment.status_code == 200  # the cart and the steps done are still here
    assert payment.context["attempt"].pk == CheckoutAttempt.objects.get().pk
    order = pay_and_place(client, localstripe)
    assert order.user is None  # paid as a guest


def test_last_used_addresses_are_offered_on_the_information_step(
    client: Client, shop: Any, localstripe: Any
) -> None:
    make_user()
    log_in(client)
    buy(client, localstripe, email="grace@example.com", address1="1 Old Rd")
    buy(client, localstripe, email="grace@example.com", address1="2 New Ave", phone="212-555-0199")
    add_to_cart(client)
    page = client.get("/checkout/information/")
    values = form_values(page)
    assert values["address1"] == "2 New Ave"  # the latest, prefilled
    assert values["phone"] == "+12125550199"  # as the information step stored it
    offered = re.findall(r'data-testid="saved-address">([^<]+)<', page.content.decode())
    assert [line.split(", ")[1] for line in offered] == ["2 New Ave", "1 Old Rd"]
    older = form_values(client.get("/checkout/information/?address=1"))
    assert older["address1"] == "1 Old Rd"
    assert older["email"] == "grace@example.com"
    # A guest is offered nothing.
    guest = Client()
    add_to_cart(guest)
    assert 'data-testid="saved-address"' not in guest.get("/checkout/information/").content.decode()


def test_a_guest_order_joins_the_account_by_email_only_when_the_site_opts_in(
    client: Client, shop: Any, localstripe: Any, settings: Any
) -> None:
    user = make_user(email="Grace@Example.com")
    before = buy(client, localstripe, email="grace@example.com")
    assert before.user is None  # off by default
    member = Client()
    log_in(member)
    assert before.order_number not in member.get("/orders/").content.decode()

    settings.CHECKOUT_LINK_GUEST_ORDERS_BY_EMAIL = True
    after = buy(client, localstripe, email="grace@example.com")
    assert after.user == user
    listed = member.get("/orders/").content.decode()
    assert after.order_number in listed
    assert before.order_number in listed  # placed before the opt-in, same address

    # Two accounts with one address: nobody gets the order.
    make_user("grace2", "GRACE@example.com")
    ambiguous = buy(client, localstripe, email="grace@example.com")
    assert ambiguous.user is None


def _lookup(client: Client, email: str, number: str) -> Any:
    return client.post("/orders/lookup/", {"email": email, "order_number": number}, follow=True)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_order_lookup_emails_the_status_link_and_never_shows_the_order(
    client: Client,
    shop: Any,
    localstripe: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = buy(client, localstripe, email="ada@example.com")
    visitor = Client()
    assert visitor.get("/orders/lookup/").status_code == 200
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        found = _lookup(visitor, " ADA@example.com", order.order_number.lower())
    with django_capture_on_commit_callbacks(execute=True):
        wrong_email = _lookup(visitor, "eve@example.com", order.order_number)
    with django_capture_on_commit_callbacks(execute=True):
        wrong_number = _lookup(visitor, "ada@example.com", "ORD-20200101-9999")

    lookups = [m for m in mail.outbox if m.subject.startswith("Your link to order")]
    assert [m.to for m in lookups] == [["ada@example.com"]]
    assert order.order_number in lookups[0].subject
    link = re.search(r"/orders/status/[^\s\"]+/", str(lookups[0].body))
    assert link is not None
    status = Client().get(link.group(0))
    assert status.status_code == 200
    assert order.order_number in status.content.decode()

    # The page answers the same whether or not anything matched, and shows no order.
    for response in (found, wrong_email, wrong_number):
        assert response.status_code == 200
        html = response.content.decode()
        assert "/orders/status/" not in html
        assert "Ada Lovelace" not in html
        assert len(_messages(response)) == 1
    said = [
        _messages(r)[0]
        .lower()
        .replace(order.order_number.lower(), "N")
        .replace("ord-20200101-9999", "N")
        for r in (found, wrong_number)
    ]
    assert "we have sent a link" in said[0]
    assert said[0] == said[1]


def test_order_lookup_shows_field_errors_and_is_rate_limited(
    client: Client, shop: Any, settings: Any
) -> None:
    settings.CHECKOUT_RATE_LIMITS = {**DEFAULTS["RATE_LIMITS"], "order_lookup": ("5/h ip",)}
    bad = client.post("/orders/lookup/", {"email": "not-an-email", "order_number": ""})
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"email", "order_number"}
    assert 'value="not-an-email"' in bad.content.decode()
    for _ in range(4):  # a bad try counts too: five in all
        assert _lookup(client, "a@example.com", "ORD-1").status_code == 200
    refused = client.post("/orders/lookup/", {"email": "a@example.com", "order_number": "ORD-1"})
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert "Too many attempts" in refused.content.decode()
    assert 'value="a@example.com"' in refused.content.decode()


def test_with_the_fragment_cache_on_a_signed_out_page_never_shows_the_accounts_details(
    client: Client, shop: Any, localstripe: Any, settings: Any
) -> None:
    settings.CHECKOUT_FRAGMENT_CACHE_SECONDS = 300
    make_user()
    log_in(client)
    buy(client, localstripe, email="grace@example.com", address1="7 Private Ln")
    add_to_cart(client)
    signed_in = client.get("/checkout/information/").content.decode()
    client.get("/checkout/information/")  # cached now
    assert "7 Private Ln" in signed_in
    assert 'value="grace@example.com"' in signed_in
    client.post("/accounts/logout/")
    signed_out = client.get("/checkout/information/")
    assert signed_out.status_code == 200  # the cart came along
    html = signed_out.content.decode()
    assert "7 Private Ln" not in html
    assert "grace@example.com" not in html
