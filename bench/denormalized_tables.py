"""The tables a hand-tuned, denormalized dashboard service would read: built by the benchmark
from the seeded data, as such a service would keep them at write time.

    bench_dashboard_config  one row per configuration: its name, provider, masked config (JSON),
                            default flag, version, warnings (JSON), warning count, and both counts
                            of numbers (all, active)
    bench_dashboard_org     one row per organization: the warning summary (JSON), the default
                            configuration (JSON), the number of configurations

Everything derived (decryption and masking, warnings, counts, the summary) is done here, once,
with the project's own functions, so a read only copies it out (bench/denormalized_endpoint.py).
The phone numbers themselves are read from `phone_number`, as the data they are; a stricter
variant (bench_dashboard_page, the endpoint's --pages) also keeps each configuration's first
page of numbers as JSON, as a service that maintains exactly this screen would.
"""

from __future__ import annotations

from typing import Any

import orjson

from gql_telephony.crypto import Vault
from gql_telephony.domain.config_rules import StoredConfig, present_config
from gql_telephony.domain.ids import encode_id
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.domain.warnings import config_warnings, summarize

from .pools import pool_for
from .raw_endpoint import NUMBERS_FIRST, SQL_CONFIGS, SQL_COUNTS, SQL_PAGES

CREATE = [
    "DROP TABLE IF EXISTS bench_dashboard_config",
    "DROP TABLE IF EXISTS bench_dashboard_org",
    "DROP TABLE IF EXISTS bench_dashboard_page",
    "CREATE TABLE bench_dashboard_config (config_id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, "
    "name TEXT NOT NULL, provider TEXT NOT NULL, config_json TEXT NOT NULL, is_default BOOLEAN NOT NULL, "
    "version INTEGER NOT NULL, warnings_json TEXT NOT NULL, warning_count INTEGER NOT NULL, "
    "number_count INTEGER NOT NULL, active_count INTEGER NOT NULL)",
    "CREATE INDEX ix_bench_dashboard_config_org ON bench_dashboard_config (organization_id, config_id)",
    "CREATE TABLE bench_dashboard_org (organization_id BIGINT PRIMARY KEY, summary_json TEXT NOT NULL, "
    "default_json TEXT NOT NULL, config_count INTEGER NOT NULL)",
    # The stricter variant (--floor-pages): each configuration's first page of numbers, as JSON.
    "CREATE TABLE bench_dashboard_page (config_id BIGINT PRIMARY KEY, nodes_json TEXT NOT NULL)",
]
INSERT_PAGE = "INSERT INTO bench_dashboard_page VALUES (?, ?)"
INSERT_CONFIG = "INSERT INTO bench_dashboard_config VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_ORG = "INSERT INTO bench_dashboard_org VALUES (?, ?, ?, ?)"


def rows_of(org_id: int, configs: list[tuple[Any, ...]], counts: dict[int, tuple[int, int]],
            vault: Vault) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The side rows of one organization: its configurations' rows, and its own row."""
    config_rows, every_warnings, default = [], [], None
    for config_id, name, provider_key, settings_json, secrets, is_default, version in configs:
        provider = ProviderKey(provider_key)
        settings = orjson.loads(settings_json) if settings_json else {}
        secret_values = vault.decrypt_json(secrets)
        total, active = counts.get(config_id, (0, 0))
        warnings = config_warnings(provider, set(settings) | set(secret_values), active)
        every_warnings.append(warnings)
        if is_default:
            default = {"id": encode_id("TelephonyConfig", config_id), "name": name}
        masked = present_config(PROVIDERS[provider], StoredConfig(settings=settings, secrets=secret_values))  # type: ignore[arg-type]  # secrets are strings
        config_rows.append((
            config_id, org_id, name, provider.value, orjson.dumps(masked).decode(), bool(is_default), version,
            orjson.dumps([{"code": w.code.value, "severity": w.severity.value, "field": w.field} for w in warnings]).decode(),
            len(warnings), total, active,
        ))
    summary = summarize(every_warnings, has_default_outbound=default is not None)
    summary_json = orjson.dumps({
        "totalCount": summary.total_count,
        "configsWithWarningsCount": summary.configs_with_warnings_count,
        "byCode": [{"code": code.value, "count": count} for code, count in summary.by_code],
        "hasDefaultOutbound": summary.has_default_outbound,
    }).decode()
    return config_rows, (org_id, summary_json, orjson.dumps(default).decode(), len(configs))


async def pages_of(fetch: Any, config_ids: list[int]) -> list[tuple[int, str]]:
    """Each configuration's first NUMBERS_FIRST numbers as the JSON of their nodes."""
    nodes: dict[int, list[dict[str, Any]]] = {c: [] for c in config_ids}
    for start in range(0, len(config_ids), 500):
        chunk = config_ids[start:start + 500]
        sql = SQL_PAGES.format(marks=",".join("?" * len(chunk)))
        for number_id, config_id, phone_number, label, is_active in await fetch(sql, [*chunk, NUMBERS_FIRST]):
            nodes[config_id].append({"id": encode_id("PhoneNumber", number_id), "phoneNumber": phone_number,
                                     "label": label, "isActive": bool(is_active)})
    return [(c, orjson.dumps(n).decode()) for c, n in nodes.items()]


async def build(database: str, vault: Vault) -> int:
    """(Re)builds both tables for every organization of `database`; returns the configurations written."""
    pool = pool_for(database, 1)
    await pool.open()
    written = 0
    try:
        async with pool.writing() as (fetch, many):
            for statement in CREATE:
                await fetch(statement)
            for (org_id,) in await fetch("SELECT id FROM organization ORDER BY id"):
                configs = await fetch(SQL_CONFIGS, (org_id,))
                ids = [row[0] for row in configs]
                counts: dict[int, tuple[int, int]] = {}
                if ids:
                    sql = SQL_COUNTS.format(marks=",".join("?" * len(ids)))
                    counts = {c: (int(total), int(active)) for c, total, active in await fetch(sql, ids)}
                config_rows, org_row = rows_of(org_id, configs, counts, vault)
                if config_rows:
                    await many(INSERT_CONFIG, config_rows)
                    await many(INSERT_PAGE, await pages_of(fetch, ids))
                await many(INSERT_ORG, [org_row])
                written += len(config_rows)
    finally:
        await pool.close()
    return written
