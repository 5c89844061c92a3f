"""No provider URL reaches the logs, even at DEBUG: some providers put an account id declared
secret in the path. httpx's request lines are kept quiet; ProviderHttp's own line says which
provider and what came of the call."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gql_telephony.domain.providers import ProviderKey
from gql_telephony.logs import QUIET_BELOW_WARNING, UVICORN_LOGGERS, configure_logging
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .outbound.fakes.base import Fake, Fault, serve

CANARY = "ACcanary0123456789secret"


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self.written = io.StringIO()  # what the server's own handler writes

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_logging() -> Iterator[Kept]:
    """Logging as the server sets it up, at DEBUG, plus a handler that keeps every record; put
    back as it was afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    named = [*UVICORN_LOGGERS, *QUIET_BELOW_WARNING, "alembic"]
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers),
                    logging.getLogger(name).propagate) for name in named}
    configure_logging(logging.DEBUG)
    kept = Kept()
    (server_handler,) = root.handlers
    assert isinstance(server_handler, logging.StreamHandler)
    server_handler.setStream(kept.written)  # its JSON lines, readable here rather than on stderr
    root.addHandler(kept)
    try:
        yield kept
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate


def account_fake() -> Fake:
    async def account(request: Request) -> Response:
        return JSONResponse({"status": "active"})

    return Fake([Route("/Accounts/{sid}.json", account)])


def everything_in(record: logging.LogRecord) -> str:
    return record.getMessage() + " " + " ".join(f"{key}={value!r}" for key, value in vars(record).items())


async def test_no_provider_url_is_logged_at_debug(server_logging: Kept):
    fake = account_fake()
    http = ProviderHttp(policy=CallPolicy(total_timeout=1, backoff=0.01))
    try:
        with serve(fake) as origin:
            fake.fail(Fault(503))
            reply = await http.get(ProviderKey.TWILIO, f"{origin}/Accounts/{CANARY}.json", auth=(CANARY, "token"))
    finally:
        await http.aclose()
    assert reply.status == 200
    assert [seen.path for seen in fake.seen()] == [f"/Accounts/{CANARY}.json"] * 2
    assert server_logging.records, "DEBUG logging kept nothing: the test would prove nothing"
    leaked = [everything_in(record) for record in server_logging.records if CANARY in everything_in(record)]
    assert leaked == []
    written = server_logging.written.getvalue()
    assert "gql_telephony.outbound" in [json.loads(line)["logger"] for line in written.splitlines()]
    assert CANARY not in written


async def test_one_debug_line_per_call_with_provider_and_outcome(server_logging: Kept):
    fake = account_fake()
    http = ProviderHttp(policy=CallPolicy(total_timeout=1, backoff=0.01))
    try:
        with serve(fake) as origin:
            fake.fail(Fault(500), Fault(500))
            await http.get(ProviderKey.TWILIO, f"{origin}/Accounts/{CANARY}.json")
            fake.fail(Fault(401))
            await http.get(ProviderKey.PLIVO, f"{origin}/Accounts/{CANARY}.json")
    finally:
        await http.aclose()
    lines = [record for record in server_logging.records if record.name == "gql_telephony.outbound"]
    assert [(line.levelno, line.getMessage()) for line in lines] == [(logging.DEBUG, "provider call")] * 2
    assert [(vars(line)["provider"], vars(line)["outcome"], vars(line)["attempts"]) for line in lines] == [
        ("TWILIO", "ok", 3), ("PLIVO", "rejected", 1),
    ]
    for line in lines:
        assert CANARY not in everything_in(line)
        assert "http://" not in everything_in(line)


def test_httpx_and_httpcore_stay_quiet_below_warning_whatever_the_root_level(server_logging: Kept):
    for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.connection"):
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.WARNING), name
    assert logging.getLogger("gql_telephony.outbound").isEnabledFor(logging.DEBUG)

