"""No page the checkout renders for one visitor is ever served to another.

A merchant's ``base.html`` shows the logged-in user and their logout form's CSRF token.
The checkout once kept rendered pages in the cache (the order-status page for 120 s, the
steps per cart): an anonymous visitor opening a customer's status link then got her name
and token. Here the host's base template shows the user, and each visitor must see only
their own header.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from checkout.links import order_status_url
from checkout.models import Order
from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HOST_TEMPLATES = Path(__file__).parent / "host_templates"


@pytest.fixture(params=[0, 120], ids=["no-fragment-cache", "fragment-cache"])
def host_base_template(request: pytest.FixtureRequest, settings: Any) -> None:
    """The merchant's own base.html, which shows who is signed in; with and without the
    checkout's opt-in fragment cache (``CHECKOUT_FRAGMENT_CACHE_SECONDS``)."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [HOST_TEMPLATES, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.CHECKOUT_FRAGMENT_CACHE_SECONDS = request.param


def csrf_tokens(page: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))


def test_a_customers_status_page_is_never_shown_to_someone_else(
    live: Live, host_base_template: None
) -> None:
    User.objects.create_user("alice", "alice@example.com", "pw-alice-123")
    alice = Client()
    assert alice.login(username="alice", password="pw-alice-123")
    add_to_cart(alice)
    complete_information(alice)
    complete_shipping(alice)
    alice.get("/checkout/payment/")
    pay = alice.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": live.payment_method()}),
        content_type="application/json",
    )
    assert pay.json()["status"] == "authorized"
    assert (
        alice.post("/checkout/place/", "{}", content_type="application/json").json()["status"]
        == "placed"
    )
    url = order_status_url(Order.objects.get())

    hers = alice.get(url).content.decode()
    assert "Signed in as alice" in hers
    for stranger in (Client(), Client(enforce_csrf_checks=True)):
        page = stranger.get(url).content.decode()
        assert "Signed in as alice" not in page
        assert not csrf_tokens(page) & csrf_tokens(hers)
        assert "Log in" in page


def test_the_steps_show_the_header_of_whoever_is_looking_now(
    live: Live, host_base_template: None
) -> None:
    shopper = Client()
    add_to_cart(shopper)
    complete_information(shopper)
    before = shopper.get("/checkout/shipping/").content.decode()
    assert "Log in" in before
    User.objects.create_user("bob", "bob@example.com", "pw-bob-12345")
    assert shopper.login(username="bob", password="pw-bob-12345")
    after = shopper.get("/checkout/shipping/").content.decode()
    assert "Signed in as bob" in after
    # Login rotated the CSRF secret: the step's form carries a token that still works.
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = shopper.cookies
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', after)
    assert token is not None
    code = re.search(r'name="service_code" value="([^"]+)"', after)
    assert code is not None
    posted = strict.post(
        "/checkout/shipping/",
        {"csrfmiddlewaretoken": token.group(1), "service_code": code.group(1)},
    )
    assert posted.status_code == 302
