"""What a plan reads: one read session for the whole request, each kind of row loaded once.

A plan asks for a whole level at once (every configuration of a page, every number of those
configurations), so the number of statements depends on the document, never on the rows. Once
every configuration of the organization is loaded (the warning summary needs them all), pages,
counts, the default and lookups by id are answered from them without another statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Row

from ...crypto import Vault
from ...domain.warnings import ConfigWarning, WarningSummary
from ...services.reads import summary_of, warnings_of
from ...storage import queries
from ...storage.queries import NumberCounts

NO_NUMBERS = NumberCounts(0, 0)


class Snapshot:
    def __init__(
        self, session: queries.Reader, org_id: int, vault: Vault, *, config_timestamps: bool, number_timestamps: bool
    ) -> None:
        self.session, self.org_id, self.vault = session, org_id, vault
        self.config_timestamps, self.number_timestamps = config_timestamps, number_timestamps
        self._all_configs: list[Row] | None = None
        self._configs: dict[int, Row | None] = {}
        self._numbers: dict[int, Row | None] = {}
        self._counts: dict[int, NumberCounts] = {}
        self._warnings: dict[int, list[ConfigWarning]] = {}

    async def all_configs(self) -> list[Row]:
        if self._all_configs is None:
            self._all_configs = await queries.all_configs(
                self.session, org_id=self.org_id, timestamps=self.config_timestamps
            )
            self._configs.update((row.id, row) for row in self._all_configs)
        return self._all_configs

    async def config_page(self, *, limit: int, after_id: int | None) -> list[Row]:
        if self._all_configs is not None:
            return [row for row in self._all_configs if after_id is None or row.id > after_id][:limit]
        rows = await queries.config_page(
            self.session, org_id=self.org_id, limit=limit, after_id=after_id, timestamps=self.config_timestamps
        )
        self._configs.update((row.id, row) for row in rows)
        return rows

    async def config_count(self) -> int:
        if self._all_configs is not None:
            return len(self._all_configs)
        return await queries.count_configs(self.session, org_id=self.org_id)

    async def default_config(self) -> Row | None:
        if self._all_configs is not None:
            return next((row for row in self._all_configs if row.is_default_outbound), None)
        return await queries.default_config(self.session, org_id=self.org_id, timestamps=self.config_timestamps)

    async def configs(self, ids: Sequence[int]) -> dict[int, Row | None]:
        missing = [key for key in dict.fromkeys(ids) if key not in self._configs]
        if missing:
            found = {} if self._all_configs is not None else await queries.configs_by_ids(
                self.session, org_id=self.org_id, ids=missing, timestamps=self.config_timestamps
            )
            self._configs.update((key, found.get(key)) for key in missing)
        return self._configs

    async def numbers(self, ids: Sequence[int]) -> dict[int, Row | None]:
        missing = [key for key in dict.fromkeys(ids) if key not in self._numbers]
        if missing:
            found = await queries.numbers_by_ids(
                self.session, org_id=self.org_id, ids=missing, timestamps=self.number_timestamps
            )
            self._numbers.update((key, found.get(key)) for key in missing)
        return self._numbers

    async def number_counts(self, config_ids: Sequence[int]) -> dict[int, NumberCounts]:
        """All and active numbers, by configuration id, for at least these configurations."""
        missing = [key for key in dict.fromkeys(config_ids) if key not in self._counts]
        if missing:
            found = await queries.number_counts(self.session, config_ids=missing)
            self._counts.update((key, found.get(key, NO_NUMBERS)) for key in missing)
        return self._counts

    async def number_pages(
        self, config_ids: Sequence[int], *, limit: int, after_id: int | None, active_only: bool
    ) -> dict[int, list[Row]]:
        return await queries.number_pages(
            self.session, config_ids=list(dict.fromkeys(config_ids)), limit=limit, after_id=after_id,
            active_only=active_only, timestamps=self.number_timestamps, plain=not self.number_timestamps,
        )

    def warnings(self, row: Row, active_numbers: int) -> list[ConfigWarning]:
        """A configuration's warnings, worked out once per request (warnings, warningCount and
        the summary all need them)."""
        found = self._warnings.get(row.id)
        if found is None:
            found = self._warnings[row.id] = warnings_of(row, self.vault, active_numbers)
        return found

    async def warning_summary(self) -> WarningSummary:
        rows = await self.all_configs()
        counts = await self.number_counts([row.id for row in rows])
        return summary_of(rows, lambda row: self.warnings(row, counts[row.id].active))
