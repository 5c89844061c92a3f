"""The dashboard written by hand: the floor the GraphQL server is compared against.

A plain Starlette app on uvicorn + aiosqlite + orjson. `GET /dashboard` (with the same
`Authorization: Bearer KEY`) answers exactly the JSON that the GraphQL server puts under `data`
for the DASHBOARD document of tests/documents.py (configs first: 100, phoneNumbers first: 50),
with plain SQL, and with the project's own Vault (decryption), present_config (masking),
config_warnings/summarize (warnings) and global-id encoding, so the per-row work is the same.

Usage (bench/dashboard.py starts it): python -m bench.raw_endpoint --db PATH|URL --port P
(a postgresql+asyncpg:// URL reads through asyncpg instead of aiosqlite, the same SQL).
with GQL_TELEPHONY_SECRET_KEYS set to the keys the data was encrypted with.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gql_telephony.crypto import Vault
from gql_telephony.domain.config_rules import StoredConfig, present_config
from gql_telephony.domain.ids import encode_cursor, encode_id
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.domain.warnings import config_warnings, summarize

from .pools import Pool, pool_for

CONFIGS_FIRST = 100  # telephonyConfigs(first: 100)
NUMBERS_FIRST = 50  # phoneNumbers(first: 50)
POOL_SIZE = 8

SQL_KEY = "SELECT organization_id FROM api_key WHERE key_hash = ?"
SQL_CONFIGS = (
    "SELECT id, name, provider, settings, secrets, is_default_outbound, version "
    "FROM telephony_config WHERE organization_id = ? ORDER BY id"
)
# Per config: all numbers and active ones (phoneNumbers.totalCount and phoneNumberCount).
SQL_COUNTS = (
    "SELECT telephony_config_id, count(*), sum(CASE WHEN is_active THEN 1 ELSE 0 END) FROM phone_number "
    "WHERE telephony_config_id IN ({marks}) GROUP BY telephony_config_id"
)
SQL_PAGES = (
    "SELECT id, telephony_config_id, phone_number, label, is_active FROM ("
    " SELECT id, telephony_config_id, phone_number, label, is_active,"
    " row_number() OVER (PARTITION BY telephony_config_id ORDER BY id) AS position"
    " FROM phone_number WHERE telephony_config_id IN ({marks})"
    ") AS ranked WHERE position <= ? ORDER BY id"
)


async def dashboard(pool: Pool, vault: Vault, key: str) -> dict[str, Any] | None:
    """The `data` of the DASHBOARD query for the key's organization; None for an unknown key."""
    async with pool.reading() as fetch:
        found = await fetch(SQL_KEY, (hashlib.sha256(key.encode()).hexdigest(),))
        if not found:
            return None
        configs = await fetch(SQL_CONFIGS, (found[0][0],))
        ids = [row[0] for row in configs]
        marks = ",".join("?" * len(ids))
        counts = {c: (int(total), int(active)) for c, total, active in await fetch(SQL_COUNTS.format(marks=marks), ids)} if ids else {}
        page = configs[:CONFIGS_FIRST]
        page_ids = [row[0] for row in page]
        numbers: dict[int, list[dict[str, Any]]] = {c: [] for c in page_ids}
        if page_ids:
            sql = SQL_PAGES.format(marks=",".join("?" * len(page_ids)))
            for number_id, config_id, phone_number, label, is_active in await fetch(sql, [*page_ids, NUMBERS_FIRST]):
                numbers[config_id].append({
                    "id": encode_id("PhoneNumber", number_id), "phoneNumber": phone_number,
                    "label": label, "isActive": bool(is_active),
                })

    every_warnings = []
    edges = []
    default = None
    for index, (config_id, name, provider_key, settings_json, secrets, is_default, version) in enumerate(configs):
        provider = ProviderKey(provider_key)
        settings = orjson.loads(settings_json) if settings_json else {}
        secret_values = vault.decrypt_json(secrets)
        total, active = counts.get(config_id, (0, 0))
        warnings = config_warnings(provider, set(settings) | set(secret_values), active)
        every_warnings.append(warnings)
        global_id = encode_id("TelephonyConfig", config_id)
        if is_default:
            default = {"id": global_id, "name": name}
        if index >= CONFIGS_FIRST:
            continue
        edges.append({"cursor": encode_cursor(config_id), "node": {
            "id": global_id,
            "name": name,
            "provider": provider.value,
            "config": present_config(PROVIDERS[provider], StoredConfig(settings=settings, secrets=secret_values)),  # type: ignore[arg-type]  # secrets are strings
            "isDefaultOutbound": bool(is_default),
            "version": version,
            "phoneNumberCount": active,
            "warningCount": len(warnings),
            "warnings": [{"code": w.code.value, "severity": w.severity.value, "field": w.field} for w in warnings],
            "phoneNumbers": {"totalCount": total, "nodes": numbers[config_id]},
        }})
    summary = summarize(every_warnings, has_default_outbound=default is not None)
    return {
        "telephonyConfigs": {
            "totalCount": len(configs),
            "pageInfo": {
                "hasNextPage": len(configs) > CONFIGS_FIRST,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
            "edges": edges,
        },
        "telephonyConfigWarnings": {
            "totalCount": summary.total_count,
            "configsWithWarningsCount": summary.configs_with_warnings_count,
            "byCode": [{"code": code.value, "count": count} for code, count in summary.by_code],
            "hasDefaultOutbound": summary.has_default_outbound,
        },
        "defaultOutboundTelephonyConfig": default,
    }


def create_app(database: str, vault: Vault, *, pool_size: int = POOL_SIZE,
               on_statement: Callable[[str], None] | None = None) -> Starlette:
    """`database`: a SQLite path or SQLAlchemy URL, or a postgresql+asyncpg:// URL (then asyncpg)."""
    pool = pool_for(database, pool_size, on_statement)

    async def serve_dashboard(request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        data = await dashboard(pool, vault, key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if data is None:
            return Response(b'{"error":"unauthenticated"}', status_code=401, media_type="application/json")
        return Response(orjson.dumps(data), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    return Starlette(routes=[Route("/dashboard", serve_dashboard), Route("/healthz", healthz)], lifespan=lifespan)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="the SQLite file, or a postgresql+asyncpg:// URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE)
    args = parser.parse_args()
    keys = [k.strip() for k in os.environ.get("GQL_TELEPHONY_SECRET_KEYS", "").split(",") if k.strip()]
    app = create_app(args.db, Vault(keys), pool_size=args.pool_size)
    # The same uvicorn set-up as `gql-telephony serve` (its defaults: uvloop and httptools when
    # installed), without the access log, which `serve` turns off too.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
