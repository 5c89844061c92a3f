"""Thousands of rows as one statement parameter, for INSERT ... SELECT.

An executemany of 10,000 rows runs every value of every row through SQLAlchemy's per-row
parameter handling (the bulk import's largest part after reading the provider). Here the rows
travel as one value that the database unpacks itself: a JSON array read by json_each on SQLite,
one array per column read by unnest on PostgreSQL. `position` keeps the order given, so that
ids an INSERT ... SELECT ... ORDER BY position assigns follow it as an executemany's would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from .driver import DriverReads


class Unpacked:
    """`rows` (tuples in the order of `columns`) as a FROM clause. Column types are the
    unbounded ones (Text, not String(64)): a value too long for its column is then refused by
    the INSERT, as in an executemany, not cut by a cast on the way. A JSON column's values are
    JSON texts already (serialized by the caller, all at once).

    A column whose rows all hold the very same object (one status, one `now`) is one parameter
    instead: the database unpacks only what varies (on SQLite each unpacked column is another
    parse of every row's JSON)."""

    def __init__(self, session: AsyncSession | DriverReads, columns: Mapping[str, sa.types.TypeEngine[Any]],
                 rows: Sequence[Sequence[Any]]) -> None:
        dialect = session.get_bind().dialect
        kinds = list(columns.items())
        varying = [i for i, (_, kind) in enumerate(kinds) if isinstance(kind, sa.JSON) or not _one_object(rows, i)]
        if not varying:
            varying = [0]  # something must say how many rows there are
        self._columns: dict[str, sa.ColumnElement[Any]] = {
            name: constant(rows[0][i], kind) for i, (name, kind) in enumerate(kinds) if i not in varying
        }
        self.source: sa.FromClause
        self.position: sa.ColumnElement[Any]
        if dialect.name == "postgresql":
            # asyncpg's dialect casts each parameter to its type (unnest needs to know it).
            arrays = [sa.bindparam(f"bulk_{i}", [row[i] for row in rows], type_=postgresql.ARRAY(_carried(kinds[i][1])))
                      for i in varying]
            names = [kinds[i][0] for i in varying]
            unnested = (sa.func.unnest(*arrays).table_valued(*names, with_ordinality="position")
                        .render_derived(name="bulk"))
            self.source, self.position = unnested, unnested.c.position
            for i in varying:
                name, kind = kinds[i]
                self._columns[name] = sa.cast(unnested.c[name], kind) if isinstance(kind, sa.JSON) else unnested.c[name]
            return
        # SQLite: each value as the dialect would bind it (a datetime as its text, a boolean as
        # 0 or 1), so json_each hands the INSERT what an executemany would have stored.
        values = []
        for i in varying:
            processor = _carried(kinds[i][1]).dialect_impl(dialect).bind_processor(dialect)
            values.append(_processed([row[i] for row in rows], processor))
        # One varying column: a flat array, each element read as it is; more: an array per row.
        packed = values[0] if len(values) == 1 else list(zip(*values, strict=True))
        each = (sa.func.json_each(sa.bindparam("bulk_rows", orjson.dumps(packed).decode(), type_=sa.Text))
                .table_valued("key", "value").alias("bulk"))
        self.source, self.position = each, each.c.key
        for place, i in enumerate(varying):
            name, kind = kinds[i]
            element = each.c.value if len(values) == 1 else sa.func.json_extract(each.c.value, f"$[{place}]")
            self._columns[name] = sa.type_coerce(element, _carried(kind))

    def column(self, name: str) -> sa.ColumnElement[Any]:
        return self._columns[name]


def _one_object(rows: Sequence[Sequence[Any]], index: int) -> bool:
    """Whether every row holds the same object there (identity: equal is not enough, a True
    and a 1 are equal, as are two datetimes of one instant in two time zones)."""
    if not rows:
        return False
    first = rows[0][index]
    return all(row[index] is first for row in rows)


def _carried(kind: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """The type a column's values travel as: JSON as its text."""
    return sa.Text() if isinstance(kind, sa.JSON) else kind


def _processed(values: Sequence[Any], processor: Callable[[Any], Any] | None) -> Sequence[Any]:
    if processor is None:
        return values
    # Most bulk values are one object repeated (one `now` for every row): processed once. By
    # identity, not equality: equal datetimes in two time zones are written differently.
    done: dict[int, Any] = {}
    found = []
    for value in values:
        key = id(value)  # `values` keeps every value alive, so no id is reused meanwhile
        if key not in done:
            done[key] = processor(value)
        found.append(done[key])
    return found


def constant(value: Any, kind: sa.types.TypeEngine[Any]) -> sa.ColumnElement[Any]:
    """A value that is the same in every row: one parameter, processed once."""
    return sa.bindparam(None, value, type_=kind)
