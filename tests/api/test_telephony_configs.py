"""Telephony configurations through the HTTP API: create, update, delete, versions, secrets.

Every refusal is checked the same way (see `refused`): HTTP 200, no `errors`, the result
field null, and the database exactly as it was before the request (see `db_state`).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from gql_telephony.domain.ids import decode_id_of, encode_id
from gql_telephony.storage.tables import PhoneNumberRow, TelephonyConfigRow

from ..documents import (
    ADD_NUMBER,
    CREATE,
    DELETE,
    REMOVE_NUMBER,
    UPDATE,
    UPDATE_NUMBER,
    VALID,
    add_number,
    create_config,
)
from ..support import opaque_id

# The contract's provider table: which keys are secret, which are required.
SECRET_KEYS = {
    "TELNYX": {"api_key"},
    "TWILIO": {"account_sid", "auth_token"},
    "VONAGE": {"private_key", "api_key", "api_secret", "signature_secret"},
    "PLIVO": {"auth_id", "auth_token"},
    "CLOUDONIX": {"bearer_token"},
    "VOBIZ": {"auth_id", "auth_token"},
    "SIGNALWIRE": {"api_token"},
    "ARI": {"app_password"},
    "EXOTEL": {"api_token"},
}
REQUIRED_KEYS = {
    "TELNYX": ["api_key"],
    "TWILIO": ["account_sid", "auth_token"],
    "VONAGE": ["application_id", "private_key", "api_key", "api_secret"],
    "PLIVO": ["auth_id", "auth_token"],
    "CLOUDONIX": ["bearer_token", "domain_id"],
    "VOBIZ": ["auth_id", "auth_token"],
    "SIGNALWIRE": ["project_id", "api_token", "space_url"],
    "ARI": ["ari_endpoint", "app_name", "app_password"],
    "EXOTEL": ["api_key", "api_token", "account_sid"],
}
# What the fixtures' valid configs read as, besides masking: normalized values and defaults.
NORMALIZED = {
    "TWILIO": {"amd_enabled": False},
    "CLOUDONIX": {"domain_id": "acme.cloudonix.net"},
    "SIGNALWIRE": {"space_url": "example.signalwire.com"},
    "EXOTEL": {"subdomain": "api.exotel.com"},
}

READ = """
query Read($id: ID!) {
  telephonyConfig(id: $id) { id name provider config isDefaultOutbound version phoneNumberCount updatedAt }
  node(id: $id) { id }
  nodes(ids: [$id]) { id }
}"""

SET_DEFAULT_FULL = """
mutation SetDefault($id: ID!) {
  setDefaultOutboundTelephonyConfig(input: {id: $id}) {
    telephonyConfig { id } previousDefault { id } userErrors { field message code }
  }
}"""


def masked(secret: str) -> str:
    """The contract's mask, written independently of the code under test."""
    if len(secret) >= 12:
        return "*" * (len(secret) - 4) + secret[-4:]
    return "*" * len(secret)


def expected_config(provider: str, given: dict[str, Any]) -> dict[str, Any]:
    shown = {key: masked(value) if key in SECRET_KEYS[provider] else value for key, value in given.items()}
    for key, value in NORMALIZED.get(provider, {}).items():
        shown[key] = value
    return shown


def key_of(config_id: str) -> int:
    key = decode_id_of("TelephonyConfig", config_id)
    assert key is not None, config_id
    return key


async def db_state(api) -> dict[str, Any]:
    """Every stored config (secrets decrypted as well as raw) and number, of every organization."""
    async with api.runtime.db.reading() as session:
        configs = (await session.execute(select(TelephonyConfigRow).order_by(col(TelephonyConfigRow.id)))).scalars().all()
        numbers = (await session.execute(select(PhoneNumberRow).order_by(col(PhoneNumberRow.id)))).scalars().all()
    return {
        "configs": [
            {**row.model_dump(), "clear_secrets": api.runtime.vault.decrypt_json(row.secrets)} for row in configs
        ],
        "numbers": [row.model_dump() for row in numbers],
    }


async def stored_row(api, config_id: str) -> TelephonyConfigRow | None:
    async with api.runtime.db.reading() as session:
        return (await session.execute(
            select(TelephonyConfigRow).where(TelephonyConfigRow.id == key_of(config_id))
        )).scalars().first()


async def stored_secrets(api, config_id: str) -> dict[str, object]:
    row = await stored_row(api, config_id)
    assert row is not None
    return api.runtime.vault.decrypt_json(row.secrets)


