"""The shopper's language: pages follow the browser (or the switcher), and the order keeps
the language it was placed in, so the confirmation email is written in it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from checkout.models import CheckoutAttempt, EmailNotification, Order
from checkout.testing.stripe_helpers import localstripe_client

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _site_language_after() -> Iterator[None]:
    # LocaleMiddleware leaves the last request's language active in this thread.
    yield
    translation.deactivate()


def html_lang(response: Any) -> str:
    found = re.search(r'<html lang="([^"]*)"', response.content.decode())
    assert found, response.content[:500]
    return found.group(1)


def test_pages_follow_the_browsers_language(shop: Any) -> None:
    german = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    page = german.get("/")
    assert page.status_code == 200
    assert html_lang(page) == "de"
    text = page.content.decode()
    assert "Warenkorb" in text
    assert "Zum Inhalt springen" in text  # the demo site's own strings, too
    assert page["Content-Language"] == "de"

    french = Client(HTTP_ACCEPT_LANGUAGE="fr-CA")
    assert "Votre panier est vide." in french.get("/cart/").content.decode()

    other = Client(HTTP_ACCEPT_LANGUAGE="ja")  # not offered: the site's default
    page = other.get("/cart/")
    assert html_lang(page) == "en"
    assert "Your cart is empty." in page.content.decode()


def test_the_switcher_sets_the_language_for_the_next_pages(shop: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    page = client.get("/cart/")
    text = page.content.decode()
    for code, name in (("en", "English"), ("de", "Deutsch"), ("fr", "Français")):
        assert f'<option value="{code}" lang="{code}"' in text
        assert name in text
    assert re.search(r'<option value="de" lang="de" selected>', text)

    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/cart/"})

    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    page = client.get("/cart/")  # the browser still says German; the choice wins
    assert html_lang(page) == "fr"
    assert "Votre panier" in page.content.decode()
    assert re.search(r'<option value="fr" lang="fr" selected>', page.content.decode())


def test_an_order_placed_in_german_gets_a_german_confirmation_email(
    shop: Any,
    localstripe: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    admin_client: Client,
) -> None:
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True  # the sandbox's orders are test orders
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    page = client.get("/checkout/payment/")
    assert "Rechnungsadresse" in page.content.decode()
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    card = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    body = json.dumps({"payment_method_id": card.id})
    paid = client.post("/checkout/pay/", body, content_type="application/json")
    assert paid.json()["status"] == "authorized", paid.content
    assert CheckoutAttempt.objects.get().language == "de"

    # The confirmation goes out through the outbox and a task, after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/checkout/place/", "{}", content_type="application/json")

    assert placed.json()["status"] == "placed", placed.content
    order = Order.objects.get()
    assert order.language == "de"
    assert EmailNotification.objects.get(order=order).status == EmailNotification.Status.SENT
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == ["shopper@example.com"]
    assert message.subject == f"Bestellung {order.order_number} bestätigt"
    assert "Vielen Dank für Ihre Bestellung" in message.body
    assert "Hallo Ada Lovelace," in message.body
    assert '<html lang="de">' in str(message.alternatives[0][0])
    # Staff see which language the shopper's emails go out in.
    staff_page = admin_client.get(f"/admin/checkout/order/{order.pk}/change/").content.decode()
    assert re.search(r'field-language">.*?<div class="readonly">de</div>', staff_page, re.S)


def test_the_information_step_keeps_the_language_with_the_details_in_one_write(
    shop: Any,
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    add_to_cart(client)
    client.get("/checkout/information/")

    with CaptureQueriesContext(connection) as queries:
        complete_information(client)

    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    attempt_writes = [sql for sql in writes if '"checkout_checkoutattempt"' in sql]
    assert len(attempt_writes) == 1, attempt_writes
    attempt = CheckoutAttempt.objects.get()
    assert attempt.language == "de"
    assert attempt.email == "shopper@example.com"

    # Sent again unchanged in French: only the language is written.
    client.cookies["django_language"] = "fr"
    complete_information(client)
    assert CheckoutAttempt.objects.get().language == "fr"


def test_the_language_at_payment_wins(shop: Any, localstripe: Any) -> None:
    """A shopper who starts in English and switches to French pays, and is mailed, in French."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    assert CheckoutAttempt.objects.get().language == "en"

    client.post("/i18n/setlang/", {"language": "fr", "next": "/checkout/payment/"})
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    card = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    client.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": card.id}),
        content_type="application/json",
    )
    client.post("/checkout/place/", "{}", content_type="application/json")

    assert Order.objects.get().language == "fr"
