"""Delivery dates on the shipping step, as the shopper's language writes a short date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Mon, Dec 7"), ("de", "Mo., 7. Dez."), ("fr", "lun. 7 déc.")],
)
def test_a_date_reads_in_the_order_of_the_shoppers_language(language: str, expected: str) -> None:
    template = Template("{% load checkout_tags %}{{ day|day_and_date }}|{{ nothing|day_and_date }}")
    with translation.override(language):
        text = template.render(Context({"day": dt.date(2026, 12, 7), "nothing": None}))
    assert text == f"{expected}|"
