"""Compiled plans answer exactly as graphql-core's generic execution does.

Two apps on the same database, one with `compiled_plans` on and one with it off (the response
cache off in both, so that every answer is computed), get the same requests: hand-written edge
documents and several hundred generated ones (tests/document_generator.py) over every Query
field, valid and invalid, with and without variables. Every pair of answers must agree in
status, content type and body, compared after JSON parsing and printing again: the same keys in
the same order, the same values and types (1 is not 1.0), the same errors with the same messages,
locations, paths and codes, and the same nulls.

The data changes between phases (no default outbound configuration, then one) and a third
organization has no data at all; ids of a second organization, deleted ids, ids of the wrong
type, cursors of the other connection and garbage are used as arguments. Once the apps count how
they answer reads (`runtime.read_paths`), the plan side must have answered most of the error-free
requests with a plan (so the comparison is not generic against generic), and the generic side
none.

Ids and cursors whose key is beyond 32 bits are left to their own test: on PostgreSQL the generic
executor fails on them where a plan answers null (it is expected to fail there until fixed).

GQL_TELEPHONY_PLAN_SEED=N runs other generated documents; a failure names the seed it ran with.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import random
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.plans import compiler
from gql_telephony.api.runtime import Runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings

from .document_generator import OUT_OF_RANGE_IDS, DocumentGenerator, World
from .documents import (
    ADD_NUMBER,
    DASHBOARD,
    DELETE,
    REMOVE_NUMBER,
    SET_DEFAULT,
    TELNYX,
    TWILIO,
    UPDATE,
    UPDATE_NUMBER,
    VALID,
    add_number,
    create_config,
)
from .support import Api, app_client, opaque_id

SEED = int(os.environ.get("GQL_TELEPHONY_PLAN_SEED", "20240611"))
RANDOM_DOCUMENTS_PER_PHASE = 230
CONCURRENT_DOCUMENTS = 60
REVALUED_SHARE = 0.25  # the same document again with other variable values
REPEATED_SHARE = 0.1  # the same request again (a cached plan)
OTHER_ORGANIZATION_SHARE = 0.06  # the same request with another organization's key
GET_SHARE = 0.05  # sent as GET (query parameters) rather than POST
# Of the requests answered without errors, the share the plan side must answer with a plan.
MIN_PLANNED_SHARE = 0.5
MAX_REPORTED_MISMATCHES = 3
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


# ---- the two apps ------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    app: Starlette
    runtime: Runtime
    client: httpx.AsyncClient


@pytest.fixture
async def sides(settings: Settings) -> AsyncIterator[tuple[Side, Side]]:
    """(generic, planned): two apps, each with its own runtime, on one migrated database. No
    response cache and no rate limit on either: every answer is computed, none is refused."""
    async with AsyncExitStack() as stack:
        made = []
        for name, plans in (("generic", False), ("planned", True)):
            served = await stack.enter_async_context(
                app_client(settings, compiled_plans=plans, response_cache_mb=0, rate_limit_per_minute=0))
            made.append(Side(name, served.app, served.runtime, served.client))
        yield made[0], made[1]


# ---- comparing answers -------------------------------------------------------------------------


@dataclass
class Request:
    body: dict[str, Any]
    key: str | None = None  # None: the main key; "": no Authorization header
    accept: str = "application/json"
    method: str = "POST"
    label: str = "generated"


@dataclass
class Answer:
    status: int
    content_type: str
    text: str
    canonical: str  # the body as parsed JSON printed again: order and types kept
    errors: bool


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in a JSON object: {keys}")
    return dict(pairs)


def canonical_json(text: str) -> tuple[str, bool]:
    """The body printed again from its parse (dicts keep their order, 1 and 1.0 stay apart), and
    whether it holds `errors`; a body that is not a JSON object comes back as it is."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as error:
        return f"<not JSON: {error}>\n{text}", True
    errors = not isinstance(value, dict) or "errors" in value
    return json.dumps(value, indent=1, ensure_ascii=False), errors


