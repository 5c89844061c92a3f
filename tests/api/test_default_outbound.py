"""The default outbound configuration through the HTTP API.

At most one per organization; create with isDefaultOutbound and setDefaultOutboundTelephonyConfig
demote the previous one (whose version goes up); nothing becomes the default on its own.
"""

from __future__ import annotations

import asyncio

from gql_telephony.domain.ids import encode_id

from ..documents import CREATE, DELETE, SET_DEFAULT, UPDATE, VALID, add_number, create_config
from .test_telephony_configs import codes, db_state, refused

STATE = """
query State {
  telephonyConfigs(first: 100) { nodes { id name isDefaultOutbound version } }
  defaultOutboundTelephonyConfig { id name isDefaultOutbound version }
  telephonyConfigWarnings { hasDefaultOutbound }
}"""


async def state(api, *, key: str | None = None) -> dict:
    data = await api.gql(STATE, key=key)
    return {
        "configs": {c["id"]: (c["isDefaultOutbound"], c["version"]) for c in data["telephonyConfigs"]["nodes"]},
        "default": data["defaultOutboundTelephonyConfig"],
        "has_default": data["telephonyConfigWarnings"]["hasDefaultOutbound"],
    }


async def stored_defaults(api) -> list[int]:
    """The ids of the rows flagged as default, per organization, straight from the database."""
    return [(c["organization_id"], c["id"]) for c in (await db_state(api))["configs"] if c["is_default_outbound"]]


async def set_default(api, config_id: str) -> dict:
    payload = (await api.gql(SET_DEFAULT, {"id": config_id}))["setDefaultOutboundTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    return payload


async def test_without_a_default(api):
    assert await state(api) == {"configs": {}, "default": None, "has_default": False}


async def test_nothing_becomes_the_default_on_its_own(api):
    first = (await create_config(api, "TWILIO", "First"))["telephonyConfig"]
    assert first["isDefaultOutbound"] is False
    second = (await create_config(api, "TELNYX", "Second", default=False))["telephonyConfig"]
    assert second["isDefaultOutbound"] is False
    await add_number(api, first["id"], "+14155550100")
    await api.gql(UPDATE, {"input": {"id": first["id"], "name": "Renamed"}})
    assert await state(api) == {
        "configs": {first["id"]: (False, 2), second["id"]: (False, 1)}, "default": None, "has_default": False,
    }
    assert await stored_defaults(api) == []


async def test_create_as_default(api):
    payload = await create_config(api, "TWILIO", "Main", default=True)
    config = payload["telephonyConfig"]
    assert (config["isDefaultOutbound"], config["version"], payload["previousDefault"]) == (True, 1, None)
    current = await state(api)
    assert current["default"] == {"id": config["id"], "name": "Main", "isDefaultOutbound": True, "version": 1}
    assert current["has_default"] is True


async def test_create_as_default_demotes_the_previous_one(api):
    first = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]
    other = (await create_config(api, "PLIVO", "Other"))["telephonyConfig"]
    payload = await create_config(api, "TELNYX", "Second", default=True)
    second = payload["telephonyConfig"]
    assert (second["isDefaultOutbound"], second["version"]) == (True, 1)
    assert payload["previousDefault"] == {"id": first["id"], "version": 2, "isDefaultOutbound": False}
    assert await state(api) == {
        "configs": {first["id"]: (False, 2), other["id"]: (False, 1), second["id"]: (True, 1)},
        "default": {"id": second["id"], "name": "Second", "isDefaultOutbound": True, "version": 1},
        "has_default": True,
    }
    assert len(await stored_defaults(api)) == 1


async def test_create_not_as_default_leaves_the_default(api):
    first = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]
    payload = await create_config(api, "TELNYX", "Second", default=False)
    assert payload["previousDefault"] is None
    assert (await state(api))["default"]["id"] == first["id"]
    assert (await state(api))["configs"][first["id"]] == (True, 1)


