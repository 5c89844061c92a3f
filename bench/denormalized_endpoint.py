"""The dashboard written by hand over denormalized tables: the second, stricter floor.

Like bench/raw_endpoint.py (Starlette on uvicorn, orjson, aiosqlite or asyncpg), but it reads
the tables of bench/denormalized_tables.py, where each configuration's masked config, warnings
and counts, and the organization's warning summary, were worked out at write time. So a read
never decrypts, masks or counts: in one read transaction it runs
  1. the key joined with its organization's row (summary, default, count of configurations),
  2. the first 100 configurations' rows,
  3. the first 50 numbers of each (one windowed statement, as the raw endpoint),
and splices the stored JSON in as orjson fragments. The answer is the same JSON, byte for byte,
as the raw endpoint's (the benchmark checks it).

Usage (bench/dashboard.py starts it): python -m bench.denormalized_endpoint --db PATH|URL --port P
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gql_telephony.domain.ids import encode_cursor, encode_id

from .pools import Pool, pool_for
from .raw_endpoint import CONFIGS_FIRST, NUMBERS_FIRST, POOL_SIZE, SQL_PAGES

SQL_KEY_AND_ORG = (
    "SELECT o.organization_id, o.summary_json, o.default_json, o.config_count "
    "FROM api_key AS k JOIN bench_dashboard_org AS o ON o.organization_id = k.organization_id "
    "WHERE k.key_hash = ?"
)
SQL_CONFIGS = (
    "SELECT config_id, name, provider, config_json, is_default, version, warnings_json, warning_count, "
    "number_count, active_count FROM bench_dashboard_config WHERE organization_id = ? ORDER BY config_id LIMIT ?"
)
SQL_STORED_PAGES = "SELECT config_id, nodes_json FROM bench_dashboard_page WHERE config_id IN ({marks})"
Fragment = orjson.Fragment


async def dashboard(pool: Pool, key: str, pages: bool = False) -> dict[str, Any] | None:
    """The `data` of the DASHBOARD query for the key's organization; None for an unknown key.
    `pages`: the numbers' nodes from bench_dashboard_page, stored as JSON, not from phone_number."""
    async with pool.reading() as fetch:
        found = await fetch(SQL_KEY_AND_ORG, (hashlib.sha256(key.encode()).hexdigest(),))
        if not found:
            return None
        org_id, summary_json, default_json, config_count = found[0]
        configs = await fetch(SQL_CONFIGS, (org_id, CONFIGS_FIRST))
        numbers: dict[int, Any] = {row[0]: [] for row in configs}
        if configs and pages:
            sql = SQL_STORED_PAGES.format(marks=",".join("?" * len(configs)))
            numbers.update((config_id, Fragment(nodes)) for config_id, nodes in await fetch(sql, list(numbers)))
        elif configs:
            sql = SQL_PAGES.format(marks=",".join("?" * len(configs)))
            for number_id, config_id, phone_number, label, is_active in await fetch(sql, [*numbers, NUMBERS_FIRST]):
                numbers[config_id].append({
                    "id": encode_id("PhoneNumber", number_id), "phoneNumber": phone_number,
                    "label": label, "isActive": bool(is_active),
                })
    edges = [{"cursor": encode_cursor(config_id), "node": {
        "id": encode_id("TelephonyConfig", config_id),
        "name": name,
        "provider": provider,
        "config": Fragment(config_json),
        "isDefaultOutbound": bool(is_default),
        "version": version,
        "phoneNumberCount": active_count,
        "warningCount": warning_count,
        "warnings": Fragment(warnings_json),
        "phoneNumbers": {"totalCount": number_count, "nodes": numbers[config_id]},
    }} for (config_id, name, provider, config_json, is_default, version, warnings_json, warning_count,
            number_count, active_count) in configs]
    return {
        "telephonyConfigs": {
            "totalCount": config_count,
            "pageInfo": {"hasNextPage": config_count > CONFIGS_FIRST,
                         "endCursor": edges[-1]["cursor"] if edges else None},
            "edges": edges,
        },
        "telephonyConfigWarnings": Fragment(summary_json),
        "defaultOutboundTelephonyConfig": Fragment(default_json),
    }


def create_app(database: str, *, pool_size: int = POOL_SIZE, pages: bool = False,
               on_statement: Callable[[str], None] | None = None) -> Starlette:
    pool = pool_for(database, pool_size, on_statement)

    async def serve_dashboard(request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        data = await dashboard(pool, key.strip(), pages) if scheme.lower() == "bearer" and key.strip() else None
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
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE)
    parser.add_argument("--pages", action="store_true", help="read each page of numbers stored as JSON")
    args = parser.parse_args()
    uvicorn.run(create_app(args.db, pool_size=args.pool_size, pages=args.pages), host=args.host, port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