@dataclass
class Differential:
    generic: Side
    planned: Side
    key: str
    sent: int = 0
    error_free: int = 0  # requests the plan side answered without errors
    mismatches: list[str] = field(default_factory=list)
    mismatch_count: int = 0
    labels: dict[str, int] = field(default_factory=dict)

    async def ask(self, side: Side, request: Request) -> Answer:
        headers = {"accept": request.accept}
        key = self.key if request.key is None else request.key
        if key:
            headers["authorization"] = f"Bearer {key}"
        if request.method == "GET":
            params = {name: value if isinstance(value, str) else json.dumps(value)
                      for name, value in request.body.items() if value is not None}
            response = await side.client.get("/graphql", params=params, headers=headers)
        else:
            response = await side.client.post("/graphql", json=request.body, headers=headers)
        canonical, errors = canonical_json(response.text)
        return Answer(response.status_code, response.headers.get("content-type", ""), response.text, canonical, errors)

    async def check(self, request: Request) -> None:
        generic, planned = await asyncio.gather(self.ask(self.generic, request), self.ask(self.planned, request))
        self.compare(request, generic, planned)

    def compare(self, request: Request, generic: Answer, planned: Answer) -> None:
        self.sent += 1
        self.labels[request.label] = self.labels.get(request.label, 0) + 1
        if planned.status == 200 and not planned.errors:
            self.error_free += 1
        same = (generic.status, generic.content_type, generic.canonical) == (
            planned.status, planned.content_type, planned.canonical)
        if same:
            return
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_REPORTED_MISMATCHES:
            self.mismatches.append(describe(request, generic, planned))

    async def check_all(self, requests: Iterable[Request]) -> None:
        for request in requests:
            await self.check(request)

    async def check_concurrently(self, requests: list[Request], batch: int = 10) -> None:
        """Several requests in flight at once on each app (plans shared between requests)."""
        for start in range(0, len(requests), batch):
            chunk = requests[start:start + batch]
            answers = await asyncio.gather(*(self.ask(side, r) for side in (self.generic, self.planned) for r in chunk))
            for index, request in enumerate(chunk):
                self.compare(request, answers[index], answers[len(chunk) + index])

    async def check_generated(self, generator: DocumentGenerator, count: int, rng: random.Random, label: str,
                              other_key: str) -> list[Request]:
        """`count` generated documents, some sent again: with other variable values, as the same
        request, or by another organization (a plan kept for one must not answer for another)."""
        kept = []
        for _ in range(count):
            document = generator.document()
            request = Request(document.body(), accept=_accept(rng), label=label,
                              method="GET" if rng.random() < GET_SHARE else "POST")
            kept.append(request)
            await self.check(request)
            if document.declared and rng.random() < REVALUED_SHARE:
                await self.check(replace(request, body=document.body(generator.revalue(document))))
            if rng.random() < REPEATED_SHARE:
                await self.check(request)
            if rng.random() < OTHER_ORGANIZATION_SHARE:
                await self.check(replace(request, key=other_key))
        return kept

    def report(self) -> str:
        return (f"seed {SEED}: {self.sent} requests compared, {self.error_free} answered without errors; "
                f"by kind {self.labels}")


def _accept(rng: random.Random) -> str:
    return rng.choices(["application/json", GRAPHQL_RESPONSE_JSON, f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9"],
                       [8, 1, 1])[0]


def describe(request: Request, generic: Answer, planned: Answer) -> str:
    diff = list(difflib.unified_diff(generic.canonical.splitlines(), planned.canonical.splitlines(),
                                     "generic", "planned", lineterm="", n=4))
    if len(diff) > 160:
        diff = [*diff[:160], f"... ({len(diff) - 160} more diff lines)"]
    if not diff and generic.canonical == planned.canonical:
        diff = ["(bodies equal)"]
    return "\n".join([
        (f"=== {request.label} request ({request.method}, accept {request.accept!r}, "
         f"key {'main' if request.key is None else 'other' if request.key else 'none'}) answered differently"),
        "query:", str(request.body.get("query")),
        "variables: " + json.dumps(request.body.get("variables")),
        f"operationName: {request.body.get('operationName')!r}",
        f"status: generic {generic.status}, planned {planned.status}",
        f"content-type: generic {generic.content_type!r}, planned {planned.content_type!r}",
        "body diff (generic -> planned):", *diff,
        "generic body: " + generic.text[:3000],
        "planned body: " + planned.text[:3000],
    ])


# ---- the data ----------------------------------------------------------------------------------


WORLD = """
query World {
  telephonyConfigs(first: 100) {
    edges { cursor node { id name phoneNumbers(first: 100) { edges { cursor node { id } } } } }
  }
}"""


async def seed_organization(api: Api) -> dict[str, str]:
    """Configs of every provider: warnings (Telnyx, Vonage without their webhook secrets), no
    numbers, only inactive numbers, SIP URIs, labels and none, a unicode label. Returns name -> id."""
    ids: dict[str, str] = {}
    numbers: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "Main line": [("+14155550100", {"label": "Sales"}), ("+14155550101", {}),
                      ("+14155550102", {"isActive": False, "label": "Old"})],
        "Telnyx EU": [("+442079460018", {"label": "London"}), ("020 7946 0019", {"region": "GB"})],
        "Vonage": [],
        "Cloudonix SIP": [("sip:Alice@PBX.Example.com", {"label": "Alice"}), ("+14155550103", {"isActive": False})],
        "Asterisk": [("sip:bob@10.0.0.1:5060", {"isActive": False})],
        "Plivo backup": [("+14155550104", {"isActive": False})],
        "SignalWire": [("+33142685300", {"label": "Café ☎ \"quoted\""})],
        "Vobiz": [("+61291234567", {})],
        "Twilio AMD": [("+14155550105", {"label": "  "}), ("+14155550106", {"label": "AMD"})],
    }
    providers = {
        "Main line": ("TWILIO", None), "Telnyx EU": ("TELNYX", None), "Vonage": ("VONAGE", None),
        "Cloudonix SIP": ("CLOUDONIX", {**VALID["CLOUDONIX"], "application_name": "voice"}),
        "Asterisk": ("ARI", {**VALID["ARI"], "ws_client_name": "bot"}), "Plivo backup": ("PLIVO", None),
        "SignalWire": ("SIGNALWIRE", None), "Vobiz": ("VOBIZ", None),
        "Twilio AMD": ("TWILIO", {**TWILIO, "amd_enabled": True}),
    }
    for name, (provider, config) in providers.items():
        payload = await create_config(api, provider, name, config=config)
        ids[name] = payload["telephonyConfig"]["id"]
        for number, extra in numbers[name]:
            added = await add_number(api, ids[name], number, **extra)
            assert added["userErrors"] == [], added
    return ids


