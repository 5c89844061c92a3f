"""User errors: the expected ways a request can be refused, each with the path of its input.

One convention, in the domain and in the services: a function that refuses input raises
UserErrors, holding every error it found; none returns a list of errors. A use case that
refuses several parts of one input together (a name and a config) catches each check's
UserErrors, gathers their `errors` and raises them as one UserErrors. A function that only
builds an error for its caller to raise (`not_found`) returns the UserErrors and says so.
The mutation layer (api/graph/mutations.attempt) turns UserErrors into a payload's `userErrors`;
the command line, which has no payload, into a ValueError (services/tenancy.clean_label).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    PROVIDER_ERROR = "PROVIDER_ERROR"  # the provider refused the credentials or did not answer


@dataclass(frozen=True)
class UserError:
    field: tuple[str, ...] | None
    message: str
    code: ErrorCode


class UserErrors(Exception):
    """Raised inside a unit of work: the transaction rolls back and the errors reach the payload."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__(f"{len(errors)} user error(s)")
        self.errors = errors

    @classmethod
    def one(cls, field: tuple[str, ...] | None, message: str, code: ErrorCode) -> UserErrors:
        return cls([UserError(field, message, code)])
