"""A merchant's own site for the test client and the browser: its own home page and product
page, the checkout mounted under ``checkout/`` as docs/install.md says, no demo catalog;
and, for a test to put in its template directory, the site's Bootstrap-style
``base.html`` with the stylesheet it serves (``BOOTSTRAP_BASE``, ``SITE_CSS``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

PRODUCT_PAGE = engines["django"].from_string(
    "{% load checkout_tags %}<h1>Merchant product</h1>"
    "{% checkout_add_to_cart variant_id next=request.get_full_path %}"
    '{% checkout_add_to_cart sku=sku label="Buy by SKU" show_quantity=False %}'
)


# The site's own stylesheet: rules as Bootstrap 5 writes them, and three of Bootstrap 3's that
# many shops still carry, for class names a checkout is tempted to use too. No rule for a
# bare element but box-sizing, which every Bootstrap page has: the site's fieldset and
# legend keep the browser's look, so a test sees whose rules reach them.
SITE_CSS = """
*, ::before, ::after { box-sizing: border-box; }
.container { width: 100%; max-width: 960px; padding-right: 12px; padding-left: 12px;
  margin-right: auto; margin-left: auto; }
.navbar { display: flex; align-items: center; padding: 8px 0; background-color: #f8f9fa; }
.badge { display: inline-block; padding: 5px 8px; font-size: 12px; font-weight: 700;
  line-height: 1; color: #fff; background-color: #6c757d; border-radius: 6px; }
.btn { display: inline-block; padding: 6px 12px; border: 1px solid transparent;
  border-radius: 6px; text-decoration: none; }
.btn-primary { color: #fff; background-color: #0d6efd; border-color: #0d6efd; }
.progress { display: flex; height: 16px; overflow: hidden; font-size: 12px;
  background-color: #e9ecef; border-radius: 6px; }
.pagination { display: flex; padding-left: 0; list-style: none; }
.panel { margin-bottom: 20px; background-color: #fff; border: 1px solid transparent;
  border-radius: 4px; box-shadow: 0 1px 1px rgba(0, 0, 0, .05); }
.label { display: inline; padding: .2em .6em .3em; font-size: 75%; font-weight: 700;
  color: #fff; border-radius: .25em; }
.checkbox { position: relative; display: block; margin-top: 10px; margin-bottom: 10px; }
"""

# The site's base.html: a header in a 960 px .container with a button and a badge, a
# footer form in a fieldset; blocks named as in many Bootstrap starter templates.
BOOTSTRAP_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Acme Phones{% endblock %}</title>
<link rel="stylesheet" href="{% url 'merchant-css' %}">{% block extra_css %}{% endblock %}</head>
<body><header class="navbar"><div class="container" data-testid="merchant-header">
<a href="/">Acme Phones</a> <a class="btn btn-primary" href="/">Sale</a>
<span class="badge" data-testid="merchant-badge">New</span></div></header>
<main>{% block content %}{% endblock %}</main>
<footer><div class="container"><form action="/"><fieldset data-testid="merchant-fieldset">
<legend data-testid="merchant-legend">Newsletter</legend>
<label class="checkbox"><input type="checkbox" name="offers"> Send me offers</label>
</fieldset></form></div></footer>
{% block extra_js %}{% endblock %}
</body></html>
"""


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Merchant home")


def product(request: HttpRequest, variant_id: int) -> HttpResponse:
    sku = request.GET.get("sku", "")
    return HttpResponse(PRODUCT_PAGE.render({"variant_id": variant_id, "sku": sku}, request))


def stylesheet(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SITE_CSS, content_type="text/css")


urlpatterns = [
    path("", home, name="home"),
    path("mine/<int:variant_id>/", product, name="merchant-product"),
    path("site.css", stylesheet, name="merchant-css"),
    path("checkout/", include("checkout.urls")),
]
