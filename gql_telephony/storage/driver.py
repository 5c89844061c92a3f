"""Reads run straight on the driver's connection (aiosqlite, asyncpg), without SQLAlchemy's
per-execution machinery.

A cold dashboard read is a handful of small SELECTs, and SQLAlchemy's work around each (the
compiled-cache lookup, the execution context, the greenlet bridge, result metadata, and with
aiosqlite four hops to its thread: cursor, execute, fetch, close) cost more than the statements.
Here each SELECT is still written with SQLAlchemy Core and compiled by its dialect, but once per
statement shape; it then runs as one driver call (one hop to aiosqlite's thread; asyncpg's own
prepared-statement cache) and its rows are the driver's tuples, with SQLAlchemy's own result
processors applied to the columns that need one (JSON, booleans and dates on SQLite).

`DriverReads.execute` answers what the storage modules ask of a result (`all`, `first`,
`scalars`, `scalar_one` ...), so the same query functions run on it, on a session or on a
SQLAlchemy connection. The engine's `before_cursor_execute` listeners still hear every statement
(the metrics and the statement-count tests count them).

This leans on three SQLAlchemy internals, pinned by requirements.lock and covered by the tests
that run every read through here: the statement's cache key (`_generate_cache_key`), the
expansion of IN lists (`_process_parameters_for_postcompile`), the result columns and bind
processors of a compiled SELECT (`_result_columns`, `_bind_processors`); and `Database.reading_driver`
on two of the pool's (`_checkin`, `_invalidate`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement

# Compiled statements kept per database: their shapes are few (a dashboard has about ten), so
# the bound only matters if statements were built with varying literal shapes.
MAX_KEPT_STATEMENTS = 1_000
# SQL kept per statement, one per length of its IN lists (a page's ids): a long list's SQL is
# kilobytes, so only this many lengths are kept; others are expanded each time, as SQLAlchemy does.
MAX_KEPT_LENGTHS = 64


# How one positional parameter is found: the name of a value, its index in a list of an IN
# (None: the value itself), and the dialect's bind processor (None: sent as is).
Slot = tuple[str, int | None, Callable[[Any], Any] | None]


class Compiled:
    """A SELECT compiled for one dialect, with what turns its driver rows into rows, and its SQL
    and parameter slots for each length of its IN lists (SQLAlchemy expands those per execution;
    here once per length)."""

    __slots__ = ("compiled", "expanding", "make", "processors", "required", "shapes")

    def __init__(self, statement: ClauseElement, dialect: Dialect, cache_key: Any) -> None:
        # With its cache key, as SQLAlchemy compiles: the literal values of a later statement of
        # the same shape are then found by position in that statement's own key.
        compiled: Any = dialect.statement_compiler(dialect, statement, cache_key=cache_key)
        self.compiled = compiled
        columns = compiled._result_columns  # see the module's note
        names = [column.keyname for column in columns]
        row: Any = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # names known at run time
        self.make: Callable[[Any], Any] = row._make
        try:
            self.processors = tuple(
                (index, processor)
                for index, column in enumerate(columns)
                if (processor := column.type._cached_result_processor(dialect, None)) is not None
            )
        except TypeError as error:  # asyncpg's NUMERIC wants the column's type code, unknown here
            raise exc.ArgumentError(
                "this statement's columns need their driver type to be read (NUMERIC on PostgreSQL):"
                " read it through SQLAlchemy, or cast it to a float or text"
            ) from error
        # Parameters that have no value of their own (a bindparam the caller must fill).
        self.required = tuple(compiled.bind_names[bind] for bind in compiled.bind_names if bind.required)
        post_compile = compiled.post_compile_params
        # None: a parameter rendered into the SQL itself, so no SQL can be kept for it.
        self.expanding: tuple[str, ...] | None = tuple(compiled.bind_names[bind] for bind in post_compile)
        if compiled.literal_execute_params or not all(bind.expanding for bind in post_compile):
            self.expanding = None
        self.shapes: dict[tuple[int, ...], tuple[str, tuple[Slot, ...]] | None] = {}
        if not self.expanding:
            binds = compiled._bind_processors
            self.shapes[()] = (compiled.string, tuple((name, None, binds.get(name)) for name in compiled.positiontup))

    def shape(self, values: Mapping[str, Any]) -> tuple[str, tuple[Slot, ...]] | None:
        """The SQL and parameter slots for these values' lengths of IN lists (None: not kept)."""
        if self.expanding is None:
            return None
        lengths = tuple(len(values[name]) for name in self.expanding)
        try:
            return self.shapes[lengths]
        except KeyError:
            pass
        expanded = self.compiled._process_parameters_for_postcompile(dict(values))
        place = {name: (original, index) for original, names in expanded.parameter_expansion.items()
                 for index, name in enumerate(names)}
        # A list of tuples expands to more names than it has items: not kept (the slow way).
        flat = all(len(names) == len(values[original]) for original, names in expanded.parameter_expansion.items())
        processors = {**self.compiled._bind_processors, **expanded.processors}  # every parameter's, not the list's only
        shape = (expanded.statement, tuple(
            (*place.get(name, (name, None)), processors.get(name)) for name in expanded.positiontup
        )) if flat else None
        if len(self.shapes) < MAX_KEPT_LENGTHS:
            self.shapes[lengths] = shape
        return shape


