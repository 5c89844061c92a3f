"""PostgreSQL: what a cold dashboard read costs in round trips, and that skipping the pool's
ping does not cost a client a 500 when the server has closed pooled connections.

Round trips are counted on the wire (bench/pg_wire.py, a proxy between the app and the real
server): each message the client then waits for is one, whether SQLAlchemy counts it as a
statement or not (a ping, a BEGIN, a ROLLBACK, a PREPARE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from urllib.parse import urlsplit

import asyncpg
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.pg_wire import WireProbe
from gql_telephony.api.plans.compiler import MISSES_REMEMBERED
from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage import queries
from gql_telephony.storage.db import Database, retrying_disconnects

from .. import backends
from ..documents import DASHBOARD, add_number, create_config
from ..support import Api, app_client

# The key's lookup (one statement, no transaction); then the plan's read: one statement, its own
# snapshot, with no transaction. (Before: 17, with a ping of 3 round trips on each of 2 checkouts
# and a BEGIN and a ROLLBACK around the key's lookup; then 9, with 6 statements in the plan's
# read; then 6: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, 3 statements, ROLLBACK.)
COLD_DASHBOARD_ROUND_TRIPS = 2
BEGIN = "query: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"

pytestmark = pytest.mark.skipif("postgresql" not in backends.BACKENDS, reason="PostgreSQL is not among the backends")


@asynccontextmanager
async def postgres_api(*, probe: WireProbe | None = None) -> AsyncIterator[Api]:
    """An organization with 3 configurations of 2 numbers, behind an app with no response cache
    (every request reads); through `probe` when given."""
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        settings = Settings(database_url=probe.url(url) if probe else url, secret_keys=keys, response_cache_mb=0)
        runtime = build_runtime(settings)
        try:
            org_id = await create_organization(runtime.db, "Acme")
            key = await create_api_key(runtime.db, org_id)
            async with app_client(settings, beside=runtime) as served:
                api = Api(client=served.client, runtime=served.runtime, key=key, org_id=org_id)
                for index, provider in enumerate(["TWILIO", "TELNYX", "SIGNALWIRE"]):
                    created = await create_config(api, provider, f"Config {index}")
                    for n in range(2):
                        await add_number(api, created["telephonyConfig"]["id"], f"+1415555{index:02d}{n:02d}")
                yield api
        finally:
            await close(runtime)


async def close(runtime: Runtime) -> None:
    await runtime.provider_http.aclose()
    await runtime.broker.close()
    await runtime.db.dispose()


async def test_a_cold_dashboard_read_takes_two_round_trips():
    server = urlsplit(backends.POSTGRES_URL)
    async with WireProbe(server.hostname or "127.0.0.1", server.port or 5432) as probe, \
            postgres_api(probe=probe) as api:
        first = await api.gql(DASHBOARD)
        # Every statement prepared on the connections it uses, and the plan shown to need one only.
        for _ in range(MISSES_REMEMBERED):
            await api.gql(DASHBOARD)
        mark = probe.mark()
        data = await api.gql(DASHBOARD)
        exchanges = probe.since(mark)
    assert data == first and data["telephonyConfigs"]["totalCount"] == 3
    listing = "\n".join(exchanges)
    print(f"{len(exchanges)} round trips:\n{listing}")
    assert len(exchanges) <= COLD_DASHBOARD_ROUND_TRIPS, listing
    # One statement is its own snapshot: no transaction; no ping (";") anywhere.
    assert not any(e.startswith("query: BEGIN") or e.endswith(": ;") for e in exchanges), listing


async def test_a_plan_runs_without_a_transaction_once_it_showed_one_statement_answers_it():
    """A plan runs in a transaction until MISSES_REMEMBERED runs each needed one statement, then
    without. Here the numbers of a configuration asked by id come with the page's when it is on
    the page (one statement); off the page they are a statement of their own: that run is refused
    its second statement and runs again in a transaction, and so do the plan's next
    MISSES_REMEMBERED runs, whichever configuration they ask for. An organization with no
    configuration is one statement too. The answers are the same throughout."""
    document = """query Beside($id: ID!) {
      telephonyConfigs(first: 1) { nodes { name phoneNumbers(first: 5) { nodes { phoneNumber } } } }
      telephonyConfigWarnings { totalCount }
      telephonyConfig(id: $id) { name phoneNumbers(first: 5) { nodes { phoneNumber } } } }"""
    server = urlsplit(backends.POSTGRES_URL)
    async with WireProbe(server.hostname or "127.0.0.1", server.port or 5432) as probe, \
            postgres_api(probe=probe) as api:
        empty_org = await create_organization(api.runtime.db, "Empty")
        empty = replace(api, key=await create_api_key(api.runtime.db, empty_org), org_id=empty_org)
        ids = [node["id"] for node in (await api.gql("{ telephonyConfigs { nodes { id } } }"))["telephonyConfigs"]["nodes"]]

        async def trips(client: Api, config_id: str) -> tuple[list[str], dict]:
            mark = probe.mark()
            data = await client.gql(document, {"id": config_id})
            return ["BEGIN" if e == BEGIN else e.split(":")[0] for e in probe.since(mark) if not once(e)], data

        # The first read prepares the statements and asyncpg reads the types of their arrays of
        # rows, once per connection: left out above, and this run is one of the plan's.
        on_page = [await trips(api, ids[0]) for _ in range(MISSES_REMEMBERED + 1)]
        nothing = await trips(empty, ids[0])
        refused = await trips(api, ids[-1])
        after = [await trips(api, ids[0]) for _ in range(MISSES_REMEMBERED + 1)]
    in_a_transaction = ["execute", "BEGIN", "execute", "query"]  # the key, BEGIN, the read, ROLLBACK
    assert [trip for trip, _ in on_page] == [in_a_transaction] * MISSES_REMEMBERED + [["execute", "execute"]], on_page[0]
    assert nothing[0] == ["execute", "execute"] and nothing[1]["telephonyConfigs"]["nodes"] == []
    # The key, the configurations with the page's numbers, refused the other's; then in a transaction.
    assert refused[0] == ["execute", "execute", "BEGIN", "execute", "execute", "query"], refused
    assert [trip for trip, _ in after] == [in_a_transaction] * MISSES_REMEMBERED + [["execute", "execute"]]
    assert all(data == on_page[0][1] for _, data in on_page + after)
    assert on_page[0][1]["telephonyConfig"]["name"] == "Config 0" and refused[1]["telephonyConfig"]["name"] == "Config 2"
    assert [n["phoneNumber"] for n in refused[1]["telephonyConfig"]["phoneNumbers"]["nodes"]] == [
        "+14155550200", "+14155550201"]


def once(exchange: str) -> bool:
    """What a connection does once: prepare a statement, or (asyncpg) look up the types of its
    columns, with JIT compilation off while it does."""
    return exchange.startswith("prepare") or "typeinfo_tree" in exchange or "'jit'" in exchange


async def terminate_backends(url: str) -> None:
    """Ends every other session on the app's database, as a restart of the server would, and
    waits until they are gone."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        ended = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert ended >= 1  # the app's pooled connections
        for _ in range(500):
            if not await connection.fetchval("SELECT count(*) FROM pg_stat_activity"
                                             " WHERE datname = current_database() AND pid <> pg_backend_pid()"):
                # A backend leaves pg_stat_activity just before its process exits and its socket
                # closes: give the client's side a moment to hear it, as it would in real life.
                await asyncio.sleep(0.1)
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the terminated backends did not go")
    finally:
        await connection.close()


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_reads_and_writes_succeed_after_the_server_ended_the_pooled_connections(compiled_plans):
    async with postgres_api() as api:
        url = api.runtime.settings.database_url
        # No rate limit: its own lookup of the key, whose failure it lets pass, would retry for the view's.
        changed = replace(api.runtime.settings, compiled_plans=compiled_plans, rate_limit_per_minute=0)
        async with app_client(changed, beside=api.runtime) as other:
            served = api.through(other)
            before = await served.gql(DASHBOARD)
            await terminate_backends(url)
            assert await served.gql(DASHBOARD) == before  # 200, the same data: not a 500
            await terminate_backends(url)
            config_id = before["telephonyConfigs"]["edges"][0]["node"]["id"]
            added = await add_number(served, config_id, "+14155559999")
            assert added["userErrors"] == [], added


