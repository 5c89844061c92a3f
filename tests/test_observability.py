"""Observability: a JSON log line per request (request id, organization, operation, outcome; never
a secret, key, query string or variable value), X-Request-ID, /metrics, /readyz."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gql_telephony.app import READY_TIMEOUT_SECONDS
from gql_telephony.logs import JsonFormatter, RequestIdFilter

from .deadline import HANG_SECONDS
from .documents import CREATE, DASHBOARD, VALID, create_config
from .live.redis_server import PrivateRedis
from .live.server import cli, free_port, running_server, server_env
from .support import app_client, bearer, sqlite_settings

CANARY = "CANARY-9b1e7c55-secret-value"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


CLIENT_LOGGERS = ("httpx", "httpcore")  # the test's own HTTP client, not the server


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    """The server's records, formatted as the server writes them."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name.split(".")[0] not in CLIENT_LOGGERS]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [line for line in json_lines(caplog) if line["logger"] == "gql_telephony.access"]


# The log line -------------------------------------------------------------------------------

def test_a_line_holds_what_its_fast_encoder_refuses():
    """Lines are encoded by orjson; a value it refuses (a lone surrogate, an integer over 64
    bits) still gives one JSON line, with that value as json writes it."""
    record = logging.LogRecord("gql_telephony.test", logging.INFO, __file__, 1, "odd %s", ("values",), None)
    record.text, record.big, record.keys = "a\ud800b", 2**70, {1: "one"}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert (parsed["text"], parsed["big"], parsed["keys"]) == ("a\ud800b", 2**70, {"1": "one"})
    assert parsed["message"] == "odd values"


async def test_a_request_is_one_json_line_with_its_id_organization_operation_and_outcome(api, logs):
    response = await api.post(DASHBOARD)
    assert response.status_code == 200
    [line] = access_lines(logs)
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["org_id"] == api.org_id
    assert line["operation_name"] == "Dashboard" and line["operation_type"] == "query"
    assert line["method"] == "POST" and line["path"] == "/graphql"
    assert line["status"] == 200 and line["error_codes"] == []
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("Z")


async def test_the_line_names_the_error_codes_of_the_response(api, logs):
    refused = await api.post("query Who { telephonyConfigs { totalCount } }", key="gqlt_not-a-key")
    assert refused.status_code == 401
    invalid = await api.post("query Broken { noSuchField }")
    mutation = await api.post(CREATE, {"input": {"name": "", "provider": "TWILIO", "config": VALID["TWILIO"]}})
    assert mutation.json()["data"]["createTelephonyConfig"]["userErrors"]  # a user error is not a GraphQL error
    unauthenticated, validation, created = access_lines(logs)
    assert unauthenticated["status"] == 401 and unauthenticated["error_codes"] == ["UNAUTHENTICATED"]
    assert unauthenticated["org_id"] is None
    assert validation["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"] and validation["org_id"] == api.org_id
    assert validation["status"] == invalid.status_code
    assert created["operation_name"] == "Create" and created["operation_type"] == "mutation"
    assert created["error_codes"] == []


async def test_no_log_line_holds_a_secret_a_key_a_variable_or_a_query_string(api, logs):
    await create_config(api, "TELNYX", "Canary", config={"api_key": CANARY})
    await api.post(CREATE, {"input": {"name": CANARY, "provider": "NOT_A_PROVIDER", "config": {"x": CANARY}}})
    await api.post(CREATE, {"input": {"name": "Bad", "provider": "TWILIO", "config": {"auth_token": CANARY}}})
    await api.client.get("/graphql", params={"query": "query Q($v: String) { telephonyProviders { key } }",
                                             "variables": json.dumps({"v": CANARY})},
                         headers=bearer(api.key))
    await api.client.get(f"/{api.key}/{CANARY}")  # a key or secret pasted into a path
    await api.post("{ telephonyProviders { key } }", key=f"gqlt_{CANARY}")
    lines = json_lines(logs)
    assert len(access_lines(logs)) == 6  # create_config's request included
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (CANARY, api.key, api.key.removeprefix("gqlt_")):
        assert secret not in text
    assert not any("?" in line.get("path", "") for line in lines)


