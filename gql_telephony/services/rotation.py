"""Re-encryption of every stored credential under the newest key, while the server runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select

from ..crypto import Vault
from ..storage.db import Database
from ..storage.tables import TelephonyConfigRow

BATCH_SIZE = 200


@dataclass
class RotationReport:
    examined: int = 0
    rotated: int = 0
    skipped_changed: int = 0


async def rotate_secrets(
    db: Database, vault: Vault, *, batch_size: int = BATCH_SIZE,
    progress: Callable[[RotationReport], None] | None = None,
) -> RotationReport:
    """Walks the configurations by id in short transactions, one batch each.

    Resumable: a row already under the newest key is left alone, so a second run (or a run
    after an interruption) only does what is left. Safe beside a running server: each row is
    rewritten only if its token is still the one read, so a concurrent update is never undone
    (that update already encrypted under the newest key).
    """
    report = RotationReport()
    after_id = 0
    while True:
        async with db.writing() as session:
            rows = (await session.execute(
                select(col(TelephonyConfigRow.id), col(TelephonyConfigRow.secrets))
                .where(col(TelephonyConfigRow.id) > after_id)
                .order_by(col(TelephonyConfigRow.id))
                .limit(batch_size)
            )).all()
            for row_id, token in rows:
                report.examined += 1
                if not token or vault.is_current(token):
                    continue
                result = await session.execute(
                    sa.update(TelephonyConfigRow)
                    .where(col(TelephonyConfigRow.id) == row_id, col(TelephonyConfigRow.secrets) == token)
                    .values(secrets=vault.reencrypt(token))
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult
                    report.rotated += 1
                else:
                    report.skipped_changed += 1
        if not rows:
            return report
        last_id = rows[-1][0]
        assert last_id is not None  # a primary key
        after_id = last_id
        if progress is not None:
            progress(report)