async def refused(api, document: str, variables: dict[str, Any], *, key: str | None = None) -> list[dict]:
    """A mutation that must be refused with user errors and change nothing; returns its userErrors."""
    before = await db_state(api)
    response = await api.post(document, variables, key=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    for field, value in payload.items():
        if field != "userErrors":
            assert value is None, (field, payload)
    assert payload["userErrors"], payload
    assert await db_state(api) == before
    return payload["userErrors"]


def codes(errors: list[dict]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in errors]


async def create_input(api, provider: str = "TWILIO", name: str = "Main", config: dict | None = None, **extra: Any) -> dict:
    """The raw createTelephonyConfig payload."""
    variables = {"input": {"name": name, "provider": provider, "config": VALID[provider] if config is None else config, **extra}}
    return (await api.gql(CREATE, variables))["createTelephonyConfig"]


async def update(api, config_id: str, **fields: Any) -> dict:
    """An update that must succeed; returns the updated configuration."""
    payload = (await api.gql(UPDATE, {"input": {"id": config_id, **fields}}))["updateTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    return payload["telephonyConfig"]


async def read(api, config_id: str, *, key: str | None = None) -> dict | None:
    return (await api.gql(READ, {"id": config_id}, key=key))["telephonyConfig"]


# --- create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(VALID))
async def test_create_each_provider_comes_back_masked_with_defaults(api, provider):
    payload = await create_config(api, provider, f"My {provider}")
    config = payload["telephonyConfig"]
    assert payload["previousDefault"] is None
    assert config["name"] == f"My {provider}"
    assert config["provider"] == provider
    assert config["version"] == 1
    assert config["isDefaultOutbound"] is False
    assert config["config"] == expected_config(provider, VALID[provider])
    assert config["createdAt"] and config["updatedAt"]
    # The read side agrees with the payload.
    assert (await read(api, config["id"]))["config"] == config["config"]
    # Secrets stored encrypted, exactly as given; nothing else stored among them.
    row = await stored_row(api, config["id"])
    assert row is not None
    assert api.runtime.vault.decrypt_json(row.secrets) == {
        key: value for key, value in VALID[provider].items() if key in SECRET_KEYS[provider]
    }
    for secret in SECRET_KEYS[provider] & set(VALID[provider]):
        assert VALID[provider][secret] not in row.secrets
        assert VALID[provider][secret] not in str(row.settings)


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("abc", "***"),
        ("abcdefghijk", "*" * 11),  # 11: all hidden
        ("abcdefghijkl", "********ijkl"),  # 12: the last 4 stay
        ("x" * 40 + "WXYZ", "*" * 40 + "WXYZ"),
    ],
)
async def test_mask_keeps_the_length_and_the_last_four_only_from_twelve(api, secret, shown):
    payload = await create_config(api, "TELNYX", config={"api_key": secret})
    assert payload["telephonyConfig"]["config"]["api_key"] == shown
    assert await stored_secrets(api, payload["telephonyConfig"]["id"]) == {"api_key": secret}


@pytest.mark.parametrize(
    ("provider", "key", "given", "stored"),
    [
        ("SIGNALWIRE", "space_url", "https://Example.signalwire.com/", "example.signalwire.com"),
        ("SIGNALWIRE", "space_url", "HTTPS://acme.SignalWire.com", "acme.signalwire.com"),
        ("SIGNALWIRE", "space_url", "  acme.signalwire.com  ", "acme.signalwire.com"),
        ("SIGNALWIRE", "project_id", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("CLOUDONIX", "domain_id", "Acme", "acme.cloudonix.net"),
        ("CLOUDONIX", "domain_id", "Acme.Example.COM.", "acme.example.com"),
        ("CLOUDONIX", "domain_id", "acme.cloudonix.net", "acme.cloudonix.net"),
        ("VONAGE", "application_id", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("TELNYX", "connection_id", "  conn-1  ", "conn-1"),
        ("TWILIO", "amd_enabled", True, True),
        ("ARI", "ari_endpoint", "http://10.0.0.5:8088", "http://10.0.0.5:8088"),
    ],
)
async def test_create_normalizes_values(api, provider, key, given, stored):
    payload = await create_config(api, provider, config={**VALID[provider], key: given})
    assert payload["telephonyConfig"]["config"][key] == stored
    assert (await read(api, payload["telephonyConfig"]["id"]))["config"][key] == stored


async def test_optional_fields_given_are_shown_in_declared_order_and_secrets_masked(api):
    config = {**VALID["VONAGE"], "signature_secret": "signature-secret-0001"}
    shown = (await create_config(api, "VONAGE", config=config))["telephonyConfig"]["config"]
    assert shown["signature_secret"] == masked("signature-secret-0001")
    assert list(shown) == ["application_id", "private_key", "api_key", "api_secret", "signature_secret"]


# --- names ----------------------------------------------------------------------------------


async def test_name_is_trimmed(api):
    config = (await create_config(api, "TELNYX", "  Main line \t"))["telephonyConfig"]
    assert config["name"] == "Main line"
    assert (await read(api, config["id"]))["name"] == "Main line"


async def test_name_of_64_characters_is_accepted_after_trimming(api):
    name = "n" * 64
    config = (await create_config(api, "TELNYX", f"   {name}   "))["telephonyConfig"]
    assert config["name"] == name


@pytest.mark.parametrize(("name", "code"), [("", "REQUIRED"), ("   ", "REQUIRED"), ("\t\n", "REQUIRED"), ("n" * 65, "TOO_LONG")])
async def test_create_refuses_a_bad_name(api, name, code):
    errors = await refused(api, CREATE, {"input": {"name": name, "provider": "TELNYX", "config": VALID["TELNYX"]}})
    assert codes(errors) == [(["input", "name"], code)]


@pytest.mark.parametrize("name", ["Main", "main", "MAIN", "  mAiN  "])
async def test_create_refuses_a_taken_name_without_regard_to_case(api, name):
    await create_config(api, "TWILIO", "Main")
    errors = await refused(api, CREATE, {"input": {"name": name, "provider": "TELNYX", "config": VALID["TELNYX"]}})
    assert codes(errors) == [(["input", "name"], "TAKEN")]


async def test_a_taken_name_as_default_does_not_demote_the_current_default(api):
    await create_config(api, "TWILIO", "Main", default=True)
    errors = await refused(api, CREATE, {"input": {"name": "MAIN", "provider": "TELNYX", "config": VALID["TELNYX"], "isDefaultOutbound": True}})
    assert codes(errors) == [(["input", "name"], "TAKEN")]


async def test_names_are_unique_per_organization_only(api):
    await create_config(api, "TWILIO", "Main")
    _, other_key = await api.new_org()
    payload = (await api.gql(CREATE, {"input": {"name": "main", "provider": "TELNYX", "config": VALID["TELNYX"]}}, key=other_key))["createTelephonyConfig"]
    assert payload["userErrors"] == []
    assert payload["telephonyConfig"]["name"] == "main"


async def test_a_freed_name_can_be_used_again(api):
    first = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]
    renamed = await update(api, first["id"], name="Old")
    assert renamed["name"] == "Old"
    assert (await create_config(api, "TELNYX", "MAIN"))["telephonyConfig"]["name"] == "MAIN"


async def test_update_name_rules(api):
    config = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]
    await create_config(api, "TELNYX", "Backup")

    def variables(name: str) -> dict[str, Any]:
        return {"input": {"id": config["id"], "name": name}}

    assert codes(await refused(api, UPDATE, variables("  "))) == [(["input", "name"], "REQUIRED")]
    assert codes(await refused(api, UPDATE, variables(""))) == [(["input", "name"], "REQUIRED")]
    assert codes(await refused(api, UPDATE, variables("x" * 65))) == [(["input", "name"], "TOO_LONG")]
    assert codes(await refused(api, UPDATE, variables(" BACKUP "))) == [(["input", "name"], "TAKEN")]
    # Its own name in another case is not taken; it is a change.
    renamed = await update(api, config["id"], name="  MAIN ")
    assert (renamed["name"], renamed["version"]) == ("MAIN", 2)


