"""Text that cannot be stored, that displays as something else, or that reads like another
name: a user error, the same on SQLite and PostgreSQL, never a fault; and what comes back of a
client's text is bounded.

Bodies are encoded here with json.dumps, whose ASCII escapes carry a lone surrogate ("\\ud800")
as a real client sends it; Python decodes it into a str no database driver takes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gql_telephony.domain.config_rules import MAX_KEY_SHOWN

from ..documents import ADD_NUMBER, ARI, CREATE, TELNYX, UPDATE, UPDATE_NUMBER, create_config

SURROGATE, NUL, BELL, RIGHT_TO_LEFT_OVERRIDE = "\ud800", "\x00", "\x07", "\u202e"
BAD_TEXT = [SURROGATE, "\udfff", NUL, BELL, "\x1b", RIGHT_TO_LEFT_OVERRIDE, "\u2066"]


async def send(api: Any, query: str, variables: Any = None, **extra: Any) -> dict[str, Any]:
    """The response body of a request that must be answered, not fail."""
    body = json.dumps({"query": query, "variables": variables, **extra})
    response = await api.client.post(
        "/graphql", content=body, headers={"authorization": f"Bearer {api.key}", "content-type": "application/json"}
    )
    assert response.status_code < 500, response.text
    assert "INTERNAL_SERVER_ERROR" not in response.text
    return response.json()


async def payload_of(api: Any, query: str, variables: Any) -> dict[str, Any]:
    result = await send(api, query, variables)
    assert "errors" not in result, result
    [payload] = result["data"].values()
    return payload


def user_errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def names(api: Any) -> list[str]:
    result = await send(api, "{ telephonyConfigs(first: 50) { nodes { name } } }")
    return [node["name"] for node in result["data"]["telephonyConfigs"]["nodes"]]


@pytest.mark.parametrize("bad", BAD_TEXT)
async def test_a_name_that_cannot_be_stored_or_shown_as_written_is_invalid(api, bad):
    payload = await payload_of(api, CREATE, {"input": {"name": f"Ma{bad}in", "provider": "TELNYX", "config": TELNYX}})
    assert payload["telephonyConfig"] is None
    assert user_errors(payload) == [(["input", "name"], "INVALID")]
    config = (await create_config(api, "TELNYX", "Kept"))["telephonyConfig"]
    payload = await payload_of(api, UPDATE, {"input": {"id": config["id"], "name": f"{bad}Renamed"}})
    assert user_errors(payload) == [(["input", "name"], "INVALID")]
    assert await names(api) == ["Kept"]


@pytest.mark.parametrize("bad", BAD_TEXT)
async def test_a_label_that_cannot_be_stored_or_shown_as_written_is_invalid(api, bad):
    config = (await create_config(api, "TELNYX", "Main"))["telephonyConfig"]
    variables = {"input": {"telephonyConfigId": config["id"], "phoneNumber": "+14155550100", "label": f"Desk{bad}"}}
    payload = await payload_of(api, ADD_NUMBER, variables)
    assert payload["phoneNumber"] is None
    assert user_errors(payload) == [(["input", "label"], "INVALID")]
    variables["input"]["label"] = "Desk"
    number = (await payload_of(api, ADD_NUMBER, variables))["phoneNumber"]
    payload = await payload_of(api, UPDATE_NUMBER, {"input": {"id": number["id"], "label": f"{bad}Front"}})
    assert user_errors(payload) == [(["input", "label"], "INVALID")]


@pytest.mark.parametrize("bad", [SURROGATE, NUL, BELL])
@pytest.mark.parametrize("field", ["app_name", "app_password"])
async def test_a_config_value_that_cannot_be_stored_is_invalid(api, bad, field):
    """PostgreSQL stores settings as JSON: NUL used to be kept on SQLite only."""
    config = {**ARI, field: f"voice{bad}-ai-123456"}
    payload = await payload_of(api, CREATE, {"input": {"name": "Pbx", "provider": "ARI", "config": config}})
    assert user_errors(payload) == [(["input", "config", field], "INVALID")]
    created = (await create_config(api, "ARI", "Pbx"))["telephonyConfig"]
    payload = await payload_of(api, UPDATE, {"input": {"id": created["id"], "config": {field: f"x{bad}"}}})
    assert user_errors(payload) == [(["input", "config", field], "INVALID")]


@pytest.mark.parametrize("given", ["\u200b", "\u200b\u200b\u200b", "\ufeff \u2060"])
async def test_a_name_of_invisible_characters_only_is_blank(api, given):
    payload = await payload_of(api, CREATE, {"input": {"name": given, "provider": "TELNYX", "config": TELNYX}})
    assert user_errors(payload) == [(["input", "name"], "REQUIRED")]


async def test_a_name_that_outgrows_its_key_is_too_long_on_both_databases(api):
    """15 characters that NFKC spells out as 270: PostgreSQL's key column would refuse them."""
    payload = await payload_of(api, CREATE, {"input": {"name": "\ufdfa" * 15, "provider": "TELNYX", "config": TELNYX}})
    assert user_errors(payload) == [(["input", "name"], "TOO_LONG")]


