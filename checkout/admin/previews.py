"""Staff's preview of an order's emails: each kind as the customer would get it if sent now.

Three GET pages under the order's admin URL, behind the order's view permission:

- ``<pk>/emails/``: the kinds that apply to the order (``notifications.email_kinds_for_order``)
  with what the ledger holds of each;
- ``<pk>/emails/<kind>/``: one email's subject, sender, recipient and text part, with
  its HTML part framed from
- ``<pk>/emails/<kind>/html/``: the HTML part alone, sandboxed by its own
  Content-Security-Policy (no scripts, no forms, no requests but images and fonts).

Every part comes from ``notifications.email_message``, the code that sends, in the order's
language; previewing sends nothing and writes nothing. An unknown kind, or one that does
not apply to the order, is a 404 that says so and lists the kinds there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from checkout.admin.base import StaffActionsAdmin, has_codename
from checkout.csp import SELF, extend_site_policy, policy_header
from checkout.languages import shopper_language, supported_language
from checkout.models import EmailNotification, Order
from checkout.services import notifications, staff

# The framed email may show styles, images and fonts, and nothing else: no script, no form,
# no request to this site with the staff member's cookies (``sandbox`` without
# ``allow-same-origin``), and only this site may frame it. Links open in a new window.
EMAIL_FRAME_POLICY = policy_header(
    {
        "default-src": ["'none'"],
        "style-src": ["'unsafe-inline'"],
        "img-src": ["https:", "data:"],
        "font-src": ["https:", "data:"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": [SELF],
        "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"],
    }
)


@dataclass(frozen=True)
class KindRow:
    """One email kind on the preview page, with what the ledger holds of it."""

    kind: str
    label: str
    url: str
    ledger: str
    resend_url: str


def email_kind_label(kind: str) -> str:
    """Return the readable name of an email kind (the order lookup's has no ledger label)."""
    if kind == notifications.ORDER_LOOKUP_EMAIL:
        return _("Order lookup (status link)")
    return str(EmailNotification.Kind(kind).label)


def _ledger_summary(rows: list[EmailNotification]) -> str:
    """Say what the ledger holds for one kind: the original's status and any resends."""
    original = next((row for row in rows if not row.is_resend), None)
    resends = sum(1 for row in rows if row.is_resend)
    text = original.get_status_display() if original else _("Never queued")
    if resends:
        text += " · " + ngettext("resent once", "resent %(count)s times", resends) % {
            "count": resends
        }
    return text


class EmailPreviewAdmin(StaffActionsAdmin):
    """An order admin with the email preview pages.

    ``resend_action``: the object action that resends an email; each kind it offers links
    to it from the preview, which is what staff look at before resending.
    """

    resend_action = "resend-email"

    def _preview_url_name(self, suffix: str) -> str:
        return f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"

        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(require_safe(function))

        urls = [
            path(
                "<path:object_id>/emails/<slug:kind>/html/",
                view(self.email_preview_html_view),
                name=f"{name}_email_preview_html",
            ),
            path(
                "<path:object_id>/emails/<slug:kind>/",
                view(self.email_preview_view),
                name=f"{name}_email_preview",
            ),
            path(
                "<path:object_id>/emails/",
                view(self.email_preview_view),
                name=f"{name}_email_previews",
            ),
        ]
        return urls + super().get_urls()

    def email_previews_url(self, order: Order) -> str:
        return reverse(self._preview_url_name("email_previews"), args=[order.pk])

    def email_preview_url(self, order: Order, kind: str) -> str:
        return reverse(self._preview_url_name("email_preview"), args=[order.pk, kind])

    def _preview_order(self, request: HttpRequest, object_id: str) -> Order:
        """The order to preview, for a user who may view it (403 otherwise, 404 if none)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404(_("No such order."))
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        return order

    def _message(self, order: Order, kind: str) -> EmailMultiAlternatives:
        return notifications.email_message(order=order, kind=kind, to=order.email)

    def _kind_rows(self, request: HttpRequest, order: Order, kinds: list[str]) -> list[KindRow]:
        ledger: dict[str, list[EmailNotification]] = {}
        for row in EmailNotification.objects.filter(order=order).order_by("created_at"):
            ledger.setdefault(row.kind, []).append(row)
        action = self.get_object_action(self.resend_action)
        resendable = (
            set(staff.email_kinds_produced(orders=[order]))
            if has_codename(request, action.permission) and action.available(order)
            else set()
        )
        resend = self.object_action_url(order, action.name)
        return [
            KindRow(
                kind=kind,
                label=email_kind_label(kind),
                url=self.email_preview_url(order, kind),
                ledger=(
                    _("Sent on request, outside the ledger")
                    if kind == notifications.ORDER_LOOKUP_EMAIL
                    else _ledger_summary(ledger.get(kind, []))
                ),
                resend_url=f"{resend}?{urlencode({'kind': kind})}" if kind in resendable else "",
            )
            for kind in kinds
        ]

    def _language_text(self, order: Order) -> str:
        code = shopper_language(order.language)
        name = str(dict(settings.LANGUAGES).get(code, code))
        if supported_language(order.language) == code:
            return _("%(language)s (%(code)s)") % {"language": name, "code": code}
        return _("%(language)s (%(code)s), the site's default: the order has none of its own") % {
            "language": name,
            "code": code,
        }

    def email_preview_view(
        self, request: HttpRequest, object_id: str, kind: str | None = None
    ) -> HttpResponse:
        order = self._preview_order(request, object_id)
        kinds = notifications.email_kinds_for_order(order=order)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": order,
            "title": _("Preview emails"),
            "subtitle": str(order),
            "change_url": reverse(self._preview_url_name("change"), args=[order.pk]),
            "previews_url": self.email_previews_url(order),
            "kinds": self._kind_rows(request, order, kinds),
            "selected": kind,
            "language": self._language_text(order),
            "media": self.media,
        }
        status = 200
        if kind is not None and kind not in kinds:
            status = 404
            if kind in EmailNotification.Kind.values:
                context["error"] = _(
                    "The %(kind)s email does not apply to this order (its status is "
                    "%(status)s, and it never had one)."
                ) % {
                    "kind": email_kind_label(kind),
                    "status": dict(Order.Status.choices).get(order.status, order.status),
                }
            else:
                context["error"] = _("There is no email called “%(kind)s”.") % {"kind": kind}
        elif kind is not None:
            message = self._message(order, kind)
            context["preview"] = {
                "label": email_kind_label(kind),
                "subject": message.subject,
                "from_email": message.from_email,
                "to": ", ".join(message.to),
                "reply_to": ", ".join(message.reply_to),
                "text": message.body,
                "html_url": reverse(
                    self._preview_url_name("email_preview_html"), args=[order.pk, kind]
                ),
            }
        response = TemplateResponse(
            request, "admin/checkout/order/email_preview.html", context, status=status
        )
        # The page frames the email from this site: a site policy of frame-src 'none'
        # would leave the frame empty.
        extend_site_policy(response, {"frame-src": [SELF]})
        return response

    def email_preview_html_view(
        self, request: HttpRequest, object_id: str, kind: str
    ) -> HttpResponse:
        order = self._preview_order(request, object_id)
        if kind not in notifications.email_kinds_for_order(order=order):
            raise Http404(_("No such email for this order."))
        message = self._message(order, kind)
        html = next(
            str(content) for content, mimetype in message.alternatives if mimetype == "text/html"
        )
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        # Set here, so the site's CSP and X-Frame-Options middlewares leave them alone.
        response["Content-Security-Policy"] = EMAIL_FRAME_POLICY
        response["X-Frame-Options"] = "SAMEORIGIN"
        response["Referrer-Policy"] = "no-referrer"
        return response
