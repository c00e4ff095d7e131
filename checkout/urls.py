"""The checkout app's URLs: the cart, the three checkout steps, payment endpoints,
confirmation, the signed order-status page, a customer's orders, the guest order lookup
and the webhook endpoints.

Include it under a prefix of your site: ``path("checkout/", include("checkout.urls"))``.
The demo catalog (product list and detail) is not here: it is ``checkout.urls_storefront``,
for sites that want it. Names are kebab-case under ``app_name = "checkout"``
(``{% url 'checkout:cart' %}``).
"""

from django.urls import URLPattern, URLResolver, path

from checkout import views, webhooks
from checkout.csrf import csrf_protect_patterns

app_name = "checkout"

urlpatterns: list[URLPattern | URLResolver] = [
    # Webhooks first: the busiest URLs, matched before the patterns below are tried.
    path("webhooks/spectra/", webhooks.spectra_webhook, name="webhook-spectra"),
    path("webhooks/stripe/", webhooks.stripe_webhook, name="webhook-stripe"),
    # The cart; cart/add/ takes products from the merchant's own pages.
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    # Line ids are slugs: "..", "." or an encoded slash never reach the API's URL path.
    path("cart/items/<slug:item_id>/update/", views.cart_update, name="cart-update"),
    path("cart/items/<slug:item_id>/remove/", views.cart_remove, name="cart-remove"),
    # Checkout steps.
    path("checkout/", views.checkout_start, name="checkout-start"),
    path("checkout/information/", views.checkout_information, name="checkout-information"),
    path("checkout/shipping/", views.checkout_shipping, name="checkout-shipping"),
    path("checkout/payment/", views.checkout_payment, name="checkout-payment"),
    path("checkout/promo/", views.checkout_promo, name="checkout-promo"),
    path("checkout/gift-card/", views.checkout_gift_card, name="checkout-gift-card"),
    # Machine endpoints (JSON) used by checkout.js.
    path("checkout/pay/", views.checkout_pay, name="checkout-pay"),
    path("checkout/place/", views.checkout_place, name="checkout-place"),
    # After payment.
    path("checkout/pending/<uuid:public_id>/", views.checkout_pending, name="checkout-pending"),
    path(
        "checkout/confirmation/<uuid:public_id>/",
        views.checkout_confirmation,
        name="checkout-confirmation",
    ),
    path("orders/status/<str:token>/", views.order_status, name="order-status"),
    # Customers: a signed-in customer's orders, and the guest lookup by email and number.
    path("orders/", views.customer_orders, name="customer-orders"),
    path("orders/lookup/", views.order_lookup, name="order-lookup"),
]
# CSRF failures on these pages show the checkout's own page (checkout/csrf.py).
csrf_protect_patterns(urlpatterns)
