"""The reads of one GraphQL operation: every row fetched and shaped in one place.

A read asks for many keys at once (every configuration of a page, every number of those
configurations), so the number of statements depends on the document, never on the rows, and
each kind of row is loaded once per operation.

Two ways to run, one code:
- `Reader.holding(...)`: one read session for the whole operation, used by a compiled plan,
  which reads level by level, one read at a time. Once every configuration of the organization
  is loaded (the warning summary needs them all), pages, counts, the default and lookups by id
  are answered from them without another statement; on PostgreSQL so are the warnings and, when
  the plan said which (`PagesWanted`), the pages of numbers. Held without a transaction
  (`snapshot=False`), it runs one statement, its own snapshot, and refuses a second with
  `SnapshotNeeded`: the operation is then run again with one.
- `Reader(...)`: a short read session per call, for the generic executor, whose sibling
  resolvers read concurrently (a session must never be shared by two of them). Concurrent
  callers asking for the same keys wait for the one statement already on its way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from ..crypto import Vault
from ..domain.provider_checks import AccountCheck, NumberCheck, NumberProblem
from ..domain.warnings import ConfigWarning, WarningSummary
from ..storage import audit, checks, queries, webhooks
from ..storage.audit import AuditRow, EventFilter
from ..storage.db import Database
from ..storage.driver import DriverReads
from ..storage.queries import ConfigRow, NumberCounts, NumberRow, PositionalRow
from ..storage.summary_inputs import PagesWanted, summary_inputs
from .reads import summary_of, warning_summary, warnings_of
from .tenancy import Principal

NO_NUMBERS = NumberCounts(0, 0)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SnapshotNeeded(Exception):
    """A reader held without a transaction was asked for a second statement, which would not
    see the first one's snapshot: the read must run again, all of it in one transaction."""


