"""Two real server processes on one Redis allow the rate limit once between them, not twice."""

from __future__ import annotations

from pathlib import Path

import httpx

from ..support import bearer
from .redis_server import require_shared_redis
from .server import cli, running_server, server_env


def test_two_server_processes_on_one_redis_share_one_limit(tmp_path: Path):
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                     GQL_TELEPHONY_BROKER_URL=require_shared_redis(),
                     GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE="6", GQL_TELEPHONY_RATE_LIMIT_BURST="4")
    key = cli(["create-api-key", cli(["create-org", "Acme"], env)], env)
    headers = bearer(key)
    query = {"query": "{ telephonyProviders { key } }"}
    with running_server(env, tmp_path / "one.log") as one, running_server(env, tmp_path / "two.log") as two:
        statuses = [httpx.post(f"{server.http}/graphql", json=query, headers=headers, timeout=10).status_code
                    for server in (one, two) * 4]
    assert statuses == [200, 200, 200, 200, 429, 429, 429, 429]
