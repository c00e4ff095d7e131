"""URLs of the demo site: Django admin, customer sign-in (``django.contrib.auth``'s views),
the language switcher, the demo catalog at the root, and the checkout.

The checkout's own URLs keep their historical paths here (``/cart/``, ``/checkout/...``,
``/orders/``); a merchant's site mounts them under a prefix instead (docs/install.md).
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # Django's set_language view: the language switcher in templates/base.html posts here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("checkout.urls_storefront")),
    path("", include("checkout.urls")),
]
