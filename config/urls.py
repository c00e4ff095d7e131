"""URLs of the demo site: Django admin, the language switcher and the checkout app (storefront at
the root)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's set_language view: the language switcher in templates/base.html posts here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("checkout.urls")),
]