async def test_update_with_null_name_keeps_the_name(api):
    config = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]
    updated = await update(api, config["id"], name=None, config={"amd_enabled": True})
    assert (updated["name"], updated["version"]) == ("Main", 2)


# --- config field rules -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(VALID))
async def test_create_requires_every_required_field(api, provider):
    errors = await refused(api, CREATE, {"input": {"name": "X", "provider": provider, "config": {}}})
    assert sorted(codes(errors)) == sorted((["input", "config", key], "REQUIRED") for key in REQUIRED_KEYS[provider])


@pytest.mark.parametrize("provider", sorted(VALID))
@pytest.mark.parametrize("empty", ["", "   ", None])
async def test_create_refuses_an_empty_required_field(api, provider, empty):
    key = REQUIRED_KEYS[provider][-1]
    errors = await refused(api, CREATE, {"input": {"name": "X", "provider": provider, "config": {**VALID[provider], key: empty}}})
    assert codes(errors) == [(["input", "config", key], "REQUIRED")]


@pytest.mark.parametrize(
    ("provider", "key", "value", "code"),
    [
        ("TELNYX", "account_sid", "AC" + "0" * 32, "INVALID"),  # another provider's key
        ("TELNYX", "apiKey", "x", "INVALID"),
        ("TWILIO", "provider", "TELNYX", "INVALID"),
        ("TWILIO", "amd_enabled", "true", "INVALID"),
        ("TWILIO", "amd_enabled", 1, "INVALID"),
        ("TWILIO", "account_sid", "AB" + "0" * 32, "INVALID"),
        ("TWILIO", "account_sid", "AC" + "0" * 31, "INVALID"),
        ("TWILIO", "account_sid", "AC" + "g" * 32, "INVALID"),
        ("TWILIO", "auth_token", "not-hex-at-all-but-long-enough-xx", "INVALID"),
        ("TWILIO", "auth_token", True, "INVALID"),
        ("TELNYX", "api_key", 12345678901234, "INVALID"),
        ("TELNYX", "connection_id", {"a": 1}, "INVALID"),
        ("TELNYX", "connection_id", ["a"], "INVALID"),
        ("TELNYX", "connection_id", "c" * 8193, "TOO_LONG"),
        ("TELNYX", "api_key", "k" * 8193, "TOO_LONG"),
        ("VONAGE", "application_id", "not-a-uuid", "INVALID"),
        ("VONAGE", "private_key", "just some text", "INVALID"),
        ("SIGNALWIRE", "project_id", "1234", "INVALID"),
        ("SIGNALWIRE", "space_url", "http://example.signalwire.com", "INVALID"),
        ("SIGNALWIRE", "space_url", "not a host", "INVALID"),
        ("SIGNALWIRE", "space_url", "https://exa_mple.signalwire.com", "INVALID"),
        ("CLOUDONIX", "domain_id", "bad domain!", "INVALID"),
        ("CLOUDONIX", "domain_id", "-acme", "INVALID"),
        ("ARI", "ari_endpoint", "ftp://pbx.example.com", "INVALID"),
        ("ARI", "ari_endpoint", "pbx.example.com:8089", "INVALID"),
        ("ARI", "ari_endpoint", "https://pbx.example.com:99999", "INVALID"),
        ("ARI", "app_name", False, "INVALID"),
    ],
)
async def test_create_refuses_a_bad_value_with_the_path_to_its_key(api, provider, key, value, code):
    errors = await refused(api, CREATE, {"input": {"name": "X", "provider": provider, "config": {**VALID[provider], key: value}}})
    assert codes(errors) == [(["input", "config", key], code)]