async def read_world(api: Api) -> tuple[list[str], list[str], list[str], list[str]]:
    """(config ids, number ids, config cursors, number cursors) of the caller's organization."""
    edges = (await api.gql(WORLD))["telephonyConfigs"]["edges"]
    number_edges = [n for e in edges for n in e["node"]["phoneNumbers"]["edges"]]
    return ([e["node"]["id"] for e in edges], [n["node"]["id"] for n in number_edges],
            [e["cursor"] for e in edges], [n["cursor"] for n in number_edges])


async def make_world(api: Api, foreign: Api) -> tuple[World, dict[str, str]]:
    names = await seed_organization(api)
    other = await create_config(foreign, "TELNYX", "Theirs", config={**TELNYX, "webhook_public_key": "pk"})
    other_id = other["telephonyConfig"]["id"]
    added = await add_number(foreign, other_id, "+14155550199", label="Theirs")
    await create_config(foreign, "TWILIO", "Their default", default=True)
    foreign_configs, foreign_numbers, foreign_config_cursors, _ = await read_world(foreign)
    assert added["phoneNumber"]["id"] in foreign_numbers

    # Ids that existed once: a config deleted with its number, a number removed.
    temporary = (await create_config(api, "PLIVO", "Temporary"))["telephonyConfig"]["id"]
    gone_number = (await add_number(api, temporary, "+14155550177"))["phoneNumber"]["id"]
    removed = (await add_number(api, names["Main line"], "+14155550178"))["phoneNumber"]["id"]
    assert (await api.gql(REMOVE_NUMBER, {"input": {"id": removed}}))["removePhoneNumber"]["userErrors"] == []
    assert (await api.gql(DELETE, {"input": {"id": temporary}}))["deleteTelephonyConfig"]["userErrors"] == []

    configs, numbers, config_cursors, number_cursors = await read_world(api)
    world = World(
        config_ids=configs, number_ids=numbers, foreign_ids=foreign_configs + foreign_numbers,
        deleted_ids=[temporary, gone_number, removed],
        config_cursors=config_cursors + foreign_config_cursors[:1], number_cursors=number_cursors,
    )
    return world, names


