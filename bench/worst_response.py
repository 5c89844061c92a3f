"""The largest response an accepted document can make a server produce.

Usage: .venv/bin/python -m bench.worst_response [--configs 100] [--numbers 100] [--inner-first 100]
           [--aliases 15] [--big-configs] [--paths plan generic]

Seeds one organization (SQLite in a temporary directory), starts `gql-telephony serve` once per
read path (compiled plans, generic executor; no response cache, no rate limit), sends the worst
document it can build within the limits, and prints its cost, the response's bytes and objects
(JSON objects), the time to answer and the server's memory: resident before, and the peak
(VmHWM) minus that. `--big-configs` gives every configuration the largest config the contract
accepts (Vonage, each secret 8,192 characters); `--inner-first` below 100 scales the document
down (the figures grow linearly with it). The data: configurations of the benchmark's mix
(bench/seed.py), or the largest ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gql_telephony.api.limits import MAX_ALIASES, MAX_COST, operation_cost
from gql_telephony.api.schema import build_schema
from gql_telephony.domain.config_rules import MAX_VALUE_LENGTH
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.settings import Settings

from .processes import free_port, server_env, started
from .seed import seed

CONFIG = """fragment Config on TelephonyConfig {
  id name provider isDefaultOutbound version createdAt updatedAt config phoneNumberCount warningCount
  warnings { code severity message field }
  providerMetadata { key name notes connectivity docsUrl
    fields { key label type required secret description placeholder defaultValue } }
}"""
IDS = 98  # 98 + 98 * 2 + 98 * 2 * 100 = 19,894: 99 ids would cost 20,097
NUMBER = "id phoneNumber label isActive createdAt updatedAt telephonyConfig { ...Config }"


def worst_document(inner_first: int, aliases: int) -> str:
    """The most objects for the cost: `nodes` of 98 configurations (98), 2 of each one's numbers
    (196), and under each of those its configuration's page of `inner_first` numbers (19,600 at
    100): the deepest place is answered ids * 2 * inner_first times, so each alias goes there
    (an alias counts once per place it is written or spread in), as a copy of the configuration
    (the largest subtree that costs nothing); edges and nodes both, and every field."""
    copies = " ".join(f"c{i}: telephonyConfig {{ ...Config }}" for i in range(aliases))
    return "\n".join([
        "query Worst($ids: [ID!]!) {",
        "  nodes(ids: $ids) { ... on TelephonyConfig { ...Config phoneNumbers(first: 2) { ...Numbers nodes {",
        f"    telephonyConfig {{ phoneNumbers(first: {inner_first}) {{ ...Numbers nodes {{ {copies} }} }} }} }} }} }} }}",
        "}",
        "fragment Numbers on PhoneNumberConnection { totalCount pageInfo { hasNextPage endCursor }"
        " edges { cursor node { ...Number } } nodes { ...Number } }",
        f"fragment Number on PhoneNumber {{ {NUMBER} }}",
        CONFIG,
    ])


def priced(document: str, variables: dict[str, Any]) -> int:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
    return operation_cost(build_schema()._schema, operation, fragments, variables)


def big_config(index: int) -> tuple[ProviderKey, dict[str, Any]]:
    """The largest config the contract accepts: Vonage, every secret at its longest."""
    longest = MAX_VALUE_LENGTH
    private_key = "-----BEGIN PRIVATE KEY-----\n" + "A" * (longest - 56) + "\n-----END PRIVATE KEY---"
    return ProviderKey.VONAGE, {
        "application_id": f"0f8fad5b-d9cb-469f-a165-{index:012d}", "private_key": private_key[:longest],
        "api_key": "k" * longest, "api_secret": "s" * longest, "signature_secret": "g" * longest,
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
    parser.add_argument("--inner-first", type=int, default=100)
    parser.add_argument("--aliases", type=int, default=MAX_ALIASES)
    parser.add_argument("--big-configs", action="store_true")
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
                ids = config_ids[:IDS]
                document = worst_document(args.inner_first, args.aliases)
                cost = priced(document, {"ids": ids})
                assert cost <= MAX_COST, cost
                before = server.memory("VmRSS")
                began = time.perf_counter()
                response = client.post("/graphql", json={"query": document, "variables": {"ids": ids}})
                seconds = time.perf_counter() - began
                peak = server.memory("VmHWM")
                body = response.json()
                assert "errors" not in body, str(body)[:500]
                print(f"{path}: cost {cost}, {len(document)} chars; HTTP {response.status_code}, {len(response.content):,} bytes,"
                      f" {objects_in(body['data']):,} objects, {seconds:.1f} s; RSS {before:.0f} MiB before,"
                      f" peak +{(peak or 0) - (before or 0):.0f} MiB", flush=True)
                del body, response


if __name__ == "__main__":
    main()
