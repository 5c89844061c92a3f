"""The open page follows changes made elsewhere through the API, without a reload, and its
connection state follows the WebSocket: cut (the browser's socket closed under it), then back."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from ..documents import UPDATE, VALID
from ..live.server import CLI, free_port, healthy_process
from .dashboard import Dashboard, expect, until_severity
from .harness import RENAME, is_loopback, screenshot

SUMMARY = "{ telephonyConfigWarnings { bySeverity { critical warning info } } }"


def navigations(dashboard: Dashboard) -> list[str]:
    """The main frame's navigations from now on (a reload would add one)."""
    seen: list[str] = []
    page = dashboard.page
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


async def test_changes_made_elsewhere_show_without_a_reload(open_dashboard, dashboard_server, api):
    first = await api.create_config("Live Twilio")
    await api.add_number(first["id"], "+14155550181")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await dashboard.open_config("Live Twilio")
    await dashboard.until_live()
    await dashboard.mark()
    navigated = navigations(dashboard)

    await api.mutate(RENAME, {"id": first["id"], "name": "Live Twilio renamed"}, "updateTelephonyConfig")
    await expect(dashboard.config_row(first["id"])).to_contain_text("Live Twilio renamed")
    await expect(dashboard.details("Live Twilio renamed")).to_be_visible()  # the open one follows too

    # A new configuration: Telnyx without its webhook key (a warning) and no number (critical).
    telnyx = await api.create_config("Live Telnyx", "TELNYX")
    row = dashboard.config_row(telnyx["id"])
    await expect(row).to_contain_text("Live Telnyx")
    await until_severity(row, "critical", 1)
    await until_severity(row, "warning", 1)
    await until_summary_matches(dashboard, api)
    await screenshot(page, "live-warnings")

    await api.add_number(telnyx["id"], "+14155550182")
    await until_severity(row, "critical", 0)
    await until_severity(row, "warning", 1)
    await api.mutate(UPDATE, {"input": {"id": telnyx["id"], "config": {**VALID["TELNYX"], "webhook_public_key": "a" * 44}}},
                     "updateTelephonyConfig")
    await until_severity(row, "warning", 0)
    await until_summary_matches(dashboard, api)

    await expect(dashboard.connection).to_have_text("Live")
    assert await dashboard.marked(), "the page was reloaded"
    assert navigated == []


async def until_summary_matches(dashboard: Dashboard, api) -> None:
    """The page's warnings summary shows the organization's counts as the API tells them."""
    counts = (await api(SUMMARY))["telephonyConfigWarnings"]["bySeverity"]
    summary = dashboard.warnings_summary()
    for severity, count in counts.items():
        await until_severity(summary, severity, count)


class SocketSwitch:
    """Stands between the page's WebSockets and the server, passing each message on: `cut()`
    closes every open socket (as a server going away would) and refuses new ones until
    `restore()`. While `holding`, the page's subscribe messages wait for `release()`."""

    def __init__(self, *, holding: bool = False) -> None:
        self.on = True
        self.holding = holding
        self.open: list[tuple[Any, Any]] = []
        self.held: list[tuple[Any, str]] = []
        self.refused = 0
        self.refusal = asyncio.Event()
        self.subscribe_held = asyncio.Event()
        self.delivered = asyncio.Event()  # a subscription's message reached the page

    async def handle(self, socket: Any) -> None:
        if not self.on:
            self.refused += 1
            self.refusal.set()
            await socket.close(code=1012, reason="server restarting")
            return
        server = socket.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if self.holding and message_type(message) == "subscribe":
                self.held.append((server, str(message)))
                self.subscribe_held.set()
            else:
                server.send(message)

        def from_server(message: str | bytes) -> None:
            socket.send(message)
            if message_type(message) == "next":
                self.delivered.set()

        socket.on_message(from_page)
        server.on_message(from_server)
        self.open.append((socket, server))

    def release(self) -> None:
        self.holding = False
        for server, message in self.held:
            server.send(message)
        self.held.clear()

    async def cut(self) -> None:
        self.on = False
        self.refusal.clear()
        for page_side, server_side in self.open:
            await server_side.close(code=1001, reason="going away")
            await page_side.close(code=1001, reason="going away")
        self.open.clear()

    def restore(self) -> None:
        self.on = True

    async def install(self, context: Any) -> None:
        await context.route_web_socket(is_loopback, self.handle)


