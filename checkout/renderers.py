"""The form renderer of the checkout's forms: a template of the site's overrides a field.

Django's default form renderer reads only the app directories and Django's own form
templates, not the site's ``TEMPLATES`` ``DIRS``. A merchant who restyles the checkout by
putting ``checkout/forms/field.html`` (or a widget template) in the site's ``templates/``
directory, as for every page of the checkout, would see nothing change.
``CheckoutFormRenderer`` is that default renderer with the site's template directories
searched first. A site that chose its own ``FORM_RENDERER`` keeps it for the checkout's
forms too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import django.forms
from django.conf import settings
from django.forms.renderers import BaseRenderer, DjangoTemplates, get_default_renderer
from django.template.backends.django import DjangoTemplates as DjangoTemplatesBackend

DJANGO_BACKEND = "django.template.backends.django.DjangoTemplates"
FORM_TEMPLATES = Path(django.forms.__file__).parent / "templates"


@functools.lru_cache(maxsize=8)
def _engine(dirs: tuple[str, ...]) -> DjangoTemplatesBackend:
    """An engine reading ``dirs``, then Django's form templates, then the apps' templates."""
    return DjangoTemplatesBackend(
        {
            "APP_DIRS": True,
            "DIRS": [*dirs, FORM_TEMPLATES],
            "NAME": "checkout-forms",
            "OPTIONS": {},
        }
    )


def _site_dirs() -> tuple[str, ...]:
    """The ``DIRS`` of the site's Django template engines (read now, for override_settings)."""
    engines: list[dict[str, Any]] = settings.TEMPLATES
    return tuple(
        str(directory)
        for engine in engines
        if engine.get("BACKEND") == DJANGO_BACKEND
        for directory in engine.get("DIRS", ())
    )


class CheckoutFormRenderer(BaseRenderer):
    """Django's default form renderer, with the site's template directories searched first."""

    def get_template(self, template_name: str) -> Any:
        site = get_default_renderer()
        if type(site) is not DjangoTemplates:  # the site chose its renderer: it decides
            return site.get_template(template_name)
        return _engine(_site_dirs()).get_template(template_name)
