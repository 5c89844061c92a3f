"""Errors as clients see them: a code on every error, no input value repeated, no internals.

graphql-core's coercion, validation and syntax messages quote the offending value, which may
be a secret: those messages are rewritten here before they reach a response or a log line.
Messages are matched against the shapes graphql-core 3.3 builds (the value is always where a
template puts it), so a value cannot disguise itself as the rest of a message.
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

MAX_NAME_SHOWN = 64
_NAME = re.compile(r"[_A-Za-z]\w{0,63}")
# A document's names (fields, arguments, fragments, variables) are the client's and may be
# as long as the body: validation messages repeat them, cut to MAX_NAME_SHOWN and marked.
_LONG_NAME = re.compile(rf"[_0-9A-Za-z]{{{MAX_NAME_SHOWN + 1},}}")
# " Did you mean 'a', 'b', or 'c'?" as did_you_mean() builds it from schema names only.
_SUGGESTION = r" Did you mean (?:the enum value )?'[\w.]+'(?:(?:, |,? or )'[\w.]+')*\?"
_SUGGESTION_TAIL = re.compile(f"({_SUGGESTION})$")
_ANY_SUGGESTION = re.compile(r"(,)? ?[Dd]id you mean [^?]*\?", re.S)

# "Variable '$input' has invalid value at .name[0]: <inner>" and its execution-time twin.
_INVALID_VALUE_PREFIX = re.compile(
    r"((?:Variable '\$\w+'(?: defined by fragment '\w+')?|Argument '\w+') has invalid value"
    r"(?: at (?:\.\w+|\[\d+\])+)?): (.*)",
    re.S,
)
_TYPE = r"'[\w!\[\]]+'"
# (pattern matched against the whole message without a trailing suggestion, rewrite)
_VALUE_SHAPES: list[tuple[re.Pattern[str], str]] = [
    # Expected value of type 'T' to be an object, found: <value>.
    (re.compile(rf"(Expected value of type {_TYPE} to be an object)(?:, found: .*|\.)", re.S), r"\1."),
    # Expected value of type 'T' to include required field 'f', found: <value>.
    (re.compile(rf"(Expected value of type {_TYPE} to include required field '\w+')(?:, found: .*|\.)", re.S), r"\1."),
    # Expected value of type 'T', found: <value>.  /  ..., but encountered error '<e>'; found: <value>.
    (re.compile(rf"(Expected value of type {_TYPE})(?:, (?:found: |but encountered error ).*|\.)", re.S), r"\1."),
    # Value '<value>' does not exist in 'Enum' enum.
    (re.compile(r"(?:Value '.*'|The value) does not exist in ('\w+' enum\.)", re.S), r"The value does not exist in \1"),
    # Int cannot represent non-integer value: <value>  /  Enum 'E' cannot represent non-enum value: <value>.
    (re.compile(r"((?:Enum '\w+'|\w+) cannot represent [\w -]*?value)(?::.*|\.)?", re.S), r"\1."),
    # Unknown operation named '<name>'.
    (re.compile(r"Unknown operation named .*", re.S),
     "No operation in the document has the name given in operationName."),
]
# Expected value of type 'T' not to include unknown field '<key>'. Did you mean 'x'? Found: <value>.
_UNKNOWN_FIELD = re.compile(
    rf"(Expected value of type {_TYPE} not to include) unknown field '(.*?)'(?:\.({_SUGGESTION}) Found|, found): .*",
    re.S,
)
# Inner coercion messages that carry no value.
_SAFE_INNER = re.compile(
    rf"Expected (?:a )?value of non-null type {_TYPE} (?:not to be None|to be provided)\."
    rf"|Within OneOf Input Object type {_TYPE}, exactly one field must be specified, .*"
    rf"|Expected variable '\$\w+' provided to [\w ']+ not to be None\."
    rf"|Expected variable '\$\w+' provided to [\w ']+ to provide a runtime value\."
    # Already rewritten (sanitizing twice changes nothing).
    rf"|Expected value of type {_TYPE} not to include (?:unknown field '\w+'|an unknown field)\.(?:{_SUGGESTION})?"
    r"|the value is not valid for its type\.",
    re.S,
)
_GENERIC_INNER = "the value is not valid for its type."

# Syntax errors: (pattern, rewrite); token values (strings, numbers, names) are dropped.
_TOKEN_KIND = r"(String|BlockString|Int|Float|Name)"
_SYNTAX_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(Expected (?:[\w ]+|'[^']*'), found|Unexpected) {_TOKEN_KIND} '.*", re.S), r"\1 \2."),
    (re.compile(r"(Invalid (?:Unicode|character) escape sequence): .*", re.S), r"\1."),
    (re.compile(r"(Invalid number, expected digit before '\.'), did you mean .*", re.S), r"\1."),
]
_SAFE_SYNTAX = re.compile(
    r"(Expected (?:[\w ]+|'[^']*'), found|Unexpected) (?:String|BlockString|Int|Float|Name|<EOF>|'[^'\w]{1,3}')\."
    r"|[\w ,]+: (?:'.{1,2}'|U\+[0-9A-F]{4,6}|<EOF>)\."
    r"|Invalid (?:Unicode|character) escape sequence\."
    r"|Invalid number, expected digit before '\.'\."
    r"|Unterminated string\."
    r"|Unexpected '\.\.', did you mean '\.\.\.'\?"
    r"|Unexpected single quote character \('\)(?:, did you mean to use a double quote \(\"\)\?|\.)"
    r"|Unexpected variable '\$\w+' in constant value\."
    r"|Name '(?:true|false|null)' is reserved and cannot be used for an enum value\."
    r"|(?:Document|Source) contains more than \d+ [\w ]+\.(?: Parsing aborted\.)?"
    r"|Document is nested too deeply\. Parsing aborted\.",
    re.S,
)
_GENERIC_SYNTAX = "the document could not be parsed."


def _value_message(message: str, *, suggestions: bool) -> str | None:
    """A coercion message without its value, or None if it is not one graphql-core builds."""
    unknown = _UNKNOWN_FIELD.fullmatch(message)
    if unknown:
        head, key, hint = unknown.groups()
        named = f"unknown field '{key}'" if _NAME.fullmatch(key) else "an unknown field"
        return f"{head} {named}." + (hint if hint and suggestions else "")
    tail = _SUGGESTION_TAIL.search(message)
    hint = tail.group(1) if tail else ""
    body = message[: tail.start()] if tail else message
    for pattern, rewrite in _VALUE_SHAPES:
        match = pattern.fullmatch(body)
        if match:
            return match.expand(rewrite) + (hint if suggestions else "")
    if _SAFE_INNER.fullmatch(message):
        return message
    return None


def _syntax_message(message: str) -> str:
    for pattern, rewrite in _SYNTAX_SHAPES:
        match = pattern.fullmatch(message)
        if match:
            message = match.expand(rewrite)
            break
    return message if _SAFE_SYNTAX.fullmatch(message) else _GENERIC_SYNTAX


def sanitize_message(message: str, *, suggestions: bool = True) -> str:
    """graphql-core's message without any value of the request (and without suggestions if asked)."""
    if message.startswith("Syntax Error: "):
        message = "Syntax Error: " + _syntax_message(message.removeprefix("Syntax Error: "))
    elif prefixed := _INVALID_VALUE_PREFIX.fullmatch(message):
        prefix, inner = prefixed.groups()
        message = f"{prefix}: {_value_message(inner, suggestions=suggestions) or _GENERIC_INNER}"
    else:
        # Validation messages name only schema and document names, except the value ones.
        message = _value_message(message, suggestions=suggestions) or message
    if not suggestions:
        # "Unexpected '..', did you mean '...'?" -> "Unexpected '..'.";
        # "... 'Query'. Did you mean 'x'?" -> "... 'Query'."
        message = _ANY_SUGGESTION.sub(lambda match: "." if match.group(1) else "", message)
    return message.strip()