def message_type(message: str | bytes) -> str | None:
    try:
        kind = json.loads(message).get("type")
    except (ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


async def test_a_change_before_the_subscription_starts_is_shown(open_dashboard, dashboard_server, api):
    """The page reads the configurations, then subscribes: a change in between is announced by no
    event, only by the subscription's first dataVersion being newer than the one the page read."""
    config = await api.create_config("Early Twilio")
    switch = SocketSwitch(holding=True)
    dashboard = await open_dashboard(context_setup=switch.install)
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await expect(dashboard.config_row(config["id"])).to_contain_text("Early Twilio")
    await asyncio.wait_for(switch.subscribe_held.wait(), 10)
    await api.mutate(RENAME, {"id": config["id"], "name": "Early Twilio renamed"}, "updateTelephonyConfig")
    switch.release()
    await asyncio.wait_for(switch.delivered.wait(), 10)
    await expect(dashboard.config_row(config["id"])).to_contain_text("Early Twilio renamed")


async def test_the_connection_state_follows_the_socket_and_the_page_catches_up(open_dashboard, dashboard_server, api):
    config = await api.create_config("Reconnecting Twilio")
    await api.add_number(config["id"], "+14155550183")
    switch = SocketSwitch()
    dashboard = await open_dashboard(context_setup=switch.install)
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await expect(dashboard.config_row(config["id"])).to_be_visible()
    await dashboard.until_live()
    await asyncio.wait_for(switch.delivered.wait(), 10)  # the subscription's first message: the page is current
    await dashboard.mark()

    await switch.cut()
    await expect(dashboard.connection).to_have_text(re.compile("^(Reconnecting…|Offline)$"))
    await asyncio.wait_for(switch.refusal.wait(), 15)  # the page tried again, and was refused
    await expect(dashboard.connection).to_have_text(re.compile("^(Reconnecting…|Offline)$"))
    await screenshot(page, "reconnecting")
    # A change while the page cannot hear of it ...
    await api.mutate(RENAME, {"id": config["id"], "name": "Renamed while offline"}, "updateTelephonyConfig")

    switch.restore()
    await expect(dashboard.connection).to_have_text("Live", timeout=20_000)
    # ... is shown once it is back, and later changes are heard again.
    await expect(dashboard.config_row(config["id"])).to_contain_text("Renamed while offline")
    await api.mutate(RENAME, {"id": config["id"], "name": "Renamed after reconnecting"}, "updateTelephonyConfig")
    await expect(dashboard.config_row(config["id"])).to_contain_text("Renamed after reconnecting")
    assert await dashboard.marked(), "the page was reloaded"
    assert switch.refused >= 1


async def test_a_server_restart_shows_as_reconnecting_then_live(open_dashboard, dashboard_server, api, tmp_path):
    """A second server process on the module's database, stopped (SIGTERM) and started again on
    its port while the page stays open."""
    config = await api.create_config("Restarted Twilio")
    port = free_port()
    command = [*CLI, "serve", "--port", str(port)]
    log_path = tmp_path / "restarted.log"
    with healthy_process(command, dashboard_server.env, port, log_path):
        dashboard = await open_dashboard(url=f"http://127.0.0.1:{port}/")
        await dashboard.sign_in(dashboard_server.keys["admin"])
        await expect(dashboard.config_row(config["id"])).to_be_visible()
        await dashboard.until_live()
        await dashboard.mark()
    await expect(dashboard.connection).to_have_text(re.compile("^(Reconnecting…|Offline)$"))
    await api.mutate(RENAME, {"id": config["id"], "name": "Renamed while the server was down"}, "updateTelephonyConfig")
    with healthy_process(command, dashboard_server.env, port, log_path):
        await expect(dashboard.connection).to_have_text("Live", timeout=20_000)
        await expect(dashboard.config_row(config["id"])).to_contain_text("Renamed while the server was down")
        assert await dashboard.marked(), "the page was reloaded"
    assert "Traceback" not in log_path.read_text()