async def test_the_request_id_of_the_client_is_kept_when_it_is_a_short_token(api, logs):
    kept = await api.post("{ telephonyProviders { key } }", headers={"x-request-id": "dash-7f3a.42:retry-1"})
    assert kept.headers["x-request-id"] == "dash-7f3a.42:retry-1"
    replaced = []
    for bad in ("x" * 65, "has space", "semi;colon", "-starts-with-dash", f'{{"v": "{CANARY}"}}'):
        response = await api.post("{ telephonyProviders { key } }", headers={"x-request-id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), bad
        replaced.append(response.headers["x-request-id"])
    generated = await api.post("{ telephonyProviders { key } }")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    ids = [line["request_id"] for line in access_lines(logs)]
    assert ids == ["dash-7f3a.42:retry-1", *replaced, generated.headers["x-request-id"]]
    assert len(set(ids)) == len(ids)
    assert CANARY not in logs.text


async def test_lines_logged_while_serving_a_request_carry_its_id(api, logs, monkeypatch):
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign,assignment]  # keep each record instead of writing it
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    async def failing(*_args, **_kwargs):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr("gql_telephony.services.reader.Reader.warning_summary", failing)
    try:
        logging.getLogger("gql_telephony.test").warning("outside any request")
        response = await api.post("{ telephonyConfigWarnings { totalCount } }", headers={"x-request-id": "req-1"})
    finally:
        root.removeHandler(handler)
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    lines = [json.loads(JsonFormatter().format(record)) for record in records]
    outside = next(line for line in lines if line["message"] == "outside any request")
    assert "request_id" not in outside
    fault = next(line for line in lines if line["logger"] == "gql_telephony.errors")
    access = next(line for line in lines if line["logger"] == "gql_telephony.access")
    assert fault["request_id"] == access["request_id"] == "req-1"
    assert "RuntimeError" in fault["exception"] and access["error_codes"] == ["INTERNAL_SERVER_ERROR"]


def test_a_line_is_json_whatever_its_extras_hold():
    """Values JSON has no type for are written as text."""
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    record = logging.LogRecord("gql_telephony.test", logging.INFO, __file__, 1, "caf\u00e9 %s", ("ok",), None)
    record.when = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    record.thing = Opaque()
    record.huge = 2**70
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "caf\u00e9 ok" and line["thing"] == "opaque" and line["huge"] == 2**70
    assert line["when"].startswith("2026-12-03")


def test_the_server_logs_json_lines_only_uvicorn_included(tmp_path: Path):
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    key = cli(["create-api-key", cli(["create-org", "Acme"], env)], env)
    log_path = tmp_path / "server.log"
    with running_server(env, log_path) as server:
        response = httpx.post(f"{server.http}/graphql", headers={"authorization": f"Bearer {key}", "x-request-id": "live-1"},
                              json={"query": "query Live($v: String) { telephonyProviders { key } }", "variables": {"v": CANARY}})
        assert response.status_code == 200 and response.headers["x-request-id"] == "live-1"
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"].startswith("uvicorn") and "Uvicorn running on" in line["message"] for line in lines)
    [access] = [line for line in lines if line["logger"] == "gql_telephony.access" and line["path"] == "/graphql"]
    assert access["request_id"] == "live-1" and access["operation_name"] == "Live" and access["status"] == 200
    assert isinstance(access["org_id"], int)
    assert CANARY not in text and key not in text


# /metrics -----------------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, labels, value = match.groups()
        pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels or ""))
        samples[(name, pairs)] = float(value)
    return samples


