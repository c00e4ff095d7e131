"""The attempt's timeline: entries for each step, and every Spectra API call made for it
(method, path, status, duration), written with the next entry rather than on its own.

Entries are ``checkout.timeline_text`` notes, stored as message ids and translated when
read; an API call's line (method, path, status) reads the same in every language.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.services import spectra
from checkout.services.spectra import CallRecord, get_spectra_client
from checkout.timeline_text import Note

logger = logging.getLogger(__name__)


def _event(
    attempt: CheckoutAttempt,
    kind: str,
    message: Note,
    *,
    order: Order | None = None,
    **data: Any,
) -> None:
    # The API calls that led here come first on the timeline, in the same INSERT.
    _flush_calls(then=[_entry(attempt, kind, message, order=order, **data)])


def _entry(
    attempt: CheckoutAttempt, kind: str, message: Note, *, order: Order | None = None, **data: Any
) -> OrderEvent:
    """An (unsaved) timeline entry of the attempt."""
    return OrderEvent(
        attempt=attempt, order=order, kind=kind, data=_jsonable(data), **message.fields()
    )


def _jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (Decimal and datetimes as strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


_observed_attempt: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "checkout_observed_attempt", default=None
)
# API calls recorded but not yet written: they are written with the next timeline entry
# (often in its transaction) or when the recording block ends, so a call costs no commit.
_pending_calls: contextvars.ContextVar[list[OrderEvent] | None] = contextvars.ContextVar(
    "checkout_pending_calls", default=None
)


def _flush_calls(*, order: Order | None = None, then: Sequence[OrderEvent] = ()) -> None:
    """Write the recorded API calls not written yet (on ``order``'s timeline too, if given),
    and the entries ``then``, in one INSERT."""
    pending = _pending_calls.get()
    batch = list(pending or ())
    if pending:
        pending.clear()
    if order is not None:
        for event in batch:
            event.order = order
    batch += then
    if batch:
        OrderEvent.objects.bulk_create(batch)


@contextmanager
def _recorded_calls(attempt: CheckoutAttempt) -> Iterator[spectra.SpectraClient]:
    """Yield the Spectra client; every call inside is recorded on the attempt's timeline.

    Re-entrant: a nested block for the same attempt records each call once. Records are
    written in one INSERT with the next timeline entry, or when the block ends.
    """
    client = get_spectra_client()
    if _observed_attempt.get() == attempt.pk:
        yield client
        return

    recorded: list[OrderEvent] = []

    def record(call: CallRecord) -> None:
        recorded.append(
            OrderEvent(
                attempt=attempt,
                kind=OrderEvent.Kind.API_CALL,
                message=f"{call.method} {call.path} → {call.status or call.error_code}",
                data={
                    "method": call.method,
                    "path": call.path,
                    "status": call.status,
                    "duration_ms": round(call.duration_ms, 1),
                    "error_code": call.error_code,
                    "attempt": call.attempt,
                    "ok": call.ok,
                },
            )
        )

    token = _observed_attempt.set(attempt.pk)
    pending_token = _pending_calls.set(recorded)
    try:
        with client.observe(record):
            yield client
    finally:
        try:
            _flush_calls()
        except Exception:
            # Bookkeeping must never hide what happened (or turn success into failure).
            logger.exception("attempt %s: could not record its API calls", attempt.public_id)
        finally:
            _pending_calls.reset(pending_token)
            _observed_attempt.reset(token)
