"""Phone numbers through the HTTP API: normalization, uniqueness, SIP URIs, labels, updates,
removal, counts, connections and the warnings that depend on them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ..documents import (
    ADD_NUMBER,
    REMOVE_NUMBER,
    UPDATE_NUMBER,
    VALID,
    add_number,
    create_config,
)

API_PROVIDERS = ["TELNYX", "TWILIO", "VONAGE", "PLIVO", "VOBIZ", "SIGNALWIRE"]
SIP_PROVIDERS = ["CLOUDONIX", "ARI"]

CONFIG_NUMBERS = """
query Config($id: ID!, $first: Int, $activeOnly: Boolean) {
  telephonyConfig(id: $id) {
    id name version phoneNumberCount warningCount
    warnings { code severity message field }
    phoneNumbers(first: $first, activeOnly: $activeOnly) {
      totalCount
      nodes { id phoneNumber label isActive }
      edges { cursor node { id } }
    }
  }
}"""

SUMMARY = """
query Summary {
  telephonyConfigWarnings { totalCount configsWithWarningsCount byCode { code count } hasDefaultOutbound }
}"""

NUMBER_NODE = """
query NumberNode($id: ID!) {
  node(id: $id) {
    __typename
    ... on PhoneNumber { id phoneNumber label isActive telephonyConfig { id name provider } }
  }
}"""


async def config_id(api: Any, provider: str = "TWILIO", name: str = "Main", **kwargs: Any) -> str:
    return (await create_config(api, provider, name, **kwargs))["telephonyConfig"]["id"]


async def added(api: Any, cfg: str, number: str, **extra: Any) -> dict[str, Any]:
    """The added phone number (asserts no user errors)."""
    payload = await add_number(api, cfg, number, **extra)
    assert payload["userErrors"] == [], payload
    assert payload["phoneNumber"] is not None
    return payload["phoneNumber"]


async def refused(api: Any, cfg: str, number: str, **extra: Any) -> list[dict[str, Any]]:
    """The user errors of an add that must fail (asserts no phone number came back)."""
    payload = await add_number(api, cfg, number, **extra)
    assert payload["phoneNumber"] is None, payload
    assert payload["userErrors"], payload
    return payload["userErrors"]


async def read_config(api: Any, cfg: str, **variables: Any) -> dict[str, Any]:
    data = await api.gql(CONFIG_NUMBERS, {"id": cfg, **variables})
    assert data["telephonyConfig"] is not None
    return data["telephonyConfig"]


async def update_number(api: Any, **fields: Any) -> dict[str, Any]:
    return (await api.gql(UPDATE_NUMBER, {"input": fields}))["updatePhoneNumber"]


async def remove_number(api: Any, number_id: str) -> dict[str, Any]:
    return (await api.gql(REMOVE_NUMBER, {"input": {"id": number_id}}))["removePhoneNumber"]


def codes(config: dict[str, Any]) -> list[str]:
    return [w["code"] for w in config["warnings"]]


# --- normalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+14155550100", None, "+14155550100"),
        ("+1 (415) 555-0100", None, "+14155550100"),
        ("  +1 415-555-0100  ", None, "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("020 7946 0018", "gb", "+442079460018"),
        ("+44 20 7946 0018", None, "+442079460018"),
        ("+44 20 7946 0018", "US", "+442079460018"),  # an explicit + wins over the region
        ("030 123456", "DE", "+4930123456"),
    ],
)
async def test_numbers_are_stored_in_e164(api, raw, region, expected):
    cfg = await config_id(api)
    extra = {"region": region} if region is not None else {}
    number = await added(api, cfg, raw, **extra)
    assert number["phoneNumber"] == expected
    config = await read_config(api, cfg)
    assert [n["phoneNumber"] for n in config["phoneNumbers"]["nodes"]] == [expected]


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("12345", None),
        ("4155550100", None),  # no + and no region: which country?
        ("+1 555", None),
        ("+1 415 555 01", None),
        ("+999 123 456 789", None),
        ("not a number", None),
        ("+1 (415) 555-0100 ext", None),
        ("123", "US"),
    ],
)
async def test_invalid_numbers_are_refused(api, raw, region):
    cfg = await config_id(api)
    extra = {"region": region} if region is not None else {}
    errors = await refused(api, cfg, raw, **extra)
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "phoneNumber"])]
    assert raw not in errors[0]["message"]
    config = await read_config(api, cfg)
    assert config["phoneNumbers"]["totalCount"] == 0
    assert config["phoneNumberCount"] == 0


async def test_blank_number_is_refused_on_its_field(api):
    cfg = await config_id(api)
    errors = await refused(api, cfg, "   ")
    assert [e["field"] for e in errors] == [["input", "phoneNumber"]]
    assert errors[0]["code"] in {"REQUIRED", "INVALID"}


@pytest.mark.parametrize("region", ["ZZ", "XX", "USA", "United States", "1"])
async def test_bad_region_is_refused_on_the_region_field(api, region):
    cfg = await config_id(api)
    errors = await refused(api, cfg, "(415) 555-0100", region=region)
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "region"])]
    assert (await read_config(api, cfg))["phoneNumbers"]["totalCount"] == 0


async def test_a_number_valid_in_another_region_is_checked_against_the_given_one(api):
    cfg = await config_id(api)
    # A UK national number read as a US one is not a valid US number.
    errors = await refused(api, cfg, "020 7946 0018", region="US")
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "phoneNumber"])]


# --- uniqueness ------------------------------------------------------------------------------


async def test_same_number_in_another_format_is_taken_naming_the_holder(api):
    cfg = await config_id(api, name="Main line")
    first = await added(api, cfg, "+1 (415) 555-0100")
    for again, extra in [("+14155550100", {}), ("415.555.0100", {"region": "US"}), ("+1 415 555 0100", {})]:
        errors = await refused(api, cfg, again, **extra)
        assert [(e["code"], e["field"]) for e in errors] == [("TAKEN", ["input", "phoneNumber"])]
        assert "Main line" in errors[0]["message"]
    config = await read_config(api, cfg)
    assert [n["id"] for n in config["phoneNumbers"]["nodes"]] == [first["id"]]
    assert config["phoneNumberCount"] == 1


async def test_number_held_by_another_config_of_the_org_is_taken_naming_that_config(api):
    holder = await config_id(api, "TWILIO", "Twilio US")
    other = await config_id(api, "TELNYX", "Telnyx backup")
    await added(api, holder, "+14155550100")
    errors = await refused(api, other, "+1 (415) 555-0100")
    assert [(e["code"], e["field"]) for e in errors] == [("TAKEN", ["input", "phoneNumber"])]
    assert "Twilio US" in errors[0]["message"]
    assert "Telnyx backup" not in errors[0]["message"]
    assert (await read_config(api, other))["phoneNumbers"]["totalCount"] == 0


async def test_inactive_number_still_holds_its_place(api):
    cfg = await config_id(api, name="Holder")
    await added(api, cfg, "+14155550100", isActive=False)
    errors = await refused(api, cfg, "+14155550100")
    assert errors[0]["code"] == "TAKEN"


async def test_another_organization_may_hold_the_same_number(api):
    cfg = await config_id(api, name="Ours")
    mine = await added(api, cfg, "+14155550100")
    _, other_key = await api.new_org()
    theirs_cfg = (await api.gql(
        """mutation($input: CreateTelephonyConfigInput!) {
             createTelephonyConfig(input: $input) { telephonyConfig { id } userErrors { code } } }""",
        {"input": {"name": "Theirs", "provider": "TWILIO", "config": VALID["TWILIO"]}}, key=other_key,
    ))["createTelephonyConfig"]["telephonyConfig"]["id"]
    theirs = (await api.gql(
        ADD_NUMBER, {"input": {"telephonyConfigId": theirs_cfg, "phoneNumber": "+1 (415) 555-0100"}}, key=other_key,
    ))["addPhoneNumber"]
    assert theirs["userErrors"] == []
    assert theirs["phoneNumber"]["phoneNumber"] == "+14155550100"
    assert theirs["phoneNumber"]["id"] != mine["id"]
    # Still taken within each organization.
    errors = await refused(api, cfg, "+14155550100")
    assert errors[0]["code"] == "TAKEN"
    assert "Theirs" not in errors[0]["message"]


async def test_a_removed_number_can_be_added_again(api):
    cfg = await config_id(api)
    await added(api, cfg, "+14155550199")
    number = await added(api, cfg, "+14155550100")
    assert (await remove_number(api, number["id"]))["userErrors"] == []
    again = await added(api, cfg, "+1 415 555 0100")
    assert again["phoneNumber"] == "+14155550100"
    assert (await read_config(api, cfg))["phoneNumberCount"] == 2


async def test_the_id_of_a_removed_number_is_never_given_again(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100")
    assert (await remove_number(api, number["id"]))["userErrors"] == []
    newer = await added(api, cfg, "+14155550101")
    assert newer["id"] != number["id"]
    # A retried remove with the old id must not delete the newer number.
    assert (await remove_number(api, number["id"]))["userErrors"][0]["code"] == "NOT_FOUND"


async def test_numbers_of_a_deleted_config_are_free_again(api):
    first = await config_id(api, name="First")
    await added(api, first, "+14155550100")
    deleted = (await api.gql(
        "mutation($id: ID!) { deleteTelephonyConfig(input: {id: $id}) { deletedTelephonyConfigId userErrors { code } } }",
        {"id": first},
    ))["deleteTelephonyConfig"]
    assert deleted["userErrors"] == []
    second = await config_id(api, name="Second")
    assert (await added(api, second, "+14155550100"))["phoneNumber"] == "+14155550100"


# --- SIP URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", SIP_PROVIDERS)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sip:alice@pbx.example.com", "sip:alice@pbx.example.com"),
        ("SIP:Alice.Smith@PBX.Example.COM", "sip:Alice.Smith@pbx.example.com"),
        ("Sip:+14155550100@Trunk.Example.net", "sip:+14155550100@trunk.example.net"),
        ("sip:Bob@10.0.0.1:5060", "sip:Bob@10.0.0.1:5060"),
    ],
)
async def test_sip_uri_accepted_on_sip_providers(api, provider, raw, expected):
    cfg = await config_id(api, provider)
    number = await added(api, cfg, raw)
    assert number["phoneNumber"] == expected
    config = await read_config(api, cfg)
    assert [n["phoneNumber"] for n in config["phoneNumbers"]["nodes"]] == [expected]
    assert config["phoneNumberCount"] == 1


@pytest.mark.parametrize("provider", API_PROVIDERS)
async def test_sip_uri_refused_on_api_providers(api, provider):
    cfg = await config_id(api, provider)
    errors = await refused(api, cfg, "sip:alice@pbx.example.com")
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "phoneNumber"])]
    assert (await read_config(api, cfg))["phoneNumbers"]["totalCount"] == 0


@pytest.mark.parametrize("provider", SIP_PROVIDERS)
async def test_sip_providers_take_e164_numbers_too(api, provider):
    cfg = await config_id(api, provider)
    assert (await added(api, cfg, "+1 (415) 555-0100"))["phoneNumber"] == "+14155550100"


@pytest.mark.parametrize("raw", ["sip:", "sip:@pbx.example.com", "sip:alice@", "sip:alice", "sip:al ice@pbx.example.com",
                                 "sip:alice@pbx..example.com", "sip:alice@pbx.example.com:99999"])
async def test_malformed_sip_uri_is_invalid(api, raw):
    cfg = await config_id(api, "CLOUDONIX")
    errors = await refused(api, cfg, raw)
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "phoneNumber"])]


async def test_sip_uri_uniqueness_ignores_case_of_scheme_and_host_only(api):
    cfg = await config_id(api, "CLOUDONIX", "Cloud PBX")
    await added(api, cfg, "sip:Alice@pbx.example.com")
    errors = await refused(api, cfg, "SIP:Alice@PBX.EXAMPLE.COM")
    assert [(e["code"], e["field"]) for e in errors] == [("TAKEN", ["input", "phoneNumber"])]
    assert "Cloud PBX" in errors[0]["message"]
    # The user part is kept as given: another case is another user.
    other = await added(api, cfg, "sip:alice@pbx.example.com")
    assert other["phoneNumber"] == "sip:alice@pbx.example.com"


# --- label and isActive ----------------------------------------------------------------------


async def test_label_and_is_active_defaults(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100")
    assert number["isActive"] is True
    assert number["label"] is None
    inactive = await added(api, cfg, "+14155550101", isActive=False, label="Spare")
    assert inactive["isActive"] is False
    assert inactive["label"] == "Spare"
    explicit = await added(api, cfg, "+14155550102", isActive=True)
    assert explicit["isActive"] is True


async def test_label_at_most_64_characters(api):
    cfg = await config_id(api)
    ok = await added(api, cfg, "+14155550100", label="x" * 64)
    assert ok["label"] == "x" * 64
    errors = await refused(api, cfg, "+14155550101", label="y" * 65)
    assert [(e["code"], e["field"]) for e in errors] == [("TOO_LONG", ["input", "label"])]
    config = await read_config(api, cfg)
    assert [n["phoneNumber"] for n in config["phoneNumbers"]["nodes"]] == ["+14155550100"]


async def test_invalid_number_and_long_label_are_both_reported(api):
    cfg = await config_id(api)
    errors = await refused(api, cfg, "12345", label="y" * 65)
    assert {(e["code"], tuple(e["field"])) for e in errors} == {
        ("INVALID", ("input", "phoneNumber")), ("TOO_LONG", ("input", "label")),
    }


async def test_add_to_unknown_config_is_not_found(api):
    cfg = await config_id(api)
    await remove_config(api, cfg)
    errors = await refused(api, cfg, "+14155550100")
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", ["input", "telephonyConfigId"])]
    for garbage in ["", "nope", "UGhvbmVOdW1iZXI6MQ"]:  # the last is a PhoneNumber id
        errors = await refused(api, garbage, "+14155550100")
        assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", ["input", "telephonyConfigId"])]


async def remove_config(api: Any, cfg: str) -> None:
    payload = (await api.gql(
        "mutation($id: ID!) { deleteTelephonyConfig(input: {id: $id}) { deletedTelephonyConfigId userErrors { code } } }",
        {"id": cfg},
    ))["deleteTelephonyConfig"]
    assert payload["userErrors"] == []


# --- update and remove -----------------------------------------------------------------------


async def test_update_label_set_kept_and_cleared(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100", label="Sales")

    payload = await update_number(api, id=number["id"], label="Support")
    assert payload["userErrors"] == []
    assert payload["phoneNumber"] == {"id": number["id"], "phoneNumber": "+14155550100", "label": "Support", "isActive": True}

    # Label left out: kept.
    payload = await update_number(api, id=number["id"], isActive=False)
    assert payload["phoneNumber"]["label"] == "Support"
    assert payload["phoneNumber"]["isActive"] is False

    # Label explicitly null: cleared; isActive left out: kept.
    payload = await update_number(api, id=number["id"], label=None)
    assert payload["userErrors"] == []
    assert payload["phoneNumber"]["label"] is None
    assert payload["phoneNumber"]["isActive"] is False

    config = await read_config(api, cfg)
    assert config["phoneNumbers"]["nodes"] == [
        {"id": number["id"], "phoneNumber": "+14155550100", "label": None, "isActive": False}
    ]


async def test_update_with_label_null_as_a_literal_clears_it(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100", label="Sales")
    data = await api.gql(
        """mutation($id: ID!) { updatePhoneNumber(input: {id: $id, label: null}) {
             phoneNumber { label isActive } userErrors { code } } }""",
        {"id": number["id"]},
    )
    assert data["updatePhoneNumber"] == {"phoneNumber": {"label": None, "isActive": True}, "userErrors": []}


async def test_update_label_too_long_changes_nothing(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100", label="Sales")
    payload = await update_number(api, id=number["id"], label="z" * 65, isActive=False)
    assert payload["phoneNumber"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TOO_LONG", ["input", "label"])]
    node = (await api.gql(NUMBER_NODE, {"id": number["id"]}))["node"]
    assert node["label"] == "Sales"
    assert node["isActive"] is True


async def test_update_and_remove_unknown_number_is_not_found(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100")
    assert (await remove_number(api, number["id"]))["deletedPhoneNumberId"] == number["id"]
    for unknown in [number["id"], "garbage", cfg]:  # removed, not an id, an id of another type
        payload = await update_number(api, id=unknown, label="x")
        assert payload["phoneNumber"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "id"])]
        payload = await remove_number(api, unknown)
        assert payload["deletedPhoneNumberId"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "id"])]


async def test_remove_number(api):
    cfg = await config_id(api)
    keep = await added(api, cfg, "+14155550100")
    gone = await added(api, cfg, "+14155550101")
    payload = await remove_number(api, gone["id"])
    assert payload == {"deletedPhoneNumberId": gone["id"], "userErrors": []}
    assert (await api.gql(NUMBER_NODE, {"id": gone["id"]}))["node"] is None
    config = await read_config(api, cfg)
    assert [n["id"] for n in config["phoneNumbers"]["nodes"]] == [keep["id"]]
    assert config["phoneNumberCount"] == 1
    assert config["phoneNumbers"]["totalCount"] == 1


async def test_number_mutations_leave_config_version_unchanged(api):
    cfg = await config_id(api)
    before = await read_config(api, cfg)
    assert before["version"] == 1
    number = await added(api, cfg, "+14155550100")
    await update_number(api, id=number["id"], label="New", isActive=False)
    await update_number(api, id=number["id"], isActive=True)
    await remove_number(api, number["id"])
    await added(api, cfg, "+14155550101")
    after = await read_config(api, cfg)
    assert after["version"] == 1


async def test_phone_number_resolves_its_config(api):
    cfg = await config_id(api, "ARI", "Asterisk")
    payload = await add_number(api, cfg, "+14155550100")
    assert payload["phoneNumber"]["telephonyConfig"] == {"id": cfg, "name": "Asterisk", "phoneNumberCount": 1}
    node = (await api.gql(NUMBER_NODE, {"id": payload["phoneNumber"]["id"]}))["node"]
    assert node["__typename"] == "PhoneNumber"
    assert node["telephonyConfig"] == {"id": cfg, "name": "Asterisk", "provider": "ARI"}
    assert payload["phoneNumber"]["createdAt"]
    assert payload["phoneNumber"]["updatedAt"]


# --- counts and the connection ---------------------------------------------------------------


async def test_count_counts_active_numbers_and_total_count_what_is_selected(api):
    cfg = await config_id(api)
    a = await added(api, cfg, "+14155550100")
    b = await added(api, cfg, "+14155550101", isActive=False)
    c = await added(api, cfg, "+14155550102")

    config = await read_config(api, cfg)
    assert config["phoneNumberCount"] == 2
    assert config["phoneNumbers"]["totalCount"] == 3
    assert [n["id"] for n in config["phoneNumbers"]["nodes"]] == [a["id"], b["id"], c["id"]]

    active = await read_config(api, cfg, activeOnly=True)
    assert active["phoneNumbers"]["totalCount"] == 2
    assert [n["id"] for n in active["phoneNumbers"]["nodes"]] == [a["id"], c["id"]]
    assert [e["node"]["id"] for e in active["phoneNumbers"]["edges"]] == [a["id"], c["id"]]

    explicit_all = await read_config(api, cfg, activeOnly=False)
    assert explicit_all["phoneNumbers"]["totalCount"] == 3

    await update_number(api, id=a["id"], isActive=False)
    config = await read_config(api, cfg, activeOnly=True)
    assert config["phoneNumberCount"] == 1
    assert config["phoneNumbers"]["totalCount"] == 1
    await update_number(api, id=b["id"], isActive=True)
    config = await read_config(api, cfg)
    assert config["phoneNumberCount"] == 2
    assert config["phoneNumbers"]["totalCount"] == 3


async def test_counts_are_per_config(api):
    one = await config_id(api, name="One")
    two = await config_id(api, name="Two")
    await added(api, one, "+14155550100")
    await added(api, one, "+14155550101")
    await added(api, two, "+14155550102")
    await added(api, two, "+14155550103", isActive=False)
    data = await api.gql(
        """{ telephonyConfigs { nodes { name phoneNumberCount
               all: phoneNumbers { totalCount } active: phoneNumbers(activeOnly: true) { totalCount } } } }"""
    )
    assert data["telephonyConfigs"]["nodes"] == [
        {"name": "One", "phoneNumberCount": 2, "all": {"totalCount": 2}, "active": {"totalCount": 2}},
        {"name": "Two", "phoneNumberCount": 1, "all": {"totalCount": 2}, "active": {"totalCount": 1}},
    ]


# --- warnings ----------------------------------------------------------------------------------


async def test_no_active_numbers_warning_appears_and_disappears(api):
    cfg = await config_id(api)
    config = await read_config(api, cfg)
    assert config["warnings"] == [{
        "code": "NO_ACTIVE_PHONE_NUMBERS", "severity": "CRITICAL", "message": config["warnings"][0]["message"], "field": None,
    }]
    assert config["warningCount"] == 1

    inactive = await added(api, cfg, "+14155550100", isActive=False)
    assert codes(await read_config(api, cfg)) == ["NO_ACTIVE_PHONE_NUMBERS"]

    await update_number(api, id=inactive["id"], isActive=True)
    config = await read_config(api, cfg)
    assert config["warnings"] == []
    assert config["warningCount"] == 0

    await update_number(api, id=inactive["id"], isActive=False)
    assert codes(await read_config(api, cfg)) == ["NO_ACTIVE_PHONE_NUMBERS"]

    active = await added(api, cfg, "+14155550101")
    assert codes(await read_config(api, cfg)) == []
    await remove_number(api, active["id"])
    config = await read_config(api, cfg)
    assert codes(config) == ["NO_ACTIVE_PHONE_NUMBERS"]
    assert config["warningCount"] == 1


async def test_ari_never_warns_about_numbers(api):
    cfg = await config_id(api, "ARI", "Asterisk")
    config = await read_config(api, cfg)
    assert config["warnings"] == []
    assert config["warningCount"] == 0
    number = await added(api, cfg, "+14155550100", isActive=False)
    assert codes(await read_config(api, cfg)) == []
    await remove_number(api, number["id"])
    assert codes(await read_config(api, cfg)) == []


async def test_cloudonix_warns_about_numbers_like_api_providers(api):
    cfg = await config_id(api, "CLOUDONIX")
    assert codes(await read_config(api, cfg)) == ["NO_ACTIVE_PHONE_NUMBERS"]
    await added(api, cfg, "sip:alice@pbx.example.com")
    assert codes(await read_config(api, cfg)) == []


async def test_telnyx_and_vonage_warnings(api):
    telnyx = await config_id(api, "TELNYX", "Telnyx")
    config = await read_config(api, telnyx)
    assert sorted(codes(config)) == ["NO_ACTIVE_PHONE_NUMBERS", "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY"]
    telnyx_warning = next(w for w in config["warnings"] if w["code"] == "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY")
    assert telnyx_warning["severity"] == "WARNING"
    assert telnyx_warning["field"] == "webhook_public_key"
    assert config["warningCount"] == 2
    await added(api, telnyx, "+14155550100")
    config = await read_config(api, telnyx)
    assert codes(config) == ["TELNYX_MISSING_WEBHOOK_PUBLIC_KEY"]
    assert config["warningCount"] == 1

    with_key = await config_id(api, "TELNYX", "Telnyx verified",
                               config={**VALID["TELNYX"], "webhook_public_key": "aGVsbG8gd29ybGQgcHVibGljIGtleQ=="})
    assert codes(await read_config(api, with_key)) == ["NO_ACTIVE_PHONE_NUMBERS"]

    vonage = await config_id(api, "VONAGE", "Vonage")
    await added(api, vonage, "+442079460018")
    config = await read_config(api, vonage)
    assert config["warnings"][0]["field"] == "signature_secret"
    assert [(w["code"], w["severity"]) for w in config["warnings"]] == [("VONAGE_MISSING_SIGNATURE_SECRET", "WARNING")]

    signed = await config_id(api, "VONAGE", "Vonage signed", config={**VALID["VONAGE"], "signature_secret": "sig-secret-0123456789"})
    await added(api, signed, "+442079460019")
    assert codes(await read_config(api, signed)) == []


async def test_warning_summary_sums_over_the_organization(api):
    empty = await api.gql(SUMMARY)
    assert empty["telephonyConfigWarnings"] == {
        "totalCount": 0, "configsWithWarningsCount": 0, "byCode": [], "hasDefaultOutbound": False,
    }
    twilio = await config_id(api, "TWILIO", "Twilio", default=True)  # NO_ACTIVE
    telnyx = await config_id(api, "TELNYX", "Telnyx")  # NO_ACTIVE + TELNYX
    vonage = await config_id(api, "VONAGE", "Vonage")  # NO_ACTIVE + VONAGE
    await config_id(api, "ARI", "Asterisk")  # nothing
    await added(api, vonage, "+442079460018")  # vonage: VONAGE only

    summary = (await api.gql(SUMMARY))["telephonyConfigWarnings"]
    assert summary["totalCount"] == 4
    assert summary["configsWithWarningsCount"] == 3
    assert {c["code"]: c["count"] for c in summary["byCode"]} == {
        "NO_ACTIVE_PHONE_NUMBERS": 2, "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY": 1, "VONAGE_MISSING_SIGNATURE_SECRET": 1,
    }
    assert summary["hasDefaultOutbound"] is True

    # The summary agrees with the per-config warnings.
    data = await api.gql("{ telephonyConfigs { nodes { warningCount warnings { code } } } }")
    assert sum(n["warningCount"] for n in data["telephonyConfigs"]["nodes"]) == summary["totalCount"]

    number = await added(api, twilio, "+14155550100")
    await added(api, telnyx, "+14155550101")
    summary = (await api.gql(SUMMARY))["telephonyConfigWarnings"]
    assert summary["totalCount"] == 2
    assert summary["configsWithWarningsCount"] == 2
    assert {c["code"]: c["count"] for c in summary["byCode"]} == {
        "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY": 1, "VONAGE_MISSING_SIGNATURE_SECRET": 1,
    }
    assert all(c["count"] > 0 for c in summary["byCode"])

    await update_number(api, id=number["id"], isActive=False)
    summary = (await api.gql(SUMMARY))["telephonyConfigWarnings"]
    assert summary["totalCount"] == 3
    assert {c["code"]: c["count"] for c in summary["byCode"]}["NO_ACTIVE_PHONE_NUMBERS"] == 1


async def test_warning_summary_ignores_other_organizations(api):
    await config_id(api, "TELNYX", "Telnyx")
    _, other_key = await api.new_org()
    other = (await api.gql(SUMMARY, key=other_key))["telephonyConfigWarnings"]
    assert other == {"totalCount": 0, "configsWithWarningsCount": 0, "byCode": [], "hasDefaultOutbound": False}


async def test_is_active_null_means_the_default(api):
    cfg = await config_id(api)
    number = await added(api, cfg, "+14155550100", isActive=None, label=None)
    assert number["isActive"] is True
    assert number["label"] is None


async def test_concurrent_adds_of_one_number_leave_one_holder(api):
    one = await config_id(api, name="One")
    two = await config_id(api, name="Two")
    spellings = ["+14155550100", "+1 (415) 555-0100", "+1 415 555 0100", "+1-415-555-0100"]
    payloads = await asyncio.gather(*(
        add_number(api, cfg, spelling) for spelling in spellings for cfg in (one, two)
    ))
    winners = [p for p in payloads if p["phoneNumber"] is not None]
    assert len(winners) == 1, payloads
    holder_name = winners[0]["phoneNumber"]["telephonyConfig"]["name"]
    for payload in payloads:
        if payload["phoneNumber"] is None:
            assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TAKEN", ["input", "phoneNumber"])]
            assert holder_name in payload["userErrors"][0]["message"]
    counts = [(await read_config(api, cfg))["phoneNumbers"]["totalCount"] for cfg in (one, two)]
    assert sorted(counts) == [0, 1]
