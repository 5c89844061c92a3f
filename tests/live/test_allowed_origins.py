"""GQL_TELEPHONY_ALLOWED_ORIGINS written with a trailing slash (and capitals, and a default port)
lets a dashboard on that origin both fetch (CORS) and open a WebSocket; a refused preflight and
a refused WebSocket origin are logged naming the variable an operator sets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage.migrate import upgrade_to_head

from ..support import app_client, bearer, sqlite_settings
from .server import serving_in_process
from .ws_client import Subscriber

DASHBOARD = "https://dash.example.com"
WRITTEN = "HTTPS://Dash.Example.com:443/, http://localhost:3000/"  # as an operator might
QUERY = {"query": "{ telephonyConfigs { totalCount } }"}


def settings_for(path: Path) -> Settings:
    return replace(sqlite_settings(path), allowed_origins=Settings.from_env(
        {"GQL_TELEPHONY_ALLOWED_ORIGINS": WRITTEN}).allowed_origins)


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with app_client(settings_for(tmp_path / "cors.sqlite3")) as served:
        await upgrade_to_head(served.runtime.db)
        key = await create_api_key(served.runtime.db, await create_organization(served.runtime.db, "Dash"))
        yield served.client, key


async def test_a_post_from_the_listed_origin_gets_its_cors_headers(api):
    client, key = api
    preflight = await client.options("/graphql", headers={
        "origin": DASHBOARD, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    response = await client.post("/graphql", json=QUERY, headers=bearer(key, origin=DASHBOARD))
    assert response.status_code == 200 and response.json() == {"data": {"telephonyConfigs": {"totalCount": 0}}}
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "x-request-id" in response.headers["access-control-expose-headers"]


async def test_a_preflight_from_an_unlisted_origin_is_refused_and_logged(api, caplog):
    client, _ = api
    caplog.set_level(logging.INFO, logger="gql_telephony.cors")
    refused = await client.options("/graphql", headers={
        "origin": "https://evil.example.net", "access-control-request-method": "POST"})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    lines = [record.getMessage() for record in caplog.records if record.name == "gql_telephony.cors"]
    assert lines == ["refused a CORS preflight from Origin 'https://evil.example.net': "
                     "the origin is not in GQL_TELEPHONY_ALLOWED_ORIGINS"]
    caplog.clear()
    refused = await client.options("/graphql", headers={
        "origin": DASHBOARD, "access-control-request-method": "DELETE"})
    assert refused.status_code == 400
    [line] = [record.getMessage() for record in caplog.records if record.name == "gql_telephony.cors"]
    assert "'DELETE'" in line and "only GET and POST" in line


async def test_the_listed_origin_opens_a_websocket_and_another_is_refused_and_logged(tmp_path, caplog):
    runtime = build_runtime(settings_for(tmp_path / "ws.sqlite3"))
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Dash"))
    try:
        async with serving_in_process(runtime) as host:
            url = f"ws://{host}/graphql"
            for origin in (DASHBOARD, "http://localhost:3000"):
                subscriber = Subscriber(url, key, origin=origin)
                assert (await subscriber.connect())["type"] == "connection_ack"
                await subscriber.close()
            caplog.set_level(logging.WARNING)
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(url, subprotocols=["graphql-transport-ws"], origin="https://evil.example.net")
            assert refused.value.response.status_code == 403
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
    lines = [record.getMessage() for record in caplog.records if "evil.example.net" in record.getMessage()]
    assert len(lines) == 1, lines
    assert "GQL_TELEPHONY_ALLOWED_ORIGINS" in lines[0] and "allowed_origins" not in lines[0]
