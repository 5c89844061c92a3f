"""Query.viewer (the key and its organization) and warnings counted by severity, on both
executors: the compiled plan and the generic executor answer alike, from the same definitions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gql_telephony.domain.ids import encode_id
from gql_telephony.services.tenancy import create_api_key
from gql_telephony.storage.queries import ORGANIZATIONS

from ..documents import DASHBOARD, add_number, create_config
from ..support import app_client
from ..test_statement_count import dashboard_statements, expected, reading_through, seed
from .test_audit_recording import key_id
from .test_provider_checks import add, check, create_twilio, provider, twilio  # noqa: F401 - fixtures

VIEWER = "{ viewer { organization { __typename id name dataVersion } apiKey { __typename id label readOnly } } }"
SEVERITIES = "{ critical warning info }"
COUNTS = f"""{{
  telephonyConfigs {{ nodes {{ name warningCount warningCountsBySeverity {SEVERITIES} warnings {{ code }} }} }}
  telephonyConfigWarnings {{ totalCount bySeverity {SEVERITIES} }}
}}"""
EXECUTORS = pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])


def answered_by(reader, compiled_plans: bool, requests: int) -> None:
    """Every request was answered the way the side is meant to (not a plan giving up)."""
    paths = reader.runtime.read_paths
    assert (paths.planned, paths.generic) == ((requests, 0) if compiled_plans else (0, requests))


async def set_data_version(api, version: int) -> None:
    async with api.runtime.db.writing() as session:
        await session.execute(sa.update(ORGANIZATIONS).where(ORGANIZATIONS.c.id == api.org_id)
                              .values(data_version=version))


@EXECUTORS
async def test_the_viewer_is_the_key_and_its_organization(api, compiled_plans):
    labelled = await create_api_key(api.runtime.db, api.org_id, read_only=True, label="Wallboard")
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        first = (await reader.gql(VIEWER))["viewer"]
        assert first["organization"] == {"__typename": "Organization", "id": encode_id("Organization", api.org_id),
                                         "name": "Acme", "dataVersion": first["organization"]["dataVersion"]}
        assert first["apiKey"] == {"__typename": "ApiKey", "id": str(await key_id(api, api.key)), "label": None,
                                   "readOnly": False}
        # A read-only key reads the viewer too: its own id, label and flag.
        second = (await reader.gql(VIEWER, key=labelled))["viewer"]
        assert second["apiKey"] == {"__typename": "ApiKey", "id": str(await key_id(api, labelled)),
                                    "label": "Wallboard", "readOnly": True}
        assert second["organization"] == first["organization"]

        # Every write moves the version up; it is text, beyond 32 bits as well.
        await create_config(api, "TWILIO")
        after_write = (await reader.gql(VIEWER))["viewer"]["organization"]["dataVersion"]
        assert int(after_write) > int(first["organization"]["dataVersion"])
        await set_data_version(api, 2**40 + 7)
        assert (await reader.gql(VIEWER))["viewer"]["organization"]["dataVersion"] == str(2**40 + 7)
        answered_by(reader, compiled_plans, 4)


@EXECUTORS
async def test_node_finds_the_own_organization_only(api, compiled_plans):
    other_org, other_key = await api.new_org()
    own, foreign = encode_id("Organization", api.org_id), encode_id("Organization", other_org)
    query = "query($id: ID!) { node(id: $id) { __typename id ... on Organization { name dataVersion } } }"
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        found = (await reader.gql(query, {"id": own}))["node"]
        assert found["__typename"] == "Organization" and found["id"] == own and found["name"] == "Acme"
        assert int(found["dataVersion"]) >= 1
        assert (await reader.gql(query, {"id": foreign}))["node"] is None
        assert (await reader.gql(query, {"id": own}, key=other_key))["node"] is None
        nodes = await reader.gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [foreign, own, own]})
        assert nodes["nodes"] == [None, {"id": own}, {"id": own}]
        answered_by(reader, compiled_plans, 4)


async def test_the_response_cache_never_shows_one_key_to_another(api):
    """The cache is shared by the keys of an organization; a document that shows the key is not."""
    other = await create_api_key(api.runtime.db, api.org_id, label="Other")
    async with app_client(api.runtime.settings, beside=api.runtime, response_cache_mb=8) as served:
        cached = api.through(served)
        for _ in range(2):  # the second round from the cache
            assert (await cached.gql(VIEWER))["viewer"]["apiKey"]["label"] is None
            assert (await cached.gql(VIEWER, key=other))["viewer"]["apiKey"]["label"] == "Other"
        assert served.runtime.read_paths.cache == 2


@EXECUTORS
async def test_warnings_are_counted_by_severity_numbers_beyond_the_listed_included(provider, compiled_plans):  # noqa: F811
    """A trial Twilio account (INFO) with seven numbers it does not hold (seven CRITICAL, five
    listed), and a Telnyx configuration without numbers or webhook key (CRITICAL and WARNING)."""
    api = provider.api
    provider.account.type = "Trial"
    twilio_id = await create_twilio(api)
    for n in range(7):
        await add(api, twilio_id, f"+1415555019{n}")
    await check(api, twilio_id)
    await create_config(api, "TELNYX", "Telnyx")
    await create_config(api, "ARI", "Asterisk")  # no warnings at all
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        data = await reader.gql(COUNTS)
        answered_by(reader, compiled_plans, 1)
    configs = {config["name"]: config for config in data["telephonyConfigs"]["nodes"]}
    assert configs["Twilio"]["warningCountsBySeverity"] == {"critical": 7, "warning": 0, "info": 1}
    assert (configs["Twilio"]["warningCount"], len(configs["Twilio"]["warnings"])) == (8, 6)
    assert configs["Telnyx"]["warningCountsBySeverity"] == {"critical": 1, "warning": 1, "info": 0}
    assert configs["Asterisk"]["warningCountsBySeverity"] == {"critical": 0, "warning": 0, "info": 0}
    for config in configs.values():
        assert sum(config["warningCountsBySeverity"].values()) == config["warningCount"]
    summary = data["telephonyConfigWarnings"]
    assert summary == {"totalCount": 10, "bySeverity": {"critical": 8, "warning": 1, "info": 1}}


# The dashboard with the new fields: one statement more than the dashboard (the organization's
# row); the counts by severity come from the warnings already worked out.
VIEWED_DASHBOARD = DASHBOARD.replace(
    "warningCount\n", f"warningCount warningCountsBySeverity {SEVERITIES}\n"
).replace("hasDefaultOutbound }", f"hasDefaultOutbound bySeverity {SEVERITIES} }}\n  {VIEWER[2:-2]}")


@EXECUTORS
async def test_the_new_fields_add_a_fixed_number_of_statements(api, compiled_plans):
    assert all(name in VIEWED_DASHBOARD for name in ("warningCountsBySeverity", " bySeverity", "viewer"))
    await seed(api, configs=3, numbers_each=2)
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        reader.gql = _asking(reader, VIEWED_DASHBOARD)  # type: ignore[method-assign]
        at_3, data = await dashboard_statements(reader)
        await seed(api, configs=9, numbers_each=2, start=3)
        at_12, data = await dashboard_statements(reader)
        answered_by(reader, compiled_plans, 2)
    assert len(data["telephonyConfigs"]["edges"]) == 12 and data["viewer"]["organization"]["name"] == "Acme"
    assert at_3 == at_12 == expected(api, compiled_plans) + 1


def _asking(api, document: str):
    """`api.gql` sending `document` whatever it is asked to send."""
    original = api.gql

    async def gql(_query, variables=None, *, key=None):
        return await original(document, variables, key=key)

    return gql


async def test_a_number_warning_counts_as_its_severity(api):
    """Through the ASGI app on the default path: a configuration loses its last active number."""
    config_id = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    query = "query($id: ID!) { telephonyConfig(id: $id) { warningCountsBySeverity { critical warning info } } }"
    assert (await api.gql(query, {"id": config_id}))["telephonyConfig"]["warningCountsBySeverity"] == {
        "critical": 1, "warning": 0, "info": 0}
    assert (await add_number(api, config_id, "+14155550100"))["userErrors"] == []
    assert (await api.gql(query, {"id": config_id}))["telephonyConfig"]["warningCountsBySeverity"] == {
        "critical": 0, "warning": 0, "info": 0}
