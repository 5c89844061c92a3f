"""A subscription event executed once per document, not once per subscriber.

A thousand subscribers of one organization who sent the same document, operation and variables
would each execute it for every event, with the same result: the types a subscription delivers
read nothing but their event's source (fields.py `read` and `computed`, never `batched`, never
the context), which `reads_only_its_event` checks on the schema once. So a subscription's
executor keeps each event's result under (schema, document text, operation, variables, event
source), and the socket keeps the JSON text of its data: the next subscriber of that event only
sends bytes. A result with errors is never kept: each subscriber then executes, and has its
errors processed, on its own. Entries hold their event, so an event's identity is not reused
while its entry lives; the newest MAX_ENTRIES are kept (an evicted event is executed again).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    ExecutionResult,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationType,
    Undefined,
    get_named_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .fields import Read, definition_of

MAX_ENTRIES = 256
Key = tuple[int, str, int, str, int]  # schema, document text, operation's offset, variables, event source


@dataclass
class Stats:
    """Executions of subscription events, and results given from an earlier one (tests read them)."""

    executed: int = 0
    shared: int = 0


@dataclass(slots=True)
class _Entry:
    source: object  # held: its id is part of the key
    result: ExecutionResult
    text: str | None = None  # the data as JSON, made on the first send


stats = Stats()
_entries: OrderedDict[Key, _Entry] = OrderedDict()
_by_data: dict[int, _Entry] = {}  # id(result.data) -> its entry, for the socket


def reads_only_its_event(schema: GraphQLSchema) -> bool:
    """Every type a subscription field can deliver is a view whose fields are read from their
    source alone (enums and scalars aside): its result is a function of the document and event."""
    root = schema.subscription_type
    if root is None:
        return False
    seen: set[str] = set()
    todo = [get_named_type(field.type) for field in root.fields.values()]
    while todo:
        named = todo.pop()
        if named.name in seen:
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            todo += schema.get_possible_types(named)
        elif isinstance(named, GraphQLObjectType):
            for field in named.fields.values():
                found = definition_of(field)
                if found is None or not isinstance(found[0], Read):
                    return False
                todo.append(get_named_type(field.type))
    return True


def _document_key(executor: StrawberryGraphQLCoreExecutionContext) -> tuple[str, int, str] | None:
    """What makes two subscriptions' results equal for one event: the document text, the chosen
    operation (by its place in the text) and the variables given; None when one cannot be told."""
    operation = executor.operation
    if operation.operation is not OperationType.SUBSCRIPTION or operation.loc is None:
        return None
    given = {name: source.value for name, source in executor.variable_values.sources.items()
             if source.value is not Undefined}
    try:
        variables = json.dumps(given, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not from JSON: not shared
        return None
    return operation.loc.source.body, operation.loc.start, variables


class SharingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription's event is executed once for all subscribers with
    the same document key (the schema uses this class only when it reads only its events)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.document_key = _document_key(self)  # copied into each event's executor
        self.event_key: Key | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        source = getattr(payload, "source", None)  # the event's view's source
        if self.document_key is None or source is None:
            return super().build_per_event_executor(payload)
        key: Key = (id(self.schema), *self.document_key, id(source))  # the entry holds the source: no id reuse
        entry = _entries.get(key)
        if entry is not None:
            stats.shared += 1
            _entries.move_to_end(key)
            return _Executed(entry.result)  # an event executed already needs no executor
        executor = cast("SharingExecutor", super().build_per_event_executor(payload))  # a copy of self
        executor.event_key = key
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self.event_key
        if key is None:
            return super().execute_operation(serially)
        stats.executed += 1
        result: Any = super().execute_operation(serially)  # a subscription's: never incremental
        if self.is_awaitable(result):
            return _kept_when_done(key, self.root_value.source, result)
        _keep(key, self.root_value.source, result)
        return result


@dataclass(frozen=True, slots=True)
class _Executed:
    """In place of an event's executor: its result, kept from another subscriber's execution."""

    result: ExecutionResult

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return self.result


async def _kept_when_done(key: Key, source: object, result: Awaitable[ExecutionResult]) -> ExecutionResult:
    done = await result
    _keep(key, source, done)
    return done


def _keep(key: Key, source: object, result: ExecutionResult) -> None:
    if result.errors or not isinstance(result.data, dict) or key in _entries:  # the first one stays
        return
    entry = _entries[key] = _Entry(source, result)
    _by_data[id(result.data)] = entry
    while len(_entries) > MAX_ENTRIES:
        _, evicted = _entries.popitem(last=False)
        _by_data.pop(id(evicted.result.data), None)


def next_message_text(message: Any) -> str | None:
    """A graphql-transport-ws `next` message whose payload is exactly a kept result's data, as
    the JSON text Strawberry's encoder would make of it (its data encoded once per event);
    None for any other message."""
    payload = message.get("payload")
    if message.get("type") != "next" or len(payload) != 1:  # errors or extensions: not a kept result
        return None
    data = payload.get("data")
    entry = _by_data.get(id(data))
    if entry is None or entry.result.data is not data:
        return None
    if entry.text is None:
        entry.text = json.dumps(data, separators=(",", ":"))
    return f'{{"id":{json.dumps(message["id"])},"type":"next","payload":{{"data":{entry.text}}}}}'
