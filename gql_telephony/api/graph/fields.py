"""How a read field is defined: once, in plain Python, for every way a query is executed.

An object type that shows stored data is a *view*: a Strawberry type over one source (a row, a
page, a provider's declaration) whose every field says how it is made from that source:

- `read("column", then=f)`: from the source alone, an attribute of it passed through `f`
  (`read()` reads the attribute named as the field; `then` is optional);
- `computed(f)`: `f(source)`;
- `batched(load)`: `await load(reader, sources, **arguments)` once for every source of a level,
  giving one value per source (an exception in place of a value fails that source's field only).

A value of object type is the *source* of that object; of an interface, a (type name, source)
pair. Everything that executes a query derives from these definitions:
- the generic executor: each field's Strawberry resolver, made here, calls the definition (a
  breakpoint in a `then`, `computed` or `load` function fires there; set
  GQL_TELEPHONY_COMPILED_PLANS=0 and GQL_TELEPHONY_RESPONSE_CACHE_MB=0 to send every query that way);
- compiled plans (api/plans): the compiler finds the same definitions through the schema
  (`definition_of`) and calls the same functions, a whole level at a time;
- a mutation's payload and a subscription's event hold views, resolved as above.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    get_nullable_type,
)
from strawberry.dataloader import DataLoader
from strawberry.types.field import StrawberryField

from ...services.reader import Reader

DEFINITION = "gql_telephony.read"  # where a field's definition is kept in its Strawberry metadata
STRAWBERRY_FIELD = "strawberry-definition"  # Strawberry's key, on a GraphQL field, of its own field
Load = Callable[..., Awaitable[list[Any]]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Read:
    """A field made from its source alone."""

    attribute: str | None  # the source's attribute to read; None: the source itself
    then: Callable[[Any], Any] | None = None

    @property
    def get(self) -> Callable[[Any], Any]:
        """The function of the source: `then` itself, or an attrgetter, when one call does."""
        attribute, then = self.attribute, self.then
        if attribute is None:
            return then if then is not None else itself
        read = attrgetter(attribute)
        if then is None:
            return read
        return lambda source: then(read(source))


def itself(source: Any) -> Any:
    """The source as the value: an edge's node, a connection's page info."""
    return source


@dataclass(frozen=True, slots=True)
class Batched:
    """A field made for every source of a level at once, through the operation's reader."""

    load: Load


Definition = Read | Batched


@dataclass(frozen=True, slots=True)
class _Declared:
    """What a view's class body says of a field, until `view` makes it a Strawberry field."""

    define: Callable[[str], Definition]  # given the field's Python name
    description: str | None


def read(attribute: str | None = None, *, then: Callable[[Any], Any] | None = None,
         description: str | None = None) -> Any:
    """The source's `attribute` (by default, the one named as the field), passed through `then`."""
    return _Declared(lambda name: Read(attribute or name, then), description)


def computed(function: Callable[[Any], Any], *, description: str | None = None) -> Any:
    return _Declared(lambda _: Read(None, function), description)


def batched(load: Load, *, description: str | None = None) -> Any:
    return _Declared(lambda _: Batched(load), description)


# GraphQL type name -> its view class: how a source becomes an object on the generic executor.
VIEWS: dict[str, type] = {}
# GraphQL type name -> the column positions of the rows its sources are, where they are rows.
_COLUMNS: dict[str, dict[str, int]] = {}


@dataclass_transform(kw_only_default=True)  # type checkers see the constructor: View(source=...)
def view(name: str, *, description: str | None = None, columns: dict[str, int] | None = None,
         ) -> Callable[[type[T]], type[T]]:
    """Makes a class of declared fields a Strawberry type over a source. `columns`: the sources
    are rows whose columns these positions give (a plan reads them by position)."""

    def make(cls: type[T]) -> type[T]:
        assert "source" in cls.__annotations__, f"{cls.__name__}: a view declares its source"
        for attribute, declared in list(vars(cls).items()):
            if isinstance(declared, _Declared):
                setattr(cls, attribute, _strawberry_field(declared.define(attribute), declared.description))
        made = strawberry.type(cls, name=name, description=description)
        VIEWS[name] = made
        if columns is not None:
            _COLUMNS[name] = columns
        return made

    return make