async def test_a_pooled_connection_the_server_closed_is_not_handed_out():
    """Without a ping: asyncpg knows the connection closed, and the pool opens another (no retry
    here, so this is the checkout's own doing)."""
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        db = Database(Settings(database_url=url, secret_keys=keys))
        try:
            async with db.reading_snapshot() as connection:
                first = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            await terminate_backends(url)
            async with db.reading_rows(one_statement=True) as connection:
                second = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            assert second != first
        finally:
            await db.dispose()



async def test_a_write_succeeds_after_its_idle_connection_was_dropped_silently():
    """A NAT or firewall that times out an idle connection tells neither end: the next statement
    sent on it is reset, and a write is not retried as a read is. A connection idle for long is
    pinged at checkout, and the pool replaces it if the ping fails. (Through the app, the key's
    lookup would meet the dead connection first and, retried, renew the pool: this is the case of
    a write that meets it first.)"""
    keys = (Fernet.generate_key().decode(),)
    server = urlsplit(backends.POSTGRES_URL)
    async with WireProbe(server.hostname or "127.0.0.1", server.port or 5432) as probe, \
            backends.postgres_database(keys) as url:
        db = Database(Settings(database_url=probe.url(url), secret_keys=keys))
        db.idle_ping_seconds = 0.2
        try:
            async with db.writing() as session:
                first = (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.sleep(0.3)
            probe.drop_silently()
            async with db.writing() as session:
                second = (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            assert second != first
            async with db.writing() as session:  # just used: handed out again without a ping
                mark = probe.mark()
                assert (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() == second
            assert not any(e.endswith(": ;") for e in probe.since(mark))
        finally:
            await db.dispose()


async def test_a_driver_read_runs_again_after_its_connection_was_dropped_silently():
    """A read on the driver (storage/driver.py) whose connection turns out dead fails as
    SQLAlchemy's would, with the connection invalidated; run again once, it answers on another."""
    keys = (Fernet.generate_key().decode(),)
    server = urlsplit(backends.POSTGRES_URL)
    async with WireProbe(server.hostname or "127.0.0.1", server.port or 5432) as probe, \
            backends.postgres_database(keys) as url:
        db = Database(Settings(database_url=probe.url(url), secret_keys=keys))
        db.idle_ping_seconds = 3600.0  # no ping at checkout: the read itself meets the dead connection
        attempts: list[str] = []

        async def backend_pid() -> int:
            try:
                async with db.reading_driver(snapshot=True) as reads:
                    pid = (await reads.execute(sa.select(sa.func.pg_backend_pid()))).scalar_one()
            except sa.exc.DBAPIError as error:
                attempts.append("invalidated" if error.connection_invalidated else "failed")
                raise
            attempts.append("answered")
            return int(pid)

        try:
            first = await retrying_disconnects(backend_pid)
            probe.drop_silently()
            second = await retrying_disconnects(backend_pid)
            assert second != first
            assert attempts == ["answered", "invalidated", "answered"]
        finally:
            await db.dispose()


async def test_a_driver_read_cancelled_mid_statement_leaves_no_transaction_behind():
    """Cancelled while its statement runs (a client gone, a deadline), a driver read's connection
    is not handed out again with the read-only transaction open or the statement in flight: the
    next checkout writes at once. And if ending the transaction fails, the connection is not
    handed out again at all."""
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        db = Database(Settings(database_url=url, secret_keys=keys))
        try:
            org_id = await create_organization(db, "Acme")

            async def slow_read() -> None:
                async with db.reading_driver(snapshot=True) as reads:
                    await reads.execute(sa.select(sa.func.pg_sleep(30)))

            task = asyncio.create_task(slow_read())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with asyncio.timeout(5), db.writing() as session:
                await session.execute(sa.text("UPDATE organization SET name = 'Acme 2' WHERE id = :id"),
                                      {"id": org_id})
            async with db.reading_driver(snapshot=False) as reads:
                row = await queries.organization(reads, org_id=org_id)
            assert row is not None and row.name == "Acme 2"

            # A rollback that fails leaves the transaction open: that connection goes.
            async with db.reading_driver(snapshot=True) as reads:
                pid = (await reads.execute(sa.select(sa.func.pg_backend_pid()))).scalar_one()
            failing = asyncpg.transaction.Transaction.rollback

            async def refused(self: object) -> None:
                raise asyncpg.InterfaceError("the rollback did not go through")

            asyncpg.transaction.Transaction.rollback = refused  # type: ignore[method-assign]
            try:
                with pytest.raises(asyncpg.InterfaceError):
                    async with db.reading_driver(snapshot=True) as reads:
                        await reads.execute(sa.select(sa.func.pg_backend_pid()))
            finally:
                asyncpg.transaction.Transaction.rollback = failing  # type: ignore[method-assign]
            async with asyncio.timeout(5), db.writing() as session:
                await session.execute(sa.text("UPDATE organization SET name = 'Acme 3' WHERE id = :id"),
                                      {"id": org_id})
                assert (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() != pid
        finally:
            await db.dispose()
