"""Timeline text is stored as a message id with parameters and read in the reader's language:
a status's label, a nested reason and an amount each follow the language active when the
line is shown, not the one active when it was written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from checkout import timeline_text
from checkout.models import EmailNotification, Order
from checkout.timeline_text import Amount, choice, note, render


def test_a_line_written_in_german_is_stored_in_english_and_read_in_each_language() -> None:
    with translation.override("de"):
        line = note(
            gettext_noop("Status changed from %(old)s to %(new)s (%(source)s)."),
            old=choice(Order.Status, "pending"),
            new=choice(Order.Status, "shipped"),
            source="webhook order.shipped",
        )
        stored = line.fields()

    assert stored["message"] == "Status changed from Pending to Shipped (webhook order.shipped)."
    assert stored["message_id"] == "Status changed from %(old)s to %(new)s (%(source)s)."
    # JSON only: the labels are kept as their message ids, not as German words.
    assert stored["message_params"] == {
        "old": {"msgid": "Pending"},
        "new": {"msgid": "Shipped"},
        "source": "webhook order.shipped",
    }
    with translation.override("de"):
        assert render(stored["message_id"], stored["message_params"]) == (
            "Status von Ausstehend auf Versendet geändert (webhook order.shipped)."
        )
    with translation.override("fr"):
        assert render(stored["message_id"], stored["message_params"]) == (
            "Statut passé de En attente à Expédiée (webhook order.shipped)."
        )


def test_an_amount_is_written_in_the_readers_locale() -> None:
    with translation.override("fr"):
        line = note(
            gettext_noop("Payment captured: %(amount)s."),
            amount=Amount(Decimal("1234.50"), "usd"),
        )
    assert line.params == {"amount": {"money": "1234.50", "currency": "usd"}}
    assert line.english() == "Payment captured: $1,234.50."
    with translation.override("de"):
        assert str(line) == "Zahlung eingezogen: 1.234,50\xa0$."


def test_a_status_the_app_does_not_know_is_shown_as_the_api_sent_it() -> None:
    line = note(
        gettext_noop("Unknown status %(status)s ignored (%(source)s)."),
        status=choice(Order.Status, "lost"),
        source="webhook",
    )
    assert line.params["status"] == "lost"
    with translation.override("en"):
        assert str(line) == "Unknown status lost ignored (webhook)."


def test_a_nested_phrase_is_translated_with_the_sentence() -> None:
    with translation.override("fr"):
        line = note(
            gettext_noop("%(kind)s email suppressed: %(reason)s"),
            kind=choice(EmailNotification.Kind, "shipped"),
            reason=note(gettext_noop("The order has no email address.")),
        )
    assert line.english() == "Shipped email suppressed: The order has no email address."
    with translation.override("de"):
        assert str(line) == (
            "E-Mail \u201eVersendet\u201c unterdrückt: Die Bestellung hat keine E-Mail-Adresse."
        )


def test_a_translation_that_names_other_parameters_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A translator's slip (a renamed placeholder) must not break a staff page.
    monkeypatch.setattr(timeline_text.translation, "gettext", lambda msgid: "Bestellung %(nr)s.")
    assert render("Order %(number)s placed.", {"number": "ORD-1"}) == "Order ORD-1 placed."


def test_an_empty_message_id_renders_nothing_rather_than_the_catalog_header() -> None:
    with translation.override("de"):
        assert render("", {}) == ""
