"""The largest response an accepted document can make a server produce.

Usage: .venv/bin/python -m bench.worst_response [--configs 100] [--numbers 100] [--inner-first N]
           [--aliases 15] [--no-config] [--big-configs] [--paths plan generic] [--unlimited]

Seeds one organization (SQLite in a temporary directory), starts `gql-telephony serve` once per
read path (compiled plans, generic executor; no response cache, no rate limit), sends the worst
document it can build within the limits, and prints its cost and size (the limits' figures),
the response's bytes and objects (JSON objects), the time to answer and the server's memory:
resident before, and the peak (VmHWM) minus that.

The document (see `worst_document`) is scaled by its inner page size: by default the largest
the cost and size limits accept; `--unlimited` builds it at 100 (the worst under the cost alone,
which the size limit now refuses: then the server's refusal is printed). `--no-config` leaves
`config` out of the copies of a configuration (the most objects for the size rather than the
most bytes). `--big-configs` gives every configuration the largest config the contract
accepts (an Asterisk ARI form: an endpoint URL of 4-byte characters, an application and a
client name of control characters, which JSON writes 6 bytes each, and a masked 8,192-character
password); the data is otherwise configurations of the benchmark's mix (bench/seed.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gql_telephony.api.graph.limits import MAX_ALIASES, MAX_COST, MAX_RESPONSE_SIZE, operation_cost, response_size
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.domain.config_rules import MAX_VALUE_LENGTH
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.settings import Settings

from .processes import free_port, server_env, started
from .seed import seed

CONFIG = """fragment Config on TelephonyConfig {
  id name provider isDefaultOutbound version createdAt updatedAt CONFIG phoneNumberCount warningCount
  warnings { code severity message field }
  providerMetadata { key name notes connectivity docsUrl
    fields { key label type required secret description placeholder defaultValue } }
}"""
IDS = 98  # 98 + 98 * 2 + 98 * 2 * 100 = 19,894: 99 ids would cost 20,097 (the worst under the cost alone)
NUMBER = "id phoneNumber label isActive createdAt updatedAt telephonyConfig { ...Config }"


def worst_document(inner_first: int, aliases: int, config: bool = True) -> str:
    """The most objects for the cost: `nodes` of the configurations (98: 98), 2 of each one's
    numbers (196), and under each of those its configuration's page of `inner_first` numbers
    (19,600 at 100): the deepest place is answered ids * 2 * inner_first times, so each alias goes
    there (an alias counts once per place it is written or spread in), as a copy of the
    configuration (the largest subtree that costs nothing); edges and nodes both, and every field.
    Under the size limit the same shape, with fewer ids and a smaller inner page."""
    copies = " ".join(f"c{i}: telephonyConfig {{ ...Config }}" for i in range(aliases))
    return "\n".join([
        "query Worst($ids: [ID!]!) {",
        "  nodes(ids: $ids) { ... on TelephonyConfig { ...Config phoneNumbers(first: 2) { ...Numbers nodes {",
        f"    telephonyConfig {{ phoneNumbers(first: {inner_first}) {{ ...Numbers nodes {{ {copies} }} }} }} }} }} }} }}",
        "}",
        "fragment Numbers on PhoneNumberConnection { totalCount pageInfo { hasNextPage endCursor }"
        " edges { cursor node { ...Number } } nodes { ...Number } }",
        f"fragment Number on PhoneNumber {{ {NUMBER} }}",
        CONFIG.replace("CONFIG", "config" if config else ""),
    ])


def dense_document(inner_first: int, aliases: int) -> str:
    """The most objects for the size: under each of `inner_first` numbers of 100 configurations,
    15 copies of the configuration's provider form, each field of which is an object holding only
    its `__typename` (a list item costs 5 bytes and `__typename` 128: 133 bytes an object)."""
    copies = " ".join(f"c{i}: telephonyConfig {{ providerMetadata {{ fields {{ __typename }} }} }}" for i in range(aliases))
    return (f"query Dense {{ telephonyConfigs(first: 100) {{ nodes {{ phoneNumbers(first: {inner_first})"
            f" {{ nodes {{ {copies} }} }} }} }} }}")


@cache
def graphql_schema() -> Any:
    return build_schema()._schema


def priced(document: str, variables: dict[str, Any]) -> tuple[int, int]:
    """The document's cost and size, as the server's limits count them."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
    schema = graphql_schema()
    return (operation_cost(schema, operation, fragments, variables),
            response_size(schema, operation, fragments, variables))


