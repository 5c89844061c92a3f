"""What the view learns about one HTTP request while answering it, declared in one place.

Strawberry hands the view's steps a "sub-response" (a Starlette Response made per request by
`get_sub_response`) and, at the end, turns it into the response sent. What the steps decide
is kept in the sub-response's one typed attribute, `state`, for `create_response` to read."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import Response

from .response_cache import CacheKey


@dataclass
class RequestState:
    media_type: str  # the response's, negotiated from the Accept header
    status: int | None = None  # None: no step decided, 200
    cache_key: CacheKey | None = None  # where a successful query's response may be kept
    cache_entry: tuple[str, str | None] | None = None  # (type, name) of the query to keep it as
    cached_body: bytes | None = None  # the response when the cache answered: sent as it is
    headers: dict[str, str] = field(default_factory=dict)  # added to the response (a challenge, Allow)


class ResponseWithState(Response):
    """The sub-response, carrying the request's state."""

    def __init__(self, state: RequestState) -> None:
        super().__init__()
        self.raw_headers = []  # not this empty placeholder's content-length: the response's own
        self.state = state


def state_of(sub_response: Response) -> RequestState:
    """The state of the request this sub-response was made for."""
    assert isinstance(sub_response, ResponseWithState), "made by GraphQLView.get_sub_response"
    return sub_response.state