@pytest.mark.parametrize(("first", "second"), [
    ("Caf\u00e9", "Cafe\u0301"),  # NFC, then NFD
    ("Cafe\u0301", "CAF\u00c9"),
    ("Main", "\uff2d\uff41\uff49\uff4e"),  # full-width
    ("Main", "Ma\u200bin"),
    ("Main Twilio", "main  twilio"),
])
async def test_names_that_read_alike_are_one_name(api, first, second):
    await create_config(api, "TELNYX", first)
    payload = await payload_of(api, CREATE, {"input": {"name": second, "provider": "TELNYX", "config": TELNYX}})
    assert user_errors(payload) == [(["input", "name"], "TAKEN")]


async def test_names_are_stored_in_nfc_and_may_change_case(api):
    created = (await create_config(api, "TELNYX", "Cafe\u0301"))["telephonyConfig"]
    assert created["name"] == "Caf\u00e9"
    payload = await payload_of(api, UPDATE, {"input": {"id": created["id"], "name": "CAFE\u0301"}})
    assert user_errors(payload) == []
    assert payload["telephonyConfig"]["name"] == "CAF\u00c9"


# Every other text a client sends: a clear refusal, never a fault, on both databases.
OTHER_TEXT: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "phone number": (ADD_NUMBER, {"phoneNumber": "+1415555{bad}0100"}, {}),
    "sip uri": (ADD_NUMBER, {"phoneNumber": "sip:a{bad}b@pbx.example.com"}, {}),
    "region": (ADD_NUMBER, {"phoneNumber": "4155550100", "region": "U{bad}S"}, {}),
    "config id": (ADD_NUMBER, {"telephonyConfigId": "VGVsZXBob255{bad}", "phoneNumber": "+14155550100"}, {}),
}


@pytest.mark.parametrize("bad", [SURROGATE, NUL, RIGHT_TO_LEFT_OVERRIDE])
@pytest.mark.parametrize("what", OTHER_TEXT)
async def test_bad_text_in_any_other_input_is_a_user_error(api, bad, what):
    config = (await create_config(api, "ARI", "Pbx"))["telephonyConfig"]
    query, given, _ = OTHER_TEXT[what]
    fields = {"telephonyConfigId": config["id"], **{key: value.format(bad=bad) for key, value in given.items()}}
    payload = await payload_of(api, query, {"input": fields})
    assert payload["phoneNumber"] is None
    assert [code for _, code in user_errors(payload)] in (["INVALID"], ["NOT_FOUND"])


@pytest.mark.parametrize("bad", [SURROGATE, NUL, RIGHT_TO_LEFT_OVERRIDE])
async def test_bad_text_around_the_document_is_a_graphql_error_or_ignored(api, bad):
    await create_config(api, "TELNYX", "Main")
    count = "query Q($after: String) { telephonyConfigs(after: $after) { totalCount } }"
    cursor = await send(api, count, {"after": f"Y3Vyc29y{bad}"})
    assert [e["extensions"]["code"] for e in cursor["errors"]] == ["BAD_USER_INPUT"]
    node = await send(api, "query Q($id: ID!) { node(id: $id) { id } }", {"id": f"x{bad}"})
    assert node == {"data": {"node": None}}
    operation = await send(api, count, {}, operationName=f"Q{bad}")
    assert [e["extensions"]["code"] for e in operation["errors"]] == ["BAD_REQUEST"]
    unused_key = await send(api, count, {f"after{bad}": 1})
    assert unused_key == {"data": {"telephonyConfigs": {"totalCount": 1}}}
    in_document = await send(api, f'{{ node(id: "x{bad}") {{ id }} }}')
    assert "errors" in in_document or in_document == {"data": {"node": None}}


async def test_an_unknown_config_key_is_echoed_cut_short(api):
    """100,000 characters of key came back verbatim; now the path holds at most the longest
    declared key's length and a U+2026 that says it was cut."""
    long_key = "k" * 100_000
    config = {**TELNYX, long_key: "x", f"bad{SURROGATE}key": "y"}
    result = await send(api, CREATE, {"input": {"name": "Main", "provider": "TELNYX", "config": config}})
    payload = result["data"]["createTelephonyConfig"]
    assert user_errors(payload) == [
        (["input", "config", "k" * MAX_KEY_SHOWN + "\u2026"], "INVALID"),
        (["input", "config", "bad\ufffdkey"], "INVALID"),
    ]
    assert len(json.dumps(result)) < 2000


async def test_many_unknown_config_keys_are_not_all_listed(api):
    config = {**TELNYX, **{f"k{index}": index for index in range(20_000)}}
    result = await send(api, CREATE, {"input": {"name": "Main", "provider": "TELNYX", "config": config}})
    errors = result["data"]["createTelephonyConfig"]["userErrors"]
    assert len(errors) == 11
    assert errors[-1]["field"] == ["input", "config"] and "19990" in errors[-1]["message"]
    assert len(json.dumps(result)) < 5000


async def test_a_long_name_in_the_document_is_echoed_cut_short(api):
    """Validation messages repeat the document's names; a name may be as long as the body."""
    long_name = "f" * 100_000
    result = await send(api, f"{{ {long_name} }}")
    [error] = result["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "f" * 64 + "\u2026" in error["message"]
    assert len(error["message"]) < 200
