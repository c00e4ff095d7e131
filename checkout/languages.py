"""The shopper's language: which code an attempt and its order keep, and which one an
email to that shopper is written in.

The code comes from the request (``LocaleMiddleware`` sets it from the switcher's cookie
or ``Accept-Language``); only a language of ``settings.LANGUAGES`` is kept, so a stored
code can always be activated later, in a Celery worker with no request.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_supported_language_variant


def supported_language(code: str | None) -> str:
    """Return the ``settings.LANGUAGES`` code for ``code`` ("de-at" -> "de"), or ""."""
    if not code:
        return ""
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return ""


def shopper_language(stored: str) -> str:
    """Return the language to write to a shopper in: ``stored``, else the site's default.

    An order from before languages were kept, or placed elsewhere, has none; a code no
    longer in ``settings.LANGUAGES`` falls back the same way.
    """
    return (
        supported_language(stored)
        or supported_language(settings.LANGUAGE_CODE)
        or settings.LANGUAGE_CODE
    )
