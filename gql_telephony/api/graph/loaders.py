"""Per-request DataLoaders of the generic executor: each loads a whole level of the response in
one statement, each batch in its own short read, as plain rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from ...storage import queries
from ...storage.db import Database
from ...storage.queries import ConfigRow, NumberRow


class PageKey(NamedTuple):
    config_id: int
    first: int
    after_id: int | None
    active_only: bool


class CountKey(NamedTuple):
    config_id: int
    active_only: bool


class Loaders:
    def __init__(self, db: Database, org_id: int) -> None:
        self._db, self._org_id = db, org_id
        self.config_by_id = DataLoader(self._configs_by_id)
        self.number_by_id = DataLoader(self._numbers_by_id)
        self.number_count_by_config = DataLoader(self._number_counts)
        self.number_page_by_config = DataLoader(self._number_pages)

    async def config_count(self) -> int:
        async with self._db.reading_rows() as session:
            return await queries.count_configs(session, org_id=self._org_id)

    async def config_page(self, *, limit: int, after_id: int | None) -> list[ConfigRow]:
        async with self._db.reading_rows() as session:
            rows = await queries.config_page(session, org_id=self._org_id, limit=limit, after_id=after_id)
        for row in rows:
            self.config_by_id.prime(row.id, row)  # type: ignore[arg-type]
        return rows

    async def default_config(self) -> ConfigRow | None:
        async with self._db.reading_rows() as session:
            return await queries.default_config(session, org_id=self._org_id)

    async def _configs_by_id(self, ids: Sequence[int]) -> list[ConfigRow | None]:
        async with self._db.reading_rows() as session:
            found = await queries.configs_by_ids(session, org_id=self._org_id, ids=ids)
        return [found.get(key) for key in ids]

    async def _numbers_by_id(self, ids: Sequence[int]) -> list[NumberRow | None]:
        async with self._db.reading_rows() as session:
            found = await queries.numbers_by_ids(session, org_id=self._org_id, ids=ids)
        return [found.get(key) for key in ids]

    async def _number_counts(self, keys: Sequence[CountKey]) -> list[int]:
        async with self._db.reading_rows() as session:
            found = await queries.number_counts(session, config_ids=list({key.config_id for key in keys}))
        counts = [found.get(key.config_id, queries.NumberCounts(0, 0)) for key in keys]
        return [count.active if key.active_only else count.total for key, count in zip(keys, counts, strict=True)]

    async def _number_pages(self, keys: Sequence[PageKey]) -> list[list[NumberRow]]:
        """Keys with the same arguments share one windowed query; a document has few such sets."""
        pages: dict[PageKey, list[NumberRow]] = {}
        async with self._db.reading_rows() as session:
            for (first, after_id, active_only), config_ids in _group(
                keys, lambda k: (k.first, k.after_id, k.active_only)
            ).items():
                found = await queries.number_pages(
                    session, config_ids=config_ids, limit=first + 1, after_id=after_id, active_only=active_only
                )
                for config_id in config_ids:
                    pages[PageKey(config_id, first, after_id, active_only)] = found[config_id]
        return [pages[key] for key in keys]


def _group(keys: Sequence, by) -> dict:  # type: ignore[no-untyped-def,type-arg]
    groups: dict = defaultdict(list)  # type: ignore[type-arg]
    for key in keys:
        groups[by(key)].append(key.config_id)
    return groups
