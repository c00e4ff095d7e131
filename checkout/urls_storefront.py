"""The demo catalog's URLs: the product list and a product's page with its add-to-cart form.

Optional: a site that sells from its own pages leaves it out and posts to
``checkout:cart-add`` instead. A site that wants it includes it next to the checkout:
``path("shop/", include("checkout.urls_storefront"))``. Names live under
``app_name = "checkout_storefront"`` (``{% url 'checkout_storefront:product-list' %}``).
"""

from django.urls import URLPattern, URLResolver, path

from checkout.csrf import csrf_protect_patterns
from checkout.views import storefront

app_name = "checkout_storefront"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", storefront.product_list, name="product-list"),
    path("products/<int:product_id>/", storefront.product_detail, name="product-detail"),
]
# CSRF failures on these pages show the checkout's own page (checkout/csrf.py).
csrf_protect_patterns(urlpatterns)
