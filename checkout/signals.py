"""Signals merchants can connect to. The app sends them; it never listens to its own.

- ``order_placed(sender=Order, order=Order, attempt=CheckoutAttempt | None)``: after the
  local order row is committed for a newly placed (or adopted) Spectra order.
- ``order_status_changed(sender=Order, order=Order, old_status=str, new_status=str,
  source=str)``: after a forward status move is committed; ``source`` is "webhook",
  "reconcile", "staff" or "placement".
- ``payment_failed(sender=CheckoutAttempt, attempt=CheckoutAttempt, code=str,
  message=str)``: a card was declined or authentication failed.
"""

from django.dispatch import Signal

order_placed = Signal()
order_status_changed = Signal()
payment_failed = Signal()
