"""The README's GraphQL examples work as a newcomer pastes them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def graphql_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.S)


async def test_readme_examples_run_in_order(api):
    first_query, create, add_number, audit_trail = graphql_blocks()
    data = await api.gql(first_query)
    assert len(data["telephonyProviders"]) == 9
    assert data["telephonyConfigWarnings"] == {"totalCount": 0, "hasDefaultOutbound": False, "byCode": []}

    created = (await api.gql(create))["createTelephonyConfig"]
    assert created["userErrors"] == []
    config = created["telephonyConfig"]
    assert config["config"]["auth_token"].startswith("****")
    assert [w["code"] for w in config["warnings"]] == ["NO_ACTIVE_PHONE_NUMBERS"]

    added = (await api.gql(add_number.replace("ID FROM ABOVE", config["id"])))["addPhoneNumber"]
    assert added["userErrors"] == []
    assert added["phoneNumber"]["phoneNumber"] == "+14155550100"
    assert added["phoneNumber"]["telephonyConfig"] == {"phoneNumberCount": 1, "warningCount": 0}

    # The audit trail's example, as written: the create made its configuration the default.
    trail = (await api.gql(audit_trail))["auditEvents"]
    assert [(event["action"], event["entityId"]) for event in trail["nodes"]] == [
        ("DEFAULT_OUTBOUND_CHANGED", config["id"])]
    assert trail["nodes"][0]["actor"]["system"] is False and trail["nodes"][0]["requestId"]
