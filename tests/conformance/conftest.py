"""A real `gql-telephony serve` process per test module, with an organization, one API key and
the server's log (tests read it for tracebacks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from ..live.server import LiveServer, cli, running_server, server_env


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("conformance")
    env = server_env(
        GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'conformance.sqlite3'}",
        GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
    )
    org = cli(["create-org", "Conformance"], env)
    key = cli(["create-api-key", org], env)
    log_path = tmp / "server.log"
    with running_server(env, log_path) as server:
        yield LiveServer(server=server, key=key, log_path=log_path)