async def test_values_of_8192_characters_are_accepted(api):
    long = "c" * 8192
    config = (await create_config(api, "TELNYX", config={"api_key": long, "connection_id": long}))["telephonyConfig"]
    assert config["config"]["connection_id"] == long
    assert config["config"]["api_key"] == masked(long)


async def test_all_errors_of_a_create_come_at_once(api):
    config = {"account_sid": "nope", "amd_enabled": "yes", "extra": 1}
    errors = await refused(api, CREATE, {"input": {"name": " ", "provider": "TWILIO", "config": config}})
    assert sorted(codes(errors)) == sorted([
        (["input", "name"], "REQUIRED"),
        (["input", "config", "account_sid"], "INVALID"),
        (["input", "config", "amd_enabled"], "INVALID"),
        (["input", "config", "extra"], "INVALID"),
        (["input", "config", "auth_token"], "REQUIRED"),
    ])


@pytest.mark.parametrize("config", [[], "api_key", 42, True, [{"api_key": "KEY0123456789SECRET"}]])
async def test_create_refuses_a_config_that_is_not_an_object(api, config):
    errors = await refused(api, CREATE, {"input": {"name": "X", "provider": "TELNYX", "config": config}})
    assert codes(errors) == [(["input", "config"], "INVALID")]


async def test_refusals_never_repeat_a_secret(api):
    secret = "AC" + "Z" * 32 + "-LEAK-CANARY"
    response = await api.post(CREATE, {"input": {"name": "X", "provider": "TWILIO", "config": {"account_sid": secret, "auth_token": "LEAK-CANARY-2"}}})
    assert response.status_code == 200
    assert "LEAK-CANARY" not in response.text
    assert response.json()["data"]["createTelephonyConfig"]["userErrors"]


@pytest.mark.parametrize(
    ("provider", "key"),
    [("TELNYX", "api_key"), ("TWILIO", "auth_token"), ("VONAGE", "signature_secret"), ("ARI", "app_password"), ("CLOUDONIX", "bearer_token")],
)
@pytest.mark.parametrize("value", ["****", "****abcd", "*" * 28 + "ffff", "********************x"])
async def test_create_refuses_a_masked_looking_secret(api, provider, key, value):
    errors = await refused(api, CREATE, {"input": {"name": "X", "provider": provider, "config": {**VALID[provider], key: value}}})
    assert codes(errors) == [(["input", "config", key], "INVALID")]


# --- provider is fixed -----------------------------------------------------------------------


async def test_update_has_no_provider_field(api):
    introspection = await api.gql('{ __type(name: "UpdateTelephonyConfigInput") { inputFields { name } } }')
    names = {field["name"] for field in introspection["__type"]["inputFields"]}
    assert "provider" not in names
    assert {"id", "name", "config", "expectedVersion"} <= names


async def test_an_update_naming_a_provider_is_refused_before_anything_runs(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    before = await db_state(api)
    response = await api.post(UPDATE, {"input": {"id": config["id"], "provider": "TELNYX", "config": {"api_key": "KEY0123456789SECRET"}}})
    body = response.json()
    assert body.get("errors") and body.get("data") is None, body
    assert await db_state(api) == before
    assert (await read(api, config["id"]))["provider"] == "TWILIO"


async def test_an_update_cannot_bring_another_providers_fields(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"api_key": "KEY0123456789SECRET", "provider": "TELNYX"}}})
    assert sorted(codes(errors)) == [(["input", "config", "api_key"], "INVALID"), (["input", "config", "provider"], "INVALID")]


# --- update merge ------------------------------------------------------------------------------


async def test_update_sets_a_key_and_leaves_the_others(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    updated = await update(api, config["id"], config={"connection_id": "conn-42"})
    assert updated["config"] == {**config["config"], "connection_id": "conn-42"}
    assert updated["version"] == 2
    assert updated["updatedAt"] >= config["updatedAt"]
    assert await stored_secrets(api, config["id"]) == {"api_key": VALID["TELNYX"]["api_key"]}
    assert (await read(api, config["id"]))["config"] == updated["config"]


async def test_update_replaces_a_secret(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    new_token = "0123456789abcdef" * 2
    updated = await update(api, config["id"], config={"auth_token": new_token})
    assert updated["config"]["auth_token"] == masked(new_token)
    assert updated["config"]["account_sid"] == config["config"]["account_sid"]
    assert await stored_secrets(api, config["id"]) == {"account_sid": VALID["TWILIO"]["account_sid"], "auth_token": new_token}


async def test_update_checks_new_values_like_create(api):
    config = (await create_config(api, "SIGNALWIRE"))["telephonyConfig"]
    updated = await update(api, config["id"], config={"space_url": "https://Other.SignalWire.com/"})
    assert updated["config"]["space_url"] == "other.signalwire.com"
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"space_url": "http://x.signalwire.com", "project_id": "nope", "api_token": "k" * 8193}}})
    assert sorted(codes(errors)) == sorted([
        (["input", "config", "space_url"], "INVALID"),
        (["input", "config", "project_id"], "INVALID"),
        (["input", "config", "api_token"], "TOO_LONG"),
    ])