def largest_first(build: Callable[[int], str], variables: dict[str, Any]) -> int:
    """The largest inner page size at which `build(page)` is within both limits (0: none is);
    the size grows with the page, so bisect it."""
    low, high = 0, 100
    while low < high:
        middle = (low + high + 1) // 2
        cost, size = priced(build(middle), variables)
        low, high = (middle, high) if cost <= MAX_COST and size <= MAX_RESPONSE_SIZE else (low, middle - 1)
    return low


def largest_accepted(aliases: int, config: bool, config_ids: list[str]) -> tuple[list[str], int]:
    """The ids and inner page size of the largest document (by its size) within both limits."""
    best: tuple[int, list[str], int] = (0, [], 0)
    for count in range(1, IDS + 1):
        ids = config_ids[:count]
        first = largest_first(lambda page: worst_document(page, aliases, config), {"ids": ids})
        if first:
            best = max(best, (priced(worst_document(first, aliases, config), {"ids": ids})[1], ids, first))
    return best[1], best[2]


def big_config(index: int) -> tuple[ProviderKey, dict[str, Any]]:
    """The largest config the contract accepts, in bytes of JSON: an ARI form whose texts are at
    their longest, in the characters JSON writes longest."""
    longest = MAX_VALUE_LENGTH
    endpoint = f"https://pbx{index}.example.com/"
    return ProviderKey.ARI, {
        "ari_endpoint": endpoint + "\U0001F4DE" * (longest - len(endpoint)),  # 4 bytes each in UTF-8
        "app_name": "\x01" * longest, "ws_client_name": "\x02" * longest,  # \u0001: 6 bytes each
        "app_password": "p" * longest,
    }


def objects_in(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(objects_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects_in(v) for v in value)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=100)
    parser.add_argument("--numbers", type=int, default=100)
    parser.add_argument("--inner-first", type=int, default=None)
    parser.add_argument("--aliases", type=int, default=MAX_ALIASES)
    parser.add_argument("--no-config", action="store_true")
    parser.add_argument("--big-configs", action="store_true")
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--dense", action="store_true", help="the most objects for the size (dense_document)")
    parser.add_argument("--paths", nargs="+", default=["plan", "generic"], choices=["plan", "generic"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gqlt-worst-") as tmp:
        db = Path(tmp) / "worst.sqlite3"
        secret_key = Fernet.generate_key().decode()
        settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", secret_keys=(secret_key,))
        key, _ = asyncio.run(seed(settings, args.configs, args.numbers, config_of=big_config if args.big_configs else None))
        env = server_env(GQL_TELEPHONY_DATABASE_URL=settings.database_url, GQL_TELEPHONY_SECRET_KEYS=secret_key,
                         GQL_TELEPHONY_RESPONSE_CACHE_MB="0")
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        for path in args.paths:
            port = free_port()
            command = [sys.executable, "-m", "gql_telephony.cli", "serve", "--port", str(port)]
            path_env = {**env, "GQL_TELEPHONY_COMPILED_PLANS": "1" if path == "plan" else "0"}
            with started(path, command, path_env, port, Path(tmp) / f"{path}.log", None) as server, \
                    httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=900) as client:
                config_ids = [e["node"]["id"] for e in client.post("/graphql", json={
                    "query": "{ telephonyConfigs(first: 100) { edges { node { id } } } }"}).json()["data"]["telephonyConfigs"]["edges"]]
                if args.dense:
                    ids = []
                    inner_first = args.inner_first or largest_first(lambda page: dense_document(page, args.aliases), {})
                    document = dense_document(inner_first, args.aliases)
                else:
                    if args.unlimited or args.inner_first:
                        ids, inner_first = config_ids[:IDS], args.inner_first or 100
                    else:
                        ids, inner_first = largest_accepted(args.aliases, not args.no_config, config_ids)
                    document = worst_document(inner_first, args.aliases, not args.no_config)
                cost, size = priced(document, {"ids": ids})
                before = server.memory("VmRSS")
                began = time.perf_counter()
                response = client.post("/graphql", json={"query": document, "variables": {"ids": ids}})
                seconds = time.perf_counter() - began
                peak = server.memory("VmHWM")
                body = response.json()
                figures = f"{path}: {len(ids)} ids, inner first {inner_first}, cost {cost}, size {size:,}, {len(document)} chars; HTTP {response.status_code}"
                if "errors" in body:
                    print(f"{figures}, refused in {seconds:.2f} s: {body['errors'][0]['message']}", flush=True)
                    continue
                print(f"{figures}, {len(response.content):,} bytes, {objects_in(body['data']):,} objects, {seconds:.1f} s;"
                      f" RSS {before:.0f} MiB before, peak +{(peak or 0) - (before or 0):.0f} MiB", flush=True)
                del body, response


if __name__ == "__main__":
    main()
