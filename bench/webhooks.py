"""Webhooks: how many deliveries one server process sends per second to a local receiver, and
what the audit trail and the outbox add to a mutation's latency.

Usage: .venv/bin/python -m bench.webhooks [--deliveries 2000] [--endpoints 1 20] [--rounds 3]
           [--mutations 300] [--database-url postgresql+asyncpg://...] [--only throughput latency]
(`make bench-webhooks` runs it with the defaults, about a minute on SQLite; options go in BENCH_ARGS.)

  1. Builds the runtime from Settings on a fresh SQLite file in a temporary directory (or, with
     --database-url, on a fresh database made on that PostgreSQL server and dropped at the end),
     with private webhook hosts allowed (the receiver is on loopback) and no background loops.
  2. Starts the receiver (bench/webhook_receiver.py: 204 to every POST) in a process of its own.
  3. Throughput: for each ENDPOINTS count, ROUNDS times: that many fresh endpoints (the earlier
     ones disabled), then DELIVERIES deliveries spread evenly over them, written as production
     writes them (services/audit.record in a unit of work, 100 happenings per transaction); then
     the real DeliveryWorker `run()` loop, timed from its start until no delivery is pending.
     Every delivery must end DELIVERED after one attempt, or the benchmark stops. Prints
     deliveries/s (median of the rounds, min-max).
  4. Write latency: MUTATIONS updateTelephonyConfig mutations (a new name each), one at a time,
     through the ASGI app in this process (no sockets), after 30 to warm up, in these setups:
     no audit trail at all (services/audit.record replaced by a no-op for this step only: the
     floor, what a write cost before the audit trail); no enabled endpoint (the audit event is
     written); one enabled endpoint subscribed to
     TELEPHONY_CONFIG_UPDATED only, its sender off (an outbox row is added); one subscribed to
     every event, sender off (the WARNINGS_CHANGED comparison is added: the organization's warning
     summary is computed in the write); and the same with this process's sender running,
     delivering to the receiver meanwhile.
     Prints the median and p95 of each, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from unittest.mock import patch

import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime, create_app
from gql_telephony.domain.audit import SYSTEM, AuditAction, Change, Happening, WebhookEventType
from gql_telephony.domain.ids import encode_id
from gql_telephony.services import audit
from gql_telephony.services.signing_secrets import new_secret, seal
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.services.unit_of_work import writing
from gql_telephony.settings import Settings
from gql_telephony.storage.deliveries import DELIVERIES, ENDPOINTS
from gql_telephony.storage.migrate import upgrade_to_head
from gql_telephony.storage.tables import utcnow
from gql_telephony.workers.webhook_delivery import DeliveryWorker
from tests.documents import CREATE, UPDATE, VALID
from tests.support import asgi_client, bearer

from .load import percentile
from .processes import free_port, server_env, started
from .provider_checks import database

PER_TRANSACTION = 100
WARM_UP = 30


async def add_endpoints(runtime: Runtime, org_id: int, url: str, count: int, events: list[str]) -> list[int]:
    """`count` fresh endpoints; every earlier one is disabled."""
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(enabled=False, disabled_reason="USER"))
        if not count:
            return []
        now = utcnow()
        result = await session.execute(sa.insert(ENDPOINTS).returning(ENDPOINTS.c.id), [
            {"organization_id": org_id, "url": url, "events": events, "secret": seal(runtime.vault, new_secret()),
             "created_at": now, "updated_at": now}
            for _ in range(count)
        ])
        return list(result.scalars().all())


async def enqueue(runtime: Runtime, org_id: int, happenings: int) -> None:
    for start in range(0, happenings, PER_TRANSACTION):
        async with writing(runtime.db, org_id) as session:
            await audit.record(session, runtime.vault, org_id=org_id, actor=SYSTEM, warnings_may_change=False,
                               happenings=[
                Happening(AuditAction.PHONE_NUMBER_ADDED, "PhoneNumber", encode_id("PhoneNumber", n),
                          (Change("label", None, "bench"),))
                for n in range(start, min(start + PER_TRANSACTION, happenings))
            ])


async def pending(runtime: Runtime) -> int:
    async with runtime.db.reading_rows() as connection:
        return int(await connection.scalar(
            sa.select(sa.func.count()).select_from(DELIVERIES).where(DELIVERIES.c.status == "PENDING")) or 0)


async def throughput(runtime: Runtime, org_id: int, url: str, endpoints: int, deliveries: int) -> float:
    ids = await add_endpoints(runtime, org_id, url, endpoints, ["PHONE_NUMBER_ADDED"])
    await enqueue(runtime, org_id, deliveries // endpoints)
    total = deliveries // endpoints * endpoints
    worker = DeliveryWorker(runtime.db, runtime.vault, runtime.broker, runtime.webhook_sender, retry_base=5.0,
                            give_up_after=86400)
    started_at = time.perf_counter()
    task = asyncio.create_task(worker.run())
    try:
        while await pending(runtime):
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started_at
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with runtime.db.reading_rows() as connection:
        done = await connection.scalar(sa.select(sa.func.count()).select_from(DELIVERIES).where(
            DELIVERIES.c.endpoint_id.in_(ids), DELIVERIES.c.status == "DELIVERED", DELIVERIES.c.attempt_count == 1))
    if done != total or worker.outcomes != {("delivered",): total}:
        raise SystemExit(f"FAIL: {done} of {total} delivered at the first attempt; outcomes {dict(worker.outcomes)}")
    return total / seconds


async def latencies(runtime: Runtime, org_id: int, count: int, sending: bool) -> list[float]:
    key = await create_api_key(runtime.db, org_id)
    async with asgi_client(create_app(runtime=runtime), headers=bearer(key)) as client:
        async def gql(query: str, variables: dict[str, object]) -> dict[str, object]:
            body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
            if body.get("errors"):
                raise SystemExit(f"FAIL: {body['errors']}")
            return body["data"]  # type: ignore[no-any-return]

        created = await gql(CREATE, {"input": {"name": "Bench", "provider": "TWILIO", "config": VALID["TWILIO"]}})
        config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]  # type: ignore[index]
        worker = asyncio.create_task(runtime.delivery_worker.run()) if sending else None
        timings = []
        try:
            for n in range(WARM_UP + count):
                started_at = time.perf_counter()
                await gql(UPDATE, {"input": {"id": config_id, "name": f"Bench {n}"}})
                if n >= WARM_UP:
                    timings.append((time.perf_counter() - started_at) * 1000)
        finally:
            if worker is not None:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
    return timings


async def measure(settings: Settings, url: str, args: argparse.Namespace) -> None:
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    org_id = await create_organization(runtime.db, "Bench Webhooks Inc.")
    try:
        print(f"# Webhook delivery throughput ({'PostgreSQL' if 'postgresql' in settings.database_url else 'SQLite'}, "
              f"{args.deliveries} deliveries a round, {args.rounds} rounds)\n")
        print("| endpoints | deliveries/s, median (min-max) |\n|---|---|")
        for endpoints in args.endpoints if "throughput" in args.only else []:
            rates = [await throughput(runtime, org_id, url, endpoints, args.deliveries) for _ in range(args.rounds)]
            print(f"| {endpoints} | {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f}) |", flush=True)

        if "latency" not in args.only:
            return
        print(f"\n# updateTelephonyConfig latency ({args.mutations} mutations, in-process ASGI)\n")
        print("| setup | median ms | p95 ms |\n|---|---|---|")
        every = [event.value for event in WebhookEventType]
        with patch.object(audit, "record", _skip_record):
            timings = await latencies(runtime, org_id, args.mutations, False)
        print(f"| no audit trail (the record skipped) | {percentile(timings, 0.5):.2f} "
              f"| {percentile(timings, 0.95):.2f} |", flush=True)
        for label, endpoints, events, sending in (
            ("no enabled endpoint", 0, every, False),
            ("1 endpoint subscribed to TELEPHONY_CONFIG_UPDATED only, sender off", 1, ["TELEPHONY_CONFIG_UPDATED"], False),
            ("1 endpoint subscribed to every event, sender off", 1, every, False),
            ("1 endpoint subscribed to every event, sender on", 1, every, True),
        ):
            await add_endpoints(runtime, org_id, url, endpoints, events)
            timings = await latencies(runtime, org_id, args.mutations, sending)
            print(f"| {label} | {percentile(timings, 0.5):.2f} | {percentile(timings, 0.95):.2f} |", flush=True)
    finally:
        await runtime.webhook_sender.aclose()
        await runtime.provider_http.aclose()
        await runtime.db.dispose()


async def _skip_record(*_args: object, **_kwargs: object) -> None:
    """services/audit.record as if the audit trail did not exist (the floor of the latency step)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mutations", type=int, default=300)
    parser.add_argument("--database-url")
    parser.add_argument("--only", nargs="+", choices=["throughput", "latency"], default=["throughput", "latency"])
    args = parser.parse_args()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-webhooks-")))
        db_url = stack.enter_context(database(args.database_url, workdir))
        settings = Settings(database_url=db_url, secret_keys=(Fernet.generate_key().decode(),),
                            provider_checks=False, allow_private_webhook_hosts=True)
        port = free_port()
        stack.enter_context(started(
            "receiver", [sys.executable, "-m", "bench.webhook_receiver", "--port", str(port)], server_env(),
            port, workdir / "receiver.log", cpu=None,
        ))
        asyncio.run(measure(settings, f"http://127.0.0.1:{port}/hook", args))


if __name__ == "__main__":
    main()
