"""Shared admin machinery: read-only model admins and staff actions that call services.

Rows here are owned by Spectra, Stripe or the app's own services, so admin never edits
them: every model admin is read-only, and every change goes through a service in
``checkout.services.staff`` behind its own permission. A staff action is available two
ways, both checked against the same permission:

- on an object's page, as a button leading to ``<pk>/actions/<name>/`` (a confirmation
  or a small form, then POST);
- in the list, as a bulk admin action (with an intermediate page where input is needed).

The service's answer (or the API's reason for refusing) is reported through the
messages framework.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from checkout.exceptions import CheckoutError

ActionRun = Callable[[HttpRequest, Any, dict[str, Any]], str]


@dataclass(frozen=True)
class ObjectAction:
    """A staff action on one object: its URL name, label, permission and service call.

    ``run(request, obj, cleaned_data)`` calls a service and returns the success message;
    it raises ``CheckoutError`` (with a readable message) on refusal. ``available(obj)``
    hides the button where the action makes no sense (it is still permission-checked).
    ``form_kwargs(obj)``: keyword arguments for ``form_class`` that fit the form to the
    object (its choices, its defaults).
    """

    name: str
    label: str | Promise
    permission: str
    run: ActionRun
    question: str | Promise = ""
    form_class: type[forms.Form] | None = None
    danger: bool = False
    available: Callable[[Any], bool] = lambda obj: True
    form_kwargs: Callable[[Any], dict[str, Any]] = lambda obj: {}


def has_codename(request: HttpRequest, codename: str) -> bool:
    """Return whether the user holds ``checkout.<codename>``."""
    return bool(request.user.has_perm(f"checkout.{codename}"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model admin that shows everything and changes nothing by itself."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StaffActionsAdmin(ReadOnlyAdmin):
    """A read-only admin whose objects carry staff actions (buttons and bulk actions)."""

    object_actions: tuple[ObjectAction, ...] = ()

    class Media:
        css = {"all": ["checkout/admin/admin.css"]}

    # --- per-object actions --------------------------------------------------------------

    def get_object_action(self, name: str) -> ObjectAction:
        for action in self.object_actions:
            if action.name == name:
                return action
        raise Http404(_("No such action."))

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/actions/<slug:action_name>/",
                self.admin_site.admin_view(self.object_action_view),
                name=self._url_name("action"),
            )
        ]
        return custom + super().get_urls()

    def object_action_url(self, obj: Model, name: str) -> str:
        return reverse(
            f"{self.admin_site.name}:{self._url_name('action')}",
            args=[obj.pk, name],
        )

    def change_url(self, obj: Model) -> str:
        return reverse(f"{self.admin_site.name}:{self._url_name('change')}", args=[obj.pk])

    def actions_for(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        """Return the buttons this user may use on ``obj`` (for the change form)."""
        return [
            {
                "label": action.label,
                "url": self.object_action_url(obj, action.name),
                "danger": action.danger,
            }
            for action in self.object_actions
            if has_codename(request, action.permission) and action.available(obj)
        ]

    def object_action_view(
        self, request: HttpRequest, object_id: str, action_name: str
    ) -> HttpResponse:
        action = self.get_object_action(action_name)
        if not has_codename(request, action.permission):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(_("No such object."))
        form = None
        if action.form_class is not None:
            # A link may preselect a choice (?kind=shipped); the form still validates the POST.
            form = action.form_class(
                request.POST or None, initial=request.GET.dict(), **action.form_kwargs(obj)
            )
        if request.method == "POST" and (form is None or form.is_valid()):
            self.run_action(request, action, obj, form.cleaned_data if form else {})
            return HttpResponseRedirect(self.change_url(obj))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": action.label,
            "action": action,
            "object": obj,
            "objects": [obj],
            "form": form,
            "cancel_url": self.change_url(obj),
            "media": self.media + (form.media if form else forms.Media()),
            **self.object_action_context(request, action, obj),
        }
        return TemplateResponse(request, "admin/checkout/action_confirm.html", context)

    def object_action_context(
        self, request: HttpRequest, action: ObjectAction, obj: Any
    ) -> dict[str, Any]:
        """Return more context for an object action's page.

        ``links`` (label and URL pairs) under ``links_title`` are shown beside the form: the
        previews of the emails a resend offers, for one.
        """
        return {}

    def run_action(
        self, request: HttpRequest, action: ObjectAction, obj: Any, data: dict[str, Any]
    ) -> bool:
        """Call the action's service for one object and report the outcome."""
        try:
            message = action.run(request, obj, data)
        except CheckoutError as err:
            reason = getattr(err, "message", "") or str(err)
            self.message_user(request, f"{obj}: {reason}", messages.ERROR)
            return False
        self.message_user(request, f"{obj}: {message}", messages.SUCCESS)
        return True

    def run_bulk(
        self, request: HttpRequest, queryset: QuerySet[Any], name: str, data: dict[str, Any]
    ) -> None:
        """Run one object action over a selection (each object reported on its own)."""
        action = self.get_object_action(name)
        if not has_codename(request, action.permission):
            raise PermissionDenied
        for obj in queryset:
            self.run_action(request, action, obj, data)

    def bulk_form_page(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        name: str,
        rows: Iterable[tuple[Any, forms.Form]] | None = None,
        form: forms.Form | None = None,
    ) -> TemplateResponse:
        """Render a bulk action's intermediate page: a question, one form or one per row."""
        action = self.get_object_action(name)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": action.label,
            "action": action,
            "objects": list(queryset),
            "rows": list(rows) if rows is not None else None,
            "form": form,
            "bulk_action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "cancel_url": request.get_full_path(),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/checkout/action_confirm.html", context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context["staff_actions"] = self.actions_for(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
