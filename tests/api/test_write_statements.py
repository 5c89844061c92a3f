"""The statements of each single write (docs/PERFORMANCE.md, "Single writes, round 3"): a fixed
number, so that a statement added to a write (a look-up, an ORM load, a flush) is seen. BEGINs
aside (statements on SQLite, not on PostgreSQL); the key's look-up included."""

from __future__ import annotations

import pytest

from ..documents import create_config
from ..support import counting_statements

RENAME = """mutation R($input: UpdateTelephonyConfigInput!) {
  updateTelephonyConfig(input: $input) { telephonyConfig { id name version } userErrors { code } } }"""
ADD = """mutation A($input: AddPhoneNumberInput!) {
  addPhoneNumber(input: $input) { phoneNumber { id phoneNumber } userErrors { code } } }"""
LABEL = """mutation L($input: UpdatePhoneNumberInput!) {
  updatePhoneNumber(input: $input) { phoneNumber { id label isActive } userErrors { code } } }"""
DEFAULT = """mutation D($input: SetDefaultOutboundTelephonyConfigInput!) {
  setDefaultOutboundTelephonyConfig(input: $input) { telephonyConfig { id version } userErrors { code } } }"""

# The key; the data version's bump; the row locked (read); the change; the audit event; on
# PostgreSQL the webhook endpoints' look-up (SQLite learns it from the bump). Adding a number also
# asks its configuration's provider check again, and reads the configuration after the commit
# (the payload's). Setting the default demotes the previous one and promotes the new one.
EXPECTED = {
    "rename": 5, "addNumber": 7, "label": 5, "setDefault": 6,
}


@pytest.mark.parametrize("write", list(EXPECTED))
async def test_a_single_write_sends_a_fixed_number_of_statements(api, write):
    first = (await create_config(api, name="First", default=True))["telephonyConfig"]["id"]
    second = (await create_config(api, name="Second"))["telephonyConfig"]["id"]
    added = (await api.gql(ADD, {"input": {"telephonyConfigId": first, "phoneNumber": "+14155550100"}}))
    number = added["addPhoneNumber"]["phoneNumber"]["id"]
    document, variables = {
        "rename": (RENAME, {"id": first, "name": "Renamed"}),
        "addNumber": (ADD, {"telephonyConfigId": first, "phoneNumber": "+14155550101"}),
        "label": (LABEL, {"id": number, "label": "Front desk"}),
        "setDefault": (DEFAULT, {"id": second}),
    }[write]
    with counting_statements(api.runtime) as statements:
        data = await api.gql(document, {"input": variables})
    assert next(iter(data.values()))["userErrors"] == []
    sent = [s for s in statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]
    endpoints_look_up = 0 if api.runtime.db.is_sqlite else 1
    assert len(sent) == EXPECTED[write] + endpoints_look_up, sent
