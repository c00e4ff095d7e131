"""URLs of the demo site: Django admin, customer sign-in (``django.contrib.auth``'s views)
and the checkout app (storefront at the root)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("checkout.urls")),
]