def is_fault(error: GraphQLError) -> bool:
    """A fault of ours (a bug, a dead database), not an answer to the request: an exception
    other than a GraphQL error, or a GraphQL error raised while executing without a code of ours
    (a null in a non-null field, a value a scalar cannot serialize)."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return True
    code = (error.extensions or {}).get("code")
    return code == "INTERNAL_SERVER_ERROR" or (error.path is not None and not isinstance(code, str))


def _is_variable_coercion(message: str) -> bool:
    return message.startswith("Variable '$") and (
        " has invalid value" in message or message.endswith((" was not provided.", " must not be null."))
    ) or message.startswith("Too many errors processing variables")


def code_of(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if is_fault(error):
        return "INTERNAL_SERVER_ERROR"
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if _is_variable_coercion(error.message):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def format_error(error: GraphQLError, *, suggestions: bool = True) -> dict[str, Any]:
    code = code_of(error)
    if code == "INTERNAL_SERVER_ERROR":
        message = INTERNAL_MESSAGE
    elif code in KNOWN_CODES and not _is_variable_coercion(error.message):
        message = error.message
    else:
        message = sanitize_message(error.message, suggestions=suggestions)
    message = _LONG_NAME.sub(lambda match: match.group()[:MAX_NAME_SHOWN] + "\u2026", message)
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
        if not is_fault(error):
            continue
        path = ".".join(str(p) for p in error.path) if error.path else "-"
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            logger.error("unexpected error at %s", path, exc_info=original)
        else:
            logger.error("unexpected error at %s: %s", path, sanitize_message(error.message))


def make_safe_for_clients(errors: list[GraphQLError], *, suggestions: bool) -> None:
    """Rewrite errors in place as clients must see them. Strawberry's WebSocket handlers send
    `error.formatted` as it is, so the rewrite cannot wait for the HTTP view; formatting a
    rewritten error again gives the same result."""
    for error in errors:
        formatted = format_error(error, suggestions=suggestions)
        error.message = formatted["message"]
        error.extensions = formatted["extensions"]