class KeyedRows(Generic[K, V]):
    """Values by key, each fetched once; a key already on its way is waited for, not fetched again.
    The fetch comes with each call, not kept: a reader's bound method kept here would make the
    reader and its rows a cycle, freed only by the garbage collector instead of at the request's end."""

    def __init__(self, missing: V) -> None:
        self.found: dict[K, V] = {}
        self._missing = missing
        self._on_the_way: dict[K, asyncio.Future[None]] = {}

    async def get(self, keys: Iterable[K], fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]]) -> dict[K, V]:
        """A mapping that holds at least these keys (`missing` for those that name nothing)."""
        while True:
            wanted = [key for key in dict.fromkeys(keys) if key not in self.found]
            if not wanted:
                return self.found
            waiting = {self._on_the_way[key] for key in wanted if key in self._on_the_way}
            fresh = [key for key in wanted if key not in self._on_the_way]
            if fresh:
                await self._fetch_now(fresh, fetch)
            for other in waiting:
                await other  # then look again: a fetch that failed elsewhere is retried here

    def prime(self, items: Iterable[tuple[K, V]]) -> None:
        self.found.update(items)

    async def _fetch_now(self, keys: list[K], fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._on_the_way.update((key, done) for key in keys)
        try:
            fetched = await fetch(keys)
            self.found.update((key, fetched.get(key, self._missing)) for key in keys)
        finally:
            for key in keys:
                del self._on_the_way[key]
            done.set_result(None)


class Reader:
    def __init__(self, db: Database, org_id: int, vault: Vault, *, config_timestamps: bool = True,
                 number_timestamps: bool = True, principal: Principal | None = None) -> None:
        self.db, self.org_id, self.vault = db, org_id, vault
        self.principal = principal  # who reads: Query.viewer shows its key
        self._organization: list[queries.OrganizationRow | None] = []  # read once, on first use
        self.config_timestamps, self.number_timestamps = config_timestamps, number_timestamps
        self._held: DriverReads | None = None
        self.statements = 0  # run in the held session
        self._one_statement = False  # held without a transaction: a second raises SnapshotNeeded
        self._pages_wanted: PagesWanted | None = None
        self._pages: Mapping[int, Sequence[PositionalRow]] | None = None  # those wanted, read with the configurations
        self._all_configs: list[ConfigRow] | None = None
        self._failing_endpoints: int | None = None  # read with every configuration (None: the organization is gone)
        self._configs: KeyedRows[int, ConfigRow | None] = KeyedRows(None)
        self._numbers: KeyedRows[int, NumberRow | None] = KeyedRows(None)
        self._counts: KeyedRows[int, NumberCounts] = KeyedRows(NO_NUMBERS)
        self._accounts: KeyedRows[int, AccountCheck | None] = KeyedRows(None)
        self._number_checks: KeyedRows[int, NumberCheck | None] = KeyedRows(None)
        self._problems: KeyedRows[int, tuple[NumberProblem, ...]] = KeyedRows(())
        self._warnings: dict[int, list[ConfigWarning]] = {}
        self._audit_events: KeyedRows[int, AuditRow | None] = KeyedRows(None)
        self._audit_counts: KeyedRows[str, int] = KeyedRows(0)

    @classmethod
    @asynccontextmanager
    async def holding(cls, db: Database, org_id: int, vault: Vault, *, config_timestamps: bool,
                      number_timestamps: bool, principal: Principal | None = None, snapshot: bool = True,
                      pages: PagesWanted | None = None) -> AsyncIterator[Reader]:
        """A reader whose every read runs in one session, open while the block runs, on one
        snapshot (the warning summary and the pages agree): a transaction's, or with
        `snapshot=False` its one statement's (a second raises SnapshotNeeded). `pages`: the pages
        of numbers the operation will ask for, read with every configuration where the
        database can (storage/summary_inputs.py)."""
        reader = cls(db, org_id, vault, config_timestamps=config_timestamps, number_timestamps=number_timestamps,
                     principal=principal)
        reader._pages_wanted = None if number_timestamps else pages  # brought by position only
        reader._one_statement = not snapshot
        async with db.reading_driver(snapshot=snapshot) as session:
            reader._held = session
            yield reader

    @asynccontextmanager
    async def _session(self, *, statements: int = 1) -> AsyncIterator[queries.Reader]:
        """The held session, or one for the call: for a single statement, no transaction."""
        if self._held is not None:
            self.statements += statements
            if self._one_statement and self.statements > 1:
                raise SnapshotNeeded
            yield self._held
        else:
            async with self.db.reading_driver(snapshot=statements > 1) as session:
                yield session

    # --- The organization ------------------------------------------------------------------

    async def organization(self) -> queries.OrganizationRow | None:
        """The reader's organization (its name, its data version as this operation reads it)."""
        if not self._organization:
            async with self._session() as session:
                row = await queries.organization(session, org_id=self.org_id)
            if not self._organization:  # a concurrent caller may have read it meanwhile
                self._organization.append(row)
        return self._organization[0]

    # --- Configurations --------------------------------------------------------------------

    async def all_configs(self) -> list[ConfigRow]:
        """Every configuration of the organization; later reads of configurations use them."""
        if self._all_configs is None:
            async with self._session() as session:
                inputs = await summary_inputs(session, org_id=self.org_id, timestamps=self.config_timestamps,
                                              pages=self._pages_wanted)
            self._all_configs = rows = inputs.configs
            self._configs.prime((row.id, row) for row in rows)
            # What came with them: the warnings, the totals and the summary need no statement of their own.
            self._counts.prime(inputs.counts.items())
            self._accounts.prime((row.id, inputs.accounts.get(row.id)) for row in rows)
            self._failing_endpoints = inputs.failing_endpoints
            if inputs.problems is not None:
                self._problems.prime((row.id, inputs.problems.get(row.id, ())) for row in rows)
            self._pages = inputs.pages
        return self._all_configs

    async def config_page(self, *, limit: int, after_id: int | None) -> list[ConfigRow]:
        if self._all_configs is not None:
            return [row for row in self._all_configs if after_id is None or row.id > after_id][:limit]
        async with self._session() as session:
            rows = await queries.config_page(
                session, org_id=self.org_id, limit=limit, after_id=after_id, timestamps=self.config_timestamps
            )
        self._configs.prime((row.id, row) for row in rows)
        return rows

    async def config_count(self) -> int:
        if self._all_configs is not None:
            return len(self._all_configs)
        async with self._session() as session:
            return await queries.count_configs(session, org_id=self.org_id)

    async def default_config(self) -> ConfigRow | None:
        if self._all_configs is not None:
            return next((row for row in self._all_configs if row.is_default_outbound), None)
        async with self._session() as session:
            return await queries.default_config(session, org_id=self.org_id, timestamps=self.config_timestamps)

    async def configs(self, ids: Sequence[int]) -> dict[int, ConfigRow | None]:
        """A mapping holding at least these ids (None for an id naming nothing of this organization)."""
        return await self._configs.get(ids, self._configs_by_ids)

    def prime_configs(self, rows: Iterable[ConfigRow]) -> None:
        """Configurations just read elsewhere (a mutation's own), so that the payload shows them."""
        self._configs.prime((row.id, row) for row in rows)

    async def _configs_by_ids(self, ids: list[int]) -> dict[int, ConfigRow]:
        if self._all_configs is not None:
            return {}
        async with self._session() as session:
            return await queries.configs_by_ids(
                session, org_id=self.org_id, ids=ids, timestamps=self.config_timestamps
            )

    # --- Phone numbers ---------------------------------------------------------------------

    async def numbers(self, ids: Sequence[int]) -> dict[int, NumberRow | None]:
        return await self._numbers.get(ids, self._numbers_by_ids)

    async def _numbers_by_ids(self, ids: list[int]) -> dict[int, NumberRow]:
        async with self._session() as session:
            return await queries.numbers_by_ids(
                session, org_id=self.org_id, ids=ids, timestamps=self.number_timestamps
            )

    async def number_counts(self, config_ids: Sequence[int]) -> dict[int, NumberCounts]:
        """All and active numbers, by configuration id, for at least these configurations."""
        return await self._counts.get(config_ids, self._number_counts)

    async def _number_counts(self, config_ids: list[int]) -> dict[int, NumberCounts]:
        async with self._session() as session:
            return await queries.number_counts(session, config_ids=config_ids)

    async def number_pages(
        self, config_ids: Sequence[int], *, limit: int, after_id: int | None, active_only: bool
    ) -> Mapping[int, Sequence[PositionalRow]]:
        """Each configuration's first `limit` numbers after `after_id`; without timestamps, the
        driver's plain tuples, read by position."""
        wanted, pages = self._pages_wanted, self._pages
        if (pages is not None and wanted is not None and (limit, after_id, active_only) == (
                wanted.limit, wanted.after_id, wanted.active_only) and all(key in pages for key in config_ids)):
            return pages
        async with self._session() as session:
            return await queries.number_pages(
                session, config_ids=list(dict.fromkeys(config_ids)), limit=limit, after_id=after_id,
                active_only=active_only, timestamps=self.number_timestamps, plain=not self.number_timestamps,
            )

    # --- Provider checks -------------------------------------------------------------------

    async def account_checks(self, config_ids: Sequence[int]) -> dict[int, AccountCheck | None]:
        return await self._accounts.get(config_ids, self._account_checks)

    async def _account_checks(self, config_ids: list[int]) -> dict[int, AccountCheck]:
        async with self._session() as session:
            return await checks.account_checks(session, config_ids=config_ids)

    async def number_checks(self, number_ids: Sequence[int]) -> dict[int, NumberCheck | None]:
        return await self._number_checks.get(number_ids, self._number_checks_by_ids)

    async def _number_checks_by_ids(self, number_ids: list[int]) -> dict[int, NumberCheck]:
        async with self._session() as session:
            return await checks.number_checks(session, number_ids=number_ids)

    async def _number_problems(self, config_ids: list[int]) -> dict[int, tuple[NumberProblem, ...]]:
        async with self._session() as session:
            found = await checks.number_problems(session, config_ids=config_ids)
        return {key: tuple(problems) for key, problems in found.items()}

    # --- Warnings --------------------------------------------------------------------------

    async def warnings(self, rows: Sequence[ConfigRow]) -> list[list[ConfigWarning]]:
        """The configurations' warnings, worked out once per operation (warnings, warningCount
        and the summary all need them). The reads run one after another: a held session
        serves one statement at a time."""
        ids = [row.id for row in rows if row.id not in self._warnings]
        if ids:
            counts = await self.number_counts(ids)
            accounts = await self.account_checks(ids)
            problems = await self._problems.get(ids, self._number_problems)
            for row in rows:
                if row.id not in self._warnings:
                    self._warnings[row.id] = warnings_of(
                        row, self.vault, counts[row.id].active, accounts[row.id], problems[row.id]
                    )
        return [self._warnings[row.id] for row in rows]

    async def warning_summary(self) -> WarningSummary:
        """The summary from one consistent snapshot: the held session's, or a read of its own."""
        if self._held is None:
            return await warning_summary(self.db, self.vault, self.org_id)
        rows = await self.all_configs()
        found = dict(zip((row.id for row in rows), await self.warnings(rows), strict=True))
        disabled = self._failing_endpoints
        if disabled is None:  # (the organization is gone: read for the summary all the same)
            async with self._session() as session:
                disabled = await webhooks.failing_endpoint_count(session, org_id=self.org_id)
        return summary_of(rows, lambda row: found[row.id], disabled_endpoints=disabled)

    @asynccontextmanager
    async def rows(self) -> AsyncIterator[queries.Reader]:
        """A session for reads of other kinds of rows (webhooks): the held one, or one for the call."""
        async with self._session(statements=2) as session:  # maybe more than one
            yield session

    # --- Audit events (newest first) -------------------------------------------------------

    async def audit_page(self, events: EventFilter, *, limit: int, before_id: int | None) -> list[AuditRow]:
        async with self._session() as session:
            rows = await audit.event_page(session, org_id=self.org_id, events=events, limit=limit, before_id=before_id)
        self._audit_events.prime((row.id, row) for row in rows)
        return rows

    async def audit_count(self, events: EventFilter) -> int:
        async with self._session() as session:
            return await audit.count_events(session, org_id=self.org_id, events=events)

    async def audit_entity_pages(
        self, entity_ids: Sequence[str], *, limit: int, before_id: int | None
    ) -> dict[str, list[AuditRow]]:
        """Each entity's page of its own history (entities by global id), in one statement."""
        async with self._session() as session:
            pages = await audit.entity_pages(
                session, org_id=self.org_id, entity_ids=list(dict.fromkeys(entity_ids)), limit=limit,
                before_id=before_id,
            )
        self._audit_events.prime((row.id, row) for rows in pages.values() for row in rows)
        return pages

    async def audit_entity_counts(self, entity_ids: Sequence[str]) -> dict[str, int]:
        return await self._audit_counts.get(entity_ids, self._audit_entity_counts)

    async def _audit_entity_counts(self, entity_ids: list[str]) -> dict[str, int]:
        async with self._session() as session:
            return await audit.entity_counts(session, org_id=self.org_id, entity_ids=entity_ids)

    async def audit_events(self, ids: Sequence[int]) -> dict[int, AuditRow | None]:
        return await self._audit_events.get(ids, self._audit_events_by_ids)

    async def _audit_events_by_ids(self, ids: list[int]) -> dict[int, AuditRow]:
        async with self._session() as session:
            return await audit.events_by_ids(session, org_id=self.org_id, ids=ids)
