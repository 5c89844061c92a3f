"""Provider checks in real server processes: two servers on one database share the scheduled
checks through leases (each configuration checked once per interval), and a change is checked
within seconds, with the subscribers' summary following."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict

import httpx
from cryptography.fernet import Fernet

from ..documents import CREATE, UPDATE
from ..outbound.fakes.base import serve
from ..outbound.fakes.twilio import TwilioAccount, TwilioFake
from ..support import bearer
from .server import cli, running_server, server_env
from .ws_client import Subscriber

INTERVAL = 2  # seconds between scheduled checks of one configuration
WATCH = 9.0  # seconds the account requests are watched


def sid(n: int) -> str:
    return "AC" + f"{n:032x}"


async def test_two_servers_check_each_configuration_once_per_interval(shared_database, tmp_path):
    fake = TwilioFake()
    accounts = [fake.add(TwilioAccount(sid(n), f"{n:032x}")) for n in range(1, 4)]
    with serve(fake) as origin:
        env = server_env(**shared_database, GQL_TELEPHONY_PROVIDER_CHECKS="1",
                         GQL_TELEPHONY_PROVIDER_API_TWILIO=origin,
                         GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL=str(INTERVAL))
        cli(["migrate"], env)
        key = cli(["create-api-key", cli(["create-org", "Checks"], env)], env)
        with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
            async with httpx.AsyncClient(headers=bearer(key), timeout=30) as client:
                for n, account in enumerate(accounts):
                    server = (first, second)[n % 2]
                    response = await client.post(f"{server.http}/graphql", json={"query": CREATE, "variables": {
                        "input": {"name": f"Twilio {n}", "provider": "TWILIO",
                                  "config": {"account_sid": account.sid, "auth_token": account.token}},
                    }})
                    assert response.json()["data"]["createTelephonyConfig"]["userErrors"] == []
                await asyncio.sleep(WATCH)
                metrics = [(await client.get(f"{s.http}/metrics")).text for s in (first, second)]
        logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()

    asked: dict[str, list[float]] = defaultdict(list)
    for seen in fake.seen():
        if seen.path.endswith(".json") and "IncomingPhoneNumbers" not in seen.path:
            asked[seen.path.split("/")[-1].removesuffix(".json")].append(seen.at)
    for account in accounts:
        times = asked[account.sid]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        # Once at creation, then every INTERVAL (±10%): about WATCH / INTERVAL + 1 checks; a check
        # run by both processes would show as a gap near zero.
        assert WATCH / INTERVAL - 1 <= len(times) <= WATCH / INTERVAL + 2, (account.sid, times)
        assert min(gaps) >= INTERVAL * 0.85, (account.sid, gaps)
    # Both processes took part: each counted provider calls of its own.
    # (labels in any order: the exposition format does not fix one)
    twilio_ok = re.compile(r'^gql_telephony_provider_requests_total\{(?=[^}]*provider="TWILIO")(?=[^}]*outcome="ok")'
                           r'[^}]*\} [1-9]', re.MULTILINE)
    assert all(twilio_ok.search(text) for text in metrics), metrics
    assert "Traceback" not in logs and "database is locked" not in logs


async def test_a_background_check_reaches_a_websocket_subscriber(tmp_path):
    """A real server process checks a new configuration by itself; the subscriber's summary
    gains the provider's warning, then loses it when the credentials are corrected."""
    fake = TwilioFake()
    account = fake.add(TwilioAccount(sid(9), "9" * 32))
    with serve(fake) as origin:
        env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'ws.sqlite3'}",
                         GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
                         GQL_TELEPHONY_PROVIDER_CHECKS="1", GQL_TELEPHONY_PROVIDER_API_TWILIO=origin)
        key = cli(["create-api-key", cli(["create-org", "Live checks"], env)], env)
        with running_server(env, tmp_path / "ws.log") as server:
            subscriber = Subscriber(server.ws, key)
            assert (await subscriber.connect())["type"] == "connection_ack"
            await subscriber.subscribe()
            await subscriber.next_data()
            async with httpx.AsyncClient(headers=bearer(key), timeout=30) as client:
                created = (await client.post(f"{server.http}/graphql", json={"query": CREATE, "variables": {"input": {
                    "name": "Twilio", "provider": "TWILIO",
                    "config": {"account_sid": account.sid, "auth_token": "8" * 32},  # a token Twilio refuses
                }}})).json()["data"]["createTelephonyConfig"]["telephonyConfig"]
                codes = await until_codes(subscriber, lambda found: "PROVIDER_CREDENTIALS_REJECTED" in found)
                assert codes["PROVIDER_CREDENTIALS_REJECTED"] == 1
                await client.post(f"{server.http}/graphql", json={"query": UPDATE, "variables": {"input": {
                    "id": created["id"], "config": {"auth_token": account.token}}}})
                await until_codes(subscriber, lambda found: "PROVIDER_CREDENTIALS_REJECTED" not in found)
            await subscriber.close()


async def until_codes(subscriber, done) -> dict[str, int]:
    """The summaries the subscriber receives until one's codes satisfy `done`."""
    while True:
        summary = await subscriber.next_data(timeout=15)
        codes = {entry["code"]: entry["count"] for entry in summary["byCode"]}
        if done(codes):
            return codes
