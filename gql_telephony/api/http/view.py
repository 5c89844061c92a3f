"""The GraphQL endpoint over HTTP and WebSocket: authentication, status codes, error shapes.

A request over HTTP passes the steps of `GraphQLView.execute_single` in order; what they decide
is kept in the request's `RequestState` (request_state.py) until `create_response` builds the
response from it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cached_property, partial
from typing import Any, NoReturn, cast

import strawberry
from cross_web import HTTPException
from graphql import DocumentNode, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.websocket_origin import is_same_origin
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from ...services.tenancy import Principal, authenticate
from ..graph.context import Context
from ..graph.documents import (
    bearer_key,
    choose_operation,
    error_body,
    is_introspection_only,
    parse_document,
    request_error,
)
from ..graph.errors import INTERNAL_MESSAGE, format_error, is_fault
from ..graph.operation_facts import describe, note_operation
from ..graph.validated_documents import ValidatedDocument
from ..memory_bound import DOCUMENTS_ONLY_MB, MemoryBound
from ..middleware.rate_limit import SOCKET_KEY, authenticated_here
from ..plans.runner import PlanRunner
from ..runtime import Runtime
from .direct_mutations import execute_mutation
from .graphiql import with_subscription_auth
from .graphiql_assets import with_local_assets
from .json_encoding import encode_json
from .negotiation import GRAPHQL_RESPONSE_JSON, check_body_media_type, response_media_type
from .request_state import RequestState, ResponseWithState, state_of
from .response_cache import CachedResponse, ResponseCache, cache_key
from .websocket import TransportWSHandler, WebSocketAdapter
from .ws_auth import KEY_NOT_VALID, UNAUTHORIZED, KeyNotPresented, socket_key
from .ws_messages import fit_close_reason

logger = logging.getLogger("gql_telephony.http")

HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
UNAUTHENTICATED_MESSAGE = "A valid API key is required: send the header Authorization: Bearer KEY."
SUBSCRIPTION_OVER_HTTP = "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws), not over HTTP."
MUTATION_OVER_GET = "Only queries can be sent with GET: send mutations with POST."

# Strawberry's own execution of the request (the generic resolvers), for the steps that use it.
RunGeneric = Callable[[], Awaitable[ExecutionResult]]
# The operation a request runs; a message when none can run; None when the document does not parse.
Chosen = OperationDefinitionNode | str | None


def _refuse_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON (RFC 8259), whatever Python's parser allows."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def is_request_error(result: ExecutionResult) -> bool:
    """Failed before execution (unparsable, invalid, bad variables, over a limit): no data at all."""
    if result.data is not None or not result.errors:
        return False
    return all(error.path is None for error in result.errors) and not any(
        (error.extensions or {}).get("code") == "FORBIDDEN" for error in result.errors
    )


class _AsJSON:
    """A request whose Content-Type was found to be JSON, said so in the one form Strawberry reads."""

    content_type = "application/json"

    def __init__(self, request: Any) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = WebSocketAdapter

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
        # One bound for everything kept per document: responses, documents, plans (memory_bound.py).
        # Without responses (0), documents and plans still are kept, within a bound of their own.
        bound = MemoryBound((settings.response_cache_mb or DOCUMENTS_ONLY_MB) * 2**20)
        self.kept = bound
        self.plans = (
            PlanRunner(schema._schema, runtime.db, runtime.vault, production=production, bound=bound)
            if settings.compiled_plans else None
        )
        self.cache = ResponseCache(bound) if settings.response_cache_mb > 0 else None

    @cached_property
    def graphql_ide_html(self) -> str:
        return with_subscription_auth(with_local_assets(super().graphql_ide_html))

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

    def _check_websocket_origin(self, request: WebSocket) -> bool:
        """Strawberry's check (no Origin: not a browser; the same origin; a listed one), whose
        refusal is logged here in terms of our setting, not of Strawberry's parameter. It replaces
        a private method of Strawberry: tests/live/test_allowed_origins.py fails if that goes."""
        headers = request.headers
        origin, host = headers.get("origin"), headers.get("host")
        if origin is None or headers.get("sec-fetch-site") == "same-origin" or is_same_origin(origin, host) \
                or self.is_websocket_origin_allowed(request, origin):
            return True
        logger.warning("refused a WebSocket from Origin %r to host %r: the origin is not in "
                       "GQL_TELEPHONY_ALLOWED_ORIGINS", origin[:100], (host or "")[:100])
        return False

    async def on_ws_connect(self, context: Context) -> Any:
        socket = context.request
        assert isinstance(socket, WebSocket)
        try:
            key = socket_key(context.connection_params, socket.headers.get("authorization"))
        except KeyNotPresented as missing:
            await self._refuse_socket(socket, str(missing))
        principal = await self._authenticate(key, None)
        if principal is None:
            await self._refuse_socket(socket, KEY_NOT_VALID)
        context.authenticate_as(principal)
        socket.scope.setdefault("state", {})[SOCKET_KEY] = key  # its operations are charged to it
        return await super().on_ws_connect(context)

    @staticmethod
    async def _refuse_socket(socket: WebSocket, reason: str) -> NoReturn:
        """Closed here with our code and reason; Strawberry's own close that follows the
        rejection (4403, "Forbidden") finds the socket closed and sends nothing."""
        await socket.close(code=UNAUTHORIZED, reason=fit_close_reason(reason))
        raise ConnectionRejectionError()

    async def _authenticate(self, key: str | None, scope: Scope | None) -> Principal | None:
        """The key's principal: the rate limit's lookup of this request when it made one, else one
        lookup here. No write: the key's use is recorded in the background."""
        looked_up, principal = authenticated_here(scope, key) if scope is not None else (False, None)
        if not looked_up:
            principal = await authenticate(self.runtime.db, key) if key else None
        if principal is not None:
            self.runtime.key_usage.note(principal.key_id)
        return principal

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Made once per request: it carries the request's state through the steps below."""
        return ResponseWithState(RequestState(media_type=response_media_type(request.headers.get("accept"))))

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

    # -- One request over HTTP, step by step ------------------------------------------------------

    async def execute_single(
        self, request: Any, request_adapter: Any, sub_response: Response, context: Context, root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One GraphQL request over HTTP, in steps: answered from the cache, or refused (no key,
        no operation to run, a subscription), or executed (by a plan or by Strawberry); then its
        status. What the steps decide goes into the request's state, for create_response."""
        state = state_of(sub_response)
        cached = self._answer_from_cache(request, state, context.principal, request_data)
        if cached is not None:
            return cached
        run_generic: RunGeneric = partial(
            super().execute_single, request, request_adapter, sub_response, context, root_value, request_data
        )
        document, operation = self._read_document(request_data, context)
        result = self._refuse_unauthenticated(state, context, document, operation)
        if result is None:
            result = self._refuse_operation(operation)
        if result is None:
            result = await self._execute(request, state, context, request_data, operation, run_generic)
        self._set_status_for_request_errors(state, result)
        return result

    def _answer_from_cache(
        self, request: Any, state: RequestState, principal: Principal | None, request_data: GraphQLRequestData
    ) -> ExecutionResult | None:
        """A query this organization already asked at this data version is answered with the
        bytes sent then, and nothing runs. On a miss, the key is kept in the state: the
        response may be stored under it once it is known to have succeeded."""
        if principal is None or self.cache is None or not request_data.query:
            return None
        key = cache_key(principal.org_id, principal.data_version, request_data.query,
                        request_data.operation_name, request_data.variables, api_key_id=principal.key_id)
        hit = self.cache.get(key)
        if hit is None:
            state.cache_key = key
            return None
        self.runtime.read_paths.cache += 1
        note_operation(request, hit.operation_type, hit.operation_name)
        state.cached_body = hit.body
        return ExecutionResult(data={}, errors=None)  # stands in: create_response sends the cached body

    def _read_document(self, request_data: GraphQLRequestData, context: Context) -> tuple[DocumentNode | None, Chosen]:
        """The document and its operation to run (or why none can run), for the checks that come
        before execution; (None, None) when it does not parse, the executor then saying why. A
        document the plans have parsed already is not parsed again, and one they found valid is
        not validated again by the executor (the context carries it there)."""
        query, plans = request_data.query, self.plans
        prepared = plans.prepare(query) if plans is not None and query else None
        document = prepared.document if prepared is not None else None
        if document is not None and plans is not None and query:
            context.validated = ValidatedDocument(query, document, plans.rule_set)
        else:
            document = parse_document(query)  # unknown to the plans, or invalid: still has an operation
        if document is None:
            return None, None
        return document, choose_operation(document, request_data.operation_name)

    @staticmethod
    def _refuse_unauthenticated(
        state: RequestState, context: Context, document: DocumentNode | None, operation: Chosen
    ) -> ExecutionResult | None:
        """Without a valid key, only introspection runs (tools read the schema before they have a
        key); anything else is 401 with the challenge HTTP asks for, whatever the client accepts."""
        if context.principal is not None:
            return None
        if document is not None and isinstance(operation, OperationDefinitionNode) \
                and is_introspection_only(document, operation):
            return None
        state.status = 401
        state.headers["www-authenticate"] = 'Bearer realm="gql-telephony"'
        return request_error(UNAUTHENTICATED_MESSAGE, "UNAUTHENTICATED")

    @staticmethod
    def _refuse_operation(operation: Chosen) -> ExecutionResult | None:
        """Refused before the executor sees them: a request whose operation cannot be chosen
        (Strawberry would run the first of several), and a subscription, which needs a socket."""
        if isinstance(operation, str):
            return request_error(operation, "BAD_REQUEST")
        if operation is not None and operation.operation is OperationType.SUBSCRIPTION:
            return request_error(SUBSCRIPTION_OVER_HTTP, "BAD_REQUEST")
        return None

    async def _execute(
        self, request: Any, state: RequestState, context: Context, request_data: GraphQLRequestData,
        operation: Chosen, run_generic: RunGeneric,
    ) -> ExecutionResult:
        """An authenticated query may be answered by a plan, and its response kept; a mutation
        sent by POST runs on graphql-core directly (direct_mutations.py); anything else
        (introspection without a key, documents that do not parse) goes to Strawberry."""
        if isinstance(operation, OperationDefinitionNode) and operation.operation is OperationType.QUERY \
                and context.principal is not None:
            state.cache_entry = describe(operation)
            return await self._execute_query(request, context, request_data, run_generic)
        if isinstance(operation, OperationDefinitionNode) and operation.operation is OperationType.MUTATION \
                and self.plans is not None and request_data.query and request.method == "POST":
            # Validated by the plans already: graphql-core runs it without Strawberry's wrapper.
            prepared = self.plans.prepare(request_data.query)
            result = await execute_mutation(cast(strawberry.Schema, self.schema), prepared, context,
                                            request_data.operation_name, request_data.variables)
            if result is not None:
                return result
        return await self._execute_generic(state, run_generic)

    async def _execute_query(
        self, request: Any, context: Context, request_data: GraphQLRequestData, run_generic: RunGeneric
    ) -> ExecutionResult:
        """By the query's compiled plan when one covers it, else by the generic executor."""
        if self.plans is not None and context.principal is not None:
            answered = await self.plans.run(
                context.principal, request_data.query or "", request_data.operation_name, request_data.variables
            )
            if answered is not None:
                operation, data = answered
                self.runtime.read_paths.planned += 1
                note_operation(request, *describe(operation))
                return ExecutionResult(data=data, errors=None)
        self.runtime.read_paths.generic += 1
        return await run_generic()

    @staticmethod
    async def _execute_generic(state: RequestState, run_generic: RunGeneric) -> ExecutionResult:
        """Strawberry's execution. GraphQL over HTTP: a mutation over GET is 405, whatever the
        client accepts (Strawberry refuses it with an exception)."""
        try:
            return await run_generic()
        except HTTPException as refused:
            if not isinstance(refused.__cause__, InvalidOperationTypeError):
                raise
        state.status = 405
        state.headers["allow"] = "POST"
        return request_error(MUTATION_OVER_GET, "BAD_REQUEST")

    @staticmethod
    def _set_status_for_request_errors(state: RequestState, result: ExecutionResult) -> None:
        """GraphQL over HTTP: a request error is 4xx (5xx for a fault) for clients that understand
        application/graphql-response+json, and 200 for those that accept only application/json.
        A status an earlier step decided (401, 405) stands."""
        if state.status is not None or not is_request_error(result):
            return
        failed = 500 if any(is_fault(error) for error in result.errors or ()) else 400
        state.status = failed if state.media_type == GRAPHQL_RESPONSE_JSON else 200

    # -- The response ---------------------------------------------------------------------------

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {}
        if not is_request_error(result):
            body["data"] = result.data
        if result.errors:
            body["errors"] = [format_error(error, suggestions=self.suggestions) for error in result.errors]
        return body

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        state = state_of(sub_response)
        body = state.cached_body
        if body is None:
            body = encode_json(response_data)  # WebSocket messages keep Strawberry's text encoding
            self._keep(body, response_data, state)
        response = Response(body, status_code=state.status or 200, media_type=state.media_type)
        if sub_response.raw_headers:  # set by a resolver (none of ours does)
            response.raw_headers.extend(sub_response.raw_headers)
        if state.headers:
            response.headers.update(state.headers)
        response.background = sub_response.background
        return response

    def _keep(self, body: bytes, response_data: Any, state: RequestState) -> None:
        """Keeps the response of a query that succeeded, under the data version its request read."""
        if self.cache is None or state.cache_key is None or state.cache_entry is None:
            return
        if state.status not in (None, 200):
            return
        if not isinstance(response_data, dict) or "errors" in response_data or response_data.get("data") is None:
            return
        self.cache.put(state.cache_key, CachedResponse(body, *state.cache_entry))