@pytest.mark.parametrize(
    ("provider", "start", "key", "reads_as"),
    [
        ("TELNYX", {"connection_id": "conn-1", "webhook_public_key": "pk"}, "connection_id", None),
        ("VONAGE", {"signature_secret": "signature-secret-0001"}, "signature_secret", None),
        ("TWILIO", {"amd_enabled": True}, "amd_enabled", False),  # back to its default
        ("ARI", {"ws_client_name": "ws-1"}, "ws_client_name", None),
        ("PLIVO", {"application_id": "app-1"}, "application_id", None),
        ("CLOUDONIX", {"application_name": "app"}, "application_name", None),
    ],
)
async def test_update_null_clears_an_optional_field(api, provider, start, key, reads_as):
    config = (await create_config(api, provider, config={**VALID[provider], **start}))["telephonyConfig"]
    updated = await update(api, config["id"], config={key: None})
    if reads_as is None:
        assert key not in updated["config"]
    else:
        assert updated["config"][key] == reads_as
    assert updated["version"] == 2
    assert {k: v for k, v in updated["config"].items() if k != key} == {k: v for k, v in config["config"].items() if k != key}
    row = await stored_row(api, config["id"])
    assert key not in row.settings and key not in api.runtime.vault.decrypt_json(row.secrets)


@pytest.mark.parametrize("provider", sorted(VALID))
async def test_update_null_on_a_required_field_is_refused(api, provider):
    config = (await create_config(api, provider))["telephonyConfig"]
    for key in REQUIRED_KEYS[provider]:
        errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {key: None}}})
        assert codes(errors) == [(["input", "config", key], "REQUIRED")]
        errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {key: "  "}}})
        assert codes(errors) == [(["input", "config", key], "REQUIRED")]
    assert (await read(api, config["id"]))["version"] == 1


async def test_update_refuses_unknown_keys_even_as_null(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"nope": None}}})
    assert codes(errors) == [(["input", "config", "nope"], "INVALID")]


@pytest.mark.parametrize("value", [[], "x", 1])
async def test_update_refuses_a_config_that_is_not_an_object(api, value):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": value}})
    assert codes(errors) == [(["input", "config"], "INVALID")]


async def test_a_refused_update_changes_nothing_even_where_part_of_it_was_valid(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "name": "Renamed", "config": {"amd_enabled": True, "auth_token": "bad"}}})
    assert codes(errors) == [(["input", "config", "auth_token"], "INVALID")]
    assert (await read(api, config["id"]))["name"] == "Main"


# --- masked echo -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(VALID))
async def test_echoing_the_whole_config_back_keeps_every_secret_and_changes_nothing(api, provider):
    config = (await create_config(api, provider))["telephonyConfig"]
    row_before = await stored_row(api, config["id"])
    updated = await update(api, config["id"], name=config["name"], config=config["config"])
    assert updated["config"] == config["config"]
    assert updated["version"] == 1
    assert updated["updatedAt"] == config["updatedAt"]
    row_after = await stored_row(api, config["id"])
    assert row_after.secrets == row_before.secrets
    assert api.runtime.vault.decrypt_json(row_after.secrets) == {
        key: value for key, value in VALID[provider].items() if key in SECRET_KEYS[provider]
    }


async def test_a_mask_sent_back_with_another_change_keeps_the_secret(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    mask = config["config"]["auth_token"]
    updated = await update(api, config["id"], config={"auth_token": mask, "amd_enabled": True})
    assert updated["config"]["auth_token"] == mask  # same length, same last 4
    assert updated["config"]["auth_token"][-4:] == VALID["TWILIO"]["auth_token"][-4:]
    assert updated["version"] == 2
    assert await stored_secrets(api, config["id"]) == {
        "account_sid": VALID["TWILIO"]["account_sid"], "auth_token": VALID["TWILIO"]["auth_token"],
    }


async def test_a_short_secrets_mask_sent_back_keeps_it(api):
    config = (await create_config(api, "TELNYX", config={"api_key": "short-key"}))["telephonyConfig"]
    assert config["config"]["api_key"] == "*********"
    updated = await update(api, config["id"], config={"api_key": "*********", "connection_id": "c"})
    assert updated["config"]["api_key"] == "*********"
    assert await stored_secrets(api, config["id"]) == {"api_key": "short-key"}


@pytest.mark.parametrize(
    "value",
    [
        "****",
        "****cdef",
        "*" * 30 + "0000",  # right length, wrong last 4
        "*" * 29 + "cdef",  # right last 4, wrong length
        "*" * 31 + "cdef",
        "*" * 34,
        "*" * 28 + "ffff",  # the mask of the other secret
    ],
)
async def test_update_refuses_any_other_masked_looking_secret(api, value):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    assert config["config"]["account_sid"] == "*" * 30 + "cdef"
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"account_sid": value}}})
    assert codes(errors) == [(["input", "config", "account_sid"], "INVALID")]


