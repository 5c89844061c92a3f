"""Which named constraint an IntegrityError broke, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import ColumnCollectionConstraint, Index

from .tables import metadata

# SQLite names the columns, not the constraint: "UNIQUE constraint failed: t.a, t.b".
_BY_SQLITE_COLUMNS: dict[str, str] = {}
for _table in metadata.sorted_tables:
    for _constraint in [*_table.constraints, *_table.indexes]:
        # Keys (primary, foreign, unique) and indexes: every one of them is on columns.
        assert isinstance(_constraint, ColumnCollectionConstraint | Index)
        if getattr(_constraint, "unique", True) and isinstance(_constraint.name, str) and _constraint.name:
            columns = ", ".join(f"{_table.name}.{column.name}" for column in _constraint.columns)
            _BY_SQLITE_COLUMNS.setdefault(columns, _constraint.name)


def broken_constraint(error: IntegrityError) -> str | None:
    original = getattr(error.orig, "__cause__", None) or error.orig
    name = getattr(original, "constraint_name", None)  # asyncpg
    if name:
        return str(name)
    message = str(error.orig)
    if "UNIQUE constraint failed: " in message:
        return _BY_SQLITE_COLUMNS.get(message.split("UNIQUE constraint failed: ", 1)[1].strip())
    return None
