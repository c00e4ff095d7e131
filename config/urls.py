"""URLs of the demo site: Django admin, customer sign-in (``django.contrib.auth``'s views),
the demo catalog at the root, and the checkout.

The checkout's own URLs keep their historical paths here (``/cart/``, ``/checkout/...``,
``/orders/``); a merchant's site mounts them under a prefix instead (docs/install.md).
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("checkout.urls_storefront")),
    path("", include("checkout.urls")),
]