async def test_update_refuses_a_mask_for_a_secret_that_is_not_set(api):
    config = (await create_config(api, "VONAGE"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"signature_secret": "*" * 20}}})
    assert codes(errors) == [(["input", "config", "signature_secret"], "INVALID")]


async def test_a_secret_replaced_then_its_old_mask_is_refused(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    old_mask = config["config"]["api_key"]
    await update(api, config["id"], config={"api_key": "NEWKEY-0123456789-ZZZZ"})
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "config": {"api_key": old_mask}}})
    assert codes(errors) == [(["input", "config", "api_key"], "INVALID")]
    assert await stored_secrets(api, config["id"]) == {"api_key": "NEWKEY-0123456789-ZZZZ"}


# --- versions ----------------------------------------------------------------------------------


async def test_version_counts_each_change_of_the_configs_own_fields(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    assert config["version"] == 1
    assert (await update(api, config["id"], name="Renamed"))["version"] == 2
    assert (await update(api, config["id"], config={"connection_id": "c1"}))["version"] == 3
    assert (await update(api, config["id"], name="Again", config={"connection_id": "c2"}))["version"] == 4
    assert (await update(api, config["id"], config={"api_key": "ANOTHER-KEY-0123456789"}))["version"] == 5
    assert (await read(api, config["id"]))["version"] == 5


async def test_an_update_that_changes_nothing_keeps_the_version(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    for fields in [
        {},
        {"name": "Main"},
        {"name": "  Main  "},
        {"config": {}},
        {"config": {"account_sid": VALID["TWILIO"]["account_sid"]}},  # the same secret in clear
        {"config": {"amd_enabled": False}},  # its default, which it already reads as
        {"config": {"amd_enabled": None}},
        {"name": None, "config": None},
    ]:
        updated = await update(api, config["id"], **fields)
        assert (updated["version"], updated["updatedAt"]) == (1, config["updatedAt"]), fields
        assert updated["config"] == config["config"], fields
    assert (await stored_row(api, config["id"])).version == 1


async def test_phone_number_mutations_do_not_change_the_version(api):
    config = (await create_config(api, "TWILIO"))["telephonyConfig"]
    number = (await add_number(api, config["id"], "+14155550100"))["phoneNumber"]
    assert number is not None
    updated_number = (await api.gql(UPDATE_NUMBER, {"input": {"id": number["id"], "label": "Sales", "isActive": False}}))["updatePhoneNumber"]
    assert updated_number["userErrors"] == []
    removed = (await api.gql(REMOVE_NUMBER, {"input": {"id": number["id"]}}))["removePhoneNumber"]
    assert removed["userErrors"] == []
    await add_number(api, config["id"], "+14155550101")
    after = await read(api, config["id"])
    assert (after["version"], after["updatedAt"]) == (1, config["updatedAt"])


async def test_expected_version_current_is_accepted(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    updated = await update(api, config["id"], name="B", expectedVersion=1)
    assert updated["version"] == 2
    assert (await update(api, config["id"], name="C", expectedVersion=2))["version"] == 3


@pytest.mark.parametrize("expected", [0, 1, 3, -1, 2**31 - 1])
async def test_update_with_a_stale_expected_version_is_a_conflict(api, expected):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    await update(api, config["id"], name="Second")  # now at version 2
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "name": "Third", "config": {"connection_id": "c"}, "expectedVersion": expected}})
    assert [error["code"] for error in errors] == ["CONFLICT"]
    current = await read(api, config["id"])
    assert (current["name"], current["version"]) == ("Second", 2)


async def test_a_conflict_comes_before_validation(api):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    errors = await refused(api, UPDATE, {"input": {"id": config["id"], "name": "", "expectedVersion": 7}})
    assert [error["code"] for error in errors] == ["CONFLICT"]


@pytest.mark.parametrize("expected", [0, 2, 99])
async def test_delete_with_a_stale_expected_version_is_a_conflict(api, expected):
    config = (await create_config(api, "TELNYX"))["telephonyConfig"]
    await add_number(api, config["id"], "+14155550100")
    errors = await refused(api, DELETE, {"input": {"id": config["id"], "expectedVersion": expected}})
    assert [error["code"] for error in errors] == ["CONFLICT"]
    assert (await read(api, config["id"]))["phoneNumberCount"] == 1


# --- delete ------------------------------------------------------------------------------------


