"""The order timeline reads in the reader's language, whoever's request wrote it.

A German shopper's request, a webhook worker and a French staff member all write lines
on the same timeline; staff read them in their own admin language, and older lines
(written before message ids) still show the text they stored.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from checkout.models import Order, OrderEvent
from checkout.services import staff, sync
from checkout.services.sync import OrderHint

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NBSP = "\xa0"


@pytest.fixture
def boss(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")


def make_order() -> Order:
    return Order.objects.create(
        spectra_id=9301,
        order_number="ORD-20260515-9301",
        email="ada@example.com",
        status="pending",
        grand_total=Decimal("99.00"),
    )


def order_page(user: User, order: Order, *, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get(reverse("admin:checkout_order_change", args=[order.pk]))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == language
    return response.content.decode()


def ship_in_german(order: Order) -> None:
    hint = OrderHint(id=order.spectra_id, is_test=order.is_test, status="shipped")
    with translation.override("de"):
        sync.order_apply_remote(remote=hint, source="webhook")


def test_a_line_written_in_a_german_request_reads_in_english_and_in_german(boss: User) -> None:
    order = make_order()
    ship_in_german(order)

    english = order_page(boss, order, language="en")
    assert "Status changed from Pending to Shipped (webhook)." in english
    assert "geändert" not in english

    german = order_page(boss, order, language="de")
    assert "Status von Ausstehend auf Versendet geändert (webhook)." in german


def test_the_entry_itself_reads_in_the_active_language_and_keeps_english_text() -> None:
    order = make_order()
    ship_in_german(order)
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.STATUS)

    # Exports, search and logs read ``message``: English, whoever wrote the line.
    assert event.message == "Status changed from Pending to Shipped (webhook)."
    with translation.override("en"):
        assert str(event) == "Status change: Status changed from Pending to Shipped (webhook)."
    with translation.override("de"):
        assert str(event) == (
            "Statusänderung: Status von Ausstehend auf Versendet geändert (webhook)."
        )


def test_a_french_staff_action_reads_in_english_for_english_staff(boss: User) -> None:
    order = make_order()  # placed elsewhere: its payment check needs no Stripe call
    with translation.override("fr"):
        result = staff.order_payment_check(order=order, actor=boss)
    # The acting staff member reads the answer in their own language.
    assert result.message == f"Paiement vérifié{NBSP}: Rien à encaisser."

    english = order_page(boss, order, language="en")
    assert "Payment checked: Nothing to capture." in english
    assert "Placed outside this checkout: its payment is not captured here." in english
    assert "Paiement" not in english

    french = order_page(boss, order, language="fr")
    assert f"Paiement vérifié{NBSP}: Rien à encaisser." in french


def test_an_older_line_shows_the_text_it_stored(boss: User) -> None:
    order = make_order()
    # As written before message ids: only the text, in its writer's language.
    OrderEvent.objects.create(
        order=order, kind=OrderEvent.Kind.STATUS, message="Status von pending auf shipped."
    )
    ship_in_german(order)

    english = order_page(boss, order, language="en")
    assert "Status von pending auf shipped." in english
    assert "Status changed from Pending to Shipped (webhook)." in english
