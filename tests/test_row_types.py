"""The row types of storage/queries.py declare what the tables hold: mypy checks the code that
reads rows against them, so a column added, renamed or made nullable must show up there too."""

from __future__ import annotations

import types
import typing

import pytest
import sqlalchemy as sa

from gql_telephony.storage import queries
from gql_telephony.storage.queries import CONFIGS, NUMBERS, ConfigRow, NumberRow


def declared_columns(row_type: type) -> dict[str, bool]:
    """Each declared column, and whether the type says it may be None."""
    found = {}
    for name, member in vars(row_type).items():
        if isinstance(member, property):
            returned = typing.get_type_hints(member.fget, vars(queries))["return"]
            found[name] = isinstance(returned, types.UnionType) and type(None) in typing.get_args(returned)
    return found


@pytest.mark.parametrize(("row_type", "table"), [(ConfigRow, CONFIGS), (NumberRow, NUMBERS)])
def test_a_row_type_declares_every_column_of_its_table_and_which_may_be_null(row_type: type, table: sa.Table) -> None:
    assert declared_columns(row_type) == {column.name: bool(column.nullable) for column in table.c}


@pytest.mark.parametrize(("row_type", "tables"), [
    (queries.KeyListingRow, [queries.KEYS]),
    (queries.KeyLookupRow, [queries.KEYS, queries.ORGANIZATIONS]),
    (queries.OrganizationRow, [queries.ORGANIZATIONS]),
])
def test_a_row_type_of_some_columns_says_which_may_be_null(row_type: type, tables: list[sa.Table]) -> None:
    columns = {column.name: bool(column.nullable) for table in reversed(tables) for column in table.c}
    declared = declared_columns(row_type)
    assert declared == {name: columns[name] for name in declared}
