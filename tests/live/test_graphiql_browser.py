"""GraphiQL in a real browser with no network beyond loopback: `serve --demo` as `make run`
starts it, the key typed into the headers pane, the README's first query and a subscription.

Drives the system's chromium (Debian's package) with Playwright; no browser is downloaded.
Skips without them, fails instead under GQL_TELEPHONY_REQUIRE_SERVICES=1 (CI installs both)."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from ..backends import skip_or_fail
from .server import running_server, server_env

# The README's first query ("Two commands").
FIRST_QUERY = """{
  telephonyProviders { key name notes connectivity fields { key label type required secret } }
  telephonyConfigWarnings { totalCount hasDefaultOutbound byCode { code count } }
}"""
SUBSCRIPTION = "subscription { telephonyConfigWarningsChanged { totalCount } }"
TIMEOUT_MS = 15_000

# The text of a GraphiQL editor (CodeMirror 5 keeps its instance on the wrapper element).
EDITOR_TEXT = "selector => document.querySelector(selector)?.CodeMirror?.getValue() ?? ''"
RESPONSE = ".result-window .CodeMirror"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"


def browser_or_skip() -> tuple[Any, str]:
    try:
        from playwright.async_api import async_playwright  # noqa: PLC0415 - optional: the test skips without it
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright; the test extras have it)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        skip_or_fail("no chromium on PATH (apt-get install chromium)")
    return async_playwright, chromium


def demo_key(log: str) -> str:
    found = re.search(r"\b(gqlt_\S+)", log)
    assert found, f"serve --demo printed no key:\n{log[-2000:]}"
    return found[1]


async def replace_text(page: Any, editor: str, text: str) -> None:
    await page.click(editor)
    await page.keyboard.press("Control+A")
    # Inserted as typed text, but without the editor closing brackets and quotes on the way.
    await page.keyboard.insert_text(text)


async def replace_query(page: Any, query: str) -> None:
    await replace_text(page, QUERY_EDITOR, query)
    # GraphiQL reads the operation's kind 100 ms after an edit (a subscription run sooner would
    # go over HTTP); the page's onEditQuery, which runs then, puts the query into the address.
    await page.wait_for_function(f"new URLSearchParams(location.search).get('q') === {json.dumps(query)}",
                                 timeout=TIMEOUT_MS)


async def run_and_read(page: Any, expected: str) -> dict[str, Any]:
    """Press GraphiQL's run button; the response pane's JSON once it holds `expected`."""
    await page.click(".graphiql-execute-button")
    try:
        await page.wait_for_function(f"({EDITOR_TEXT})({json.dumps(RESPONSE)}).includes({json.dumps(expected)})",
                                     timeout=TIMEOUT_MS)
    except Exception as timeout:
        shown = {name: await page.evaluate(EDITOR_TEXT, selector) for name, selector in
                 (("query", QUERY_EDITOR), ("headers", HEADERS_EDITOR), ("response", RESPONSE))}
        raise AssertionError(f"GraphiQL showed no {expected}: {shown}") from timeout
    result: dict[str, Any] = json.loads(await page.evaluate(EDITOR_TEXT, RESPONSE))
    return result


async def test_graphiql_runs_the_readme_query_and_a_subscription_offline(tmp_path):
    async_playwright, chromium = browser_or_skip()
    env = server_env(
        GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
    )
    log_path = tmp_path / "server.log"
    with running_server(env, log_path, extra_args=("--demo",)) as server:
        key = demo_key(log_path.read_text())
        refused: list[str] = []
        page_errors: list[str] = []

        async def loopback_only(route: Any) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                await route.continue_()
            else:
                refused.append(route.request.url)
                await route.abort("internetdisconnected")

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, headless=True)
            try:
                context = await browser.new_context()
                await context.route("**/*", loopback_only)
                page = await context.new_page()
                page.on("pageerror", lambda error: page_errors.append(str(error)))
                sockets: list[str] = []
                page.on("websocket", lambda socket: sockets.append(socket.url))

                await page.goto(f"{server.http}/graphql", timeout=TIMEOUT_MS)
                try:
                    await page.wait_for_selector(QUERY_EDITOR, timeout=TIMEOUT_MS)
                except Exception as timeout:
                    raise AssertionError(f"GraphiQL stayed on 'Loading...'; refused: {refused}") from timeout

                await page.get_by_role("button", name="Headers").click()
                await replace_text(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {key}"}))

                await replace_query(page, FIRST_QUERY)
                result = await run_and_read(page, "telephonyProviders")
                assert "errors" not in result, result
                assert {"TWILIO", "TELNYX"} <= {provider["key"] for provider in result["data"]["telephonyProviders"]}
                assert isinstance(result["data"]["telephonyConfigWarnings"]["totalCount"], int)

                await replace_query(page, SUBSCRIPTION)
                result = await run_and_read(page, "telephonyConfigWarningsChanged")
                assert "errors" not in result, result
                assert isinstance(result["data"]["telephonyConfigWarningsChanged"]["totalCount"], int)
                assert any(url.startswith(server.ws) for url in sockets), sockets
            finally:
                await browser.close()

        assert refused == [], "the page tried to load something from outside the server"
        assert page_errors == []
        assert "Traceback" not in log_path.read_text()

