"""Argument types for the command line: each refuses nonsense with a sentence naming what is allowed.

argparse turns the ArgumentTypeError into `error: argument --port: ...` and exit status 2, so a
wrong value never reaches a command (a port of 99999 once made uvicorn listen on a random one).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Callable

# Ids are 32-bit integers in the database: a larger number names no row (and must not reach the driver).
MAX_ID = 2**31 - 1
MAX_BATCH_SIZE = 10_000  # one transaction per batch: larger ones hold row locks for long
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _whole_number(text: str) -> int | None:
    """ASCII digits only: int() would also take "٣", " 7", "+7" and "1_000"."""
    if text.isascii() and text.isdigit() and len(text) <= 10:
        return int(text)
    return None


def bounded_integer(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        number = _whole_number(text)
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}: give a whole number from {low} to {high}")
        return number

    parse.__name__ = what  # argparse names the type in some messages
    return parse


port = bounded_integer(1, 65535, "a TCP port")
batch_size = bounded_integer(1, MAX_BATCH_SIZE, "a batch size")


def row_id(hint: str) -> Callable[[str], int]:
    """An id as a command printed it; `hint` says where the user finds the right one."""

    def parse(text: str) -> int:
        number = _whole_number(text)
        if number is None or not 1 <= number <= MAX_ID:
            raise argparse.ArgumentTypeError(f"{text!r} is not an id: {hint}")
        return number

    parse.__name__ = "id"
    return parse


def host(text: str) -> str:
    """An address to listen on: an IPv4 or IPv6 address, or a host name (RFC 1123 labels)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    if 0 < len(name) <= 253 and all(_HOST_LABEL.match(label) for label in name.split(".")):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a host to listen on: give an IP address (127.0.0.1, 0.0.0.0, ::) or a host name"
    )


def organization_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > 200:
        raise argparse.ArgumentTypeError("the organization name must be 1 to 200 characters, not only spaces")
    return name


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: ...)" after each option's help, except where there is no default to tell."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)
