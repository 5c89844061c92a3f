"""Signing in and out, what a read-only key is shown, accessibility checks at both widths, and
the page's weight and time to first render (measured and kept, not asserted)."""

from __future__ import annotations

import re
import time

import pytest

from gql_telephony.services.tenancy import list_api_keys, revoke_api_key
from gql_telephony.storage.db import Database

from .conftest import ORGANIZATION
from .dashboard import CONNECTION_STATES, WRITE_BUTTONS, WRITE_FORMS, expect
from .harness import NARROW, RENAME, WIDE, NetworkLog, save_figures, screenshot


async def test_sign_in_keeps_the_key_in_session_storage_only_and_sign_out_forgets_it(open_dashboard, dashboard_server):
    key = dashboard_server.keys["admin"]
    dashboard = await open_dashboard()
    page = dashboard.page
    await screenshot(page, "sign-in")

    await dashboard.sign_in_form.get_by_label("API key", exact=True).fill("gqlt_this-key-does-not-exist")
    await dashboard.sign_in_form.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert").filter(has_text="refused")).to_be_visible()
    await screenshot(page, "sign-in-refused")

    refused_requests = len(dashboard.network.sent)
    await dashboard.sign_in(key)
    await expect(dashboard.header).to_contain_text(ORGANIZATION)
    await expect(dashboard.header).to_contain_text("dashboard admin")  # the key's label
    await expect(dashboard.header.get_by_text("Read-only", exact=True)).to_have_count(0)
    await dashboard.until_live()
    assert await dashboard.connection.inner_text() in CONNECTION_STATES

    stored = await dashboard.stored_key()
    assert stored["session"] == key
    assert not any(key in value for value in stored["localValues"]), "the key is in localStorage"
    assert key not in stored["cookie"] and await page.context.cookies() == []
    assert key not in stored["url"]
    # It travels only as the Authorization header of the page's requests, never in an address.
    assert all(key not in sent.url for sent in dashboard.network.sent)
    posts = [sent for sent in dashboard.network.sent[refused_requests:] if sent.method == "POST"]
    assert posts and all(sent.authorization == f"Bearer {key}" for sent in posts if "/graphql" in sent.url)

    # Kept for the tab: a reload stays signed in.
    await page.reload()
    await expect(dashboard.header).to_contain_text(ORGANIZATION)
    # Signed out once connected: signing out while the socket still connects leaves graphql-ws's
    # CloseEvent as an uncaught rejection in the page, now and then (reported, not tested here).
    await dashboard.until_live()

    await dashboard.sign_out()
    stored = await dashboard.stored_key()
    assert stored["session"] is None
    assert not any(key in value for value in stored["sessionValues"] + stored["localValues"])
    await page.reload()
    await expect(dashboard.sign_in_form).to_be_visible()
    await expect(dashboard.header.get_by_role("button", name="Sign out")).to_have_count(0)


async def test_a_key_revoked_while_the_page_is_open_signs_it_out_with_a_message(open_dashboard, dashboard_server):
    dashboard = await open_dashboard()
    await dashboard.sign_in(dashboard_server.keys["doomed"])
    await dashboard.until_live()
    db = Database(dashboard_server.settings())
    try:
        doomed = [key for key in await list_api_keys(db, dashboard_server.org_id) if key.label == "dashboard doomed"]
        await revoke_api_key(db, doomed[0].id)
    finally:
        await db.dispose()
    # The server closes the key's WebSockets (4403) within 5 seconds; the page signs out.
    await expect(dashboard.sign_in_form).to_be_visible(timeout=20_000)
    await expect(dashboard.page.get_by_role("alert").filter(has_text="refused")).to_be_visible()
    assert (await dashboard.stored_key())["session"] is None


