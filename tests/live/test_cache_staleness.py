"""No read after a committed write sees the old answer, across processes (issue 6).

Two `gql-telephony serve` processes share one database (a SQLite file, or PostgreSQL) with
the response cache on. Two writers and six readers loop at once, each with its own client,
spread over both processes. Each writer owns one configuration and changes what the readers'
documents answer: its name (the config's `version` goes up), its phone numbers (added,
switched off and on, removed: `phoneNumberCount`, `totalCount` and the warnings change) and
which config is the default outbound one.

The test keeps what it knows was committed. Each writer owns one configuration, so that
configuration's states follow one another in a known order: the writer appends the state its
next write makes before sending it, and marks it committed when the answer arrives. Default
switches touch both configurations; they go one at a time, under a lock, with their own
history. Before it sends its read, a reader notes the committed positions and the highest
committed `version` of each configuration. Each field of the answer must then hold the value
of the noted state or of a later one: a value that only an earlier state had is STALE, one no
state had is WRONG. Fields are checked one by one because a response is not one snapshot
(each level of it is loaded by its own statement, cache or not).

Readers repeat the same documents (same text, same variables) on the same process, and each
write waits until a few reads have come back before the next one, so reads meet an unchanged
organization and the cache has answers to give. Once the writers stop, each reader repeats one
document and must get the final state. No assertion depends on timing.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from .. import backends
from ..documents import (
    ADD_NUMBER,
    CREATE,
    DASHBOARD,
    REMOVE_NUMBER,
    SET_DEFAULT,
    UPDATE,
    UPDATE_NUMBER,
    VALID,
)
from ..support import bearer
from .server import Server, cli, running_server, server_env

WRITERS = 2                 # one configuration each
WRITES_PER_WRITER = 60      # ten rounds of the six kinds of write below
READERS = 6
READS_BETWEEN_WRITES = READERS // 2  # reads a writer waits for after each write (room for cache hits)
QUIET_READS = 3             # per reader, once the writers are done: the final state exactly
MAX_PROBLEMS = 20

ONE = """
query One($id: ID!) {
  telephonyConfig(id: $id) {
    id name isDefaultOutbound version phoneNumberCount warningCount
    warnings { code }
    phoneNumbers(first: 50) { totalCount nodes { phoneNumber isActive } }
  }
}"""

# (name, ((phone number, is active), ... in creation order))
State = tuple[str, tuple[tuple[str, bool], ...]]


def number(writer: int, round_: int) -> str:
    return f"+1415555{writer}{round_:03d}"


@dataclass
class History:
    """States in the order their writes commit (one writer, or writes under one lock)."""

    states: list[Any]
    committed: int = 0     # index of the last state whose write has returned; later ones are in flight


@dataclass
class Tracked:
    """One configuration, written by one writer only."""

    id: str
    provider: str
    history: History
    version: int = 1       # the highest `version` a returned write reported

    def fields(self, state: State) -> dict[str, Any]:
        """What a read of the configuration answers in this state (the default aside)."""
        name, numbers = state
        active = sum(1 for _, is_active in numbers if is_active)
        codes = sorted([*(["NO_ACTIVE_PHONE_NUMBERS"] if active == 0 else []),
                        *(["TELNYX_MISSING_WEBHOOK_PUBLIC_KEY"] if self.provider == "TELNYX" else [])])
        return {"name": name, "phoneNumbers.nodes": numbers, "phoneNumbers.totalCount": len(numbers),
                "phoneNumberCount": active, "warnings": codes, "warningCount": len(codes)}


def answered(node: dict[str, Any]) -> dict[str, Any]:
    numbers = node["phoneNumbers"]
    return {"name": node["name"], "phoneNumbers.totalCount": numbers["totalCount"],
            "phoneNumbers.nodes": tuple((n["phoneNumber"], n["isActive"]) for n in numbers["nodes"]),
            "phoneNumberCount": node["phoneNumberCount"], "warnings": sorted(w["code"] for w in node["warnings"]),
            "warningCount": node["warningCount"]}


@dataclass
class Record:
    """What the test knows was committed. A response is not one snapshot (each level of it is
    loaded by its own statement), so each field is checked on its own: it must hold the value
    of a state committed at or after the read was sent."""

    configs: dict[str, Tracked] = field(default_factory=dict)
    defaults: History = field(default_factory=lambda: History([None]))  # the default config's id

    def snapshot(self) -> dict[str, Any]:
        return {"default": self.defaults.committed,
                **{config_id: (t.history.committed, t.version) for config_id, t in self.configs.items()}}

    def saw_version(self, node: dict[str, Any] | None) -> None:
        if node is not None and node["id"] in self.configs:
            tracked = self.configs[node["id"]]
            tracked.version = max(tracked.version, node["version"])

    def problems(self, snapshot: dict[str, Any], data: dict[str, Any]) -> list[str]:
        """What is wrong with an answer to ONE or DASHBOARD read after `snapshot` was taken."""
        if "telephonyConfigs" not in data:
            node = data["telephonyConfig"]
            return ["config missing"] if node is None else self._node_problems(snapshot, node)
        connection = data["telephonyConfigs"]
        nodes = [edge["node"] for edge in connection["edges"]]
        found: list[str] = []
        if sorted(n["id"] for n in nodes) != sorted(self.configs) or connection["totalCount"] != len(self.configs):
            found.append(f"configs {[n['id'] for n in nodes]}, totalCount {connection['totalCount']}")
        for node in nodes:
            if node["id"] in self.configs:
                found.extend(self._node_problems(snapshot, node))
        since = self.defaults.states[snapshot["default"]:]
        default = data["defaultOutboundTelephonyConfig"] and data["defaultOutboundTelephonyConfig"]["id"]
        if default not in since:
            found.append(self._stale("defaultOutboundTelephonyConfig.id", default, since,
                                     self.defaults.states[:snapshot["default"]]))
        summary = data["telephonyConfigWarnings"]
        summary = {**summary, "byCode": sorted((c["code"], c["count"]) for c in summary["byCode"])}
        possible = self._summaries([t.history.states[snapshot[t.id][0]:] for t in self.configs.values()], since)
        for name, value in summary.items():
            if value not in [p[name] for p in possible]:
                earlier = self._summaries([t.history.states for t in self.configs.values()], self.defaults.states)
                found.append(self._stale(f"telephonyConfigWarnings.{name}", value, [p[name] for p in possible],
                                         [p[name] for p in earlier]))
        return found

    def _summaries(self, states: list[list[State]], defaults: list[str | None]) -> list[dict[str, Any]]:
        """The warning summaries of any mix of the given states of each config and defaults."""
        codes_per_config = [{tuple(t.fields(s)["warnings"]) for s in config_states}
                            for t, config_states in zip(self.configs.values(), states, strict=True)]
        return [{"totalCount": sum(len(c) for c in codes),
                 "configsWithWarningsCount": sum(1 for c in codes if c),
                 "byCode": sorted(collections.Counter(code for c in codes for code in c).items()),
                 "hasDefaultOutbound": default is not None}
                for codes in itertools.product(*codes_per_config) for default in set(defaults)]

    def _node_problems(self, snapshot: dict[str, Any], node: dict[str, Any]) -> list[str]:
        tracked = self.configs[node["id"]]
        committed, version = snapshot[node["id"]]
        since = [tracked.fields(s) for s in tracked.history.states[committed:]]
        before = [tracked.fields(s) for s in tracked.history.states[:committed]]
        found = [self._stale(f"{node['id']}.{name}", value, [f[name] for f in since], [f[name] for f in before])
                 for name, value in answered(node).items() if value not in [f[name] for f in since]]
        if node["version"] < version:
            found.append(f"STALE {node['id']}.version: {node['version']}, committed before the read: {version}")
        defaults = self.defaults.states[snapshot["default"]:]
        if node["isDefaultOutbound"] not in [d == node["id"] for d in defaults]:
            found.append(self._stale(f"{node['id']}.isDefaultOutbound", node["isDefaultOutbound"],
                                     [d == node["id"] for d in defaults], []))
        return found

    @staticmethod
    def _stale(name: str, value: Any, since: list[Any], before: list[Any]) -> str:
        kind = "STALE" if value in before else "WRONG"
        since = [v for i, v in enumerate(since) if v not in since[:i]]
        return f"{kind} {name}: {value!r}; possible once the read was sent: {since!r}"


class Run:
    """The shared state of one run: the record, the clients, and what went wrong."""

    def __init__(self, servers: list[Server], key: str) -> None:
        self.servers, self.key = servers, key
        self.record = Record()
        self.problems: list[str] = []
        self.reads = 0
        self.seconds = {"read": 0.0, "write": 0.0}  # time spent waiting for answers, for the printout
        self.read_done = asyncio.Condition()
        self.writers_done = False
        self.number_ids: dict[str, str] = {}
        self.default_lock = asyncio.Lock()  # default switches commit in the order the record has them

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=bearer(self.key), timeout=60)

    @staticmethod
    async def post(client: httpx.AsyncClient, server: Server, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"{server.http}/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def seed(self) -> None:
        async with self.client() as client:
            for writer, provider in enumerate(("TWILIO", "TELNYX")):
                name = f"w{writer}-n0"
                created = await self.post(client, self.servers[0], CREATE, {
                    "input": {"name": name, "provider": provider, "config": VALID[provider]}})
                config = created["createTelephonyConfig"]["telephonyConfig"]
                added = await self.post(client, self.servers[0], ADD_NUMBER, {"input": {
                    "telephonyConfigId": config["id"], "phoneNumber": number(writer, 0), "isActive": False}})
                assert added["addPhoneNumber"]["userErrors"] == [], added
                self.number_ids[number(writer, 0)] = added["addPhoneNumber"]["phoneNumber"]["id"]
                self.record.configs[config["id"]] = Tracked(
                    config["id"], provider, History([(name, ((number(writer, 0), False),))]), version=config["version"])

    async def writer(self, writer: int) -> None:
        tracked = list(self.record.configs.values())[writer]
        number_ids = self.number_ids
        async with self.client() as client:
            for write in range(1, WRITES_PER_WRITER + 1):
                round_, step = divmod(write - 1, 6)
                new, old = number(writer, round_ + 1), number(writer, round_)
                name, numbers = tracked.history.states[-1]
                if step == 0:    # rename: version + 1
                    state, query, variables = (f"w{writer}-n{write}", numbers), UPDATE, {
                        "input": {"id": tracked.id, "name": f"w{writer}-n{write}"}}
                elif step == 1:  # a new active number
                    state, query, variables = (name, (*numbers, (new, True))), ADD_NUMBER, {
                        "input": {"telephonyConfigId": tracked.id, "phoneNumber": new}}
                elif step == 2:  # switch it off: no active number left
                    state, query, variables = (name, (numbers[0], (new, False))), UPDATE_NUMBER, {
                        "input": {"id": number_ids[new], "isActive": False}}
                elif step == 3:  # switch the older one on
                    state, query, variables = (name, ((old, True), numbers[1])), UPDATE_NUMBER, {
                        "input": {"id": number_ids[old], "isActive": True}}
                elif step == 4:  # remove the older one
                    state, query, variables = (name, numbers[1:]), REMOVE_NUMBER, {
                        "input": {"id": number_ids[old]}}
                else:            # make this config the default, demoting the other
                    state, query, variables = (name, numbers), SET_DEFAULT, {"id": tracked.id}
                tracked.history.states.append(state)
                server = self.servers[(write + writer) % 2]
                started = time.perf_counter()
                if query is SET_DEFAULT:
                    async with self.default_lock:
                        self.record.defaults.states.append(tracked.id)
                        [payload] = (await self.post(client, server, query, variables)).values()
                        self.record.defaults.committed = len(self.record.defaults.states) - 1
                else:
                    [payload] = (await self.post(client, server, query, variables)).values()
                assert payload["userErrors"] == [], (query, variables, payload)
                if step == 1:
                    number_ids[new] = payload["phoneNumber"]["id"]
                self.record.saw_version(payload.get("telephonyConfig"))
                self.record.saw_version(payload.get("previousDefault"))
                tracked.history.committed = len(tracked.history.states) - 1
                self.seconds["write"] += time.perf_counter() - started
                async with self.read_done:
                    target = self.reads + READS_BETWEEN_WRITES
                    await self.read_done.wait_for(lambda: self.reads >= target)  # noqa: B023 - waited on in this iteration

    def documents(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [("DASHBOARD", DASHBOARD, {}), *(("ONE", ONE, {"id": config_id}) for config_id in self.record.configs)]

    async def read(self, client: httpx.AsyncClient, reader: int, document: tuple[str, str, dict[str, Any]]) -> None:
        server = self.servers[reader % 2]
        label, query, variables = document
        snapshot = self.record.snapshot()
        started = time.perf_counter()
        data = await self.post(client, server, query, variables)
        self.seconds["read"] += time.perf_counter() - started
        found = self.record.problems(snapshot, data)
        if found and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"reader {reader} ({label} {variables} on port {server.port}): " + "; ".join(found))
        async with self.read_done:
            self.reads += 1
            self.read_done.notify_all()

    async def reader(self, reader: int) -> None:
        """While the writers write: the documents in turn (each the same text and variables every
        time), on one process, so the readers of a process meet each other's cached answers."""
        documents = self.documents()
        async with self.client() as client:
            for turn in itertools.count():
                if self.writers_done:
                    return
                await self.read(client, reader, documents[(reader // 2 + turn) % len(documents)])

    async def quiet_reader(self, reader: int) -> None:
        """Once the writers are done: one document again and again; each answer is the final state."""
        documents = self.documents()
        async with self.client() as client:
            for _ in range(QUIET_READS):
                await self.read(client, reader, documents[reader // 2 % len(documents)])


async def read_paths_of(servers: list[Server]) -> list[dict[str, float]]:
    async with httpx.AsyncClient(timeout=10) as client:
        return [read_paths((await client.get(f"{s.http}/metrics")).text) for s in servers]


def read_paths(metrics: str) -> dict[str, float]:
    """gql_telephony_read_path_total by path. A server without the metric (renamed, dropped)
    fails the test: the checks on it must not silently vanish."""
    assert "gql_telephony_read_path_total" in metrics, "the servers no longer export gql_telephony_read_path_total"
    counts: dict[str, float] = {}
    for labels, value in re.findall(r"^gql_telephony_read_path_total\{([^}]*)\} (\S+)$", metrics, re.MULTILINE):
        path = dict(re.findall(r'(\w+)="([^"]*)"', labels)).get("path", "")
        counts[path] = counts.get(path, 0.0) + float(value)
    return counts


@pytest.fixture(params=backends.BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path):
    keys = (Fernet.generate_key().decode(),)
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}", keys[0]
        return
    async with backends.postgres_database(keys) as url:
        yield url, keys[0]


async def test_no_read_after_a_committed_write_sees_the_old_answer_on_either_process(database_url, tmp_path):
    url, secret = database_url
    env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret,
                     GQL_TELEPHONY_RESPONSE_CACHE_MB="64")
    key = cli(["create-api-key", cli(["create-org", "Staleness"], env)], env)
    with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
        run = Run([first, second], key)
        await run.seed()
        started = time.perf_counter()

        async def writers() -> None:
            async with asyncio.TaskGroup() as group:
                for writer in range(WRITERS):
                    group.create_task(run.writer(writer))
            run.writers_done = True

        async with asyncio.TaskGroup() as group:
            group.create_task(writers())
            for reader in range(READERS):
                group.create_task(run.reader(reader))
        elapsed, reads = time.perf_counter() - started, run.reads
        loop_paths = await read_paths_of([first, second])
        async with asyncio.TaskGroup() as group:
            for reader in range(READERS):
                group.create_task(run.quiet_reader(reader))
        paths = await read_paths_of([first, second])
    mean_read, mean_write = run.seconds["read"] / run.reads, run.seconds["write"] / (WRITERS * WRITES_PER_WRITER)
    print(f"\n{WRITERS}x{WRITES_PER_WRITER} writes and {reads} reads in {elapsed:.1f}s, then {run.reads - reads} "
          f"quiet reads; mean answer times: read {mean_read * 1000:.0f} ms, write {mean_write * 1000:.0f} ms; "
          f"read paths per process after the loop: {loop_paths}, at the end: {paths}")

    assert run.problems == [], "\n".join(run.problems)
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "Traceback" not in logs
    # Each process must have answered some of the reads made while the writers wrote from its
    # cache (path="cache"; a missing series means none): else the cache was never put to the test.
    for counts in loop_paths:
        assert counts.get("cache", 0) > 0, loop_paths


def test_the_detector_flags_an_old_answer():
    """Negative control: an answer from before the last committed write is reported stale."""
    states = [("n0", (("+1", False),)), ("n1", (("+1", False),)), ("n1", (("+1", False), ("+2", True)))]
    record = Record({"C1": Tracked("C1", "TWILIO", History(states, committed=2), version=2)})

    def answer(name: str, numbers: tuple[tuple[str, bool], ...], version: int = 2) -> dict[str, Any]:
        active = sum(a for _, a in numbers)
        return {"telephonyConfig": {
            "id": "C1", "name": name, "isDefaultOutbound": False, "version": version, "phoneNumberCount": active,
            "warningCount": int(not active), "warnings": [{"code": "NO_ACTIVE_PHONE_NUMBERS"}] if not active else [],
            "phoneNumbers": {"totalCount": len(numbers),
                             "nodes": [{"phoneNumber": p, "isActive": a} for p, a in numbers]}}}

    snapshot = record.snapshot()
    assert record.problems(snapshot, answer(*states[2])) == []
    stale = record.problems(snapshot, answer(*states[1]))
    assert stale and all(p.startswith("STALE C1.") for p in stale), stale
    assert record.problems(snapshot, answer(*states[2], version=1)) == [
        "STALE C1.version: 1, committed before the read: 2"]
    assert record.problems(snapshot, answer("n9", states[2][1]))[0].startswith("WRONG C1.name")
