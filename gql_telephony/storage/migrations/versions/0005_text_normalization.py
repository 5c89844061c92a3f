"""Names compare as people read them: stored names in NFC, name keys recomputed (NFKC, case folded, invisible characters left out)

Revision ID: 0005
Revises: 0004

Names that were two names under the old key (case folding only) may be one name now: "café"
in NFC and in NFD. The migration must not fail on them, and must not rename or drop anything:
in each organization the oldest row keeps the plain key, the others get the key marked as a
duplicate (the plain key, a separator no name can hold, their id), so they stay unique and a
new name equal to them is still TAKEN. Their owners can rename them when they like.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from gql_telephony.domain.text import MAX_KEY_LENGTH, name_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MAX_NAME_LENGTH = 64  # the name column's size
# Control characters are refused in names now; U+0001 marks what the migration made, never a name.
MARK = "\x01"

CONFIGS = sa.table(
    "telephony_config",
    sa.column("id", sa.Integer), sa.column("organization_id", sa.Integer),
    sa.column("name", sa.String), sa.column("name_key", sa.String),
)


def upgrade() -> None:
    _rekey(_nfc, name_key)


def downgrade() -> None:
    _rekey(lambda name: name, str.casefold)  # the key as it was computed before


def _nfc(name: str) -> str:
    composed = unicodedata.normalize("NFC", name)
    return composed if len(composed) <= MAX_NAME_LENGTH else name


def _rekey(name_of: Callable[[str], str], key_of: Callable[[str], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(CONFIGS.c.id, CONFIGS.c.organization_id, CONFIGS.c.name, CONFIGS.c.name_key).order_by(CONFIGS.c.id)
    ).all()
    taken: set[tuple[int, str]] = set()
    changes = []
    for row in rows:  # oldest first: the oldest of names that now compare equal keeps the plain key
        name = name_of(row.name)
        key = key_of(name)[:MAX_KEY_LENGTH]
        if (row.organization_id, key) in taken:
            key = _duplicate_key(key, row.id, row.organization_id, taken)
        taken.add((row.organization_id, key))
        if (name, key) != (row.name, row.name_key):
            changes.append({"row_id": row.id, "new_name": name, "new_key": key})
    if not changes:
        return
    by_id = CONFIGS.c.id == sa.bindparam("row_id")
    # Every changed row first gets a key of its own, then its final one: keys of rows not yet
    # updated can never stand in the way of the unique constraint.
    bind.execute(sa.update(CONFIGS).where(by_id).values(name_key=sa.bindparam("placeholder")),
                 [{"row_id": c["row_id"], "placeholder": f"{MARK}migrating{MARK}{c['row_id']}"} for c in changes])
    bind.execute(sa.update(CONFIGS).where(by_id).values(name=sa.bindparam("new_name"), name_key=sa.bindparam("new_key")),
                 changes)


def _duplicate_key(key: str, row_id: int, org_id: int, taken: set[tuple[int, str]]) -> str:
    suffix = f"{MARK}{row_id}"
    marked = key[: MAX_KEY_LENGTH - len(suffix)] + suffix
    while (org_id, marked) in taken:  # only if an old name happened to end like a mark
        suffix = MARK + suffix
        marked = key[: MAX_KEY_LENGTH - len(suffix)] + suffix
    return marked
