"""URLs of the demo site: Django admin and the checkout app (storefront at the root)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("checkout.urls")),
]
