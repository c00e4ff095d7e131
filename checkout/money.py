"""Money: each currency's minor units, and amounts written for the shopper's language.

The one place that converts a ``Decimal`` amount to a payment provider's integer minor
units and back (``to_minor_units`` / ``from_minor_units``), and the one place that turns
an amount into text (``format_money``, behind the ``|money`` template filter, admin and
emails). Formatting follows CLDR through babel in the active language, so an order in
US dollars reads ``$1,234.56`` in English and ``1.234,56 $`` in German; the browser does
the same with ``Intl.NumberFormat`` (both read CLDR).

The exponent is Stripe's, not ISO 4217's: Stripe counts amounts in ``10**exponent`` units
per major unit, with zero-decimal currencies (JPY, KRW, ...) and three-decimal ones
(KWD, BHD, ...), and keeps ISK and HUF at two decimals for backwards compatibility.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset(("BHD", "JOD", "KWD", "OMR", "TND"))

MINUS_SIGN = "\u2212"


def currency_exponent(currency: str) -> int:
    """Return how many decimals the currency's minor unit has (JPY 0, USD 2, KWD 3)."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, *, currency: str) -> int:
    """Return ``amount`` in the currency's minor units (half-up to the smallest unit)."""
    if not isinstance(amount, Decimal):
        raise TypeError("amounts are Decimal, never float")
    exponent = currency_exponent(currency)
    step = Decimal(1).scaleb(-exponent)
    return int(amount.quantize(step, rounding=ROUND_HALF_UP).scaleb(exponent))


def from_minor_units(units: int | str, *, currency: str) -> Decimal:
    """Return integer minor units (localstripe may send a string) as a ``Decimal`` with
    the currency's decimals."""
    exponent = currency_exponent(currency)
    return Decimal(int(units)).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


@lru_cache(maxsize=64)
def _parse_locale(language: str) -> Locale | None:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return None


def babel_locale(language: str | None) -> Locale:
    """Return the babel locale of a Django language code ("de", "pt-br", "en-us").

    An unknown code falls back to its language ("xx-yy" -> "xx"), then to the site's
    ``LANGUAGE_CODE``, then to English: a page is never broken by a language babel lacks.
    """
    for candidate in (language, (language or "").split("-")[0], settings.LANGUAGE_CODE):
        locale = _parse_locale(candidate) if candidate else None
        if locale is not None:
            return locale
    return Locale("en")


def format_money(amount: Decimal, *, currency: str, language: str | None = None) -> str:
    """Return ``amount`` in ``currency`` as the shopper's language writes it.

    ``language`` defaults to the active one. Negative amounts carry a true minus sign
    (U+2212), as the summary's deductions always have.
    """
    code = currency.strip().upper()
    currency_exponent(code)  # refuses what is not a currency code
    locale = babel_locale(language or translation.get_language())
    # The sign is ours, so a deduction reads the same in every language.
    text = _formatted(abs(amount), code, locale)
    return f"{MINUS_SIGN}{text}" if amount < 0 else text


@lru_cache(maxsize=4096)
def _formatted(amount: Decimal, currency: str, locale: Locale) -> str:
    # CLDR's digits decide the decimals shown (JPY none, KWD three). A page shows the same
    # few prices over and over, and babel parses its pattern on every call: kept.
    return format_currency(amount, currency, locale=locale)


def intl_locale(language: str | None = None) -> str:
    """Return the active language as a BCP 47 tag for ``Intl.NumberFormat`` ("de", "en-US")."""
    return str(babel_locale(language or translation.get_language())).replace("_", "-")
