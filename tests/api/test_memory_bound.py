"""One bound for everything kept per document (api/memory_bound.py): whole responses, prepared
documents and compiled plans are charged their estimated sizes together, and the estimates hold
against what tracemalloc measures them to hold."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref

from graphql import parse
from graphql.execution.values import get_variable_values

from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.memory_bound import (
    DOCUMENT_BYTES_PER_NODE,
    ENTRY_BYTES,
    PLAN_BYTES_PER_FIELD,
    PLAN_BYTES_PER_TYPE,
    MemoryBound,
    document_bytes,
    plan_bytes,
)
from gql_telephony.api.plans.compiler import Plan, nodes_of, plan_parts
from gql_telephony.api.plans.runner import PlanRunner

from ..documents import DASHBOARD, create_config
from ..support import app_client

# What tracemalloc may find held by the kept entries, against the bound: the estimates are
# calibrated to be at least what they hold (docs/PERFORMANCE.md); 10% is left for the measurement.
HELD_FACTOR = 1.1


def dashboard(i: int) -> str:
    """The dashboard query made a document of its own (as bench/memory_growth.py makes them)."""
    return DASHBOARD.replace("query Dashboard {", f"query Dashboard{i} {{", 1).replace(
        "telephonyConfigWarnings {", f"w{i}: telephonyConfigWarnings {{", 1)


def test_the_least_recently_used_entry_of_any_shelf_goes_first():
    bound = MemoryBound(800)  # eight entries of 100 bytes, the largest one may be
    dropped: list[str] = []
    one, two = bound.shelf("one", on_drop=dropped.append), bound.shelf("two", on_drop=dropped.append)
    for i in range(8):
        assert (one if i % 2 == 0 else two).put(f"k{i}", i, 100)
    assert one.get("k0") == 0  # now the most recently used: "k1", of the other shelf, is the oldest
    assert one.put("new", 8, 100)
    assert dropped == ["k1"] and bound.used == 800 and (len(one), len(two)) == (5, 3)
    assert two.get("k1") is None and one.get("k0") == 0
    assert bound.charged() == {"one": 500, "two": 300}
    one.remove("new")  # by its owner: not told
    assert dropped == ["k1"] and bound.used == 700


def test_the_charged_total_never_passes_the_bound():
    bound = MemoryBound(10_000)
    shelves = [bound.shelf(name) for name in "abc"]
    for i in range(300):
        assert shelves[i % 3].put(i, None, 100 + (i * 37) % 1100)
        assert bound.used <= bound.max_bytes
        assert bound.used == sum(bound.charged().values())
    assert not shelves[0].put("huge", None, 10_000 // 8 + 1)  # would push out everything else
    bound.clear()
    assert bound.used == 0 and len(bound) == 0 and all(len(shelf) == 0 for shelf in shelves)


def test_putting_a_key_again_charges_it_once():
    bound = MemoryBound(1000)
    shelf = bound.shelf("s")  # entries of up to 125 bytes
    shelf.put("k", "old", 100)
    shelf.put("k", "new", 50)
    assert (bound.used, len(shelf), shelf.get("k")) == (50, 1, "new")
    shelf.remove("k")
    shelf.remove("k")
    assert (bound.used, len(shelf)) == (0, 0)


def test_the_estimates_follow_the_documents_and_plans_size():
    query = "{ telephonyConfigs(first: 1) { nodes { id name } } }"
    nodes = sum(1 for _ in nodes_of(parse(query)))
    assert nodes == 16  # the document, its operation, 3 selection sets, 4 fields, 5 names, an argument, its value
    assert document_bytes(query, nodes) == sys.getsizeof(query) + 16 * DOCUMENT_BYTES_PER_NODE + ENTRY_BYTES
    assert plan_bytes((query, None, True), 3, 5) == (
        sys.getsizeof(query) + 3 * PLAN_BYTES_PER_TYPE + 5 * PLAN_BYTES_PER_FIELD + ENTRY_BYTES)


def planned(runner: PlanRunner, query: str) -> Plan | None:
    prepared = runner.prepare(query)
    operation = prepared.operation(None)
    assert operation is not None
    return runner._plan(prepared, query, operation, get_variable_values(runner.schema, (), {}))  # type: ignore[arg-type]


def test_a_plan_is_counted_as_its_type_and_field_plans():
    runner = PlanRunner(build_schema()._schema, None, None, production=False)  # type: ignore[arg-type]  # compiles only
    plan = planned(runner, DASHBOARD)
    assert plan is not None and runner.prepare(DASHBOARD).nodes > 50
    # The root (3 fields), a config connection, its page info and edges, the config, its warnings,
    # its numbers and their nodes, the summary, its counts by code, the default configuration.
    assert plan_parts(plan) == (11, 37)


def test_a_plan_goes_with_its_document():
    """A plan holds nodes of its document: kept alone, they would be held but not charged."""
    bound = MemoryBound(2**20)
    runner = PlanRunner(build_schema()._schema, None, None, production=False, bound=bound)  # type: ignore[arg-type]
    assert planned(runner, DASHBOARD) is not None
    assert set(bound.charged()) == {"documents", "plans"}
    filler = bound.shelf("filler")
    for i in range(10_000):  # up to the bound, behind the document and its plan
        if bound.used + 1000 > bound.max_bytes:
            break
        filler.put(i, None, 1000)
    filler.put("one more", None, 1000)  # the document, the oldest, goes: its plan with it
    assert set(bound.charged()) == {"filler"}
    assert runner._plan_keys == {}


def test_a_dropped_document_and_its_plan_are_freed_without_the_collector():
    """Neither a prepared document nor a plan holds a cycle: dropped from the bound, they are
    freed at once. With one, each evicted entry would wait for the collector's full pass, which
    the server makes rarely (gql_telephony/server.py, GC_THRESHOLDS): 20,000 documents through
    a 64 MiB cache then grew the process by 300 MiB."""
    bound = MemoryBound(2**20)
    runner = PlanRunner(build_schema()._schema, None, None, production=False, bound=bound)  # type: ignore[arg-type]
    plans = [planned(runner, dashboard(i)) for i in range(3)]
    assert all(plans) and set(bound.charged()) == {"documents", "plans"}
    # What must go: each prepared document, and each plan's generated builder.
    kept = [weakref.ref(runner.prepare(dashboard(i)).document) for i in range(3)]
    kept += [weakref.ref(plan.root.build) for plan in plans if plan is not None]
    del plans
    gc.collect()  # the garbage of parsing, validating and compiling: not what is kept
    gc.disable()
    try:
        bound.clear()
        assert [ref for ref in kept if ref() is not None] == []  # freed at once, by reference counts
        left_to_the_collector = gc.collect()
    finally:
        gc.enable()
    assert left_to_the_collector == 0


async def test_many_documents_stay_within_one_small_bound(api):
    """Distinct documents through the app with a 1 MiB bound: what is charged never passes it,
    every kind of entry is kept, and tracemalloc finds what they hold within the bound too."""
    for name in ("One", "Two", "Three"):
        await create_config(api, "TWILIO", name)
    async with app_client(api.runtime.settings, beside=api.runtime, response_cache_mb=1) as served:
        bound: MemoryBound = served.app.state.view.kept
        through = api.through(served)
        assert bound.max_bytes == 2**20
        tracemalloc.start()
        try:
            for i in range(60):
                await through.gql(dashboard(i))
                assert bound.used <= bound.max_bytes
            charged = bound.charged()
            assert set(charged) == {"responses", "documents", "plans"}, charged
            assert sum(charged.values()) == bound.used > bound.max_bytes * 3 // 4
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0]
            used = bound.used
            bound.clear()
            gc.collect()
            held = kept - tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert held <= bound.max_bytes * HELD_FACTOR, (held, used, charged)
        assert held >= used // 2, (held, used)  # the estimates are not far above what is held
        assert served.runtime.read_paths.planned == 60
