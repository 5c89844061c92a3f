"""Configurations and their numbers through the dashboard's forms, checked through the API and,
for secrets, in the database itself."""

from __future__ import annotations

import asyncio
import json
import re

from ..documents import UPDATE
from ..outbound.fakes.twilio import FakeNumber, TwilioAccount
from .dashboard import expect, labelled, until_severity
from .harness import NARROW, RENAME, WIDE, screenshot, stored_secrets

GOOD_SID = "AC" + "5f" * 16
GOOD_TOKEN = "0123456789abcdef" * 2
NEW_TOKEN = "fedcba9876543210" * 2

CONFIG = """query Config($id: ID!) {
  telephonyConfig(id: $id) {
    id name provider version config
    phoneNumbers(first: 50) { nodes { phoneNumber label isActive } }
  }
}"""
CONFIGS = "{ telephonyConfigs(first: 100) { nodes { id name } } }"


async def config_named(api, name: str) -> dict:
    nodes = (await api(CONFIGS))["telephonyConfigs"]["nodes"]
    found = [node for node in nodes if node["name"] == name]
    assert len(found) == 1, nodes
    return (await api(CONFIG, {"id": found[0]["id"]}))["telephonyConfig"]


async def test_a_twilio_configuration_through_the_form_errors_beside_the_field_and_secrets_kept(
        open_dashboard, dashboard_server, api):
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await page.get_by_role("button", name="New configuration", exact=True).click()
    form = page.get_by_role("form", name="New configuration", exact=True)
    await expect(form.get_by_label("Provider")).to_be_focused()  # rendered, and done moving the focus
    await form.get_by_label("Provider").select_option(label="Twilio")
    await labelled(form, "Name").fill("Form Twilio")
    sid = labelled(form, "Account SID")
    await sid.fill("AC12345")
    await labelled(form, "Auth token").fill(GOOD_TOKEN)
    await form.get_by_role("button", name="Create configuration", exact=True).click()

    # The server's message, beside the field: linked by aria-describedby (the hint says "AC
    # followed by 32 hexadecimal digits." too; the error is the sentence with "must be").
    await expect(sid).to_have_attribute("aria-invalid", "true")
    await expect(sid).to_have_accessible_description(re.compile("must be AC followed by 32 hexadecimal digits"))
    await expect(labelled(form, "Auth token")).not_to_have_attribute("aria-invalid", "true")
    await screenshot(page, "new-configuration-error")
    await page.set_viewport_size(NARROW)
    await screenshot(page, "new-configuration-error")
    await page.set_viewport_size(WIDE)

    await sid.fill(GOOD_SID)
    await form.get_by_role("button", name="Create configuration", exact=True).click()
    await expect(dashboard.configurations.get_by_role("button", name="Form Twilio", exact=True)).to_be_visible()
    await expect(form).to_have_count(0)
    await expect(page.get_by_role("status", name="Notifications", exact=True)).to_contain_text("Form Twilio")
    created = await config_named(api, "Form Twilio")
    assert created["provider"] == "TWILIO"
    assert created["config"]["account_sid"].endswith(GOOD_SID[-4:]) and GOOD_SID not in json.dumps(created)
    assert stored_secrets(dashboard_server.database, dashboard_server.secret_keys, "Form Twilio") == {
        "account_sid": GOOD_SID, "auth_token": GOOD_TOKEN}
    await screenshot(page, "list")

    # Edit: the secrets show as their masks; saving without touching them keeps them.
    details = await dashboard.open_config("Form Twilio")
    await screenshot(page, "details")
    await details.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("form", name="Edit Form Twilio", exact=True)
    await expect(labelled(edit, "Name")).to_be_focused()  # rendered, and done moving the focus
    await expect(labelled(edit, "Account SID")).to_have_value(created["config"]["account_sid"])
    await expect(labelled(edit, "Auth token")).to_have_value(created["config"]["auth_token"])
    await expect(edit.get_by_label("Provider")).to_have_count(0)  # chosen at create, never changed
    await labelled(edit, "Answering machine detection").check()
    await screenshot(page, "edit-configuration")
    await edit.get_by_role("button", name="Save changes", exact=True).click()
    await expect(edit).to_have_count(0)
    edited = await config_named(api, "Form Twilio")
    assert edited["config"]["amd_enabled"] is True and edited["version"] > created["version"]
    assert {key: edited["config"][key] for key in ("account_sid", "auth_token")} == {
        key: created["config"][key] for key in ("account_sid", "auth_token")}
    assert stored_secrets(dashboard_server.database, dashboard_server.secret_keys, "Form Twilio") == {
        "account_sid": GOOD_SID, "auth_token": GOOD_TOKEN}

    # A secret typed anew replaces the stored one; the untouched one stays.
    await details.get_by_role("button", name="Edit", exact=True).click()
    # The form focuses its first field once it has rendered: a field filled before that moment
    # could lose its text to the name field (a whole run once saved "Form Twilio" + the token).
    await expect(labelled(edit, "Name")).to_be_focused()
    await labelled(edit, "Auth token").fill(NEW_TOKEN)
    await edit.get_by_role("button", name="Save changes", exact=True).click()
    await expect(edit).to_have_count(0)
    assert stored_secrets(dashboard_server.database, dashboard_server.secret_keys, "Form Twilio") == {
        "account_sid": GOOD_SID, "auth_token": NEW_TOKEN}
    # The history names the edits and who made them (the key's label), the newest first.
    history = page.get_by_role("region", name="Recent changes", exact=True).get_by_role("listitem")
    await expect(history).to_have_count(3)
    await expect(history.first).to_contain_text("dashboard admin")
    await expect(history.first).to_contain_text("auth_token")

    # The browser never had a secret in clear but the ones typed: no mask was sent as a new value
    # that the server would refuse, and the clear SID went out only in the create.
    sent = [json.dumps(body) for body in dashboard.network.graphql_posts()]
    assert sum(GOOD_SID in body for body in sent) == 1, "the SID was sent again after the create"
    assert len(dashboard.network.mutations()) >= 4  # two creates, two updates


