"""The webhook endpoints: verify, store raw, acknowledge. Nothing else happens here.

Each view checks the size before reading, hands the raw bytes to the inbox service
(which verifies the signature and stores the event with its outbox row in one
transaction) and answers 2xx. No order changes and no broker call happen in the request;
a Celery task does the work after the relay publishes it. Every refusal is JSON with a
reason, never a 500. A refusal of a delivery signed in its sender's format but with
another secret is noted for ``checkout_doctor`` (``services/webhook_health.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from checkout.conf import app_settings
from checkout.services.inbox import (
    Receipt,
    WebhookRejected,
    webhook_receive_spectra,
    webhook_receive_stripe,
)
from checkout.services.webhook_health import signed_like_sender, webhook_refusal_note

logger = logging.getLogger(__name__)


def _refuse(status: int, reason: str, message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": reason, "message": message}, status=status)


def _read_body(request: HttpRequest) -> bytes:
    limit = app_settings.WEBHOOK_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    try:
        length = int(declared) if declared else None
    except ValueError as exc:
        raise WebhookRejected(400, "invalid_length", "Invalid Content-Length.") from exc
    if length is not None and length > limit:
        raise WebhookRejected(413, "body_too_large", "The body is too large.")
    # Read at most one byte over the limit, whatever the header said.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise WebhookRejected(413, "body_too_large", "The body is too large.")
    return body


def _intake(
    request: HttpRequest,
    source: str,
    receive: Callable[..., Receipt],
    headers: tuple[str, ...],
) -> JsonResponse:
    if request.method != "POST":
        response = _refuse(405, "method_not_allowed", "Only POST is accepted.")
        response["Allow"] = "POST"
        return response
    sent = {h: request.headers[h] for h in headers if h in request.headers}
    try:
        body = _read_body(request)
        receipt = receive(body=body, headers=sent)
    except WebhookRejected as exc:
        if exc.reason == "invalid_signature" and signed_like_sender(source, sent):
            # Signed by the sender with a secret this site does not have: the doctor
            # tells "refused since ..." from "nothing arrived".
            webhook_refusal_note(source=source)
        logger.warning(
            "webhook refused from %s: %s (%s)",
            request.META.get("REMOTE_ADDR"),
            exc.reason,
            exc.status,
        )
        return _refuse(exc.status, exc.reason, exc.message)
    return JsonResponse(
        {"ok": True, "id": receipt.event.pk, "duplicate": not receipt.created},
        status=202 if receipt.created else 200,
    )


@csrf_exempt
def spectra_webhook(request: HttpRequest) -> JsonResponse:
    """Receive one Spectra event (POST only)."""
    return _intake(
        request,
        "spectra",
        webhook_receive_spectra,
        ("X-Webhook-Signature", "X-Webhook-Event", "Content-Type", "User-Agent"),
    )


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Receive one Stripe event (payment_intent.succeeded / payment_failed)."""
    return _intake(request, "stripe", webhook_receive_stripe, ("Stripe-Signature",))
