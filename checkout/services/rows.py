"""Row-level helpers shared by the services for the hottest statements of the checkout.

Django compiles a queryset's SQL on every execution. For the 29-column checkout attempt
that is about 0.4 ms of CPU per SELECT, more than PostgreSQL needs to run it, on every
checkout request. ``select_first`` and ``update_returning`` build the column list once
per model and per process, and build the instance from the row as the ORM does (each
column through its field's and the backend's converters, then ``Model.from_db``), with
the converters also looked up once: Django's raw-query machinery, which did this before,
resolved them and the model's init order again for every row (0.4 ms a claim). Their filters
are equalities (or ``IN``) on field names, every value prepared by its field and passed
as a query parameter.

``insert_unless_conflict`` is how the services create a row that a unique constraint
guards against a concurrent writer (an order recorded by placement and by a webhook at
the same moment, an email scheduled twice). On PostgreSQL it is one statement,
``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: the constraint decides, the
caller's transaction is never broken, and there is no existence check, savepoint or
re-read around it. Elsewhere (SQLite in the demo) the INSERT runs in a savepoint and an
``IntegrityError`` means the row exists.

``update_and_insert`` is a compare-and-set with its record: an UPDATE and, only when it
matched, an INSERT of the rows that record it (a state move and its timeline entries).
On PostgreSQL it is one statement (the UPDATE in a ``WITH``), so it is atomic without a
transaction around it: no BEGIN and COMMIT round trips. Elsewhere it is both statements
in one transaction.

``Chain`` generalises that for PostgreSQL: a lock, inserts and updates as the steps of one
statement, each step running only if the steps it follows produced a row and able to use
their ids. Recording a placed order (the order, its email, outbox row, timeline and the
attempt's settlement) is one chain: one round trip where a transaction takes ten. An
insert step's rows travel as one parameter, a JSON array that PostgreSQL reads into the
table's row type, so a chain has a handful of parameters, not one per cell: psycopg then
parses its placeholders once per process (it caches statements under 50 parameters and
4 KB) instead of on every run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import Model

try:  # PostgreSQL's driver; the demo on SQLite runs without it (and without chains)
    from psycopg.types.json import Json, Jsonb

    _JSON_WRAPPERS: tuple[type, ...] = (Json, Jsonb)
except ImportError:  # pragma: no cover - psycopg is installed wherever PostgreSQL is used
    _JSON_WRAPPERS = ()

__all__ = [
    "Add",
    "Chain",
    "insert_rows",
    "insert_unless_conflict",
    "select_first",
    "update_and_insert",
    "update_returning",
    "update_where",
]

M = TypeVar("M", bound=Model)
_STEP_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")


@functools.cache
def _columns(model: type[Model]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(str(f.column)) for f in model._meta.concrete_fields)


@functools.cache
def _loader(model: type[Model], vendor: str) -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    """The attnames of ``model``'s concrete fields and, for each column that has any, its
    converters (the backend's, then the field's), as the compiler would apply them.
    Cached per model and database engine: each converter is given the current connection
    when it runs (the backend's are methods of the connection that first filled the
    cache, which another thread's connection to the same database matches)."""
    meta = model._meta
    attnames = [f.attname for f in meta.concrete_fields]
    converters = []
    for n, field in enumerate(meta.concrete_fields):
        column = field.get_col(meta.db_table)
        found = [
            *connection.ops.get_db_converters(column),
            *field.get_db_converters(connection),
        ]
        if found:
            converters.append((n, column, found))
    return attnames, converters


def _instance(model: type[M], row: Sequence[Any]) -> M:
    """Build the ``model`` instance for a row of ``_columns(model)``, as the ORM does."""
    attnames, converters = _loader(model, connection.vendor)
    values = list(row)
    for n, column, functions in converters:
        value = values[n]
        for convert in functions:
            value = convert(value, column, connection)
        values[n] = value
    return model.from_db(connection.alias, attnames, values)


def _first(model: type[M], sql: str, params: Sequence[Any]) -> M | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else _instance(model, row)


def _where(model: type[Model], filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Return SQL and parameters for ``field = value`` terms (``IN`` for a list or tuple,
    ``IS NULL`` for None).

    Values go through each field's own database preparation, as the ORM's would (a UUID
    is a ``uuid`` on PostgreSQL and 32 hex digits on SQLite, for example).
    """
    quote = connection.ops.quote_name
    terms: list[str] = []
    params: list[Any] = []
    for name, value in filters.items():
        field = model._meta.get_field(name)
        column = quote(str(field.column))  # type: ignore[union-attr]
        if value is None:
            terms.append(f"{column} IS NULL")
            continue
        values = list(value) if isinstance(value, list | tuple) else [value]
        params += [field.get_db_prep_value(v, connection) for v in values]  # type: ignore[union-attr]
        if isinstance(value, list | tuple):
            terms.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
        else:
            terms.append(f"{column} = %s")
    return " AND ".join(terms), params


def select_first(
    model: type[M],
    filters: Mapping[str, Any],
    *,
    order_by: str = "",
    for_update: bool = False,
) -> M | None:
    """Return the first ``model`` row matching ``filters`` (see ``_where``), or None.

    ``order_by``: a field name (its column, ascending).
    """
    meta = model._meta
    where, params = _where(model, filters)
    sql = f"SELECT {_columns(model)} FROM {connection.ops.quote_name(meta.db_table)} WHERE {where}"  # noqa: S608
    if order_by:
        sql += f" ORDER BY {connection.ops.quote_name(str(meta.get_field(order_by).column))}"  # type: ignore[union-attr]
    sql += " LIMIT 1"
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return _first(model, sql, params)


@dataclass(frozen=True)
class Add:
    """A change that adds to a number column (``SET tries = tries + 1``), race-free."""

    amount: int


def _set(model: type[Model], changes: Mapping[str, Any]) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    assignments: list[str] = []
    values: list[Any] = []
    for name, value in changes.items():
        field = model._meta.get_field(name)
        column = quote(str(field.column))  # type: ignore[union-attr]
        if isinstance(value, Add):
            assignments.append(f"{column} = {column} + %s")
            values.append(value.amount)
        else:
            assignments.append(f"{column} = %s")
            values.append(field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    return ", ".join(assignments), values


def update_returning(
    model: type[M], changes: Mapping[str, Any], filters: Mapping[str, Any]
) -> M | None:
    """Apply ``changes`` (field name to value) to the row matching ``filters`` and return it
    as updated, in one statement; None when no row matched. ``filters`` must match one row
    at most (a primary or unique key, or a compare-and-set on one)."""
    assignments, values = _set(model, changes)
    where, params = _where(model, filters)
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {where} RETURNING {_columns(model)}"
    )
    return _first(model, sql, [*values, *params])


def update_where(model: type[Model], changes: Mapping[str, Any], filters: Mapping[str, Any]) -> int:
    """Apply ``changes`` to every row matching ``filters``; return how many rows changed."""
    assignments, values = _set(model, changes)
    where, params = _where(model, filters)
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        return int(cursor.rowcount)


def update_and_insert(
    model: type[Model],
    changes: Mapping[str, Any],
    filters: Mapping[str, Any],
    rows: Sequence[Model],
) -> bool:
    """Apply ``changes`` to the row matching ``filters`` and, only if one matched, insert
    ``rows`` (new instances of one model, which get their primary keys); atomically.
    Return whether the update matched."""
    if not rows:
        return update_where(model, changes, filters) > 0
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not update_where(model, changes, filters):
                return False
            type(rows[0])._default_manager.bulk_create(list(rows))
            return True
    chain = Chain()
    chain.update("moved", model, changes, filters)
    chain.insert("added", rows, after=("moved",))
    return bool(chain.run()["moved"])


def _insert(instances: Sequence[Model], *, skip_conflicts: bool) -> list[Any]:
    """INSERT the instances in one statement (PostgreSQL); return the new primary keys."""
    meta = instances[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    values = [
        f.get_db_prep_save(f.pre_save(instance, add=True), connection)
        for instance in instances
        for f in fields
    ]
    conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    # Identifiers come from the model's metadata; every value is a query parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        f"{', '.join([row] * len(instances))}{conflict} RETURNING {quote(str(meta.pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pks = [r[0] for r in cursor.fetchall()]
    _saved(instances, pks)
    return pks


def _saved(instances: Sequence[Model], pks: Sequence[Any]) -> None:
    """Give inserted instances their keys (when all of them were inserted)."""
    if len(pks) == len(instances):
        for instance, pk in zip(instances, pks, strict=True):
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = connection.alias


_json_string: Any = json.encoder.encode_basestring_ascii  # C, as json.dumps uses


def _json_value(value: Any) -> str:
    """JSON text for a value as a field prepared it for PostgreSQL (``get_db_prep_save``).

    The column's own input function reads it back (``jsonb_populate_recordset``): a
    string for text, numbers (a ``Decimal`` as its exact digits), dates and times
    (ISO 8601, with their offset) and UUIDs; a ``jsonb`` value nested as it is.
    """
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(_json_string(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, Decimal | uuid.UUID):
        return f'"{value}"'
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f'"{value.isoformat()}"'
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, _JSON_WRAPPERS):  # psycopg's Jsonb: the object and its dumps
        wrapped: Any = value
        return str((wrapped.dumps or json.dumps)(wrapped.obj))
    raise TypeError(f"Chain.insert cannot carry a {type(value).__name__} value")


@functools.cache
def _json_keys(model: type[Model]) -> dict[str, str]:
    """Each non-key concrete field's column as a JSON object key (with its colon)."""
    return {
        f.attname: f"{_json_string(str(f.column))}: "
        for f in model._meta.concrete_fields
        if not f.primary_key
    }


def insert_rows(instances: Sequence[Model]) -> None:
    """Insert new instances of one model in one statement; each gets its primary key."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        type(instances[0])._default_manager.bulk_create(list(instances))
        return
    _insert(instances, skip_conflicts=False)


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
    return bool(_insert([instance], skip_conflicts=True))


class Chain:
    """Steps of one PostgreSQL statement (data-modifying ``WITH`` queries), all or nothing.

    Each step has a name; ``after`` names the steps that must have produced a row for it
    to run, and ``refs`` sets columns (by attname) to SQL expressions over earlier steps:
    ``Chain.id_of("order")`` is that step's id, and ``{value}`` in an expression stands
    for the instance's own value of the column (to merge into JSON, say). Step names and
    expressions are the caller's code, never input; every value is a query parameter
    (an insert step's rows, one JSON parameter: see ``_json_value`` for the types).

    ``run()`` returns each step's ids (in row order); inserted instances get their keys.
    A step that does not run leaves the rows of the steps after it untouched too, so a
    caller checks the ids of the step that decides (``ON CONFLICT DO NOTHING`` inserted
    nothing, a lock found no row) and takes its general path when it is empty.
    """

    def __init__(self) -> None:
        self._steps: list[tuple[str, str, list[Any]]] = []
        self._inserted: dict[str, Sequence[Model]] = {}

    @staticmethod
    def _step(name: str) -> str:
        """A step name is an identifier of the caller's code (checked: never input)."""
        if not _STEP_NAME.fullmatch(name):
            raise ValueError(f"not a step name: {name!r}")
        return name

    @classmethod
    def id_of(cls, step: str) -> str:
        return f"(SELECT id FROM {cls._step(step)})"  # noqa: S608

    @classmethod
    def _guard(cls, after: Sequence[str]) -> str:
        return " AND ".join(f"EXISTS (SELECT 1 FROM {cls._step(step)})" for step in after)  # noqa: S608

    def lock(self, name: str, model: type[Model], filters: Mapping[str, Any]) -> None:
        """Lock the row matching ``filters`` (``SELECT ... FOR UPDATE``)."""
        quote = connection.ops.quote_name
        where, params = _where(model, filters)
        pk = quote(str(model._meta.pk.column))
        sql = f"SELECT {pk} AS id FROM {quote(model._meta.db_table)} WHERE {where} FOR UPDATE"  # noqa: S608
        self._steps.append((self._step(name), sql, params))

    def insert(
        self,
        name: str,
        instances: Sequence[Model],
        *,
        after: Sequence[str] = (),
        refs: Mapping[str, str] | None = None,
        skip_conflicts: bool = False,
    ) -> None:
        """Insert new instances of one model."""
        refs = refs or {}
        meta = instances[0]._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        # The rows travel as one parameter, a JSON array of objects by column, which
        # PostgreSQL reads into the table's row type: each value through its column's
        # input function (a value too long for a varchar is refused, never truncated).
        # One parameter per step, not one per cell: psycopg parses a statement's
        # placeholders once and reuses it only under 50 parameters.
        keys = _json_keys(type(instances[0]))
        carried = [f for f in fields if "{value}" in refs.get(f.attname, "{value}")]
        rows = []
        for instance in instances:
            cells = [
                keys[f.attname]
                + _json_value(f.get_db_prep_save(f.pre_save(instance, add=True), connection))
                for f in carried
            ]
            rows.append("{" + ", ".join(cells) + "}")
        # Kept short (psycopg's cache takes statements under 4 KB): the SELECT names the
        # columns unqualified (the record set is its only source) and orders the rows
        # only when there are several.
        columns = [quote(str(f.column)) for f in fields]
        cells = [
            column if f.attname not in refs else refs[f.attname].replace("{value}", column)
            for f, column in zip(fields, columns, strict=True)
        ]
        table = quote(meta.db_table)
        source = f"jsonb_populate_recordset(NULL::{table}, %s)"
        if len(instances) > 1:
            source += " WITH ORDINALITY r"
        guard = f" WHERE {self._guard(after)}" if after else ""
        order = " ORDER BY r.ordinality" if len(instances) > 1 else ""
        conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(cells)} FROM {source}{guard}{order}{conflict} "
            f"RETURNING {quote(str(meta.pk.column))} AS id"
        )
        self._steps.append((self._step(name), sql, ["[" + ", ".join(rows) + "]"]))
        self._inserted[name] = instances

    def update(
        self,
        name: str,
        model: type[Model],
        changes: Mapping[str, Any],
        filters: Mapping[str, Any],
        *,
        after: Sequence[str] = (),
        refs: Mapping[str, str] | None = None,
    ) -> None:
        """Apply ``changes`` (and ``refs``) to the rows matching ``filters``."""
        quote = connection.ops.quote_name
        assignments, values = _set(model, changes) if changes else ("", [])
        assignments = ", ".join(
            [
                *([assignments] if assignments else []),
                *(
                    f"{quote(str(model._meta.get_field(field).column))} = {expression}"  # type: ignore[union-attr]
                    for field, expression in (refs or {}).items()
                ),
            ]
        )
        where, params = _where(model, filters)
        if after:
            where += f" AND {self._guard(after)}"
        pk = quote(str(model._meta.pk.column))
        sql = (
            f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {where} RETURNING {pk} AS id"
        )
        self._steps.append((self._step(name), sql, [*values, *params]))

    def run(self) -> dict[str, list[Any]]:
        """Run the chain as one statement; return each step's ids."""
        with_sql = ", ".join(f"{name} AS ({sql})" for name, sql, _ in self._steps)
        select = " UNION ALL ".join(
            f"SELECT {n}, id FROM {name}"  # noqa: S608 (names checked by _step)
            for n, (name, _, _) in enumerate(self._steps)
        )
        params = [p for _, _, step_params in self._steps for p in step_params]
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {with_sql} {select}", params)
            found = cursor.fetchall()
        ids: dict[str, list[Any]] = {name: [] for name, _, _ in self._steps}
        for n, pk in found:
            ids[self._steps[n][0]].append(pk)
        for name, instances in self._inserted.items():
            _saved(instances, ids[name])
        return ids
