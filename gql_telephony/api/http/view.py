"""The GraphQL endpoint over HTTP and WebSocket: authentication, status codes, error shapes."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from functools import cached_property
from typing import Any

from cross_web import HTTPException
from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from ...services.tenancy import Principal, authenticate
from ..graph.context import Context, Runtime
from ..graph.errors import INTERNAL_MESSAGE, format_error, is_fault
from .graphiql import with_subscription_auth
from .json_encoding import encode_json
from .media_types import parse_media_type, split_list
from ..graph.operation_facts import describe, note_operation
from ..plans.runner import PlanRunner
from ..middleware.rate_limit import authenticated_here, bearer_key, connection_key
from .response_cache import CachedResponse, ResponseCache, cache_key
from ..graph.schema import MAX_TOKENS
from .websocket import TransportWSHandler, WebSocketAdapter

logger = logging.getLogger("gql_telephony.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# What a POST body may be (the contract names both): JSON, in UTF-8.
BODY_MEDIA_TYPES = ("application/json", GRAPHQL_RESPONSE_JSON)
HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


class MediaResponse(Response):
    """The sub-response, remembering which media type the client asked for."""

    media_type = "application/json"


def _accepted(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their q-values (an unreadable q counts as 0,
    an unreadable range is left out)."""
    ranges = []
    for member in split_list(accept):
        media_range = parse_media_type(member)
        if media_range is None:
            continue
        quality = 1.0
        if "q" in media_range.parameters:
            try:
                quality = min(max(float(media_range.parameters["q"]), 0.0), 1.0)
            except ValueError:
                quality = 0.0
        ranges.append((media_range.essence, quality))
    return ranges


def response_media_type(accept: str | None) -> str:
    """application/graphql-response+json when the client names it with a q-value above 0 and
    prefers it at least as much as application/json; application/json otherwise (also for a
    bare */*, as the GraphQL-over-HTTP spec advises for clients that predate the new type)."""
    ranges = _accepted(accept or "")
    named = [quality for media_range, quality in ranges if media_range == GRAPHQL_RESPONSE_JSON]
    if not named or max(named) <= 0:
        return "application/json"
    json_quality = 0.0
    for candidates in (("application/json",), ("application/*",), ("*/*",)):  # most specific wins
        matching = [quality for media_range, quality in ranges if media_range in candidates]
        if matching:
            json_quality = max(matching)
            break
    return GRAPHQL_RESPONSE_JSON if max(named) >= json_quality else "application/json"


def _refuse_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON (RFC 8259), whatever Python's parser allows."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def parse_or_none(query: str | None) -> DocumentNode | None:
    """The document, or None when it does not parse (Strawberry then reports why)."""
    if not query:
        return None
    try:
        return parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None


def selected_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | str:
    """The operation to run, or why there is none (Strawberry would run the first of several)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) > 1:
            return "The document holds several operations: name the one to run in operationName."
        return operations[0] if operations else "The document holds no operation to run."
    chosen = next((o for o in operations if o.name and o.name.value == operation_name), None)
    return chosen or "No operation in the document has the name given in operationName."


def is_introspection_only(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """An operation that asks only for __schema, __type or __typename."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    # Each fragment is judged once: a fragment spread many times costs nothing more.
    judged: dict[str, bool] = {}

    def only_meta(selection_set: Any) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_meta(selection.selection_set):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in judged:
                    judged[name] = False  # unknown or cyclic: not introspection
                    if name in fragments:
                        judged[name] = only_meta(fragments[name].selection_set)
                if not judged[name]:
                    return False
        return True

    return only_meta(operation.selection_set)


def is_request_error(result: ExecutionResult) -> bool:
    """Failed before execution (unparsable, invalid, bad variables, over a limit): no data at all."""
    if result.data is not None or not result.errors:
        return False
    return all(error.path is None for error in result.errors) and not any(
        (error.extensions or {}).get("code") == "FORBIDDEN" for error in result.errors
    )


