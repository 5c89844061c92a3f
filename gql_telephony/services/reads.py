"""Read-side views that combine stored state with domain rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from ..crypto import Vault
from ..domain.config_rules import StoredConfig
from ..domain.provider_checks import AccountCheck, NumberProblem
from ..domain.providers import ProviderKey
from ..domain.warnings import ConfigWarning, WarningSummary, config_warnings, summarize
from ..storage import checks, queries, webhooks
from ..storage.db import Database
from ..storage.queries import ConfigRow
from ..storage.tables import TelephonyConfigRow

# A configuration as a read query returns it, or as a write loaded it (a mutation's payload).
AnyConfigRow = ConfigRow | TelephonyConfigRow


def stored_config(row: AnyConfigRow, vault: Vault) -> StoredConfig:
    """A configuration's settings and its secrets in clear, for the rules and the masking."""
    secrets = cast(dict[str, str], vault.decrypt_json(row.secrets))  # written as strings by apply_config
    return StoredConfig(settings=dict(row.settings), secrets=secrets)


def present_keys(row: AnyConfigRow, vault: Vault) -> set[str]:
    """The config keys that hold a value (secrets decrypted only to learn which are set)."""
    return set(row.settings) | set(vault.decrypt_json(row.secrets))


def warnings_of(
    row: AnyConfigRow, vault: Vault, active_numbers: int, account: AccountCheck | None,
    number_problems: Sequence[NumberProblem],
) -> list[ConfigWarning]:
    return config_warnings(
        ProviderKey(row.provider), present_keys(row, vault), active_numbers, account, number_problems
    )


async def warning_summary(db: Database, vault: Vault, org_id: int) -> WarningSummary:
    """The organization's summary from one consistent snapshot: five statements, whatever its size."""
    async with db.reading() as session:
        return await warning_summary_in(session, vault, org_id)


async def warning_summary_in(session: queries.Reader, vault: Vault, org_id: int) -> WarningSummary:
    """The summary as `session` sees it (a write's session sees its own changes)."""
    rows = await queries.all_configs(session, org_id=org_id, timestamps=False)
    ids = [r.id for r in rows]
    counts = await queries.number_counts(session, config_ids=ids)
    accounts = await checks.account_checks(session, config_ids=ids)
    problems = await checks.number_problems(session, config_ids=ids)
    disabled = await webhooks.failing_endpoint_count(session, org_id=org_id)
    active = {key: count.active for key, count in counts.items()}
    return summary_of(rows, lambda row: warnings_of(
        row, vault, active.get(row.id, 0), accounts.get(row.id), problems.get(row.id, ()),
    ), disabled_endpoints=disabled)


def summary_of(
    rows: Sequence[ConfigRow], warnings: Callable[[ConfigRow], list[ConfigWarning]], *, disabled_endpoints: int = 0,
) -> WarningSummary:
    """The summary of all an organization's configurations, given how to find each one's warnings,
    and of its webhook endpoints disabled for failing."""
    return summarize(map(warnings, rows), has_default_outbound=any(row.is_default_outbound for row in rows),
                     disabled_endpoints=disabled_endpoints)
