"""Every configuration of an organization with what the warning summary needs besides its own
columns, in one statement: its numbers (all and active), its stored account check, and the
organization's webhook endpoints disabled for failing. A cold dashboard read had a statement for
each (storage/driver.py: each statement was a large share of a small read's cost).

The numbers the providers found wrong stay a statement of their own (checks.number_problems):
a configuration has any number of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from ..domain.provider_checks import AccountCheck
from .checks import CHECKS, account_check
from .queries import CONFIGS, NUMBERS, ORG_ID, ConfigRow, NumberCounts, Reader, _columns
from .tables import UTCDateTime
from .webhooks import ENDPOINTS, FAILING

# The columns after a configuration's own, in this order (a row keeps the configuration's
# columns where queries.all_configs has them).
EXTRA = ("number_total", "number_active", "check_status", "check_message", "checked_at", "failing_endpoints")


@dataclass(frozen=True)
class SummaryInputs:
    configs: list[ConfigRow]  # in id order, each followed by the EXTRA columns
    counts: dict[int, NumberCounts]  # by configuration id, every configuration
    accounts: dict[int, AccountCheck]  # by configuration id, those ever answered (as checks.account_checks)
    failing_endpoints: int | None  # None: no configuration carried it (there is none)


@cache
def _statement(timestamps: bool) -> Any:
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
        )
        .outerjoin(counted, counted.c.telephony_config_id == CONFIGS.c.id)
        # As checks.account_checks: a check never answered (no status) is no check.
        .outerjoin(CHECKS, sa.and_(CHECKS.c.telephony_config_id == CONFIGS.c.id, CHECKS.c.status.is_not(None)))
        .where(CONFIGS.c.organization_id == ORG_ID)
        .order_by(CONFIGS.c.id)
    )


async def summary_inputs(session: Reader, *, org_id: int, timestamps: bool) -> SummaryInputs:
    rows: Sequence[Any] = (await session.execute(_statement(timestamps), {"org_id": org_id})).all()
    total, active, status, message, checked_at, failing = (-len(EXTRA) + index for index in range(len(EXTRA)))
    return SummaryInputs(
        configs=list(rows),
        counts={row.id: NumberCounts(int(row[total]), int(row[active])) for row in rows},
        accounts={row.id: account_check(row[status], row[message], row[checked_at])
                  for row in rows if row[status] is not None},
        failing_endpoints=int(rows[0][failing]) if rows else None,
    )
