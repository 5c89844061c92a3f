"""The dashboard as the tests see it: its screens located by role and accessible name, exactly
as docs/DASHBOARD.md (the spec of issue 15) names them. Playwright is imported only when a test
runs (the tests skip without it)."""

from __future__ import annotations

import re
from typing import Any

from .harness import KEY_STORAGE, TIMEOUT_MS, NetworkLog

# Runs before the page's own scripts: marks when each screen first shows up (performance.now(),
# from the navigation's start), and a marker that a reload or navigation would lose.
INIT_SCRIPT = """
(() => {
  const marks = {};
  window.__e2e = { marks, loadedAt: performance.now() };
  const configurationsTable = () => [...document.querySelectorAll('table')].find(table =>
    table.getAttribute('aria-label') === 'Configurations' || table.caption?.textContent.trim() === 'Configurations');
  const screens = {
    signInForm: () => document.querySelector('form[aria-label="Sign in"]'),
    configurationsTable,
    configurationRow: () => configurationsTable()?.querySelector('tr[data-config-id]'),
  };
  const look = () => {
    for (const [name, found] of Object.entries(screens)) {
      if (!(name in marks) && found()) {
        marks[name] = performance.now();
        // The frame that paints it: closer to what a person sees than the DOM insertion.
        requestAnimationFrame(() => { marks[name + 'Painted'] = performance.now(); });
      }
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
  document.addEventListener('submit', event => {
    if (event.target.getAttribute?.('aria-label') === 'Sign in') marks.signInSubmitted = performance.now();
  }, true);
})();
"""

WRITE_BUTTONS = ("New configuration", "Edit", "Delete", "Set as default", "Check now", "Add number",
                 "Import from provider", "Deactivate", "Activate", "Edit label", "Remove", "Create configuration",
                 "Save changes", "Delete configuration")
WRITE_FORMS = ("New configuration", "Add phone number")
CONNECTION_STATES = ("Live", "Connecting…", "Reconnecting…", "Offline")


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect  # noqa: PLC0415 - optional, see above

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect(target)


class Dashboard:
    def __init__(self, page: Any, network: NetworkLog, url: str) -> None:
        self.page, self.network, self.url = page, network, url

    async def goto(self) -> None:
        await self.page.goto(self.url)
        await expect(self.sign_in_form).to_be_visible()

    # Sign-in and header

    @property
    def sign_in_form(self) -> Any:
        return self.page.get_by_role("form", name="Sign in")

    async def sign_in(self, key: str) -> None:
        await self.sign_in_form.get_by_label("API key", exact=True).fill(key)
        await self.sign_in_form.get_by_role("button", name="Sign in", exact=True).click()
        await expect(self.header.get_by_role("button", name="Sign out", exact=True)).to_be_visible()

    async def sign_out(self) -> None:
        await self.header.get_by_role("button", name="Sign out", exact=True).click()
        await expect(self.sign_in_form).to_be_visible()

    @property
    def header(self) -> Any:
        return self.page.locator("header")

    @property
    def connection(self) -> Any:
        return self.page.get_by_role("status", name="Connection", exact=True)

    async def until_live(self) -> None:
        await expect(self.connection).to_have_text("Live")

    async def stored_key(self) -> dict[str, Any]:
        """Where the key could be kept: sessionStorage's entry, every localStorage value, the
        cookies the page sees, the address."""
        found: dict[str, Any] = await self.page.evaluate("""key => ({
            session: sessionStorage.getItem(key),
            sessionValues: Object.values(sessionStorage),
            localValues: Object.values(localStorage),
            cookie: document.cookie,
            url: location.href,
        })""", KEY_STORAGE)
        return found

    # Configurations

    @property
    def configurations(self) -> Any:
        return self.page.get_by_role("table", name="Configurations", exact=True)

    def config_row(self, config_id: str) -> Any:
        return self.page.locator(f'tr[data-config-id="{config_id}"]')

    def details(self, name: str) -> Any:
        """The region of an open configuration (its heading is the configuration's name)."""
        return self.page.get_by_role("region", name=name, exact=True)

    async def open_config(self, name: str) -> Any:
        await self.configurations.get_by_role("button", name=name, exact=True).click()
        details = self.details(name)
        await expect(details).to_be_visible()
        return details

    def warnings_summary(self) -> Any:
        return self.page.get_by_role("region", name="Warnings", exact=True)

    def number_row(self, number: str) -> Any:
        return self.page.get_by_role("table", name="Phone numbers", exact=True).locator(f'tr[data-number="{number}"]')

    async def mark(self) -> None:
        """A marker in the page's window: gone if the page reloads or navigates."""
        await self.page.evaluate("window.__e2eMarker = 'still here'")

    async def marked(self) -> bool:
        return bool(await self.page.evaluate("window.__e2eMarker === 'still here'"))

    async def marks(self) -> dict[str, float]:
        marks: dict[str, float] = await self.page.evaluate("window.__e2e.marks")
        return marks


async def severity_count(scope: Any, severity: str) -> int:
    """The N of an "N critical"/"N warnings"/"N info" span inside `scope`; 0 when the page
    leaves a zero out."""
    spans = scope.locator(f'[data-severity="{severity}"]')
    if await spans.count() == 0:
        return 0
    text = (await spans.first.inner_text()).strip()
    found = re.match(r"(\d+)\b", text)
    assert found, f"{severity} span says {text!r}"
    return int(found[1])


async def until_severity(scope: Any, severity: str, count: int) -> None:
    """Waits until `scope` (already shown) shows `count` of the severity: its span says so, or,
    for 0, no span says otherwise (a page may leave a zero out)."""
    spans = scope.locator(f'[data-severity="{severity}"]')
    if count == 0:
        await expect(spans.filter(has_text=re.compile(r"^\s*[1-9]"))).to_have_count(0)
    else:
        await expect(spans.first).to_have_text(re.compile(rf"^\s*{count}\b"))


def labelled(scope: Any, label: str) -> Any:
    """The control in `scope` whose label starts with `label` (a required field's label may add
    a mark such as "*" or "(required)")."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\b"))