async def test_a_read_only_key_sees_no_write_control_and_sends_no_mutation(open_dashboard, dashboard_server, api):
    config = await api.create_config("Reader's view")
    await api.add_number(config["id"], "+14155550142", "front desk")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["reader"])
    await expect(dashboard.header.get_by_text("Read-only", exact=True)).to_be_visible()
    await expect(dashboard.config_row(config["id"])).to_be_visible()
    await dashboard.open_config("Reader's view")
    await expect(dashboard.number_row("+14155550142")).to_be_visible()
    await dashboard.until_live()

    for name in WRITE_BUTTONS:
        await expect(page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b"))).to_have_count(0)
    for name in WRITE_FORMS:
        await expect(page.get_by_role("form", name=name, exact=True)).to_have_count(0)
    await expect(page.get_by_role("form", name=re.compile("^Edit "))).to_have_count(0)
    await screenshot(page, "read-only")
    await page.set_viewport_size(NARROW)
    await screenshot(page, "read-only")

    # A change elsewhere is shown (the page refetches with the read-only key, by queries only).
    await api.mutate(RENAME, {"id": config["id"], "name": "Reader's view, renamed"}, "updateTelephonyConfig")
    await expect(dashboard.config_row(config["id"])).to_contain_text("Reader's view, renamed")

    assert dashboard.network.graphql_posts(), "the request log saw none of the page's queries"
    assert dashboard.network.mutations() == []


# Every form control and button without an accessible name (a placeholder is not one), and
# how wide the page is against the window.
ACCESSIBILITY = """() => {
  const text = element => (element?.textContent ?? '').trim();
  const named = element => Boolean(
    element.getAttribute('aria-label')?.trim()
    || (element.getAttribute('aria-labelledby') ?? '').split(/\\s+/).some(id => text(document.getElementById(id)))
    || [...(element.labels ?? [])].some(label => text(label))
    || element.getAttribute('title')?.trim());
  const shown = element => element.getClientRects().length > 0;
  const describe = element => element.outerHTML.slice(0, 200);
  const fields = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(shown);
  const buttons = [...document.querySelectorAll('button, [role=button], input[type=submit], input[type=button]')]
    .filter(shown);
  const links = [...document.querySelectorAll('a[href]')].filter(shown);
  return {
    unnamedFields: fields.filter(field => !named(field)).map(describe),
    unnamedButtons: buttons.filter(button => !named(button) && !text(button) && !button.value).map(describe),
    unnamedLinks: links.filter(link => !named(link) && !text(link)).map(describe),
    fields: fields.length, buttons: buttons.length,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  };
}"""


async def accessible(page, screen: str) -> dict[str, int]:
    found = await page.evaluate(ACCESSIBILITY)
    assert found["unnamedFields"] == [], (screen, found["unnamedFields"])
    assert found["unnamedButtons"] == [], (screen, found["unnamedButtons"])
    assert found["unnamedLinks"] == [], (screen, found["unnamedLinks"])
    if found["innerWidth"] <= NARROW["width"]:
        assert found["scrollWidth"] <= NARROW["width"], f"{screen}: the page scrolls sideways ({found['scrollWidth']}px)"
    await screenshot(page, f"a11y-{screen}")
    return {"fields": found["fields"], "buttons": found["buttons"]}


async def test_every_control_has_a_name_and_nothing_scrolls_sideways_at_375(open_dashboard, dashboard_server, api):
    config = await api.create_config("Accessible Twilio")
    await api.add_number(config["id"], "+14155550143")
    checked: dict[str, dict[str, int]] = {}
    for viewport in (NARROW, WIDE):
        dashboard = await open_dashboard(viewport)
        page = dashboard.page
        width = viewport["width"]
        checked[f"sign-in-{width}"] = await accessible(page, "sign-in")
        # Keyboard only: the key typed into the focused field, Enter submits.
        await dashboard.sign_in_form.get_by_label("API key", exact=True).focus()
        await page.keyboard.type(dashboard_server.keys["admin"])
        await page.keyboard.press("Enter")
        await expect(dashboard.config_row(config["id"])).to_be_visible()
        checked[f"list-{width}"] = await accessible(page, "list")
        await focus_is_visible_along_the_tab_order(page)
        await dashboard.open_config("Accessible Twilio")
        await expect(dashboard.number_row("+14155550143")).to_be_visible()
        checked[f"details-{width}"] = await accessible(page, "details")
        await page.get_by_role("button", name="New configuration", exact=True).click()
        form = page.get_by_role("form", name="New configuration", exact=True)
        await expect(form.get_by_label("Name", exact=True)).to_be_visible()
        checked[f"new-configuration-{width}"] = await accessible(page, "new-configuration")
    # The checks looked at something: the forms' fields and the details' buttons.
    assert all(found["fields"] for screen, found in checked.items() if not screen.startswith("list")), checked
    assert checked[f"details-{WIDE['width']}"]["buttons"] >= 5, checked


# The focused element: what it is and whether something shows where it is (an outline or a
# shadow drawn for focus).
FOCUSED = """() => {
  const element = document.activeElement ?? document.body;
  const style = getComputedStyle(element);
  return {
    element: element.outerHTML.slice(0, 120),
    interactive: element.matches('a[href], button, input, select, textarea, summary, [tabindex]'),
    shown: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
  };
}"""


async def focus_is_visible_along_the_tab_order(page, steps: int = 8) -> None:
    """Keyboard users reach controls only, and see where they are."""
    seen = []
    for _ in range(steps):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused["element"].startswith("<body"):
            break  # past the last control: the focus left the page for the browser's own
        seen.append(focused)
    assert len(seen) >= 3, seen
    assert all(focused["interactive"] and focused["shown"] for focused in seen), seen


# What the browser measured of the first load: the navigation and every resource (transfer and
# body sizes, which the server's own origin reports), and the paint entries.
PERFORMANCE = """() => {
  const entry = e => ({name: e.name, type: e.initiatorType ?? 'navigation', transferSize: e.transferSize,
                       encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize,
                       duration: Math.round(e.duration)});
  return {
    navigation: performance.getEntriesByType('navigation').map(entry),
    resources: performance.getEntriesByType('resource').map(entry),
    paint: Object.fromEntries(performance.getEntriesByType('paint').map(p => [p.name, Math.round(p.startTime)])),
  };
}"""


async def test_page_weight_and_time_to_first_render_are_measured(open_dashboard, dashboard_server, api):
    config = await api.create_config("Measured Twilio")
    dashboard = await open_dashboard(goto=False)
    page = dashboard.page
    responses: list = []
    page.on("response", lambda response: responses.append(response))
    started = time.monotonic()
    await dashboard.goto()
    wall_to_sign_in = (time.monotonic() - started) * 1000
    await page.wait_for_load_state("load")
    first_load = await page.evaluate(PERFORMANCE)
    marks_before = await dashboard.marks()
    # Playwright's own count of the bytes (headers and body as received), beside the browser's.
    sizes = [await response.request.sizes() for response in responses]

    await dashboard.sign_in(dashboard_server.keys["admin"])
    await expect(dashboard.config_row(config["id"])).to_be_visible()
    await dashboard.until_live()
    marks = await dashboard.marks()
    after_sign_in = await page.evaluate(PERFORMANCE)

    entries = first_load["navigation"] + first_load["resources"]
    figures = {
        "first_load": {
            "requests": len(entries),
            "transfer_bytes": sum(e["transferSize"] for e in entries),
            "encoded_body_bytes": sum(e["encodedBodySize"] for e in entries),
            "decoded_body_bytes": sum(e["decodedBodySize"] for e in entries),
            "playwright_body_bytes": sum(size["responseBodySize"] for size in sizes),
            "playwright_header_bytes": sum(size["responseHeadersSize"] for size in sizes),
            "entries": entries,
        },
        "after_sign_in": {
            "requests": len(after_sign_in["resources"]) - len(first_load["resources"]),
            "transfer_bytes": sum(e["transferSize"] for e in after_sign_in["resources"][len(first_load["resources"]):]),
        },
        "ms": {
            "navigation_to_sign_in_form_in_dom": round(marks_before.get("signInForm", -1)),
            "navigation_to_sign_in_form_painted": round(marks_before.get("signInFormPainted", -1)),
            "first_contentful_paint": first_load["paint"].get("first-contentful-paint"),
            "wall_clock_goto_to_sign_in_visible": round(wall_to_sign_in),
            "sign_in_submitted_to_configuration_row_painted":
                round(marks["configurationRowPainted"] - marks["signInSubmitted"])
                if "configurationRowPainted" in marks and "signInSubmitted" in marks else None,
            "navigation_to_configuration_row_painted": round(marks.get("configurationRowPainted", -1)),
        },
    }
    load, ms = figures["first_load"], figures["ms"]
    summary = (f"first load {load['requests']} requests, {load['transfer_bytes']} bytes transferred "
               f"({load['decoded_body_bytes']} decoded); after sign-in {figures['after_sign_in']['requests']} requests, "
               f"{figures['after_sign_in']['transfer_bytes']} bytes; sign-in form painted at "
               f"{ms['navigation_to_sign_in_form_painted']} ms (first contentful paint {ms['first_contentful_paint']} ms); "
               f"configurations painted {ms['sign_in_submitted_to_configuration_row_painted']} ms after sign-in")
    path = save_figures("first-load", figures, summary)
    print(f"\ndashboard: {summary} ({path})")
    assert figures["first_load"]["requests"] >= 2  # the page and at least its script


async def test_the_network_guard_refuses_and_records_anything_beyond_loopback(browser, dashboard_server):
    """The guard every other test relies on: a navigation, a fetch and a WebSocket to another
    host are refused and recorded (a page without the dashboard's policy, which would block the
    last two itself)."""
    context = await browser.new_context()
    network = NetworkLog()
    await network.install(context)
    try:
        page = await context.new_page()
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            await page.goto("http://example.com/")
        page = await context.new_page()
        await page.goto(dashboard_server.server.http + "/healthz")
        outcome = await page.evaluate("""async () => {
            const fetched = await fetch('http://example.org/x').then(() => 'loaded', () => 'refused');
            const closed = await new Promise(resolve => {
                const socket = new WebSocket('ws://example.net/graphql');
                socket.onclose = event => resolve(event.code);
            });
            return {fetched, closed};
        }""")
    finally:
        await context.close()
    assert outcome == {"fetched": "refused", "closed": 1008}
    assert network.refused == ["http://example.com/", "http://example.org/x", "ws://example.net/graphql"]
    assert [sent.url for sent in network.sent][-1] == "http://example.org/x"
    with pytest.raises(AssertionError, match="beyond loopback"):
        network.assert_clean()
