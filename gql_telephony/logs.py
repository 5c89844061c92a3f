"""JSON logs: one object per line for every logger (the app's, uvicorn's, the libraries').

Each line holds time, level, logger and message, the request id of the request being served
(when there is one), the fields a caller passed with `extra=`, and a formatted traceback for
an exception.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The id of the HTTP request being served, set by api/middleware/request_log.py for the request's duration.
current_request_id: ContextVar[str | None] = ContextVar("gql_telephony_request_id", default=None)

_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# uvicorn's copy of its message with terminal colours.
_IGNORED_EXTRAS = frozenset({"color_message"})
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# httpx logs each request with its full URL at INFO (and httpcore its steps at DEBUG); some
# providers put an account id declared secret in the path. outbound/http.py logs its own line.
QUIET_BELOW_WARNING = ("httpx", "httpcore")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request being served when it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in _IGNORED_EXTRAS and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:  # orjson: a tenth of json's time, on a line written for every request
            return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # what orjson refuses (a lone surrogate, an integer over 64 bits)
            return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for every logger; uvicorn's loggers pass theirs to the root."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
    quiet_http_client_logs()


def quiet_http_client_logs() -> None:
    """httpx and httpcore log at WARNING and above only, whatever the root's level (also where
    this module did not configure logging: an embedding application, tests)."""
    for name in QUIET_BELOW_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
