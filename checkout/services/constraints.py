"""Create a row unless a unique constraint says it exists already.

The database decides, also against a concurrent writer: the INSERT runs in a savepoint,
so a conflict leaves the caller's transaction usable, and the caller learns whether its
row is the one that was written.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Model


def insert_unless_conflict(instance: Model) -> bool:
    """Insert ``instance``; return False (and leave it unsaved) if a constraint refused it."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError:
        instance.pk = None
        return False
    return True
