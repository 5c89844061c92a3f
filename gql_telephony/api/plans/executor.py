"""Runs a plan: level by level, each field for every object of its level at once."""

from __future__ import annotations

from typing import Any

from graphql.execution.values import VariableValues

from ...services.reader import Reader
from ..graph.fields import Batched
from .compiler import FieldPlan, Plan, TypePlan


async def execute_plan(plan: Plan, reader: Reader, variables: VariableValues) -> dict[str, Any]:
    (root,) = await _complete(plan.root, [None], reader, variables)
    return root


async def _complete(
    plan: TypePlan, sources: list[Any], reader: Reader, variables: VariableValues
) -> list[dict[str, Any]]:
    """The objects of these sources. The builder sets every key in the document's order, so
    filling the later fields afterwards keeps that order."""
    outputs = list(map(plan.build, sources))
    for field in plan.later:
        definition = field.definition
        if isinstance(definition, Batched):
            values = await definition.load(reader, sources, **field.arguments(variables))
            # An object's source may be an error (a row gone): the generic executor reports it.
            if field.children is not None:
                for value in values:
                    if isinstance(value, Exception):
                        raise value
        else:
            values = list(map(definition.get, sources))  # type: ignore[union-attr]  # only __typename has none, built at once
        key = field.key
        if field.children is None:
            serialize = field.serialize
            for value, output in zip(values, outputs, strict=True):
                output[key] = value if serialize is None else serialize(value)
        elif field.abstract:
            await _complete_abstract(field, values, outputs, reader, variables)
        else:
            await _complete_concrete(field, values, outputs, reader, variables)
    return outputs


async def _complete_concrete(
    field: FieldPlan, values: list[Any], outputs: list[dict[str, Any]], reader: Reader,
    variables: VariableValues,
) -> None:
    """Objects of one type: all of the level's in one list, completed together, then handed out."""
    assert field.children is not None
    (plan,) = field.children.values()
    key = field.key
    if field.is_list:
        flat = [item for value in values if value is not None for item in value]
        if any(item is None for item in flat):
            raise ValueError("a null in a list of objects")  # none of ours has one: let the executor say
        done = iter(await _complete(plan, flat, reader, variables))
        for value, output in zip(values, outputs, strict=True):
            output[key] = None if value is None else [next(done) for _ in value]
    else:
        present = [value for value in values if value is not None]
        done = iter(await _complete(plan, present, reader, variables))
        for value, output in zip(values, outputs, strict=True):
            output[key] = None if value is None else next(done)


async def _complete_abstract(
    field: FieldPlan, values: list[Any], outputs: list[dict[str, Any]], reader: Reader,
    variables: VariableValues,
) -> None:
    """Objects of an interface (node, nodes): values are (type name, source) pairs, or None."""
    assert field.children is not None
    items = [item for value in values for item in ((value if field.is_list else [value]) if value is not None else ())]
    done: dict[str, Any] = {}
    for type_name, plan in field.children.items():
        sources = [item[1] for item in items if item is not None and item[0] == type_name]
        done[type_name] = iter(await _complete(plan, sources, reader, variables))

    def place(item: tuple[str, Any] | None) -> dict[str, Any] | None:
        return None if item is None else next(done[item[0]])

    for value, output in zip(values, outputs, strict=True):
        if value is None:
            output[field.key] = None
        else:
            output[field.key] = [place(item) for item in value] if field.is_list else place(value)