def columns_of(type_name: str) -> dict[str, int] | None:
    """Column positions of the rows a view's sources are, if they are rows."""
    return _COLUMNS.get(type_name)


def definition_of(field: GraphQLField) -> tuple[Definition, dict[str, str]] | None:
    """A schema field's definition and its arguments' Python names by GraphQL name (None: the
    field is not a view's)."""
    strawberry_field = (field.extensions or {}).get(STRAWBERRY_FIELD)
    if not isinstance(strawberry_field, StrawberryField):
        return None
    definition = strawberry_field.metadata.get(DEFINITION)
    if definition is None:
        return None
    names = {name: argument.extensions[STRAWBERRY_FIELD].python_name for name, argument in field.args.items()}
    return definition, names


# --- The generic executor's resolvers ---------------------------------------------------------


def _strawberry_field(definition: Definition, description: str | None) -> StrawberryField:
    resolver = _read_resolver(definition) if isinstance(definition, Read) else _batched_resolver(definition)
    field: StrawberryField = strawberry.field(
        resolver=resolver, description=description, metadata={DEFINITION: definition}
    )
    return field


def _read_resolver(definition: Read) -> Callable[..., Any]:
    get = definition.get
    wrap: list[Callable[[Any], Any] | None] = []  # how values become objects, found on first use

    def resolve(root: Any, info: strawberry.Info) -> Any:
        if not wrap:
            wrap.append(_wrapping(info._raw_info.return_type))  # graphql-core's type, not Strawberry's
        value = get(root.source if root is not None else None)  # the Query root has no source
        return value if wrap[0] is None else wrap[0](value)

    return resolve


def _batched_resolver(definition: Batched) -> Callable[..., Any]:
    """A resolver whose arguments are the load function's own (all but `reader` and `sources`)."""
    wrap: list[Callable[[Any], Any] | None] = []

    async def resolve(root: Any, info: strawberry.Info, **arguments: Any) -> Any:
        if not wrap:
            wrap.append(_wrapping(info._raw_info.return_type))  # graphql-core's type, not Strawberry's
        source = root.source if root is not None else None  # the Query root has no source
        value = await info.context.batches.loader(definition, arguments).load(source)
        return value if wrap[0] is None else wrap[0](value)

    parameters = list(inspect.signature(definition.load).parameters.values())[2:]
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # read by Strawberry for arguments
        [inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info),
         *parameters]
    )
    resolve.__module__ = definition.load.__module__  # where the argument annotations are resolved
    return resolve


def _wrapping(return_type: GraphQLOutputType) -> Callable[[Any], Any] | None:
    """How a field's value becomes what Strawberry completes: a view over each source."""
    named = get_named_type(return_type)
    one: Callable[[Any], Any]
    if isinstance(named, GraphQLInterfaceType):
        def one(pair: tuple[str, Any]) -> Any:
            return VIEWS[pair[0]](source=pair[1])
    elif isinstance(named, GraphQLObjectType) and named.name in VIEWS:
        made = VIEWS[named.name]

        def one(source: Any) -> Any:
            return made(source=source)
    else:
        return None
    if isinstance(get_nullable_type(return_type), GraphQLList):
        return lambda values: None if values is None else [None if item is None else one(item) for item in values]
    return lambda value: None if value is None else one(value)


class Batches:
    """The batched fields of one operation on the generic executor: a DataLoader per field and
    arguments gathers the sources of a level, then calls the field's load function once."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._loaders: dict[tuple[Batched, str], DataLoader[Any, Any]] = {}

    def loader(self, definition: Batched, arguments: dict[str, Any]) -> DataLoader[Any, Any]:
        key = (definition, repr(sorted(arguments.items())))
        found = self._loaders.get(key)
        if found is None:
            load = partial(self._load, definition, arguments)
            found = self._loaders[key] = DataLoader(load, cache=False)  # sources need not be hashable
        return found

    async def _load(self, definition: Batched, arguments: dict[str, Any], sources: list[Any]) -> list[Any]:
        return await definition.load(self.reader, list(sources), **arguments)
