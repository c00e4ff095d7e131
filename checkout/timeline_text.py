"""Timeline text kept language-neutral: a message id and its parameters, rendered on display.

A timeline entry is written in whatever language the request that writes it speaks (a
German shopper's checkout, a French staff member's action) and read by anyone: staff in
the admin's language, a log or an export. So an entry (``OrderEvent``) stores the English
source string (the gettext message id, marked with ``gettext_noop`` where it is written so
``makemessages`` extracts it) and its parameters as JSON, and ``render`` translates both
in the reader's active language. Parameters are stored as:

- plain JSON values (counts, order numbers, codes, an API's own words): shown as they are;
- ``{"msgid": ..., "params": {...}}``: a translatable phrase (a status's label, a reason),
  itself rendered;
- ``{"money": "12.50", "currency": "EUR"}``: an amount, written by ``checkout.money`` in
  the reader's locale.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Choices
from django.utils import translation
from django.utils.functional import Promise

from checkout.money import format_money

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Note:
    """One sentence of the timeline: a message id and its parameters (in their JSON form).

    ``str(note)`` is the sentence in the active language: what a page or a staff
    action's answer shows now. ``fields()`` is what an ``OrderEvent`` stores.
    """

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.msgid, self.params)

    def english(self) -> str:
        """Return the sentence in English, the text kept for exports, search and logs."""
        with translation.override("en"):
            return render(self.msgid, self.params)

    def fields(self) -> dict[str, Any]:
        """Return the ``OrderEvent`` fields that store this sentence."""
        return {"message": self.english(), "message_id": self.msgid, "message_params": self.params}


@dataclass(frozen=True)
class Amount:
    """An amount of money as a parameter: written in the reader's locale on display."""

    value: Decimal
    currency: str


def note(msgid: str, /, **params: Any) -> Note:
    """Return a timeline sentence: ``msgid`` (marked with ``gettext_noop`` by the caller)
    with ``params``.

    A parameter may be a ``Note`` or a lazily translated string (a choice's label): it is
    stored as its message id and translated on display. An ``Amount`` is formatted on
    display; anything else is stored as plain JSON (a ``Decimal`` or an object as text).
    """
    return Note(msgid, {name: _encode(value) for name, value in params.items()})


def choice(choices: type[Choices], value: Any) -> Promise | str:
    """Return the label of ``value`` in ``choices`` (translated on display), or the value
    itself when it is not one of them (an API's status this app does not know)."""
    label = dict(choices.choices).get(value)
    return label if isinstance(label, Promise) else str(value)


def render(msgid: str, params: Mapping[str, Any]) -> str:
    """Return ``msgid`` with ``params`` (their JSON form) in the active language."""
    if not msgid:
        return ""  # gettext("") is the catalog's header, never a sentence
    values = {name: _decode(value) for name, value in params.items()}
    text = translation.gettext(msgid)
    if not values:
        return text
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        # A catalog whose translation names other parameters: the source string is
        # still right, and a staff page must never break on a translator's slip.
        logger.warning("timeline text %r: its translation does not fit its parameters", msgid)
    try:
        return msgid % values
    except (KeyError, ValueError, TypeError):
        return msgid


def _encode(value: Any) -> Any:
    if isinstance(value, Note):
        return (
            {"msgid": value.msgid, "params": value.params}
            if value.params
            else {"msgid": value.msgid}
        )
    if isinstance(value, Promise):
        # A gettext_lazy string (a choice's label): its message id is the text it has
        # with no language active.
        with translation.override(None):
            return {"msgid": str(value)}
    if isinstance(value, Amount):
        return {"money": str(value.value), "currency": value.currency}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "msgid" in value:
            return render(str(value["msgid"]), value.get("params") or {})
        if "money" in value:
            try:
                return format_money(Decimal(value["money"]), currency=str(value["currency"]))
            except (InvalidOperation, KeyError, TypeError, ValueError):
                return f"{value.get('money')} {value.get('currency', '')}".strip()
    return value
