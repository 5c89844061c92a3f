"""Arguments shared by several fields: connection pages and node ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from graphql import GraphQLError

from .ids import decode_cursor

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_NODE_IDS = 100


def bad_user_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def check_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_user_input(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    return first


def check_after(after: str | None) -> int | None:
    if after is None:
        return None
    after_id = decode_cursor(after)
    if after_id is None:
        raise bad_user_input("`after` is not a cursor of this connection.")
    return after_id


def page_arguments(first: int | None, after: str | None) -> tuple[int, int | None]:
    return check_first(first), check_after(after)


class Page(NamedTuple):
    """A connection's page: its rows, and what PageInfo and totalCount need."""

    rows: Sequence[Any]
    has_next: bool
    after_given: bool
    config_id: int = 0  # the configuration of a page of phone numbers
    active_only: bool = False

    @classmethod
    def of(cls, fetched: Sequence[Any], limit: int, after_id: int | None, **extra: Any) -> Page:
        """The page of `fetched`, read with one row more than `limit` to learn if another follows."""
        return cls(fetched[:limit], len(fetched) > limit, after_id is not None, **extra)
