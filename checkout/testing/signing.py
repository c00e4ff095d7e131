"""Spectra webhook signing, for tests that post signed deliveries to a webhook endpoint.

The signature is ``sha256=<lowercase hex HMAC-SHA256 of the raw body>`` keyed with the
subscription secret, sent in ``X-Webhook-Signature`` [doc].
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def sign_webhook_body(body: bytes, secret: str) -> str:
    """Return the ``X-Webhook-Signature`` value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook_signature(body: bytes, secret: str, header: str) -> bool:
    """Check a received signature in constant time over the raw bytes."""
    return hmac.compare_digest(sign_webhook_body(body, secret), header.strip())


@dataclass(frozen=True)
class SignedDelivery:
    """A webhook delivery ready to post: raw body bytes and headers."""

    body: bytes
    headers: dict[str, str]


def build_signed_delivery(
    event: str,
    data: dict[str, Any],
    secret: str,
    timestamp: datetime | None = None,
) -> SignedDelivery:
    """Build the body and headers Spectra would send for ``event`` about ``data``."""
    moment = timestamp or datetime.now(UTC)
    payload = {"event": event, "timestamp": moment.isoformat(timespec="seconds"), "data": data}
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Event": event,
        "X-Webhook-Signature": sign_webhook_body(body, secret),
    }
    return SignedDelivery(body=body, headers=headers)
