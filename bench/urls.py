"""The bench stack's URLs: the demo site's, the hello view that is every run's floor, and
the floors of ``bench/floors.py`` (place-order, one write)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from bench import floors

logger = logging.getLogger(__name__)


def hello(request: HttpRequest) -> HttpResponse:
    """Answer a constant through the whole production middleware stack."""
    return HttpResponse(b"hello", content_type="text/plain")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/hello/", hello, name="bench-hello"),
    path("bench/place-floor/", floors.place_floor, name="bench-place-floor"),
    path("bench/write-floor/", floors.write_floor, name="bench-write-floor"),
]

try:
    from config.urls import urlpatterns as site_urlpatterns
except ImportError:  # the checkout views have not landed yet: measure what exists
    logger.warning("bench: config.urls does not import; serving the hello view only")
else:
    urlpatterns += site_urlpatterns