async def test_a_refused_create_as_default_demotes_nothing(api):
    first = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]
    for bad in [
        {"name": "FIRST", "provider": "TELNYX", "config": VALID["TELNYX"]},  # taken: fails in the database
        {"name": "New", "provider": "TELNYX", "config": {}},  # refused before any write
        {"name": "", "provider": "TELNYX", "config": VALID["TELNYX"]},
    ]:
        errors = await refused(api, CREATE, {"input": {**bad, "isDefaultOutbound": True}})
        assert errors
    assert (await state(api))["configs"] == {first["id"]: (True, 1)}


async def test_set_default(api):
    first = (await create_config(api, "TWILIO", "First"))["telephonyConfig"]
    second = (await create_config(api, "TELNYX", "Second"))["telephonyConfig"]
    # None before: nothing demoted.
    payload = await set_default(api, first["id"])
    assert payload["telephonyConfig"] == {"id": first["id"], "isDefaultOutbound": True, "version": 2}
    assert payload["previousDefault"] is None
    # Switching demotes the previous one, in the payload and in storage.
    payload = await set_default(api, second["id"])
    assert payload["telephonyConfig"] == {"id": second["id"], "isDefaultOutbound": True, "version": 2}
    assert payload["previousDefault"] == {"id": first["id"], "isDefaultOutbound": False, "version": 3}
    assert await state(api) == {
        "configs": {first["id"]: (False, 3), second["id"]: (True, 2)},
        "default": {"id": second["id"], "name": "Second", "isDefaultOutbound": True, "version": 2},
        "has_default": True,
    }
    assert len(await stored_defaults(api)) == 1


async def test_set_default_on_the_default_changes_nothing(api):
    config = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]
    before = await db_state(api)
    payload = await set_default(api, config["id"])
    assert payload["telephonyConfig"] == {"id": config["id"], "isDefaultOutbound": True, "version": 1}
    assert payload["previousDefault"] is None
    assert await db_state(api) == before


async def test_set_default_unknown_ids_are_not_found_and_keep_the_default(api):
    default = (await create_config(api, "TWILIO", "Default", default=True))["telephonyConfig"]
    _, other_key = await api.new_org()
    theirs = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "TELNYX", "config": VALID["TELNYX"]}}, key=other_key))["createTelephonyConfig"]["telephonyConfig"]
    gone = (await create_config(api, "TELNYX", "Gone"))["telephonyConfig"]["id"]
    await create_config(api, "PLIVO", "Newest")
    assert (await api.gql(DELETE, {"input": {"id": gone}}))["deleteTelephonyConfig"]["userErrors"] == []
    for config_id in [theirs["id"], gone, encode_id("TelephonyConfig", 424242), encode_id("PhoneNumber", 1), "bogus", ""]:
        errors = await refused(api, SET_DEFAULT, {"id": config_id})
        assert codes(errors) == [(["input", "id"], "NOT_FOUND")], config_id
    assert (await state(api))["default"]["id"] == default["id"]
    assert (await state(api, key=other_key))["default"] is None


async def test_deleting_the_default_leaves_none(api):
    default = (await create_config(api, "TWILIO", "Default", default=True))["telephonyConfig"]
    older = (await create_config(api, "TELNYX", "Other"))["telephonyConfig"]
    newer = (await create_config(api, "PLIVO", "Newer"))["telephonyConfig"]
    payload = (await api.gql(DELETE, {"input": {"id": default["id"], "expectedVersion": 1}}))["deleteTelephonyConfig"]
    assert payload["userErrors"] == []
    assert await state(api) == {
        "configs": {older["id"]: (False, 1), newer["id"]: (False, 1)}, "default": None, "has_default": False,
    }
    assert await stored_defaults(api) == []
    # A new default can be chosen, with nothing to demote.
    assert (await set_default(api, newer["id"]))["previousDefault"] is None