def request_error(message: str, code: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def check_body_media_type(content_type: str | None) -> None:
    """A POST body must be JSON in UTF-8 (media types read as RFC 9110 writes them). Anything else
    is 400 BAD_REQUEST, as the contract gives for a body that is not JSON (not 415: existing
    clients rely on it)."""
    if not content_type:
        raise HTTPException(400, "Send the request body as JSON, with the header Content-Type: application/json.")
    media_type = parse_media_type(content_type)
    if media_type is None or media_type.essence not in BODY_MEDIA_TYPES:
        raise HTTPException(400, "The request body must be application/json.")
    if media_type.parameters.get("charset", "utf-8").lower() != "utf-8":
        raise HTTPException(400, "The request body must be encoded in UTF-8.")


class _AsJSON:
    """A request whose Content-Type was found to be JSON, said so in the one form Strawberry reads."""

    content_type = "application/json"

    def __init__(self, request: Any) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class GraphQLView(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = WebSocketAdapter  # type: ignore[assignment]

    def __init__(self, schema: Any, runtime: Runtime) -> None:
        production = runtime.settings.is_production
        super().__init__(
            schema,
            graphql_ide=None if production else "graphiql",
            allowed_origins=runtime.settings.allowed_origins,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),  # the contract's one protocol
            connection_init_wait_timeout=timedelta(seconds=runtime.settings.ws_init_timeout),
            max_subscriptions_per_connection=None,  # TransportWSHandler counts subscriptions itself
        )
        self.runtime = runtime
        self.suggestions = not production
        settings = runtime.settings
        self.plans = (
            PlanRunner(schema._schema, runtime.db, runtime.vault, max_tokens=MAX_TOKENS, production=production)
            if settings.compiled_plans else None
        )
        self.cache = ResponseCache(settings.response_cache_mb * 2**20) if settings.response_cache_mb > 0 else None

    @cached_property
    def graphql_ide_html(self) -> str:
        return with_subscription_auth(super().graphql_ide_html)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as refused:
            code = HTTP_ERROR_CODES.get(refused.status_code, "BAD_REQUEST")
            response = JSONResponse(error_body(refused.reason, code), status_code=refused.status_code)
        except Exception:
            logger.exception("unexpected error serving a GraphQL request")
            response = JSONResponse(error_body(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"), status_code=500)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal = None
        if isinstance(request, Request):
            key = bearer_key(request.headers.get("authorization"))
            principal = await self._authenticate(key, request.scope)
        return Context(runtime=self.runtime, principal=principal, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> Any:
        principal = await self._authenticate(connection_key(context.connection_params), None)
        if principal is None:
            raise ConnectionRejectionError()
        context.authenticate_as(principal)
        return await super().on_ws_connect(context)

    async def _authenticate(self, key: str | None, scope: Scope | None) -> Principal | None:
        """The key's principal: the rate limit's lookup of this request when it made one, else one
        lookup here. No write: the key's use is recorded in the background."""
        looked_up, principal = authenticated_here(scope, key) if scope is not None else (False, None)
        if not looked_up:
            principal = await authenticate(self.runtime.db, key) if key else None
        if principal is not None:
            self.runtime.key_usage.note(principal.key_id)
        return principal

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = MediaResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def decode_json(self, data: str | bytes) -> object:
        return json.loads(data, parse_constant=_refuse_constant)

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """GET parameters; `variables` and `extensions` are JSON, refused by name when they are not."""
        data = dict(params)
        for name in ("variables", "extensions"):
            if data.get(name):
                try:
                    data[name] = self.decode_json(data[name])
                except (ValueError, RecursionError):
                    raise HTTPException(400, f"The `{name}` query parameter is not valid JSON.") from None
        return data

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            check_body_media_type(request.content_type)
            request = _AsJSON(request)  # Strawberry's own test is a substring match on the raw header
        try:
            data = await super().parse_http_body(request)
        except (AttributeError, TypeError, ValueError, RecursionError) as error:
            if isinstance(error, json.JSONDecodeError):
                raise HTTPException(400, "The request body is not valid JSON.") from None
            if isinstance(error, RecursionError):
                raise HTTPException(400, "The request body is nested too deeply.") from None
            raise HTTPException(400, "The request body is not a GraphQL request.") from None
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")
        return data

    async def execute_single(  # noqa: PLR0917
        self, request: Any, request_adapter: Any, sub_response: Any, context: Context, root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        principal = context.principal
        if principal is not None and self.cache is not None and request_data.query:
            key = cache_key(principal.org_id, principal.data_version, request_data.query,
                            request_data.operation_name, request_data.variables)
            hit = self.cache.get(key)
            if hit is not None:
                self.runtime.read_paths.cache += 1
                note_operation(request, hit.operation_type, hit.operation_name)
                sub_response.cached_body = hit.body
                return ExecutionResult(data={}, errors=None)
            sub_response.cache_key = key
        prepared = self.plans.prepare(request_data.query) if self.plans and request_data.query else None
        document = prepared.document if prepared is not None else None
        document = document or parse_or_none(request_data.query)
        operation = selected_operation(document, request_data.operation_name) if document else None
        introspection = (
            document is not None and isinstance(operation, OperationDefinitionNode)
            and is_introspection_only(document, operation)
        )
        if context.principal is None and not introspection:
            sub_response.status_code = 401
            sub_response.headers["www-authenticate"] = 'Bearer realm="gql-telephony"'
            message = "A valid API key is required: send the header Authorization: Bearer KEY."
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})])
        if isinstance(operation, str):
            result = request_error(operation, "BAD_REQUEST")
        elif operation is not None and operation.operation is OperationType.SUBSCRIPTION:
            result = request_error(
                "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws), not over HTTP.",
                "BAD_REQUEST",
            )
        elif operation is not None and operation.operation is OperationType.QUERY and principal is not None:
            sub_response.cache_entry = describe(operation)  # a query's response may be kept
            result = await self._execute_query(request, request_adapter, sub_response, context, root_value, request_data)
        else:
            try:
                result = await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
            except HTTPException as refused:
                if not isinstance(refused.__cause__, InvalidOperationTypeError):
                    raise
                # GraphQL over HTTP: a mutation over GET is 405, whatever the client accepts.
                sub_response.status_code = 405
                sub_response.headers["allow"] = "POST"
                return request_error("Only queries can be sent with GET: send mutations with POST.", "BAD_REQUEST")
        if is_request_error(result):
            # GraphQL over HTTP: 4xx (5xx for a fault) only for clients that understand
            # application/graphql-response+json; 200 for those that accept only application/json.
            failed = 500 if any(is_fault(error) for error in result.errors or ()) else 400
            sub_response.status_code = failed if sub_response.media_type == GRAPHQL_RESPONSE_JSON else 200
        return result

    async def _execute_query(  # noqa: PLR0917
        self, request: Any, request_adapter: Any, sub_response: Any, context: Context, root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """By the query's compiled plan when one covers it, else by the generic executor."""
        if self.plans is not None:
            answered = await self.plans.run(
                context.org_id, request_data.query or "", request_data.operation_name, request_data.variables
            )
            if answered is not None:
                operation, data = answered
                self.runtime.read_paths.planned += 1
                note_operation(request, *describe(operation))
                return ExecutionResult(data=data, errors=None)
        self.runtime.read_paths.generic += 1
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {}
        if not is_request_error(result):
            body["data"] = result.data
        if result.errors:
            body["errors"] = [format_error(error, suggestions=self.suggestions) for error in result.errors]
        return body

    def create_response(self, response_data: Any, sub_response: Any) -> Response:
        body = getattr(sub_response, "cached_body", None)
        if body is None:
            body = encode_json(response_data)  # WebSocket messages keep Strawberry's text encoding
            self._keep(body, response_data, sub_response)
        response = Response(body, status_code=sub_response.status_code or 200)
        response.headers.raw.extend(sub_response.headers.raw)
        response.headers["content-type"] = sub_response.media_type
        response.background = sub_response.background
        return response

    def _keep(self, body: bytes, response_data: Any, sub_response: Any) -> None:
        """Keeps the response of a query that succeeded, under the data version its request read."""
        key = getattr(sub_response, "cache_key", None)
        entry = getattr(sub_response, "cache_entry", None)
        if self.cache is None or key is None or entry is None or sub_response.status_code not in (None, 200):
            return
        if not isinstance(response_data, dict) or "errors" in response_data or response_data.get("data") is None:
            return
        self.cache.put(key, CachedResponse(body, *entry))

