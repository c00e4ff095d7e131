"""A merchant restyles the checkout's form fields by putting checkout/forms/field.html in
the site's own templates/ directory, with Django's default form renderer, as for any page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from .conftest import ADDRESS, add_to_cart

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MERCHANT_FIELD = (
    '<p class="form-group" data-merchant="{{ field.html_name }}">'
    "{{ field.label_tag }}{{ field }}{{ field.errors }}</p>"
)


def test_a_field_template_in_the_sites_templates_directory_is_used(
    client: Client, shop: Any, settings: Any, tmp_path: Path
) -> None:
    assert settings.FORM_RENDERER == "django.forms.renderers.DjangoTemplates"  # Django's default
    (tmp_path / "checkout" / "forms").mkdir(parents=True)
    (tmp_path / "checkout" / "forms" / "field.html").write_text(MERCHANT_FIELD)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    add_to_cart(client)
    html = client.get("/checkout/information/").content.decode()
    for name in ("email", "phone", "country", "name", "address1", "city", "state", "zip"):
        assert f'data-merchant="{name}"' in html, name
    assert "data-field=" not in html  # the checkout's own field template is not used
    response = client.post("/checkout/information/", {**ADDRESS, "zip": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-merchant="zip"' in html
    assert 'aria-describedby="id_zip_error"' in html
    assert "Enter a valid ZIP code, like 95014." in html
