"""Every configuration of an organization with what the warning summary needs besides its own
columns, in one statement: its numbers (all and active), its stored account check, and the
organization's webhook endpoints disabled for failing. A cold dashboard read had a statement for
each (storage/driver.py: each statement was a large share of a small read's cost).

On PostgreSQL the same statement also brings, as arrays of rows, what would otherwise take a
statement each (round trips are most of a small read's cost there):
- each configuration's numbers the providers found wrong (the warnings need them);
- when asked (`PagesWanted`), the first page of numbers of each configuration of a page of
  configurations, as a dashboard reads them.
On SQLite these stay statements of their own (checks.number_problems, queries.number_pages):
they run on the loop's own thread, without a round trip to save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.provider_checks import AccountCheck, NumberProblem
from .checks import CHECKS, account_check, number_problem, problems_of
from .queries import (
    CONFIGS,
    NUMBERS,
    ORG_ID,
    ORGANIZATIONS,
    ConfigRow,
    NumberCounts,
    PositionalRow,
    Reader,
    _columns,
    page_filters,
)
from .tables import UTCDateTime
from .webhooks import ENDPOINTS, FAILING

# The columns after a configuration's own, in this order (a row keeps the configuration's
# columns where queries.all_configs has them).
EXTRA = ("number_total", "number_active", "check_status", "check_message", "checked_at", "failing_endpoints")


@dataclass(frozen=True)
class PagesWanted:
    """A page of numbers of each configuration of a page of configurations: the configurations
    after `after_config` (None: from the first), `configs` of them, and of each the numbers
    after `after_id`, `limit` of them (active ones only if `active_only`), read by position
    (queries.number_pages with `plain`)."""

    configs: int
    after_config: int | None
    limit: int
    after_id: int | None
    active_only: bool


@dataclass(frozen=True)
class SummaryInputs:
    configs: list[ConfigRow]  # in id order, each followed by the EXTRA columns
    counts: dict[int, NumberCounts]  # by configuration id, every configuration
    accounts: dict[int, AccountCheck]  # by configuration id, those ever answered (as checks.account_checks)
    failing_endpoints: int | None  # None: the organization is gone
    # PostgreSQL only (None elsewhere): by configuration id, every configuration's problems (as
    # checks.number_problems), and the pages wanted (as queries.number_pages, `plain`).
    problems: dict[int, tuple[NumberProblem, ...]] | None = None
    pages: dict[int, list[PositionalRow]] | None = None


def _problems() -> sa.ColumnElement[Any]:
    """Each configuration's problems, as an array of rows."""
    found = problems_of(NUMBERS.c.telephony_config_id == CONFIGS.c.id)
    return sa.func.array(found.with_only_columns(sa.func.row(*found.selected_columns)).scalar_subquery())


def _page(after_config: bool, after: bool, active_only: bool) -> sa.ColumnElement[Any]:
    """A configuration's page of numbers, as an array of rows: NULL for a configuration not on
    the page of configurations."""
    others = CONFIGS.alias("on_page")
    on_page = (
        sa.select(others.c.id)
        .where(others.c.organization_id == ORG_ID,
               *([others.c.id > sa.bindparam("page_after_config")] if after_config else []))
        .order_by(others.c.id)
        .limit(sa.bindparam("page_configs"))
    )
    numbers = (
        sa.select(sa.func.row(*_columns(NUMBERS, False)))
        .where(NUMBERS.c.telephony_config_id == CONFIGS.c.id,
               *page_filters(after, active_only, after_id="page_after_id"))
        .order_by(NUMBERS.c.id)
        .limit(sa.bindparam("page_limit"))
        .scalar_subquery()
    )
    return sa.case((CONFIGS.c.id.in_(on_page), sa.func.array(numbers)), else_=sa.null())


