"""What the dashboard's browser tests share: the network guard and its request log, the API as
"another client" sees it, and the artifacts a run keeps (screenshots, measured figures).

The browser is the system's chromium (Debian's package) driven by Playwright, which downloads
nothing; the page may reach the test's server on loopback and nothing else."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError

from gql_telephony.crypto import Vault

from ..backends import skip_or_fail
from ..documents import ADD_NUMBER, CREATE, VALID
from ..support import bearer

ROOT = Path(__file__).resolve().parents[2]
# Kept after the run (gitignored); GQL_TELEPHONY_TEST_ARTIFACTS moves it (a CI job may upload it).
ARTIFACTS = Path(os.environ.get("GQL_TELEPHONY_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "dashboard"
TIMEOUT_MS = 15_000  # what any one thing the page should do may take (a loaded CI machine is slow)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
KEY_STORAGE = "gql-telephony.apiKey"  # the sessionStorage entry the spec names
WIDE = {"width": 1280, "height": 800}
# What "another client" does most: rename a configuration (every test's page should show it).
RENAME = """mutation Rename($id: ID!, $name: String!) {
  updateTelephonyConfig(input: {id: $id, name: $name}) { telephonyConfig { id name } userErrors { field message code } }
}"""
NARROW = {"width": 375, "height": 740}


def browser_or_skip() -> tuple[Any, str]:
    """Playwright's async entry point and the system chromium; a skip without them (a failure
    under GQL_TELEPHONY_REQUIRE_SERVICES=1)."""
    try:
        from playwright.async_api import async_playwright  # noqa: PLC0415 - optional: the tests skip without it
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright; the test extras have it)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        skip_or_fail("no chromium on PATH (apt-get install chromium)")
    return async_playwright, chromium


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    body: str | None
    resource_type: str
    authorization: str | None


@dataclass
class NetworkLog:
    """Every request a browser context made (it passes through the guard), what the guard
    refused, the WebSockets the pages opened, and the pages' uncaught errors."""

    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # What the page's Content-Security-Policy blocked (such a request never reaches the guard).
    blocked_by_policy: list[str] = field(default_factory=list)

    async def guard(self, route: Any) -> None:
        request = route.request
        self.sent.append(Sent(request.method, request.url, request.post_data, request.resource_type,
                              request.headers.get("authorization")))
        if is_loopback(request.url):
            await route.continue_()
        else:
            self.refused.append(request.url)
            await route.abort("internetdisconnected")

    async def socket_guard(self, socket: Any) -> None:
        """Only for WebSockets to anywhere but loopback (see install): refused, never connected."""
        self.refused.append(socket.url)
        await socket.close(code=1008, reason="not loopback")

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(f"{error.message} (at {page.url}) {error.stack or ''}"))
        page.on("websocket", lambda socket: self.sockets.append(socket.url))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.blocked_by_policy.append(message.text)

    async def install(self, context: Any) -> None:
        await context.route("**/*", self.guard)
        await context.route_web_socket(lambda url: not is_loopback(url), self.socket_guard)
        context.on("page", self.watch)

    def graphql_posts(self) -> list[dict[str, Any]]:
        """The JSON bodies of the POSTs to /graphql (a batch counts each of its operations)."""
        bodies: list[dict[str, Any]] = []
        for sent in self.sent:
            if sent.method == "POST" and urlsplit(sent.url).path == "/graphql" and sent.body:
                body = json.loads(sent.body)
                bodies.extend(body if isinstance(body, list) else [body])
        return bodies

    def mutations(self) -> list[str]:
        """The GraphQL documents posted that hold a mutation (parsed, not searched for a word:
        a field or a string may say "mutation")."""
        return [body["query"] for body in self.graphql_posts() if holds_mutation(body.get("query", ""))]

    def assert_clean(self) -> None:
        assert self.refused == [], f"the page tried to reach beyond loopback: {self.refused}"
        assert all(is_loopback(url) for url in self.sockets), self.sockets
        assert self.page_errors == [], f"uncaught errors in the page: {self.page_errors}"
        assert self.blocked_by_policy == [], f"the page's own policy blocked: {self.blocked_by_policy}"


def holds_mutation(document: str) -> bool:
    try:
        parsed = parse(document)
    except GraphQLSyntaxError:
        # Not GraphQL the server would run; still, a document naming a mutation counts as one.
        return re.search(r"^\s*mutation\b", document, re.MULTILINE) is not None
    return any(isinstance(node, OperationDefinitionNode) and node.operation is OperationType.MUTATION
               for node in parsed.definitions)


class Api:
    """Another client of the same organization, through the public API over HTTP."""

    def __init__(self, base: str, key: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=15)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, query: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
        """The mutation's payload, which must carry no user error."""
        payload: dict[str, Any] = (await self(query, variables))[name]
        assert payload["userErrors"] == [], payload
        return payload

    async def create_config(self, name: str, provider: str = "TWILIO", config: dict[str, Any] | None = None,
                            ) -> dict[str, Any]:
        payload = await self.mutate(CREATE, {"input": {"name": name, "provider": provider,
                                                       "config": config or VALID[provider]}},
                                    "createTelephonyConfig")
        created: dict[str, Any] = payload["telephonyConfig"]
        return created

    async def add_number(self, config_id: str, number: str, label: str | None = None) -> dict[str, Any]:
        payload = await self.mutate(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": number,
                                                           "label": label}}, "addPhoneNumber")
        added: dict[str, Any] = payload["phoneNumber"]
        return added

    async def aclose(self) -> None:
        await self.client.aclose()


def stored_secrets(database: Path, secret_keys: str, config_name: str) -> dict[str, object]:
    """A configuration's secrets as stored, decrypted: what the API only ever shows masked. (Once,
    in a whole run, the row was not found right after a save that the page had shown done: it is
    looked for again for a second, and if still missing the names that are there are reported.)"""
    deadline = time.monotonic() + 1.0
    while True:
        connection = sqlite3.connect(database)
        try:
            row = connection.execute("SELECT secrets FROM telephony_config WHERE name = ?", (config_name,)).fetchone()
            names = [found for (found,) in connection.execute("SELECT name FROM telephony_config")]
        finally:
            connection.close()
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert row is not None, f"{config_name!r} not among {names}"
    return Vault(secret_keys.split(",")).decrypt_json(row[0])


# What this run wrote, for the summary at its end (pytest -q shows no test's output).
WRITTEN: list[Path] = []
SUMMARIES: list[str] = []


def save_figures(name: str, figures: dict[str, Any], summary: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    WRITTEN.append(path)
    SUMMARIES.append(summary)
    return path


async def screenshot(page: Any, name: str) -> Path:
    """The whole page, under ARTIFACTS, named for the screen and the viewport's width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = ARTIFACTS / f"{name}-{width}.png"
    await page.screenshot(path=str(path), full_page=True)
    WRITTEN.append(path)
    return path
