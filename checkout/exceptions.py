"""The app's exception hierarchy.

Three families, because each is handled differently at the view boundary:

- ``ShopperError``: expected failures the shopper can act on (a declined card, an
  invalid promo code). Their message is safe to show.
- ``ProviderError``: trouble with an outside service (Spectra, Stripe). Among the
  Spectra errors, ``SpectraTransientError`` (timeout, connection, 5xx, 429) may be
  retried; ``SpectraRejection`` (other 4xx) may not. ``SpectraUnknownOutcome`` marks a
  non-idempotent call whose result is unknown and must be resolved, never re-sent.
- Configuration mistakes are Django's ``ImproperlyConfigured``.

No exception here ever carries an API key: the client trims bodies and never puts
headers into messages.
"""

from __future__ import annotations

from typing import Any


class CheckoutError(Exception):
    """Base of every error the checkout app raises."""


# --- Shopper-safe -------------------------------------------------------------------


class ShopperError(CheckoutError):
    """A failure whose message the shopper can read and act on."""

    def __init__(self, message: str, *, code: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class PaymentDeclined(ShopperError):
    """The card was declined, or authentication failed."""

    def __init__(
        self, message: str, *, code: str = "card_declined", decline_code: str = ""
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code


class InvalidPromoCode(ShopperError):
    """The promo code does not apply to this cart."""


class InvalidGiftCard(ShopperError):
    """The gift card is unknown, used up, expired or disabled."""


class CheckoutStateError(ShopperError):
    """The shopper asked for a step that is not reachable yet (or any more)."""


class CartAddError(ShopperError):
    """A product could not go into the cart: ``code`` is ``unknown_product`` or
    ``insufficient_stock``."""


# --- Providers ----------------------------------------------------------------------


class ProviderError(CheckoutError):
    """An outside service failed or refused."""


class StripeProviderError(ProviderError):
    """Stripe could not be reached or answered with an error we cannot show."""


class SpectraError(ProviderError):
    """An error answer from (or failure to reach) the Spectra API."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        body: str = "",
        method: str = "",
        path: str = "",
        fields: dict[str, list[str]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.method = method
        self.path = path
        self.fields = fields or {}
        self.details = details or {}

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        status = f" {self.status}" if self.status is not None else ""
        code = f" [{self.code}]" if self.code else ""
        return f"Spectra{status}{code} {where}: {self.message}".replace("  ", " ")


class SpectraTransientError(SpectraError):
    """Timeout, connection failure or 5xx: the request may be retried if it is safe."""


class SpectraRateLimited(SpectraTransientError):
    """429: wait ``retry_after`` seconds before the next request."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class SpectraUnknownOutcome(SpectraTransientError):
    """A non-idempotent call (``POST /orders``) failed in a way that hides its result.

    The order may or may not exist. Resolve by looking it up; never re-send blindly.
    """


class SpectraRejection(SpectraError):
    """A 4xx answer other than 429: sending the same request again will not help."""


class SpectraBadRequest(SpectraRejection):
    """400: the request body was malformed."""


class SpectraAuthenticationError(SpectraRejection):
    """401: the API key is missing, invalid or revoked."""


class SpectraPermissionError(SpectraRejection):
    """403: the key lacks a scope the call needs."""


class SpectraNotFound(SpectraRejection):
    """404: no such resource."""


class SpectraPaymentRefused(SpectraRejection):
    """402: the PaymentIntent is not usable for this order."""


class SpectraConflict(SpectraRejection):
    """409: the request conflicts with the resource's state.

    For ``cart_already_ordered`` the existing order is named in ``order_id`` and
    ``order_number``.
    """

    @property
    def order_id(self) -> int | None:
        value = self.details.get("order_id")
        return int(value) if value is not None else None

    @property
    def order_number(self) -> str | None:
        value = self.details.get("order_number")
        return str(value) if value is not None else None


class SpectraValidationError(SpectraRejection):
    """422: the API refused the data; ``fields`` maps field paths to messages."""
