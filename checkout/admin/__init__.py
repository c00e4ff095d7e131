"""Django admin for staff: orders, checkout attempts, webhook events, emails, the outbox.

Everything is read-only; changes go through ``checkout.services.staff`` behind their own
permissions (``checkout.ship_order``, ``deliver_order``, ``cancel_order``,
``resync_order``, ``resend_email``, ``replay_webhookevent``, ``recover_checkoutattempt``,
``release_payment_checkoutattempt``). Importing the package registers the model admins.
"""

from checkout.admin.attempts import CheckoutAttemptAdmin
from checkout.admin.inbox import EmailNotificationAdmin, OutboxMessageAdmin, WebhookEventAdmin
from checkout.admin.orders import OrderAdmin

__all__ = [
    "CheckoutAttemptAdmin",
    "EmailNotificationAdmin",
    "OrderAdmin",
    "OutboxMessageAdmin",
    "WebhookEventAdmin",
]
