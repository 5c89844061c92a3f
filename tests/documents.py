"""Valid inputs and GraphQL documents shared by the tests."""

from __future__ import annotations

from typing import Any

TWILIO = {"account_sid": "AC" + "0123456789abcdef" * 2, "auth_token": "f" * 32}
TELNYX = {"api_key": "KEY0123456789SECRET"}
VONAGE = {
    "application_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    "api_key": "vonage-key-1",
    "api_secret": "vonage-secret-123",
}
PLIVO = {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-0123456789"}
CLOUDONIX = {"bearer_token": "XI-0123456789abcdef", "domain_id": "Acme"}
VOBIZ = {"auth_id": "vobiz-id-001", "auth_token": "vobiz-token-0123456789"}
SIGNALWIRE = {"project_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "api_token": "PT0123456789abcdef", "space_url": "https://Example.signalwire.com/"}
ARI = {"ari_endpoint": "https://pbx.example.com:8089", "app_name": "voice-ai", "app_password": "ari-password-123"}
EXOTEL = {"api_key": "exotel-key-01", "api_token": "exotel-token-0123456789", "account_sid": "acme1"}

VALID = {
    "TWILIO": TWILIO, "TELNYX": TELNYX, "VONAGE": VONAGE, "PLIVO": PLIVO,
    "CLOUDONIX": CLOUDONIX, "VOBIZ": VOBIZ, "SIGNALWIRE": SIGNALWIRE, "ARI": ARI,
    "EXOTEL": EXOTEL,
}

CONFIG_FIELDS = """
  id name provider config isDefaultOutbound version phoneNumberCount warningCount
  warnings { code severity message field }
  createdAt updatedAt
"""

CREATE = f"""
mutation Create($input: CreateTelephonyConfigInput!) {{
  createTelephonyConfig(input: $input) {{
    telephonyConfig {{ {CONFIG_FIELDS} }}
    previousDefault {{ id version isDefaultOutbound }}
    userErrors {{ field message code }}
  }}
}}"""

UPDATE = f"""
mutation Update($input: UpdateTelephonyConfigInput!) {{
  updateTelephonyConfig(input: $input) {{
    telephonyConfig {{ {CONFIG_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

DELETE = """
mutation Delete($input: DeleteTelephonyConfigInput!) {
  deleteTelephonyConfig(input: $input) { deletedTelephonyConfigId userErrors { field message code } }
}"""

SET_DEFAULT = """
mutation SetDefault($id: ID!) {
  setDefaultOutboundTelephonyConfig(input: {id: $id}) {
    telephonyConfig { id isDefaultOutbound version }
    previousDefault { id isDefaultOutbound version }
    userErrors { field message code }
  }
}"""

ADD_NUMBER = """
mutation Add($input: AddPhoneNumberInput!) {
  addPhoneNumber(input: $input) {
    phoneNumber { id phoneNumber label isActive createdAt updatedAt telephonyConfig { id name phoneNumberCount } }
    userErrors { field message code }
  }
}"""

UPDATE_NUMBER = """
mutation UpdateNumber($input: UpdatePhoneNumberInput!) {
  updatePhoneNumber(input: $input) {
    phoneNumber { id phoneNumber label isActive }
    userErrors { field message code }
  }
}"""

REMOVE_NUMBER = """
mutation Remove($input: RemovePhoneNumberInput!) {
  removePhoneNumber(input: $input) { deletedPhoneNumberId userErrors { field message code } }
}"""

DASHBOARD = """
query Dashboard {
  telephonyConfigs(first: 100) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name provider config isDefaultOutbound version phoneNumberCount warningCount
      warnings { code severity field }
      phoneNumbers(first: 50) { totalCount nodes { id phoneNumber label isActive } }
    } }
  }
  telephonyConfigWarnings { totalCount configsWithWarningsCount byCode { code count } hasDefaultOutbound }
  defaultOutboundTelephonyConfig { id name }
}"""


async def create_config(api: Any, provider: str = "TWILIO", name: str = "Main", *, config: dict | None = None,
                        default: bool | None = None) -> dict[str, Any]:
    """Create a valid configuration; returns the payload (asserts no user errors)."""
    payload_input: dict[str, Any] = {"name": name, "provider": provider, "config": config or VALID[provider]}
    if default is not None:
        payload_input["isDefaultOutbound"] = default
    payload = (await api.gql(CREATE, {"input": payload_input}))["createTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    return payload


async def add_number(api: Any, config_id: str, number: str, **extra: Any) -> dict[str, Any]:
    payload = (await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": number, **extra}}))["addPhoneNumber"]
    return payload