async def test_delete_removes_the_config_and_its_numbers(api):
    doomed = (await create_config(api, "TWILIO", "Doomed"))["telephonyConfig"]
    kept = (await create_config(api, "TELNYX", "Kept"))["telephonyConfig"]
    number_ids = [(await add_number(api, doomed["id"], f"+1415555010{i}"))["phoneNumber"]["id"] for i in range(3)]
    kept_number = (await add_number(api, kept["id"], "+14155550199"))["phoneNumber"]["id"]
    payload = (await api.gql(DELETE, {"input": {"id": doomed["id"], "expectedVersion": 1}}))["deleteTelephonyConfig"]
    assert payload == {"deletedTelephonyConfigId": doomed["id"], "userErrors": []}
    assert await read(api, doomed["id"]) is None
    nodes = await api.gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [*number_ids, kept_number, kept["id"]]})
    assert nodes["nodes"] == [None, None, None, {"id": kept_number}, {"id": kept["id"]}]
    state = await db_state(api)
    assert [c["id"] for c in state["configs"]] == [key_of(kept["id"])]
    assert [n["telephony_config_id"] for n in state["numbers"]] == [key_of(kept["id"])]
    # The numbers are free again.
    assert (await add_number(api, kept["id"], "+14155550100"))["userErrors"] == []
    # The name too.
    await create_config(api, "TWILIO", "doomed")


async def test_delete_without_expected_version(api):
    config = (await create_config(api, "ARI"))["telephonyConfig"]
    await update(api, config["id"], name="Changed")
    payload = (await api.gql(DELETE, {"input": {"id": config["id"]}}))["deleteTelephonyConfig"]
    assert payload == {"deletedTelephonyConfigId": config["id"], "userErrors": []}
    assert (await db_state(api))["configs"] == []


# --- ids that are not the caller's --------------------------------------------------------------


async def unknown_ids(api) -> dict[str, str]:
    """Ids that name no configuration of the caller, by kind."""
    other_org, other_key = await api.new_org()
    other = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "TWILIO", "config": VALID["TWILIO"]}}, key=other_key))["createTelephonyConfig"]["telephonyConfig"]
    gone = (await create_config(api, "TELNYX", "Gone"))["telephonyConfig"]["id"]
    mine = (await create_config(api, "TWILIO", "Mine"))["telephonyConfig"]["id"]
    # Deleted while not the newest: see test_a_deleted_configs_id_never_names_another_config.
    assert (await api.gql(DELETE, {"input": {"id": gone}}))["deleteTelephonyConfig"]["userErrors"] == []
    number = (await add_number(api, mine, "+14155550123"))["phoneNumber"]["id"]
    return {
        "other_org": other["id"],
        "deleted": gone,
        "never": encode_id("TelephonyConfig", 987654),
        "phone_number_id": number,
        "garbage": "not-an-id",
        "empty": "",
        "bad_base64": "%%%",
        "non_numeric": opaque_id("TelephonyConfig:abc"),
        "negative": opaque_id("TelephonyConfig:-1"),
        "huge": encode_id("TelephonyConfig", 10**30),
        "too_long": "A" * 5000,
    }


async def test_unknown_ids_are_not_found_in_every_mutation_and_null_in_queries(api):
    ids = await unknown_ids(api)
    for kind, config_id in ids.items():
        inputs = [
            (UPDATE, {"input": {"id": config_id, "name": "Hijack", "config": {"amd_enabled": True}}}),
            (UPDATE, {"input": {"id": config_id, "name": "Hijack", "expectedVersion": 1}}),
            (DELETE, {"input": {"id": config_id}}),
            (DELETE, {"input": {"id": config_id, "expectedVersion": 1}}),
            (SET_DEFAULT_FULL, {"id": config_id}),
        ]
        for document, variables in inputs:
            errors = await refused(api, document, variables)
            assert codes(errors) == [(["input", "id"], "NOT_FOUND")], (kind, errors)
        data = await api.gql(READ, {"id": config_id})
        if kind != "phone_number_id":
            assert data == {"telephonyConfig": None, "node": None, "nodes": [None]}, kind
        else:
            assert data["telephonyConfig"] is None


async def test_a_deleted_configs_id_never_names_another_config(api):
    gone = (await create_config(api, "TELNYX", "Gone"))["telephonyConfig"]
    assert (await api.gql(DELETE, {"input": {"id": gone["id"]}}))["deleteTelephonyConfig"]["userErrors"] == []
    fresh = (await create_config(api, "TWILIO", "Fresh"))["telephonyConfig"]
    assert fresh["id"] != gone["id"]
    # A retried delete of the old config must not delete the new one.
    errors = await refused(api, DELETE, {"input": {"id": gone["id"], "expectedVersion": 1}})
    assert codes(errors) == [(["input", "id"], "NOT_FOUND")]


async def test_another_organizations_id_behaves_exactly_as_one_that_never_existed(api):
    ids = await unknown_ids(api)
    for document, variables in [
        (UPDATE, lambda i: {"input": {"id": i, "name": "Hijack", "config": {"amd_enabled": True}}}),
        (UPDATE, lambda i: {"input": {"id": i, "expectedVersion": 1}}),
        (DELETE, lambda i: {"input": {"id": i, "expectedVersion": 1}}),
        (SET_DEFAULT_FULL, lambda i: {"id": i}),
        (READ, lambda i: {"id": i}),
    ]:
        theirs = await api.post(document, variables(ids["other_org"]))
        never = await api.post(document, variables(ids["never"]))
        assert (theirs.status_code, theirs.json()) == (never.status_code, never.json())
        assert theirs.headers.get("content-type") == never.headers.get("content-type")


