"""Arguments shared by several fields: connection pages and node ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import strawberry
from graphql import GraphQLError

from ...domain.ids import decode_cursor

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_NODE_IDS = 100

# The arguments as the load functions of fields.py declare them, with their descriptions.
First = Annotated[int | None, strawberry.argument(
    description=f"Page size, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}); outside it, BAD_USER_INPUT."
)]
After = Annotated[str | None, strawberry.argument(
    description="A cursor of this connection: the page starts after that item; null: from the start."
)]
NodeIds = Annotated[list[strawberry.ID], strawberry.argument(
    description=f"Global ids, at most {MAX_NODE_IDS} (more: BAD_USER_INPUT)."
)]



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
