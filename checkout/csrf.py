"""CSRF protection of the checkout's views, failing with the checkout's own page.

Django sends every CSRF failure to one site-wide ``CSRF_FAILURE_VIEW``. The checkout's
views instead check CSRF themselves (``checkout_csrf``, applied to every pattern of
``checkout.urls`` by ``csrf_protect_patterns``): the site's ``CsrfViewMiddleware`` steps
aside for them, and a failure there answers with the checkout's page, which tells the
shopper to reload and links back to the step, or JSON for the endpoints ``checkout.js``
calls. The site's other views keep the site's own CSRF failure handling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import URLPattern, URLResolver
from django.utils.decorators import decorator_from_middleware
from django.utils.log import log_response

logger = logging.getLogger("django.security.csrf")


class CheckoutCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, whose failure is the checkout's page rather than the site's."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        from checkout.views.common import csrf_failure

        response = csrf_failure(request, reason=reason)
        # Logged as Django logs its own CSRF failures, for the site's security log.
        log_response(
            "Forbidden (%s): %s",
            reason,
            request.path,
            response=response,
            request=request,
            logger=logger,
        )
        return response


_protect = decorator_from_middleware(CheckoutCsrfMiddleware)


def checkout_csrf(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check CSRF on ``view`` with the checkout's failure page, instead of the site's."""
    protected = _protect(view)
    # The site's CsrfViewMiddleware skips a view marked exempt; the decorator checks it.
    protected.csrf_exempt = True  # type: ignore[attr-defined]
    return protected


def csrf_protect_patterns(
    patterns: list[URLPattern | URLResolver],
) -> list[URLPattern | URLResolver]:
    """Return ``patterns`` with every view not exempt (the webhooks are) under ``checkout_csrf``."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and not getattr(pattern.callback, "csrf_exempt", False):
            pattern.callback = checkout_csrf(pattern.callback)
    return patterns