async def test_another_organizations_config_is_untouched(api):
    other_org, other_key = await api.new_org()
    theirs = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "TWILIO", "config": VALID["TWILIO"], "isDefaultOutbound": True}}, key=other_key))["createTelephonyConfig"]["telephonyConfig"]
    await refused(api, UPDATE, {"input": {"id": theirs["id"], "config": {"amd_enabled": True}}})
    await refused(api, DELETE, {"input": {"id": theirs["id"]}})
    await refused(api, SET_DEFAULT_FULL, {"id": theirs["id"]})
    after = await read(api, theirs["id"], key=other_key)
    assert (after["version"], after["isDefaultOutbound"], after["config"]) == (1, True, theirs["config"])
    # Nor is it listed to us.
    listed = await api.gql("{ telephonyConfigs { totalCount nodes { id } } }")
    assert listed["telephonyConfigs"] == {"totalCount": 0, "nodes": []}


async def test_adding_a_number_to_an_unknown_config_is_not_found(api):
    ids = await unknown_ids(api)
    for kind in ("other_org", "never", "deleted", "garbage"):
        errors = await refused(api, ADD_NUMBER, {"input": {"telephonyConfigId": ids[kind], "phoneNumber": "+14155550188"}})
        assert [error["code"] for error in errors] == ["NOT_FOUND"], kind


# --- secrets at rest ---------------------------------------------------------------------------

CANARIES = {
    "TELNYX": {"api_key": "KEYCANARY-telnyx-91d2c7"},
    "TWILIO": {"account_sid": "AC" + "9f8e7d6c5b4a3f2e" * 2, "auth_token": "c0ffee" + "a1b2c3d4e5f6a7b8c9d0e1f2a3"},
    "VONAGE": {"private_key": "-----BEGIN PRIVATE KEY-----\nCANARYvonagePEMbody77\n-----END PRIVATE KEY-----",
               "api_key": "CANARY-vonage-key-5521", "api_secret": "CANARY-vonage-secret-8812",
               "signature_secret": "CANARY-vonage-sig-3391"},
    "PLIVO": {"auth_id": "CANARYplivoAuthId0042", "auth_token": "CANARY-plivo-token-7781"},
    "CLOUDONIX": {"bearer_token": "CANARY-cloudonix-bearer-6610"},
    "VOBIZ": {"auth_id": "CANARY-vobiz-id-4410", "auth_token": "CANARY-vobiz-token-2290"},
    "SIGNALWIRE": {"api_token": "CANARY-signalwire-token-1177"},
    "ARI": {"app_password": "CANARY-ari-password-9034"},
}


async def test_no_secret_is_stored_in_clear_in_the_database_files(api):
    if not api.runtime.settings.is_sqlite:
        pytest.skip("reads the SQLite database files")
    replaced = "CANARY-telnyx-replaced-0001"
    for provider, secrets in CANARIES.items():
        config = (await create_config(api, provider, f"Canary {provider}", config={**VALID[provider], **secrets}))["telephonyConfig"]
        if provider == "TELNYX":
            await update(api, config["id"], config={"api_key": replaced})
            await update(api, config["id"], config={"api_key": secrets["api_key"], "connection_id": "visible-conn-id"})
    path = api.runtime.settings.sqlite_path
    assert path is not None
    files = [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")) if p.exists()]
    content = b"".join(p.read_bytes() for p in files)
    # The check can see stored values at all: a plain setting and a name are there.
    assert b"visible-conn-id" in content and b"Canary VONAGE" in content
    values = [value for secrets in CANARIES.values() for value in secrets.values()] + [replaced]
    assert b"CANARY" not in content
    for value in values:
        for fragment in {value, value[:12], value[-12:]}:
            assert fragment.encode() not in content, fragment


async def test_a_new_config_and_number_were_updated_when_they_were_created(api):
    config = (await create_config(api, "TELNYX", "Fresh"))["telephonyConfig"]
    assert config["createdAt"] == config["updatedAt"]
    number = (await add_number(api, config["id"], "+14155550155"))["phoneNumber"]
    assert number["createdAt"] == number["updatedAt"]


async def test_later_mutations_of_one_document_read_what_earlier_ones_wrote(api):
    config = (await create_config(api, "TWILIO", "Before"))["telephonyConfig"]
    document = """
    mutation($id: ID!) {
      first: addPhoneNumber(input: {telephonyConfigId: $id, phoneNumber: "+14155550111"}) {
        phoneNumber { telephonyConfig { name version phoneNumberCount } } }
      rename: updateTelephonyConfig(input: {id: $id, name: "After"}) { telephonyConfig { name version } }
      second: addPhoneNumber(input: {telephonyConfigId: $id, phoneNumber: "+14155550112"}) {
        phoneNumber { telephonyConfig { name version phoneNumberCount } } }
    }"""
    data = await api.gql(document, {"id": config["id"]})
    assert data["first"]["phoneNumber"]["telephonyConfig"] == {"name": "Before", "version": 1, "phoneNumberCount": 1}
    assert data["second"]["phoneNumber"]["telephonyConfig"] == {"name": "After", "version": 2, "phoneNumberCount": 2}