async def metrics(api) -> dict[tuple[str, frozenset], float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(response.text)


def sample(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_requests_durations_errors_and_sql(api):
    before = await metrics(api)
    await api.gql(DASHBOARD)
    await api.post("{ telephonyProviders { key } }", key="gqlt_not-a-key")
    await api.post("{ noSuchField }")
    after = await metrics(api)
    graphql_ok = {"route": "/graphql", "status": "200"}
    assert sample(after, "gql_telephony_http_requests_total", **graphql_ok) == \
        sample(before, "gql_telephony_http_requests_total", **graphql_ok) + 2
    assert sample(after, "gql_telephony_http_requests_total", route="/graphql", status="401") == 1
    assert sample(after, "gql_telephony_http_requests_total", route="/metrics", status="200") >= 1
    assert sample(after, "gql_telephony_http_request_duration_seconds_count", **graphql_ok) == \
        sample(after, "gql_telephony_http_requests_total", **graphql_ok)
    assert sample(after, "gql_telephony_http_request_duration_seconds_bucket", le="+Inf", **graphql_ok) == \
        sample(after, "gql_telephony_http_request_duration_seconds_count", **graphql_ok)
    assert sample(after, "gql_telephony_http_request_duration_seconds_sum", **graphql_ok) > 0
    assert sample(after, "gql_telephony_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert sample(after, "gql_telephony_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert sample(after, "gql_telephony_sql_statements_total") >= sample(before, "gql_telephony_sql_statements_total") + 3


async def test_metrics_have_bounded_labels_and_no_organization(api):
    await api.client.get(f"/{CANARY}")
    await api.gql(DASHBOARD)
    text = (await api.client.get("/metrics")).text
    samples = parse_metrics(text)
    assert sample(samples, "gql_telephony_http_requests_total", route="other", status="404") == 1
    label_names = {name for (_, labels) in samples for name, _ in labels}
    assert label_names <= {"route", "status", "code", "le", "path"}
    assert {value for (_, labels) in samples for name, value in labels if name == "path"} == {"cache", "generic", "plan"}
    assert CANARY not in text and api.key not in text


async def test_metrics_count_how_queries_were_answered(api):
    await api.gql(DASHBOARD)  # a plan answers it, and the cache keeps it
    await api.gql(DASHBOARD)  # from the cache
    await api.gql("{ __schema { queryType { name } } }")  # introspection: no plan covers it
    samples = parse_metrics((await api.client.get("/metrics")).text)
    assert sample(samples, "gql_telephony_read_path_total", path="plan") == 1
    assert sample(samples, "gql_telephony_read_path_total", path="cache") == 1
    assert sample(samples, "gql_telephony_read_path_total", path="generic") == 1


async def test_metrics_count_active_subscriptions(api):
    assert sample(await metrics(api), "gql_telephony_active_subscriptions") == 0
    feed = api.runtime.summaries.follow(api.org_id)
    await anext(feed)
    try:
        assert sample(await metrics(api), "gql_telephony_active_subscriptions") == 1
    finally:
        await feed.aclose()
    assert sample(await metrics(api), "gql_telephony_active_subscriptions") == 0


async def test_metrics_count_provider_calls_by_provider_and_outcome(api):
    api.runtime.provider_http.outcomes["TWILIO", "ok"] += 3  # as the provider client counts them
    api.runtime.provider_http.outcomes["TELNYX", "timeout"] += 1
    text = (await api.client.get("/metrics")).text
    samples = parse_metrics(text)
    assert sample(samples, "gql_telephony_provider_requests_total", provider="TWILIO", outcome="ok") == 3
    assert sample(samples, "gql_telephony_provider_requests_total", provider="TELNYX", outcome="timeout") == 1
    assert "# TYPE gql_telephony_provider_requests_total counter" in text


async def test_each_app_has_metrics_of_its_own(api):
    """Several apps in one process (as in these tests): one's requests are not counted by another."""
    async with app_client(api.runtime.settings, beside=api.runtime) as other:
        for _ in range(3):
            await other.client.get("/healthz")
        mine = parse_metrics((await api.client.get("/metrics")).text)
        theirs = parse_metrics((await other.client.get("/metrics")).text)
    assert sample(theirs, "gql_telephony_http_requests_total", route="/healthz", status="200") == 3
    assert sample(mine, "gql_telephony_http_requests_total", route="/healthz", status="200") == 0


# /readyz ------------------------------------------------------------------------------------

async def readiness(settings) -> httpx.Response:
    async with app_client(settings) as served:
        # A check that waits on a silent dependency without a timeout never answers.
        return await asyncio.wait_for(served.client.get("/readyz"), HANG_SECONDS)


async def test_ready_when_the_database_and_the_memory_broker_answer(api):
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "up", "broker": "up"}


async def test_not_ready_with_a_broken_database(tmp_path: Path):
    (tmp_path / "a-directory").mkdir()  # SQLite cannot open a directory as a database
    ready = await readiness(sqlite_settings(tmp_path / "a-directory"))
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "down", "broker": "up"}


async def test_not_ready_within_a_second_or_so_when_the_database_hangs(api, monkeypatch):
    assert READY_TIMEOUT_SECONDS <= 2  # what "a second or so" is, timed by the app, not by the test

    class Hanging:
        async def __aenter__(self):
            await asyncio.Event().wait()  # forever: without its own timeout, readiness never answers

        async def __aexit__(self, *exc):
            return False

    monkeypatch.setattr(api.runtime.db, "reading", Hanging)
    ready = await asyncio.wait_for(api.client.get("/readyz"), HANG_SECONDS)
    assert ready.status_code == 503 and ready.json()["database"] == "down"


async def test_not_ready_with_an_unreachable_redis_broker(tmp_path: Path):
    ready = await readiness(sqlite_settings(tmp_path / "db.sqlite3", broker_url="redis://127.0.0.1:1/0"))
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "up", "broker": "down"}


async def test_not_ready_when_redis_accepts_but_never_answers(tmp_path: Path):
    connections = []

    async def silent(reader, writer):
        connections.append(writer)
        await reader.read()  # read until the client goes away, never answer

    port = free_port()
    server = await asyncio.start_server(silent, "127.0.0.1", port)
    try:
        ready = await readiness(sqlite_settings(tmp_path / "db.sqlite3", broker_url=f"redis://127.0.0.1:{port}/0"))
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    assert ready.status_code == 503 and ready.json()["broker"] == "down"


async def test_ready_with_a_redis_broker_that_answers_until_it_stops(tmp_path: Path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        settings = sqlite_settings(tmp_path / "db.sqlite3", broker_url=redis.url)
        ready = await readiness(settings)
        assert ready.status_code == 200 and ready.json()["broker"] == "up"
    finally:
        redis.stop()
    ready = await readiness(settings)
    assert ready.status_code == 503 and ready.json()["broker"] == "down"
