"""Errors as clients see them: a code on every error, no input value repeated, no internals.

graphql-core's coercion and validation messages quote the offending value, which may be a
secret: those messages are rewritten here before they reach a response or a log line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

logger = logging.getLogger("gql_telephony.errors")

INTERNAL_MESSAGE = "Internal server error."
# Codes our own code puts on errors; an error without one is graphql-core's or unexpected.
KNOWN_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "QUERY_TOO_COMPLEX", "BAD_REQUEST"}

_VALUE_PATTERNS = [
    # Variable "$input" got invalid value {...} at "input.name"; <reason>
    (re.compile(r'got invalid value .*? at "', re.S), 'got an invalid value at "'),
    (re.compile(r"got invalid value .*?;", re.S), "got an invalid value;"),
    # <Type> cannot represent [a] non-<kind> value: <value>
    (re.compile(r"(cannot represent (?:a )?[\w -]*?value)\s*:.*", re.S), r"\1."),
    # Expected value of type 'X', found <value>; <reason>
    (re.compile(r"(Expected value of type [^,]+), found .*?(;|$)", re.S), r"\1\2"),
    # Syntax Error: Unexpected <token> / Invalid number, ... <value>
    (re.compile(r"(Syntax Error: [^:\"]*?)[:\"] ?.*", re.S), r"\1."),
    # Value "x" does not exist in "Enum" enum.
    (re.compile(r'Value ".*?" does not exist in (".*?" enum)', re.S), r"The value does not exist in \1"),
]
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?", re.S)


def sanitize_message(message: str, *, suggestions: bool = True) -> str:
    for pattern, replacement in _VALUE_PATTERNS:
        message = pattern.sub(replacement, message)
    if not suggestions:
        message = _SUGGESTION.sub("", message)
    return message.strip()


def is_unexpected(error: GraphQLError) -> bool:
    """A fault of ours (a bug, a dead database), not an answer to the request."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def code_of(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if is_unexpected(error):
        return "INTERNAL_SERVER_ERROR"
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable "):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def format_error(error: GraphQLError, *, suggestions: bool = True) -> dict[str, Any]:
    code = code_of(error)
    if code == "INTERNAL_SERVER_ERROR":
        message = INTERNAL_MESSAGE
    elif code in KNOWN_CODES:
        message = error.message
    else:
        message = sanitize_message(error.message, suggestions=suggestions)
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = list(error.path)
    extensions = {k: v for k, v in (error.extensions or {}).items() if code != "INTERNAL_SERVER_ERROR"}
    extensions["code"] = code
    formatted["extensions"] = extensions
    return formatted


def log_errors(errors: list[GraphQLError]) -> None:
    """Faults go to the log with their traceback; expected errors are the client's business."""
    for error in errors:
        if is_unexpected(error):
            path = ".".join(str(p) for p in error.path) if error.path else "-"
            logger.error("unexpected error at %s", path, exc_info=error.original_error)