@cache
def _statement(timestamps: bool, folded: bool = False, pages: tuple[bool, bool, bool] | None = None) -> Any:
    """`folded`: with each configuration's problems (PostgreSQL); `pages`: and its page of numbers,
    for these shapes of PagesWanted (after a configuration, after a number, active only)."""
    config_id = NUMBERS.c.telephony_config_id
    counted = (
        sa.select(config_id, sa.func.count().label("total"),
                  sa.func.sum(sa.case((NUMBERS.c.is_active, 1), else_=0)).label("active"))
        .where(config_id.in_(sa.select(CONFIGS.c.id).where(CONFIGS.c.organization_id == ORG_ID)))
        .group_by(config_id)
        .subquery()
    )
    failing = (
        sa.select(sa.func.count()).select_from(ENDPOINTS)
        .where(ENDPOINTS.c.organization_id == ORG_ID, ENDPOINTS.c.disabled_reason == FAILING,
               sa.not_(ENDPOINTS.c.enabled))
        .scalar_subquery()
    )
    checked_at = sa.type_coerce(sa.func.coalesce(CHECKS.c.answered_at, CHECKS.c.first_asked_at), UTCDateTime())
    return (
        sa.select(
            *_columns(CONFIGS, timestamps),
            sa.func.coalesce(counted.c.total, 0).label(EXTRA[0]),
            sa.func.coalesce(counted.c.active, 0).label(EXTRA[1]),
            CHECKS.c.status.label(EXTRA[2]), CHECKS.c.message.label(EXTRA[3]), checked_at.label(EXTRA[4]),
            failing.label(EXTRA[5]),
            *([_problems().label("problems")] if folded else []),
            *([_page(*pages).label("page")] if pages is not None else []),
        )
        # From the organization: one without a configuration still has its row, of NULL
        # configuration columns, that carries the count of failing endpoints (no statement apart).
        .select_from(ORGANIZATIONS)
        .outerjoin(CONFIGS, CONFIGS.c.organization_id == ORGANIZATIONS.c.id)
        .outerjoin(counted, counted.c.telephony_config_id == CONFIGS.c.id)
        # As checks.account_checks: a check never answered (no status) is no check.
        .outerjoin(CHECKS, sa.and_(CHECKS.c.telephony_config_id == CONFIGS.c.id, CHECKS.c.status.is_not(None)))
        .where(ORGANIZATIONS.c.id == ORG_ID)
        .order_by(CONFIGS.c.id)
    )


async def summary_inputs(session: Reader, *, org_id: int, timestamps: bool,
                         pages: PagesWanted | None = None) -> SummaryInputs:
    """`pages` are brought along on PostgreSQL only (SummaryInputs.pages is None elsewhere)."""
    dialect = session.dialect if isinstance(session, AsyncConnection) else session.get_bind().dialect
    folded = dialect.name == "postgresql"
    wanted = pages if folded else None
    shape = None if wanted is None else (wanted.after_config is not None, wanted.after_id is not None,
                                         wanted.active_only)
    params: dict[str, Any] = {"org_id": org_id}
    if wanted is not None:
        params.update(page_configs=wanted.configs, page_after_config=wanted.after_config,
                      page_limit=wanted.limit, page_after_id=wanted.after_id)
    found: Sequence[Any] = (await session.execute(_statement(timestamps, folded, shape), params)).all()
    rows = [row for row in found if row.id is not None]  # (not the row of an organization without any)
    extra = len(EXTRA) + folded + (wanted is not None)
    total, active, status, message, checked_at, failing = (-extra + index for index in range(len(EXTRA)))
    return SummaryInputs(
        configs=rows,
        counts={row.id: NumberCounts(int(row[total]), int(row[active])) for row in rows},
        accounts={row.id: account_check(row[status], row[message], row[checked_at])
                  for row in rows if row[status] is not None},
        failing_endpoints=int(found[0][failing]) if found else None,
        problems={row.id: tuple(number_problem(*problem) for problem in row.problems) for row in rows if row.problems}
        if folded else None,
        pages={row.id: row.page for row in rows if row.page is not None} if wanted is not None else None,
    )