class Rows:
    """A statement's rows, as the storage modules read a result."""

    __slots__ = ("_compiled", "_raw")

    def __init__(self, compiled: Compiled, raw: Sequence[Any]) -> None:
        self._compiled, self._raw = compiled, raw

    def raw(self) -> Sequence[Any]:
        """The driver's own rows, unprocessed, read by position (booleans may be 0 and 1)."""
        return self._raw

    def all(self) -> list[Any]:
        make, processors = self._compiled.make, self._compiled.processors
        if not processors:
            return list(map(make, self._raw))
        rows = []
        for raw in self._raw:
            values = list(raw)
            for index, processor in processors:
                values[index] = processor(values[index])
            rows.append(make(values))
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.all())

    def first(self) -> Any:
        return self.all()[0] if self._raw else None

    def one(self) -> Any:
        if len(self._raw) != 1:
            raise exc.NoResultFound("no row") if not self._raw else exc.MultipleResultsFound("several rows")
        return self.all()[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self.all()]

    def scalar(self) -> Any:
        return self.all()[0][0] if self._raw else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        if len(self._raw) > 1:
            raise exc.MultipleResultsFound("several rows")
        return self.scalar()


class Statements:
    """The statements of one engine, compiled once per shape."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.dialect = engine.dialect
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._by_key: dict[Any, Compiled] = {}
        # The same statement object (built once, as storage/queries.py builds them) skips even
        # the cache key: (the object, its compiled form, the literal values it carries).
        self._by_identity: dict[int, tuple[ClauseElement, Compiled, Mapping[str, Any]]] = {}

    def compiled(self, statement: ClauseElement) -> tuple[Compiled, Mapping[str, Any]]:
        """The statement's compiled form, and the values it carries itself (its literals)."""
        kept = self._by_identity.get(id(statement))
        if kept is not None and kept[0] is statement:
            return kept[1], kept[2]
        cache_key = statement._generate_cache_key()
        if cache_key is None:  # a statement SQLAlchemy will not cache: compiled each time
            once = Compiled(statement, self.dialect, None)
            return once, once.compiled.construct_params(_check=False, _no_postcompile=True)
        compiled = self._by_key.get(cache_key.key)
        if compiled is None:
            if len(self._by_key) >= MAX_KEPT_STATEMENTS:
                self._by_key.clear()
            compiled = self._by_key[cache_key.key] = Compiled(statement, self.dialect, cache_key)
        literals = compiled.compiled.construct_params(
            extracted_parameters=cache_key.bindparams, _check=False, _no_postcompile=True
        )
        if len(self._by_identity) >= MAX_KEPT_STATEMENTS:
            self._by_identity.clear()
        self._by_identity[id(statement)] = (statement, compiled, literals)
        return compiled, literals

    def sql(self, statement: ClauseElement, params: Mapping[str, Any] | None) -> tuple[Compiled, str, tuple[Any, ...]]:
        """The statement's compiled form, its SQL and its positional parameters."""
        compiled, literals = self.compiled(statement)
        values = {**literals, **params} if params else literals
        for name in compiled.required:
            if values.get(name) is None and (params is None or name not in params):
                # As SQLAlchemy: a forgotten value is a bug to hear of, not NULL and no rows.
                raise exc.ArgumentError(f"a value is required for bind parameter {name!r}")
        shape = compiled.shape(values)
        if shape is None:  # as SQLAlchemy does it, each time
            expanded = compiled.compiled._process_parameters_for_postcompile(dict(values))
            processors = {**compiled.compiled._bind_processors, **expanded.processors}
            return compiled, expanded.statement, tuple(
                processors[name](expanded.parameters[name]) if name in processors else expanded.parameters[name]
                for name in expanded.positiontup
            )
        sql, slots = shape
        positional = []
        for name, index, processor in slots:
            value = values[name] if index is None else values[name][index]
            positional.append(value if processor is None else processor(value))
        return compiled, sql, tuple(positional)


class DriverReads:
    """Reads on one pooled connection, run by its driver. Made by `Database.reading_driver`."""

    def __init__(self, statements: Statements, driver: Any) -> None:
        self._statements, self._driver = statements, driver
        self._fetch = driver.execute_fetchall if statements.is_sqlite else driver.fetch
        self._is_sqlite = statements.is_sqlite

    def get_bind(self) -> Any:
        """The (synchronous) engine, as a session's `get_bind()` answers: its dialect is read."""
        return self._statements.engine

    def heard(self, sql: str, parameters: Any, *, executemany: bool = False) -> None:
        """Tells the engine's `before_cursor_execute` listeners of a statement, as SQLAlchemy
        would (the connection, cursor and context, SQLAlchemy's objects, are None here)."""
        engine = self._statements.engine
        if engine._has_events:
            engine.dispatch.before_cursor_execute(None, None, sql, parameters, None, executemany)

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        compiled, sql, positional = self._statements.sql(statement, params)
        self.heard(sql, positional)
        if self._is_sqlite:
            return Rows(compiled, await self._fetch(sql, positional))
        return Rows(compiled, await self._fetch(sql, *positional))
