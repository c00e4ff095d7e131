"""App configuration: registers the system checks and the sign-out receiver at start-up."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = _("Checkout")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from checkout import checks  # noqa: F401  (registers the checks)
        from checkout.services import accounts  # noqa: F401  (keeps a checkout on logout)
