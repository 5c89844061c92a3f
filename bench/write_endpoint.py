"""The writes written by hand: the floor the server's mutations are compared against.

A plain Starlette app on uvicorn + aiosqlite (or asyncpg) + orjson, on the server's own tables.
Each write keeps the guarantees the server's mutation keeps, and no more:
  - one transaction, which first bumps the organization's data_version (as the server's
    `writing` does: the change and the new version commit together, the organization row locked);
  - the same constraints: the database's own (a configuration's name unique per organization
    without regard to case, a number registered once per organization, one default), the
    key must be a writing key of the organization that owns the row, the name and the number
    cleaned by the project's own functions;
  - the row's version bumped and updated_at set, where the server does;
  - after the commit, an event published on an in-process broker (the server's MemoryBroker).
What the server does besides (its audit trail, provider checks asked again, webhook outbox, the
warning summary's digest) is not done here: see docs/PERFORMANCE.md.

POST /write with a JSON body, `Authorization: Bearer KEY`:
  {"op": "rename", "id": GLOBAL_ID, "name": "..."}
  {"op": "addNumber", "configId": GLOBAL_ID, "phoneNumber": "..."}
  {"op": "label", "id": GLOBAL_ID, "label": "..."}
  {"op": "setDefault", "id": GLOBAL_ID}
  {"op": "import", "configId": GLOBAL_ID}  every voice number of the (Twilio) account, paged from
      the provider origin given by --twilio, inserted in one transaction (ON CONFLICT DO NOTHING)

Usage: python -m bench.write_endpoint --db PATH|URL --port P [--twilio http://127.0.0.1:PORT]
with GQL_TELEPHONY_SECRET_KEYS set (the import decrypts the account's credentials).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gql_telephony.crypto import Vault
from gql_telephony.domain.ids import decode_id, encode_id
from gql_telephony.domain.phone_numbers import clean_label, normalize_number
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.domain.text import name_key
from gql_telephony.services.events import MemoryBroker

from .pools import pool_for

POOL_SIZE = 4
SQL_KEY = "SELECT organization_id FROM api_key WHERE key_hash = ? AND NOT read_only AND revoked_at IS NULL"
SQL_BUMP = "UPDATE organization SET data_version = data_version + 1 WHERE id = ?"
SQL_RENAME = ("UPDATE telephony_config SET name = ?, name_key = ?, version = version + 1, updated_at = ? "
              "WHERE id = ? AND organization_id = ? RETURNING id, name, version")
SQL_CONFIG = "SELECT provider, secrets, settings FROM telephony_config WHERE id = ? AND organization_id = ?"
SQL_ADD = ("INSERT INTO phone_number (organization_id, telephony_config_id, phone_number, label, is_active, "
           "created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?) RETURNING id")
SQL_LABEL = ("UPDATE phone_number SET label = ?, updated_at = ? WHERE id = ? AND organization_id = ? "
             "RETURNING id, phone_number, label, is_active")
SQL_DEMOTE = ("UPDATE telephony_config SET is_default_outbound = ?, version = version + 1, updated_at = ? "
              "WHERE organization_id = ? AND is_default_outbound AND id <> ? RETURNING id")
SQL_PROMOTE = ("UPDATE telephony_config SET is_default_outbound = ?, version = version + 1, updated_at = ? "
               "WHERE id = ? AND organization_id = ? AND NOT is_default_outbound RETURNING id, version")
SQL_IMPORT = ("INSERT INTO phone_number (organization_id, telephony_config_id, phone_number, label, is_active, "
              "created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?) ON CONFLICT DO NOTHING")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def local_id(kind: str, value: object) -> int:
    decoded = decode_id(value) if isinstance(value, str) else None
    if decoded is None or decoded[0] != kind:
        raise Refused(400, f"not a {kind} id")
    return int(decoded[1])


class Writes:
    def __init__(self, database: str, vault: Vault, twilio: str | None, pool_size: int = POOL_SIZE) -> None:
        self.pool = pool_for(database, pool_size)
        self.vault, self.twilio, self.broker = vault, twilio, MemoryBroker()
        self.http: httpx.AsyncClient | None = None

    def now(self) -> object:
        """updated_at as the server stores it: naive UTC text on SQLite, a timestamp on PostgreSQL."""
        now = datetime.now(UTC)
        return now.replace(tzinfo=None).isoformat(" ") if self.pool.dialect == "sqlite" else now

    async def in_transaction(self, key: str, work: Callable[[Any, Any, int], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        async with self.pool.writing() as (fetch, many):
            found = await fetch(SQL_KEY, (hashlib.sha256(key.encode()).hexdigest(),))
            if not found:
                raise Refused(401, "unauthenticated")
            org_id = found[0][0]
            await fetch(SQL_BUMP, (org_id,))
            answer = await work(fetch, many, org_id)
        await self.broker.publish(org_id)
        return answer

    async def write(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        op = body.get("op")
        if op == "rename":
            config_id, name = local_id("TelephonyConfig", body.get("id")), str(body.get("name", "")).strip()
            if not 1 <= len(name) <= 64:
                raise Refused(400, "a name has 1 to 64 characters")

            async def rename(fetch: Any, _many: Any, org_id: int) -> dict[str, Any]:
                rows = await fetch(SQL_RENAME, (name, name_key(name), self.now(), config_id, org_id))
                if not rows:
                    raise Refused(404, "no such configuration")
                return {"id": encode_id("TelephonyConfig", rows[0][0]), "name": rows[0][1], "version": rows[0][2]}

            return await self.in_transaction(key, rename)
        if op == "addNumber":
            config_id, raw = local_id("TelephonyConfig", body.get("configId")), str(body.get("phoneNumber", ""))

            async def add(fetch: Any, _many: Any, org_id: int) -> dict[str, Any]:
                config = await fetch(SQL_CONFIG, (config_id, org_id))
                if not config:
                    raise Refused(404, "no such configuration")
                connectivity = PROVIDERS[ProviderKey(config[0][0])].connectivity
                number, now = normalize_number(raw, region=None, connectivity=connectivity), self.now()
                rows = await fetch(SQL_ADD, (org_id, config_id, number, True, now, now))
                return {"id": encode_id("PhoneNumber", rows[0][0]), "phoneNumber": number}

            return await self.in_transaction(key, add)
        if op == "label":
            number_id, label = local_id("PhoneNumber", body.get("id")), clean_label(body.get("label"))

            async def relabel(fetch: Any, _many: Any, org_id: int) -> dict[str, Any]:
                rows = await fetch(SQL_LABEL, (label, self.now(), number_id, org_id))
                if not rows:
                    raise Refused(404, "no such number")
                number_id_, number, label_, active = rows[0]
                return {"id": encode_id("PhoneNumber", number_id_), "phoneNumber": number, "label": label_,
                        "isActive": bool(active)}

            return await self.in_transaction(key, relabel)
        if op == "setDefault":
            config_id = local_id("TelephonyConfig", body.get("id"))

            async def promote(fetch: Any, _many: Any, org_id: int) -> dict[str, Any]:
                now = self.now()
                demoted = await fetch(SQL_DEMOTE, (False, now, org_id, config_id))
                promoted = await fetch(SQL_PROMOTE, (True, now, config_id, org_id))
                return {"id": encode_id("TelephonyConfig", config_id), "version": promoted[0][1] if promoted else None,
                        "previousDefault": [encode_id("TelephonyConfig", row[0]) for row in demoted]}

            return await self.in_transaction(key, promote)
        if op == "import":
            return await self.bulk_import(key, local_id("TelephonyConfig", body.get("configId")))
        raise Refused(400, "unknown op")

    async def bulk_import(self, key: str, config_id: int) -> dict[str, Any]:
        """The account's voice numbers from the provider (Twilio's paging), then one transaction."""
        async with self.pool.reading() as fetch:
            found = await fetch(SQL_KEY, (hashlib.sha256(key.encode()).hexdigest(),))
            if not found:
                raise Refused(401, "unauthenticated")
            config = await fetch(SQL_CONFIG, (config_id, found[0][0]))
        if not config or config[0][0] != "TWILIO" or self.http is None:
            raise Refused(404, "no such Twilio configuration")
        secrets = self.vault.decrypt_json(config[0][1])
        settings = orjson.loads(config[0][2]) if isinstance(config[0][2], str) else config[0][2]
        sid, auth = settings.get("account_sid") or secrets.get("account_sid"), secrets["auth_token"]
        numbers: list[str] = []
        url: str | None = f"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PageSize=200"
        while url:
            page = (await self.http.get(url, auth=(sid, auth))).raise_for_status().json()
            numbers += [n["phone_number"] for n in page["incoming_phone_numbers"] if n["capabilities"].get("voice") is not False]
            url = page.get("next_page_uri")

        async def insert(fetch: Any, many: Any, org_id: int) -> dict[str, Any]:
            before = (await fetch("SELECT count(*) FROM phone_number WHERE organization_id = ?", (org_id,)))[0][0]
            now = self.now()
            await many(SQL_IMPORT, [(org_id, config_id, number, True, now, now) for number in numbers])
            after = (await fetch("SELECT count(*) FROM phone_number WHERE organization_id = ?", (org_id,)))[0][0]
            return {"importedCount": after - before, "alreadyRegisteredCount": len(numbers) - (after - before)}

        return await self.in_transaction(key, insert)


def create_app(database: str, vault: Vault, twilio: str | None = None) -> Starlette:
    writes = Writes(database, vault, twilio)

    async def serve_write(request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not key.strip():
                raise Refused(401, "unauthenticated")
            answer = await writes.write(key.strip(), orjson.loads(await request.body()))
        except Refused as refused:
            return Response(orjson.dumps({"error": str(refused)}), status_code=refused.status, media_type="application/json")
        except Exception as failed:  # a constraint (a taken name or number), or an invalid number
            return Response(orjson.dumps({"error": type(failed).__name__}), status_code=409, media_type="application/json")
        return Response(orjson.dumps(answer), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await writes.pool.open()
        writes.http = httpx.AsyncClient(base_url=twilio or "http://127.0.0.1", timeout=30)
        yield
        await writes.http.aclose()
        await writes.pool.close()

    return Starlette(routes=[Route("/write", serve_write, methods=["POST"]), Route("/healthz", healthz)],
                     lifespan=lifespan)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="the SQLite file, or a postgresql+asyncpg:// URL")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--twilio", help="the fake Twilio's origin, for the import")
    args = parser.parse_args()
    keys = [k.strip() for k in os.environ.get("GQL_TELEPHONY_SECRET_KEYS", "").split(",") if k.strip()]
    uvicorn.run(create_app(args.db, Vault(keys), args.twilio), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
