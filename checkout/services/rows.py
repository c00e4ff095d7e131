"""Row-level helpers shared by the services: insert a row unless it already exists.

``insert_unless_conflict`` is how the services create a row that a unique constraint
guards against a concurrent writer (an order recorded by placement and by a webhook at
the same moment, an email scheduled twice). On PostgreSQL it is one statement,
``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: the constraint decides, the
caller's transaction is never broken, and there is no existence check, savepoint or
re-read around it. Elsewhere (SQLite in the demo) the INSERT runs in a savepoint and an
``IntegrityError`` means the row exists.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import Model

__all__ = ["insert_unless_conflict"]


def insert_unless_conflict(instance: Model) -> bool:
    """Insert ``instance`` unless a unique constraint refuses it; return whether it did.

    On success the instance has its primary key and is saved; on a conflict nothing was
    written and the instance is left unsaved.
    """
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():  # a savepoint inside the caller's transaction
                instance.save(force_insert=True)
        except IntegrityError:
            return False
        return True
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    pk_column = quote(str(meta.pk.column))
    # Identifiers come from the model's metadata; every value is a query parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {pk_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True
