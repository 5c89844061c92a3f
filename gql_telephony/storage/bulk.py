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


class Unpacked:
    """`rows` (tuples in the order of `columns`) as a FROM clause. Column types are the
    unbounded ones (Text, not String(64)): a value too long for its column is then refused by
    the INSERT, as in an executemany, not cut by a cast on the way. A JSON column's values are
    JSON texts already (serialized by the caller, all at once)."""

    def __init__(self, session: AsyncSession, columns: Mapping[str, sa.types.TypeEngine[Any]],
                 rows: Sequence[Sequence[Any]]) -> None:
        dialect = session.get_bind().dialect
        names = list(columns)
        self.source: sa.FromClause
        self.position: sa.ColumnElement[Any]
        self._columns: dict[str, sa.ColumnElement[Any]]
        if dialect.name == "postgresql":
            # asyncpg's dialect casts each parameter to its type (unnest needs to know it).
            arrays = [sa.bindparam(f"bulk_{i}", [row[i] for row in rows], type_=postgresql.ARRAY(_carried(kind)))
                      for i, kind in enumerate(columns.values())]
            unnested = (sa.func.unnest(*arrays).table_valued(*names, with_ordinality="position")
                        .render_derived(name="bulk"))
            self.source, self.position = unnested, unnested.c.position
            self._columns = {
                name: sa.cast(unnested.c[name], kind) if isinstance(kind, sa.JSON) else unnested.c[name]
                for name, kind in columns.items()
            }
            return
        # SQLite: each value as the dialect would bind it (a datetime as its text, a boolean as
        # 0 or 1), so json_extract hands the INSERT what an executemany would have stored.
        processors = [_carried(kind).dialect_impl(dialect).bind_processor(dialect) for kind in columns.values()]
        if any(processors):
            packed = [_processed([row[i] for row in rows], processor) for i, processor in enumerate(processors)]
            rows = list(zip(*packed, strict=True))
        text = orjson.dumps(rows).decode()  # tuples as arrays
        each = (sa.func.json_each(sa.bindparam("bulk_rows", text, type_=sa.Text))
                .table_valued("key", "value").alias("bulk"))
        self.source, self.position = each, each.c.key
        self._columns = {
            name: sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), _carried(kind))
            for i, (name, kind) in enumerate(columns.items())
        }

    def column(self, name: str) -> sa.ColumnElement[Any]:
        return self._columns[name]


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
