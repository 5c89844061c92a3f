"""PostgreSQL at scale: two server processes on one database, a hundred writers at once."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from .. import backends
from ..documents import ADD_NUMBER, CREATE, SET_DEFAULT, VALID
from ..support import bearer
from .server import CLI, ROOT, cli, running_server, server_env

WRITERS = 100


@pytest.fixture
async def two_servers(tmp_path):
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=keys[0],
                         GQL_TELEPHONY_DB_POOL_SIZE="10")
        key = cli(["create-api-key", cli(["create-org", "Scale"], env)], env)
        with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
            yield [first, second], key, url, tmp_path


async def send_all(servers, key, documents):
    headers = bearer(key)
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as client:
        responses = await asyncio.gather(*(
            client.post(f"{servers[i % 2].http}/graphql", json={"query": q, "variables": v})
            for i, (q, v) in enumerate(documents)
        ))
    assert Counter(r.status_code for r in responses) == {200: len(documents)}
    bodies = [r.json() for r in responses]
    assert all("errors" not in b for b in bodies), [b for b in bodies if "errors" in b][:3]
    return [b["data"] for b in bodies]


async def count(url: str, query: str) -> int:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def test_hundred_default_switches_and_number_adds_across_two_servers(two_servers):
    servers, key, url, tmp_path = two_servers
    created = await send_all(servers, key, [
        (CREATE, {"input": {"name": f"Config {i}", "provider": "SIGNALWIRE", "config": VALID["SIGNALWIRE"]}}) for i in range(10)
    ])
    ids = [c["createTelephonyConfig"]["telephonyConfig"]["id"] for c in created]

    started = time.perf_counter()
    switched = await send_all(servers, key, [(SET_DEFAULT, {"id": ids[i % 10]}) for i in range(WRITERS)])
    print(f"{WRITERS} concurrent default switches over two servers: {time.perf_counter() - started:.2f}s")
    assert all(s["setDefaultOutboundTelephonyConfig"]["userErrors"] == [] for s in switched)
    assert await count(url, "SELECT count(*) FROM telephony_config WHERE is_default_outbound") == 1

    spellings = ["+14155550100", "+1 (415) 555-0100", "+1 415 555 0100", "+1-415-555-0100"]
    started = time.perf_counter()
    added = await send_all(servers, key, [
        (ADD_NUMBER, {"input": {"telephonyConfigId": ids[i % 10], "phoneNumber": spellings[i % 4]}}) for i in range(WRITERS)
    ])
    print(f"{WRITERS} concurrent adds of one number over two servers: {time.perf_counter() - started:.2f}s")
    outcomes = Counter("added" if a["addPhoneNumber"]["phoneNumber"] else a["addPhoneNumber"]["userErrors"][0]["code"] for a in added)
    assert outcomes == {"added": 1, "TAKEN": WRITERS - 1}
    assert await count(url, "SELECT count(*) FROM phone_number") == 1

    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "deadlock" not in logs.lower() and "Traceback" not in logs


async def test_servers_migrating_a_new_database_at_once_all_succeed(tmp_path):
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await connection.close()
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=keys[0])
        processes = [subprocess.Popen([*CLI, "migrate"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True) for _ in range(6)]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 6, outputs
        assert await count(url, "SELECT count(*) FROM alembic_version") == 1
