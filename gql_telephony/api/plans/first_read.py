"""What a plan's first read can bring along: the pages of numbers of a page of configurations.

A dashboard asks for a page of configurations and, of each, for a page of its numbers, with the
warning summary, for which the reader reads every configuration first. Told which pages of
numbers will follow, the reader reads them in that same statement on PostgreSQL
(storage/summary_inputs.py), and a whole dashboard is one statement.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from graphql.execution.values import VariableValues

from ...storage.summary_inputs import PagesWanted
from ..graph.types import pages_wanted as wanted_by
from .compiler import FieldPlan, Plan, type_plans


def pages_wanted(schema: GraphQLSchema, plan: Plan, variables: VariableValues) -> PagesWanted | None:
    """The pages, when the plan reads one page of configurations and one page of numbers of
    configurations, each with the same arguments wherever it asks (None otherwise: the reader
    then reads each page of numbers when it is asked, as it would anyway)."""
    if plan.learned.page_fields is None:
        plan.learned.page_fields = _page_fields(schema, plan)
    config_fields, number_fields = plan.learned.page_fields
    if not config_fields or not number_fields:
        return None
    configs = [field.arguments(variables) for field in config_fields]
    numbers = [field.arguments(variables) for field in number_fields]
    if _differ(configs) or _differ(numbers):
        return None
    return wanted_by(configs[0], numbers[0])


def _page_fields(schema: GraphQLSchema, plan: Plan) -> tuple[tuple[FieldPlan, ...], tuple[FieldPlan, ...]]:
    """Where the plan reads pages of configurations (at its root) and pages of their numbers."""
    config_type = schema.get_type("TelephonyConfig")
    assert schema.query_type is not None and isinstance(config_type, GraphQLObjectType)
    configs_field, numbers_field = schema.query_type.fields["telephonyConfigs"], config_type.fields["phoneNumbers"]
    return (
        tuple(field for field in plan.root.fields if field.field is configs_field),
        tuple(field for type_plan in type_plans(plan) for field in type_plan.fields if field.field is numbers_field),
    )


def _differ(arguments: list[dict[str, Any]]) -> bool:
    return any(other != arguments[0] for other in arguments[1:])
