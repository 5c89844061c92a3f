"""Fixtures of the dashboard's browser tests: one real server for the package (a `gql-telephony
serve` process on a SQLite file) with an organization, a read-write and a read-only key; one
chromium for the whole run; per test, fresh browser contexts behind the network guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database
from gql_telephony.storage.migrate import upgrade_to_head

from ..live.server import Server, running_server, server_env
from ..outbound.fakes.base import serve
from ..outbound.fakes.twilio import TwilioFake
from .dashboard import INIT_SCRIPT, Dashboard
from .harness import ARTIFACTS, SUMMARIES, TIMEOUT_MS, WIDE, WRITTEN, Api, NetworkLog, browser_or_skip

ORGANIZATION = "Acme Voice Browser Tests"


@dataclass
class DashboardServer:
    server: Server
    keys: dict[str, str]  # "admin" (read-write), "reader" (read-only), "doomed" (revoked by a test)
    database: Path
    secret_keys: str
    log_path: Path
    env: dict[str, str]  # a second process on the same database starts with it
    org_id: int
    twilio: TwilioFake  # the Twilio the server asks (accounts added by the tests)

    @property
    def url(self) -> str:
        return self.server.http + "/"

    def settings(self) -> Settings:
        """Settings for this process to reach the server's database (as the CLI would)."""
        return Settings(database_url=f"sqlite+aiosqlite:///{self.database}", secret_keys=(self.secret_keys,))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def provision(settings: Settings) -> tuple[int, dict[str, str]]:
    """The organization and its two keys, written before the server starts (in this process:
    three CLI runs would cost seconds; tests/test_cli.py covers those commands)."""
    db = Database(settings)
    try:
        await upgrade_to_head(db)
        org = await create_organization(db, ORGANIZATION)
        return org, {"admin": await create_api_key(db, org, label="dashboard admin"),
                "reader": await create_api_key(db, org, read_only=True, label="dashboard reader"),
                # For the one test that revokes its key while the page is open.
                "doomed": await create_api_key(db, org, label="dashboard doomed")}
    finally:
        await db.dispose()


@pytest.fixture(scope="package")
async def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DashboardServer]:
    """One server for the package's tests (each test names what it creates apart from the others')."""
    browser_or_skip()  # no server is started for tests that would skip anyway
    tmp = tmp_path_factory.mktemp("dashboard")
    database = tmp / "dashboard.sqlite3"
    secret_keys = Fernet.generate_key().decode()
    url = f"sqlite+aiosqlite:///{database}"
    org_id, keys = await provision(Settings(database_url=url, secret_keys=(secret_keys,)))
    twilio = TwilioFake()
    with serve(twilio) as twilio_origin:
        # Scheduled provider checks stay off (server_env): the warnings the tests watch come only
        # from what the tests change. "Check now" and imports still ask Twilio: the fake.
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret_keys,
                         GQL_TELEPHONY_PROVIDER_API_TWILIO=twilio_origin)
        log_path = tmp / "server.log"
        with running_server(env, log_path) as server:
            running = DashboardServer(server, keys, database, secret_keys, log_path, env, org_id, twilio)
            yield running
    log = running.log()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One chromium for every test of the run (a context per page keeps them apart)."""
    async_playwright, chromium = browser_or_skip()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def api(dashboard_server: DashboardServer) -> AsyncIterator[Api]:
    """Another client of the organization, with the read-write key."""
    client = Api(dashboard_server.server.http, dashboard_server.keys["admin"])
    yield client
    await client.aclose()


OpenDashboard = Callable[..., Awaitable[Dashboard]]


@pytest.fixture
async def open_dashboard(browser: Any, dashboard_server: DashboardServer) -> AsyncIterator[OpenDashboard]:
    """Opens the dashboard in a new browser context (no storage shared with other pages) behind
    the network guard; after the test, checks that no page reached beyond loopback or threw."""
    opened: list[tuple[Any, NetworkLog]] = []

    async def open_one(viewport: dict[str, int] = WIDE, *, context_setup: Callable[[Any], Awaitable[None]] | None = None,
                       goto: bool = True, url: str | None = None) -> Dashboard:
        context = await browser.new_context(viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        network = NetworkLog()
        await network.install(context)
        await context.add_init_script(INIT_SCRIPT)
        if context_setup is not None:
            await context_setup(context)
        opened.append((context, network))
        page = await context.new_page()
        dashboard = Dashboard(page, network, url or dashboard_server.url)
        if goto:
            await dashboard.goto()
        return dashboard

    yield open_one
    for context, _ in opened:
        await context.close()
    for _, network in opened:
        network.assert_clean()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WRITTEN:
        terminalreporter.write_line(f"dashboard: {len(WRITTEN)} files written (screenshots, figures) in {ARTIFACTS}")
    for summary in SUMMARIES:
        terminalreporter.write_line(f"dashboard: {summary}")
