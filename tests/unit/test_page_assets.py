"""The payment page gets its CSS, checkout.js and Stripe.js whatever the site's block names,
and the system check and the doctor say so loudly when a site's templates still lose them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import checks

from checkout.assets import payment_page_assets, render_payment_page
from checkout.management.commands.checkout_doctor import FAIL, OK, WARN, check_payment_page

STRIPE_JS = "https://js.stripe.com/v3/"

# A Bootstrap-style site: its blocks are called css, content and javascript.
OTHER_BLOCK_NAMES = """<!doctype html>
<html><head><title>{% block title %}My shop{% endblock %}</title>
<link rel="stylesheet" href="/static/bootstrap.css">{% block css %}{% endblock %}</head>
<body><nav class="navbar">My shop</nav>
<div class="container">{% block content %}{% endblock %}</div>
<script src="/static/bootstrap.js"></script>{% block javascript %}{% endblock %}
</body></html>
"""
DJANGO_STANDARD = """<!doctype html>
<html><head><title>{% block title %}My shop{% endblock %}</title>
{% block head %}{% endblock %}</head>
<body><main>{% block content %}{% endblock %}</main>{% block scripts %}{% endblock %}</body></html>
"""
NO_CONTENT_BLOCK = """<!doctype html>
<html><head>{% block head %}{% endblock %}</head>
<body><main>{% block main %}{% endblock %}</main>{% block scripts %}{% endblock %}</body></html>
"""
# A merchant's checkout/base.html that forgot the checkout's assets.
BARE_CHECKOUT_BASE = """{% extends "base.html" %}
{% block content %}{% block checkout_content %}{% endblock %}{% endblock %}
"""


@pytest.fixture
def site_templates(tmp_path: Path, settings: Any) -> Path:
    """A template directory of the site's own, searched before the demo's."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.CHECKOUT_STRIPE_JS_URL = STRIPE_JS
    return tmp_path


def checkout_ids() -> set[str]:
    return {m.id for m in checks.run_checks(tags=[checks.Tags.templates]) if m.id}


def script_sources(page: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', page)


def test_a_base_template_with_other_block_names_still_loads_everything(
    site_templates: Path,
) -> None:
    (site_templates / "base.html").write_text(OTHER_BLOCK_NAMES)
    page = render_payment_page()
    assert '<link rel="stylesheet" href="/static/checkout/checkout.css">' in page
    assert script_sources(page) == [
        "/static/checkout/checkout.js",
        STRIPE_JS,
        "/static/bootstrap.js",
    ]
    # Inside the content the site shows: nothing is written outside the site's blocks.
    content = page.split('<div class="container">', 1)[1]
    assert "checkout/checkout.css" in content
    assert payment_page_assets().ok
    assert not {"checkout.E045", "checkout.E046", "checkout.W045", "checkout.W046"} & (
        checkout_ids()
    )
    assert check_payment_page().status == OK


def test_a_standard_base_template_gets_the_stylesheet_in_head_and_each_asset_once(
    site_templates: Path,
) -> None:
    (site_templates / "base.html").write_text(DJANGO_STANDARD)
    page = render_payment_page()
    head = page.split("</head>", 1)[0]
    assert '<link rel="stylesheet" href="/static/checkout/checkout.css">' in head
    assert page.count("checkout/checkout.css") == 1
    assert script_sources(page) == ["/static/checkout/checkout.js", STRIPE_JS]


def test_a_base_template_without_a_content_block_fails_the_check(site_templates: Path) -> None:
    (site_templates / "base.html").write_text(NO_CONTENT_BLOCK)
    found = payment_page_assets()
    assert found.content_missing
    assert "checkout.E045" in checkout_ids()
    result = check_payment_page()
    assert result.status == FAIL
    assert "block content" in result.detail


def test_an_override_that_drops_the_assets_fails_the_check(site_templates: Path) -> None:
    (site_templates / "base.html").write_text(DJANGO_STANDARD)
    (site_templates / "checkout").mkdir()
    (site_templates / "checkout" / "base.html").write_text(BARE_CHECKOUT_BASE)
    assert payment_page_assets().missing == ("checkout.css", "checkout.js", "Stripe.js")
    messages = [
        m for m in checks.run_checks(tags=[checks.Tags.templates]) if m.id == "checkout.E046"
    ]
    assert len(messages) == 1
    assert "Stripe.js" in messages[0].msg
    assert messages[0].is_serious()
    assert check_payment_page().status == FAIL


def test_an_override_that_drops_the_checkout_root_is_a_warning(site_templates: Path) -> None:
    """The stylesheet's element rules are scoped to .checkout-root: without it the page
    still pays, but its fieldsets and legends lose the checkout's look."""
    (site_templates / "base.html").write_text(DJANGO_STANDARD)
    (site_templates / "checkout").mkdir()
    (site_templates / "checkout" / "base.html").write_text(
        '{% extends "base.html" %}{% load checkout_assets %}\n'
        '{% block head %}{% checkout_assets "css" %}{% endblock %}\n'
        "{% block content %}<section>{% block checkout_content %}{% endblock %}</section>"
        "{% endblock %}\n"
        '{% block scripts %}{% checkout_assets "js" %}{% block checkout_scripts %}'
        "{% endblock %}{% endblock %}\n"
    )
    found = payment_page_assets()
    assert found.missing == ()
    assert found.root_missing
    messages = [
        m for m in checks.run_checks(tags=[checks.Tags.templates]) if m.id == "checkout.W046"
    ]
    assert len(messages) == 1
    assert not messages[0].is_serious()
    result = check_payment_page()
    assert result.status == WARN
    assert "checkout-root" in result.detail


def test_a_base_template_that_cannot_render_is_a_warning_naming_the_error(
    site_templates: Path,
) -> None:
    (site_templates / "base.html").write_text(
        DJANGO_STANDARD.replace("<main>", "<main>{% url 'no-such-page' %}")
    )
    messages = [
        m for m in checks.run_checks(tags=[checks.Tags.templates]) if m.id == "checkout.W045"
    ]
    assert len(messages) == 1
    assert "NoReverseMatch" in messages[0].msg
    assert check_payment_page().status == FAIL


def test_the_checkouts_own_pages_fill_checkout_content_not_content() -> None:
    """A page filling ``content`` would replace the block that writes the assets."""
    pages = Path(__file__).resolve().parents[2] / "checkout" / "templates" / "checkout"
    for template in pages.glob("*.html"):
        text = template.read_text()
        if template.name != "base.html" and "{% extends" in text:
            assert "{% block content %}" not in text, template.name


def test_before_collectstatic_the_check_stays_quiet_and_the_doctor_says_why(
    site_templates: Path, settings: Any, tmp_path: Path
) -> None:
    (site_templates / "base.html").write_text(DJANGO_STANDARD)
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static-root"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    assert payment_page_assets().not_ready
    assert not {"checkout.W045", "checkout.E046"} & checkout_ids()
    result = check_payment_page()
    assert result.status == FAIL
    assert "manifest" in result.detail