async def test_numbers_are_added_with_a_region_deactivated_and_relabelled(open_dashboard, dashboard_server, api):
    config = await api.create_config("Numbers Twilio")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    details = await dashboard.open_config("Numbers Twilio")
    await expect(details.get_by_role("heading", name="Phone numbers", exact=True)).to_be_visible()
    add = page.get_by_role("form", name="Add phone number", exact=True)
    await expect(labelled(add, "Region")).to_have_value("US")
    await labelled(add, "Phone number").fill("12")
    await add.get_by_role("button", name="Add number", exact=True).click()
    await expect(labelled(add, "Phone number")).to_have_attribute("aria-invalid", "true")
    await expect(labelled(add, "Phone number")).to_have_accessible_description(re.compile(r"\w"))

    for typed, region, label, stored in (("(415) 555-0171", None, "Sales", "+14155550171"),
                                         ("020 7946 0958", "GB", "London", "+442079460958")):
        await labelled(add, "Phone number").fill(typed)
        if region:
            await labelled(add, "Region").fill(region)
        await labelled(add, "Label").fill(label)
        await add.get_by_role("button", name="Add number", exact=True).click()
        row = dashboard.number_row(stored)
        await expect(row).to_be_visible()
        await expect(row).to_contain_text(label)
    await expect(dashboard.config_row(config["id"])).to_contain_text("2")  # active numbers
    await screenshot(page, "numbers")

    sales = dashboard.number_row("+14155550171")
    await sales.get_by_role("button", name=re.compile("^Deactivate")).click()
    await expect(sales.get_by_role("button", name=re.compile("^Activate"))).to_be_visible()

    london = dashboard.number_row("+442079460958")
    await london.get_by_role("button", name=re.compile("^Edit label")).click()
    await edit_label(page, london, "London office")
    await expect(london).to_contain_text("London office")
    await page.set_viewport_size(NARROW)
    await screenshot(page, "numbers")

    numbers = {node["phoneNumber"]: node for node in
               (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"]["phoneNumbers"]["nodes"]}
    assert numbers == {
        "+14155550171": {"phoneNumber": "+14155550171", "label": "Sales", "isActive": False},
        "+442079460958": {"phoneNumber": "+442079460958", "label": "London office", "isActive": True},
    }


async def edit_label(page, row, label: str) -> None:
    """The label editor "Edit label" opened: a field labelled "Label" in the row or in a dialog,
    saved with Enter."""
    editor = row.get_by_label(re.compile("^Label")).or_(page.get_by_role("dialog").get_by_label(re.compile("^Label")))
    await editor.fill(label)
    await editor.press("Enter")


SUMMARY = "{ telephonyConfigWarnings { hasDefaultOutbound } }"
NO_DEFAULT = "No default outbound configuration"


async def test_set_as_default_then_delete_through_the_dialog(open_dashboard, dashboard_server, api):
    config = await api.create_config("Default Twilio")
    await api.add_number(config["id"], "+14155550191")
    assert (await api(SUMMARY))["telephonyConfigWarnings"]["hasDefaultOutbound"] is False
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await expect(dashboard.warnings_summary()).to_contain_text(NO_DEFAULT)
    details = await dashboard.open_config("Default Twilio")

    await details.get_by_role("button", name="Set as default", exact=True).click()
    await expect(dashboard.config_row(config["id"]).get_by_text("Default", exact=True)).to_be_visible()
    await expect(details.get_by_role("button", name="Set as default")).to_have_count(0)
    await expect(dashboard.warnings_summary()).not_to_contain_text(NO_DEFAULT)

    # Cancel or Escape keeps it; "Delete configuration" deletes it.
    await details.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await screenshot(page, "delete-dialog")
    await dialog.get_by_role("button", name="Cancel", exact=True).click()
    await expect(dialog).to_have_count(0)
    await details.get_by_role("button", name="Delete", exact=True).click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")  # a modal dialog: Escape closes it too
    await expect(dialog).to_have_count(0)
    await expect(dashboard.config_row(config["id"])).to_be_visible()
    await details.get_by_role("button", name="Delete", exact=True).click()
    await dialog.get_by_role("button", name="Delete configuration", exact=True).click()
    await expect(dashboard.config_row(config["id"])).to_have_count(0)
    await expect(dashboard.details("Default Twilio")).to_have_count(0)
    await expect(dashboard.warnings_summary()).to_contain_text(NO_DEFAULT)
    assert (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"] is None


async def test_an_edit_that_crosses_a_change_elsewhere_is_refused_then_reloaded(open_dashboard, dashboard_server, api):
    config = await api.create_config("Conflict Twilio")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await dashboard.until_live()
    details = await dashboard.open_config("Conflict Twilio")
    await details.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("form", name="Edit Conflict Twilio", exact=True)
    await labelled(edit, "Name").fill("Conflict mine")
    await api.mutate(RENAME, {"id": config["id"], "name": "Conflict theirs"}, "updateTelephonyConfig")
    await expect(dashboard.config_row(config["id"])).to_contain_text("Conflict theirs")  # the list follows

    await edit.get_by_role("button", name="Save changes", exact=True).click()
    alert = edit.get_by_role("alert").filter(has_text="changed elsewhere")
    await expect(alert).to_be_visible()
    await screenshot(page, "conflict")
    assert (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"]["name"] == "Conflict theirs"
    await alert.get_by_role("button", name="Reload", exact=True).click()
    edit = page.get_by_role("form", name=re.compile("^Edit Conflict"))
    await expect(labelled(edit, "Name")).to_have_value("Conflict theirs")
    await labelled(edit, "Name").fill("Conflict mine")
    await edit.get_by_role("button", name="Save changes", exact=True).click()
    await expect(dashboard.config_row(config["id"])).to_contain_text("Conflict mine")
    assert (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"]["name"] == "Conflict mine"


async def test_numbers_page_by_twenty(open_dashboard, dashboard_server, api):
    config = await api.create_config("Paged Twilio")
    for n in range(21):
        await api.add_number(config["id"], f"+1415555{n + 1200:04d}")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    details = await dashboard.open_config("Paged Twilio")
    rows = page.get_by_role("table", name="Phone numbers", exact=True).locator("tr[data-number]")
    await expect(rows).to_have_count(20)
    previous = details.get_by_role("button", name="Previous page", exact=True)
    if await previous.count():  # on the first page: absent or disabled
        await expect(previous).to_be_disabled()
    await details.get_by_role("button", name="Next page", exact=True).click()
    await expect(rows).to_have_count(1)
    await details.get_by_role("button", name="Previous page", exact=True).click()
    await expect(rows).to_have_count(20)


async def test_check_now_and_import_from_the_provider(open_dashboard, dashboard_server, api):
    """Against the fake Twilio: a refused token shows as a critical warning after "Check now";
    the right one checks clean, and "Import from provider" registers the account's numbers."""
    account = dashboard_server.twilio.add(TwilioAccount(
        "AC" + "7e" * 16, "7e" * 16, numbers=[FakeNumber("+14155550301"), FakeNumber("+14155550302")]))
    config = await api.create_config("Provider Twilio", config={"account_sid": account.sid, "auth_token": "0" * 32})
    await api.add_number(config["id"], "+14155550301")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    row = dashboard.config_row(config["id"])
    await expect(row).to_contain_text("Not checked yet")
    details = await dashboard.open_config("Provider Twilio")

    await details.get_by_role("button", name="Check now", exact=True).click()
    await until_severity(row, "critical", 1)
    await expect(page.get_by_role("list", name="Configuration warnings")).to_contain_text("refused these credentials")
    await expect(row).not_to_contain_text("Not checked yet")
    await screenshot(page, "provider-refused")

    await api.mutate(UPDATE, {"input": {"id": config["id"], "config": {"auth_token": account.token}}},
                     "updateTelephonyConfig")
    await details.get_by_role("button", name="Check now", exact=True).click()
    await until_severity(row, "critical", 0)
    await details.get_by_role("button", name="Import from provider", exact=True).click()
    await expect(dashboard.number_row("+14155550302")).to_be_visible()
    numbers = (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"]["phoneNumbers"]["nodes"]
    assert sorted(node["phoneNumber"] for node in numbers) == ["+14155550301", "+14155550302"]
    assert len(dashboard_server.twilio.seen(account.sid)) >= 3  # two checks and an import asked the fake


PROVIDERS = """{ telephonyProviders { key name fields {
  key label type required secret description placeholder defaultValue choices } } }"""


async def test_the_form_draws_every_providers_fields_from_the_api(open_dashboard, dashboard_server, api):
    """Each provider's fields as controls: labelled by the field's label, of the field's type,
    required marked, the description as the accessible description, placeholder, default."""
    providers = (await api(PROVIDERS))["telephonyProviders"]
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    await page.get_by_role("button", name="New configuration", exact=True).click()
    form = page.get_by_role("form", name="New configuration", exact=True)
    for provider in providers:
        await form.get_by_label("Provider").select_option(label=provider["name"])
        for field in provider["fields"]:
            control = form.get_by_label(field["label"], exact=True)
            await expect(control).to_have_count(1)
            shown = await control.evaluate("""element => ({
                tag: element.tagName.toLowerCase(), type: element.type, checked: element.checked,
                value: element.value, placeholder: element.placeholder,
                required: element.required || element.getAttribute('aria-required') === 'true'})""")
            where = f"{provider['key']}.{field['key']}: {shown}"
            if field["choices"]:
                assert shown["tag"] == "select", where
            elif field["type"] == "BOOLEAN":
                assert shown["type"] == "checkbox" and shown["checked"] == bool(field["defaultValue"]), where
            elif field["type"] == "TEXTAREA":
                assert shown["tag"] == "textarea", where
            elif field["secret"] or field["type"] == "PASSWORD":
                assert shown["type"] == "password", where
            elif field["type"] == "URL":
                assert shown["type"] == "url", where
            else:
                assert shown["type"] == "text", where
            assert shown["required"] == field["required"], where
            if field["placeholder"] and not field["choices"]:  # a select has no placeholder
                assert shown["placeholder"] == field["placeholder"], where
            if field["defaultValue"] is not None and field["type"] != "BOOLEAN":
                assert shown["value"] == str(field["defaultValue"]), where
            if field["description"]:
                await expect(control).to_have_accessible_description(re.compile(re.escape(field["description"])))
    assert len(providers) >= 9


class HeldReads:
    """Holds the page's reads of a configuration's details until released: the window between a
    save and the page's next read of what it saved, made as long as the test needs."""

    def __init__(self) -> None:
        self.holding = False
        self.released = asyncio.Event()
        self.held = 0

    async def install(self, page) -> None:
        await page.route("**/graphql", self.route)

    async def route(self, route) -> None:
        body = route.request.post_data or ""
        if self.holding and "query Details(" in body:
            self.held += 1
            await self.released.wait()
        await route.fallback()

    def release(self) -> None:
        self.holding = False
        self.released.set()


async def test_editing_again_before_the_saved_configuration_is_read_back_opens_what_was_saved(
        open_dashboard, dashboard_server, api):
    """Saved, then Edit at once: the form waits for the details read after the save, instead of
    opening on the version from before it (whose save would be refused as a CONFLICT of the page's
    own making, or would undo the first edit)."""
    config = await api.create_config("Twice Twilio")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    details = await dashboard.open_config("Twice Twilio")
    reads = HeldReads()
    await reads.install(page)

    await details.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("form", name="Edit Twice Twilio", exact=True)
    await labelled(edit, "Answering machine detection").check()
    reads.holding = True
    await edit.get_by_role("button", name="Save changes", exact=True).click()
    await expect(edit).to_have_count(0)
    await details.get_by_role("button", name="Edit", exact=True).click()
    await expect(page.get_by_text("Loading…", exact=True)).to_be_visible()
    await expect(edit).to_have_count(0)
    assert reads.held >= 1

    reads.release()
    await expect(labelled(edit, "Answering machine detection")).to_be_checked()
    await labelled(edit, "Auth token").fill(NEW_TOKEN)
    await edit.get_by_role("button", name="Save changes", exact=True).click()
    await expect(edit).to_have_count(0)
    await expect(page.get_by_role("alert")).to_have_count(0)
    saved = (await api(CONFIG, {"id": config["id"]}))["telephonyConfig"]
    assert saved["config"]["amd_enabled"] is True and saved["version"] == config["version"] + 2
    assert stored_secrets(dashboard_server.database, dashboard_server.secret_keys, "Twice Twilio")[
        "auth_token"] == NEW_TOKEN


async def test_a_field_focused_as_the_form_appears_keeps_the_focus(open_dashboard, dashboard_server, api):
    """The form gives its first field the focus once it has rendered (Preact runs effects after
    the next paint), but not away from a field of the form that has it by then: text typed the
    moment the form appears stays where it was typed. The field is focused here as the form
    enters the page, before its effects can run."""
    await api.create_config("Focus Twilio")
    dashboard = await open_dashboard()
    page = dashboard.page
    await dashboard.sign_in(dashboard_server.keys["admin"])
    details = await dashboard.open_config("Focus Twilio")
    await page.evaluate("""() => new MutationObserver((_, observer) => {
        const token = document.querySelector('form[aria-label="Edit Focus Twilio"] #config-auth_token');
        if (token) { token.focus(); window.focusedEarly = true; observer.disconnect(); }
    }).observe(document.body, { childList: true, subtree: true })""")
    await details.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("form", name="Edit Focus Twilio", exact=True)
    await expect(edit).to_be_visible()
    await page.wait_for_timeout(300)  # several frames: the form's effects have run
    assert await page.evaluate("window.focusedEarly") is True
    await expect(labelled(edit, "Auth token")).to_be_focused()