async def change_world(api: Api, names: dict[str, str]) -> None:
    """Phase two: a default outbound configuration, renamed and relabelled rows, a number moved
    to inactive (so a config loses its last active number) and a secret added (a warning less)."""
    payload = (await api.gql(SET_DEFAULT, {"id": names["Telnyx EU"]}))["setDefaultOutboundTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    update = {"id": names["Vonage"], "name": "Vonage (signed)", "config": {"signature_secret": "sig-secret-0123456789"}}
    assert (await api.gql(UPDATE, {"input": update}))["updateTelephonyConfig"]["userErrors"] == []
    vobiz_numbers = (await api.gql(
        'query($id: ID!) { telephonyConfig(id: $id) { phoneNumbers { nodes { id } } } }', {"id": names["Vobiz"]}
    ))["telephonyConfig"]["phoneNumbers"]["nodes"]
    for number in vobiz_numbers:
        change = {"id": number["id"], "isActive": False, "label": "parked"}
        assert (await api.gql(UPDATE_NUMBER, {"input": change}))["updatePhoneNumber"]["userErrors"] == []
    added = await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": names["Vonage"], "phoneNumber": "+14155550179"}})
    assert added["addPhoneNumber"]["userErrors"] == []


# ---- hand-written documents --------------------------------------------------------------------


CONFIG_ALL = """
  __typename id name provider isDefaultOutbound version createdAt updatedAt config phoneNumberCount warningCount
  warnings { __typename code severity message field }
  providerMetadata { key name notes connectivity docsUrl fields { key label type required secret description placeholder defaultValue } }
"""
NUMBER_ALL = "__typename id phoneNumber label isActive createdAt updatedAt"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
AUDIT_EVENT = ("__typename id occurredAt action entityType entityId requestId actor { apiKeyId label system } "
               "changes { field before after secret }")


def q(query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None, **options: Any) -> Request:
    return Request({"query": query, "variables": variables or {}, "operationName": operation_name},
                   label=options.pop("label", "edge"), **options)


def edge_requests(world: World, *, empty_key: str, read_only_key: str, foreign_key: str) -> list[Request]:
    configs, numbers = world.config_ids, world.number_ids
    last_config_cursor = world.config_cursors[len(configs) - 1]
    requests = [
        q(DASHBOARD), q(DASHBOARD, accept=GRAPHQL_RESPONSE_JSON), q(DASHBOARD, key=read_only_key),
        q(DASHBOARD, key=empty_key), q(DASHBOARD, key=foreign_key), q(DASHBOARD, method="GET"),
        q(DASHBOARD, operation_name="Dashboard"), q(DASHBOARD, operation_name="Other"),
        q(f"{{ telephonyConfigs(first: 100) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {CONFIG_ALL} "
          f"phoneNumbers(first: 100) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {NUMBER_ALL} }} }} nodes {{ id }} }} }} }} "
          f"nodes {{ id }} }} }}"),
        # The page of numbers wanted with the configurations', asked also of one beyond that page:
        # read by a statement of its own.
        q("{ telephonyConfigs(first: 1) { nodes { id phoneNumbers(first: 1) { totalCount pageInfo { hasNextPage "
          "endCursor } nodes { id isActive } } } } telephonyConfigWarnings { totalCount byCode { code count } } "
          f'telephonyConfig(id: "{configs[-1]}") {{ id phoneNumbers(first: 1) {{ nodes {{ id }} }} }} }}'),
        q('query($a: String) { telephonyConfigs(first: 2, after: $a) { nodes { id warnings { code } '
          'phoneNumbers(first: 2, activeOnly: true) { totalCount nodes { id phoneNumber label isActive '
          'telephonyConfig { id } } } } } telephonyConfigWarnings { totalCount } }', {"a": world.config_cursors[0]}),
        q(f"{{ defaultOutboundTelephonyConfig {{ {CONFIG_ALL} }} telephonyConfigWarnings {{ __typename totalCount "
          "configsWithWarningsCount hasDefaultOutbound byCode { __typename code count } } }"),
        q("{ telephonyProviders { __typename key name notes connectivity docsUrl fields { __typename key label type "
          "required secret description placeholder defaultValue } } }"),
        q("{ telephonyConfigWarnings { byCode { count } } }", key=empty_key),
        q(f"{{ telephonyConfigs {{ totalCount {PAGE_INFO} edges {{ cursor }} nodes {{ id }} }} "
          "defaultOutboundTelephonyConfig { id } }", key=empty_key),
        # Empty pages, page sizes at and beyond the bounds, garbage and foreign cursors.
        q(f'{{ telephonyConfigs(after: "{last_config_cursor}") {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }} }} }}'),
        q(f'{{ telephonyConfigs(first: 100, after: "{opaque_id("cursor:999999999")}") {{ totalCount {PAGE_INFO} nodes {{ id }} }} }}'),
        q(f'{{ telephonyConfigs(after: "{opaque_id("cursor:0")}") {{ {PAGE_INFO} }} }}'),
        q(f'{{ telephonyConfigs(after: "{world.number_cursors[-1]}") {{ {PAGE_INFO} nodes {{ name }} }} }}'),
        q('{ telephonyConfigs(after: "garbage") { totalCount } }'),
        q('{ telephonyConfigs(after: "") { totalCount } }'),
        q(f'{{ telephonyConfigs(after: "{configs[0]}") {{ totalCount }} }}'),
        q("{ telephonyConfigs(first: null, after: null) { totalCount nodes { id } } }"),
        *[q(f"{{ telephonyConfigs(first: {first}) {{ totalCount {PAGE_INFO} }} }}") for first in (0, 1, 100, 101, -1, 2147483647)],
        q("{ telephonyConfigs(first: 2147483648) { totalCount } }"),
        q("{ telephonyConfigs(first: 1.0) { totalCount } }"),
        q('{ telephonyConfigs(first: "1") { totalCount } }'),
        *[q("query($f: Int) { telephonyConfigs(first: $f) { totalCount nodes { id } } }", {"f": first})
          for first in (0, 1, 100, 101, -1, None, "1", 1.5, 2.0, True)],
        q("query($f: Int = 2) { telephonyConfigs(first: $f) { nodes { id } } }"),
        q("query($f: Int = 2) { telephonyConfigs(first: $f) { nodes { id } } }", {"f": None}),
        q("query($f: Int!) { telephonyConfigs(first: $f) { nodes { id } } }"),
        q("query($a: String) { telephonyConfigs(first: 2, after: $a) { nodes { id } } }", {"a": world.config_cursors[1]}),
        # A config with zero numbers, pages of numbers, activeOnly, the same connection twice.
        *[q(f"query($id: ID!, $a: String, $active: Boolean) {{ telephonyConfig(id: $id) {{ id warnings {{ code }} "
            f"all: phoneNumbers {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {NUMBER_ALL} }} }} }} "
            f"active: phoneNumbers(first: 1, after: $a, activeOnly: $active) {{ totalCount {PAGE_INFO} nodes {{ id isActive }} }} "
            f"inactive: phoneNumbers(activeOnly: false) {{ totalCount }} }} }}",
            {"id": config, "a": cursor, "active": active})
          for config in configs for cursor, active in ((None, True), (world.number_cursors[0], None), ("x", False))],
        # Deep back-references: number -> config -> numbers -> config.
        *[q("query Deep($id: ID!) { node(id: $id) { __typename ... on PhoneNumber { id telephonyConfig { id name "
            "phoneNumbers(first: 3) { edges { cursor node { id telephonyConfig { name phoneNumbers(first: 2, activeOnly: true) "
            "{ totalCount nodes { phoneNumber telephonyConfig { phoneNumberCount warnings { code } } } } } } } } } } } }",
            {"id": number}) for number in numbers],
        q("{ telephonyConfigs(first: 5) { nodes { phoneNumbers(first: 5) { nodes { telephonyConfig { phoneNumbers(first: 5) "
          "{ nodes { telephonyConfig { id defaultValue: isDefaultOutbound } } } } } } } } }"),
        # node / nodes / telephonyConfig with every kind of id.
        *[q(f"query($id: ID!) {{ node(id: $id) {{ id __typename ... on TelephonyConfig {{ {CONFIG_ALL} }} "
            f"... on PhoneNumber {{ {NUMBER_ALL} telephonyConfig {{ id }} }} }} "
            f"telephonyConfig(id: $id) {{ id name }} }}", {"id": any_id})
          for any_id in [*configs[:3], *numbers[:3], *world.foreign_ids, *world.deleted_ids, "", "nope",
                         opaque_id("TelephonyConfig:0"), opaque_id("TelephonyConfig:99999999999999999999"), 5, "x" * 101]],
        q("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Node { id } ... on TelephonyConfig { name } "
          "... on PhoneNumber { phoneNumber } } }",
          {"ids": [configs[0], numbers[0], world.foreign_ids[0], world.deleted_ids[0], "garbage", configs[0], numbers[-1]]}),
        q("{ nodes(ids: []) { id } }"),
        q(f'{{ nodes(ids: "{configs[1]}") {{ id }} }}'),
        q("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": configs[2]}),
        q("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [configs[0], None]}),
        q("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [configs[0]] * 100}),
        q("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [configs[0]] * 101}),
        q("query($id: ID!) { telephonyConfig(id: $id) { id } }", {}),
        q("query($id: ID!) { telephonyConfig(id: $id) { id } }", {"id": None}),
        q("query($id: ID!) { telephonyConfig(id: $id) { id } }", {"id": True}),
        q("query($id: ID!) { telephonyConfig(id: $id) { id } }", {"id": configs[0], "unused": 1}),
        q("{ telephonyConfig { id } }"),
        q("{ telephonyConfig(id: 1.5) { id } }"),
        # Aliases, merging, fragments, directives.
        q(f'{{ a: telephonyConfigs(first: 1) {{ nodes {{ id }} }} b: telephonyConfigs(first: 2, after: "{world.config_cursors[0]}") '
          f"{{ nodes {{ id }} {PAGE_INFO} }} telephonyConfigs(first: 2) {{ nodes {{ id }} }} telephonyConfigs(first: 2) "
          "{ nodes { name id } totalCount } }"),
        q("{ telephonyConfigs(first: 1) { nodes { id } } telephonyConfigs(first: 2) { nodes { id } } }"),
        q("{ id: telephonyConfigs { totalCount } }"),
        q("query($s: Boolean!, $i: Boolean = true) { telephonyConfigs @skip(if: $s) { totalCount } "
          "defaultOutboundTelephonyConfig @include(if: $i) { id } telephonyConfigWarnings @skip(if: true) { totalCount } }",
          {"s": True}),
        q("query($s: Boolean!) { telephonyConfigs @skip(if: $s) { totalCount } }", {"s": True}),
        q("query($s: Boolean!) { telephonyConfigs(first: 0) @skip(if: $s) { totalCount } }", {"s": True}),
        q("{ telephonyConfigs(first: 2) { nodes { ...C ... on TelephonyConfig { ...N } ... @include(if: false) { name } } } } "
          "fragment C on TelephonyConfig { id name ...N } fragment N on Node { id ... on TelephonyConfig { version } }"),
        q("query A { telephonyConfigs(first: 1) { totalCount } } query B { telephonyProviders { key } } "
          'mutation M { deleteTelephonyConfig(input: {id: "nope"}) { userErrors { code } } }', operation_name="B"),
        q("query A { telephonyConfigs(first: 1) { totalCount } } query B { telephonyProviders { key } }"),
        q("query A { __typename } query A { __typename }", operation_name="A"),
        # Introspection, with and without a key, and a read without one.
        q("{ __typename }"), q("{ __typename }", key=""),
        q('{ __schema { queryType { name } } __type(name: "TelephonyConfig") { name fields { name } } }', key=""),
        q('{ __type(name: "Nope") { name } telephonyConfigs { totalCount } }'),
        q("{ telephonyConfigs { totalCount } }", key=""), q("{ telephonyConfigs { totalCount } }", key="not-a-key"),
        # Empty selection sets: graphql-core 3.3 parses and accepts them (the spec's grammar does not).
        q("query { }"), q("{ telephonyConfigs { } }"), q(f"{{ telephonyConfigs(first: 2) {{ nodes {{ }} {PAGE_INFO} }} }}"),
        q(f'{{ node(id: "{configs[0]}") {{ }} nodes(ids: ["{numbers[0]}", "x"]) {{ ... on PhoneNumber {{ }} }} }}'),
        # Invalid documents, and documents at and over the limits.
        q("{ telephonyConfigs { bogus } }"), q("{ telephonyConfigs { totalCount }"), q(""),
        q("{ telephonyConfigs(last: 1) { totalCount } }"), q("{ telephonyConfigs { nodes } }"),
        q("{ telephonyConfigs { totalCount { x } } }"),
        q("{ telephonyConfigs(first: 100) { nodes { phoneNumbers(first: 100) { nodes { telephonyConfig { "
          "phoneNumbers(first: 10) { totalCount } } } } } } }"),
        q("{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"),
        q("{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"),
        q("{ node(id: \"x\") { ... on PhoneNumber { telephonyConfig { phoneNumbers { nodes { telephonyConfig { phoneNumbers "
          "{ nodes { telephonyConfig { phoneNumbers { edges { node { telephonyConfig { id } } } } } } } } } } } } } }"),
        q("{ " + "telephonyConfigs { totalCount } " * 700 + "}"),
        # The audit trail: the organization's (filtered, paged, by literals and by variables), each
        # entity's own, events by id (of this organization, another's, none).
        q(f"{{ auditEvents(first: 100) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ {AUDIT_EVENT} }} }} nodes {{ id }} }} }}"),
        q(f"{{ auditEvents(first: 3) {{ totalCount nodes {{ {AUDIT_EVENT} }} }} }}", key=foreign_key),
        q("{ auditEvents { totalCount nodes { id } } }", key=empty_key),
        q(f"{{ auditEvents {{ totalCount nodes {{ {AUDIT_EVENT} }} }} }}", key=read_only_key),
        *[q("query($f: AuditEventFilter, $a: String) { auditEvents(first: 2, after: $a, filter: $f) "
            f"{{ totalCount {PAGE_INFO} nodes {{ id action entityId }} }} }}", {"f": f, "a": a})
          for f, a in [
              ({"entityId": configs[0]}, None), ({"entityId": numbers[0]}, world.config_cursors[-1]),
              ({"entityId": world.deleted_ids[0]}, None), ({"entityId": world.foreign_ids[0]}, None),
              ({"action": "PHONE_NUMBER_ADDED"}, None), ({"action": "TELEPHONY_CONFIG_DELETED"}, None),
              ({"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00+02:00"}, None),
              ({"since": "2100-01-01T00:00:00"}, None), ({"until": "2000-01-01T00:00:00Z"}, None),
              ({"since": "2100-01-01T00:00:00Z", "until": "2000-01-01T00:00:00Z"}, None),
              ({"entityId": "nope"}, None), ({"entityId": ""}, None), ({"action": "NOPE"}, None),
              ({"since": "yesterday"}, None), (None, "garbage"), ({}, None), (None, None),
          ]],
        q('{ auditEvents(filter: {action: PHONE_NUMBER_ADDED, since: "2000-01-01T00:00:00Z"}) { totalCount nodes { action } } }'),
        q('{ auditEvents(filter: {entityId: "nope"}) { totalCount } }'),
        q(f"{{ telephonyConfigs(first: 20) {{ nodes {{ id auditEvents(first: 3) {{ totalCount {PAGE_INFO} "
          f"edges {{ cursor node {{ {AUDIT_EVENT} }} }} }} phoneNumbers(first: 5) {{ nodes {{ id "
          "auditEvents(first: 2) { totalCount nodes { id action entityId } } } } } } }"),
        *[q("query($id: ID!, $a: String) { node(id: $id) { id ... on TelephonyConfig { auditEvents(first: 1, after: $a) "
            "{ totalCount nodes { id } pageInfo { hasNextPage endCursor } } } ... on PhoneNumber { auditEvents "
            "{ totalCount nodes { action } } } } }", {"id": any_id, "a": a})
          for any_id in [*configs[:2], *numbers[:2], world.foreign_ids[0]] for a in (None, world.config_cursors[0], "x")],
        q("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on AuditEvent { %s } } }" % AUDIT_EVENT,
          {"ids": [opaque_id(f"AuditEvent:{key}") for key in (1, 2, 3, 5, 8, 13, 21, 34, 99999)]}),
        q("subscription { telephonyConfigWarningsChanged { totalCount } }"),
        q("mutation { __typename }", method="GET"),
        q("{ telephonyConfigs { totalCount } }", method="GET"),
    ]
    return requests


# ---- the test ----------------------------------------------------------------------------------


def plan_counts(side: Side) -> dict[str, int]:
    """How the side answered reads so far (a renamed counter fails here, loudly)."""
    read_paths = side.runtime.read_paths
    return {name: int(getattr(read_paths, name)) for name in ("planned", "generic", "cache")}


async def test_compiled_plans_answer_as_generic_execution(sides: tuple[Side, Side], monkeypatch) -> None:
    generic, planned = sides
    # Every run of a plan starts without a transaction (on PostgreSQL; SQLite's start in one):
    # those that need one statement answer so, the others are refused their second and run again.
    monkeypatch.setattr(compiler, "MISSES_REMEMBERED", 0)
    clock = Clock()
    db = generic.runtime.db
    org_id = await create_organization(db, "Acme")
    key = await create_api_key(db, org_id)
    api = Api(client=generic.client, runtime=generic.runtime, key=key, org_id=org_id)
    foreign_org, foreign_key = await api.new_org("Rival")
    foreign = Api(client=generic.client, runtime=generic.runtime, key=foreign_key, org_id=foreign_org)
    _, empty_key = await api.new_org("Empty")
    read_only_key = await api.new_key(read_only=True)
    world, names = await make_world(api, foreign)  # through the generic app: the plan app only reads
    clock.lap("seeding")

    differential = Differential(generic, planned, key)
    schema = build_schema()._schema
    rng = random.Random(SEED)
    keys = {"empty_key": empty_key, "read_only_key": read_only_key, "foreign_key": foreign_key}

    async def phase(label: str) -> list:
        await differential.check_all(edge_requests(world, **keys))
        clock.lap("edges")
        generator = DocumentGenerator(schema, world, random.Random(rng.randrange(2**32)))
        answered = await differential.check_generated(generator, RANDOM_DOCUMENTS_PER_PHASE, rng, label, foreign_key)
        clock.lap("generated")
        return answered

    # Phase one: no default outbound configuration.
    first_phase = await phase("generated, no default")

    # Phase two: a default, and changed rows.
    await change_world(api, names)
    configs, numbers, config_cursors, number_cursors = await read_world(api)
    world = replace(world, config_ids=configs, number_ids=numbers,
                    config_cursors=config_cursors + world.config_cursors[len(configs):], number_cursors=number_cursors)
    second_phase = await phase("generated, a default")
    # Requests already answered once, now several at a time (and, for phase one's, on changed data).
    concurrent = rng.sample(first_phase + second_phase, CONCURRENT_DOCUMENTS)
    await differential.check_concurrently([replace(r, label="concurrent") for r in concurrent])
    clock.lap("concurrent")

    summary = f"{differential.report()}; {clock}"
    if differential.mismatch_count:
        pytest.fail(f"{differential.mismatch_count} of {differential.sent} requests answered differently "
                    f"({summary}); the first {len(differential.mismatches)}:\n\n" + "\n\n".join(differential.mismatches),
                    pytrace=False)
    # Most requests must be answerable: else the comparison proves little.
    assert differential.error_free >= differential.sent * 0.5, summary

    planned_counts, generic_counts = plan_counts(planned), plan_counts(generic)
    assert generic_counts["planned"] == 0, f"the generic app ran plans: {generic_counts}"
    cached = {"generic": generic_counts["cache"], "planned": planned_counts["cache"]}
    assert cached == {"generic": 0, "planned": 0}, f"answers came from the response cache, which is off: {cached}"
    assert planned_counts["planned"] >= MIN_PLANNED_SHARE * differential.error_free, (
        f"the plan app answered only {planned_counts['planned']} of the {differential.error_free} error-free "
        f"requests with a plan ({planned_counts}); {summary}")
    # A plan gives up only on a request the generic executor answers with an error of its own.
    gave_up = planned.app.state.view.plans.gave_up
    assert set(gave_up) <= {"GraphQLError"}, f"plans failed unexpectedly: {dict(gave_up)}"
    print(summary, "read paths of the plan app:", planned_counts, "of the generic app:", generic_counts,
          "plans gave up:", dict(gave_up))


BEYOND_32_BITS = """
query Beyond($id: ID!, $ids: [ID!]!, $after: String) {
  telephonyConfigWarnings { totalCount }
  telephonyConfig(id: $id) { id }
  node(id: $id) { id }
  nodes(ids: $ids) { id }
  telephonyConfigs(after: $after) { totalCount nodes { id } }
}"""


async def test_keys_beyond_32_bits_answer_as_generic_execution(
    sides: tuple[Side, Side], settings: Settings, request: pytest.FixtureRequest,
) -> None:
    """Ids and cursors of a key a PostgreSQL INTEGER cannot hold: what an id that never existed
    gets (null, an empty page), by both paths. (The generic executor once sent them to
    PostgreSQL, which refused them, while a plan holding every configuration answered null.)"""
    generic, planned = sides
    org_id = await create_organization(generic.runtime.db, "Acme")
    api = Api(client=generic.client, runtime=generic.runtime, key=await create_api_key(generic.runtime.db, org_id),
              org_id=org_id)
    foreign_org, foreign_key = await api.new_org("Rival")
    world, _ = await make_world(api, Api(client=generic.client, runtime=generic.runtime, key=foreign_key,
                                         org_id=foreign_org))
    differential = Differential(generic, planned, api.key)
    requests = [
        q(BEYOND_32_BITS, {"id": big, "ids": [world.config_ids[0], big], "after": after})
        for big in OUT_OF_RANGE_IDS for after in (None, opaque_id("cursor:2147483648"))
    ]
    requests += [q(query.replace("telephonyConfigWarnings { totalCount }", ""), variables)
                 for query, variables in ((r.body["query"], r.body["variables"]) for r in requests[:2])]
    await differential.check_all(requests)
    generator = DocumentGenerator(build_schema()._schema, world, random.Random(SEED), out_of_range=True)
    await differential.check_generated(generator, 60, random.Random(SEED), "generated, keys beyond 32 bits", foreign_key)
    if differential.mismatch_count:
        pytest.fail(f"{differential.mismatch_count} of {differential.sent} requests answered differently; "
                    f"the first {len(differential.mismatches)}:\n\n" + "\n\n".join(differential.mismatches),
                    pytrace=False)


class Clock:
    """Seconds spent per stage, for the summary."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now

    def __str__(self) -> str:
        stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.laps.items())
        return f"{time.monotonic() - self.started:.1f} s ({stages})"