async def test_deleting_another_config_keeps_the_default(api):
    default = (await create_config(api, "TWILIO", "Default", default=True))["telephonyConfig"]
    other = (await create_config(api, "TELNYX", "Other"))["telephonyConfig"]
    assert (await api.gql(DELETE, {"input": {"id": other["id"]}}))["deleteTelephonyConfig"]["userErrors"] == []
    assert await state(api) == {
        "configs": {default["id"]: (True, 1)},
        "default": {"id": default["id"], "name": "Default", "isDefaultOutbound": True, "version": 1},
        "has_default": True,
    }


async def test_demotion_is_a_new_version_for_expected_version(api):
    first = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]
    await create_config(api, "TELNYX", "Second", default=True)
    # A client still holding version 1 of the demoted config is told it changed.
    errors = await refused(api, UPDATE, {"input": {"id": first["id"], "name": "Renamed", "expectedVersion": 1}})
    assert [error["code"] for error in errors] == ["CONFLICT"]
    errors = await refused(api, DELETE, {"input": {"id": first["id"], "expectedVersion": 1}})
    assert [error["code"] for error in errors] == ["CONFLICT"]
    updated = (await api.gql(UPDATE, {"input": {"id": first["id"], "name": "Renamed", "expectedVersion": 2}}))["updateTelephonyConfig"]
    assert updated["userErrors"] == [] and updated["telephonyConfig"]["version"] == 3


async def test_updating_the_default_keeps_it_the_default(api):
    config = (await create_config(api, "TWILIO", "Main", default=True))["telephonyConfig"]
    updated = (await api.gql(UPDATE, {"input": {"id": config["id"], "name": "Renamed", "config": {"amd_enabled": True}}}))["updateTelephonyConfig"]
    assert updated["userErrors"] == []
    assert (updated["telephonyConfig"]["isDefaultOutbound"], updated["telephonyConfig"]["version"]) == (True, 2)
    assert (await state(api))["default"]["id"] == config["id"]


async def test_each_organization_has_its_own_default(api):
    mine = (await create_config(api, "TWILIO", "Mine", default=True))["telephonyConfig"]
    _, other_key = await api.new_org()
    payload = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "TWILIO", "config": VALID["TWILIO"], "isDefaultOutbound": True}}, key=other_key))["createTelephonyConfig"]
    assert payload["userErrors"] == [] and payload["previousDefault"] is None
    theirs = payload["telephonyConfig"]
    assert (await state(api))["default"]["id"] == mine["id"]
    assert (await state(api, key=other_key))["default"]["id"] == theirs["id"]
    assert (await state(api))["configs"][mine["id"]] == (True, 1)
    assert len(await stored_defaults(api)) == 2


async def test_concurrent_switches_leave_exactly_one_default(api):
    ids = [(await create_config(api, "TELNYX", f"Telnyx {i}"))["telephonyConfig"]["id"] for i in range(6)]
    creates = [
        api.gql(CREATE, {"input": {"name": f"New {i}", "provider": "TELNYX", "config": VALID["TELNYX"], "isDefaultOutbound": True}})
        for i in range(4)
    ]
    switches = [api.gql(SET_DEFAULT, {"id": config_id}) for config_id in ids]
    results = await asyncio.gather(*creates, *switches)
    payloads = [r.get("createTelephonyConfig") or r.get("setDefaultOutboundTelephonyConfig") for r in results]
    assert all(p["userErrors"] == [] for p in payloads), payloads
    # Serialized: one chain of demotions, every winner but the first demoting exactly one other.
    demoted = [p["previousDefault"]["id"] for p in payloads if p["previousDefault"]]
    assert len(demoted) == len(payloads) - 1 == len(set(demoted))
    current = await state(api)
    defaults = [config_id for config_id, (is_default, _) in current["configs"].items() if is_default]
    assert defaults == [current["default"]["id"]]
    assert len(await stored_defaults(api)) == 1
    # Each promotion and each demotion is one version of the config.
    for payload in payloads:
        config_id = payload["telephonyConfig"]["id"]
        promotions = 1 if config_id in ids else 0
        assert current["configs"][config_id][1] == 1 + promotions + demoted.count(config_id), config_id
