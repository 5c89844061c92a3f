"""What a plan's first read brings along (api/plans/first_read.py), and how a plan learns whether
it may run without a transaction (compiler.Learned)."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values

from gql_telephony.api.plans.compiler import MISSES_REMEMBERED, Learned
from gql_telephony.api.plans.first_read import pages_wanted
from gql_telephony.domain.ids import encode_cursor
from gql_telephony.storage.summary_inputs import PagesWanted

from .documents import DASHBOARD
from .test_plan_compiler import SCHEMA, compiled


def wanted(query: str, variables: dict[str, Any] | None = None) -> PagesWanted | None:
    plan = compiled(query, variables)
    (operation,) = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables or {})
    assert isinstance(coerced, VariableValues)
    first = pages_wanted(SCHEMA, plan, coerced)
    assert pages_wanted(SCHEMA, plan, coerced) == first  # and again, from what the plan kept
    return first


def test_a_dashboard_wants_the_first_page_of_numbers_of_its_first_page_of_configurations():
    # Each page reads one row more than it shows, to know whether another follows.
    assert wanted(DASHBOARD) == PagesWanted(101, None, 51, None, False)


def test_arguments_and_variables_are_read_as_the_fields_read_them():
    query = """query Q($after: String, $only: Boolean) {
      telephonyConfigs(first: 5, after: $after) { nodes { phoneNumbers(first: 2, after: "%s", activeOnly: $only) {
        totalCount } } } }""" % encode_cursor(7)
    assert wanted(query, {"after": encode_cursor(3), "only": True}) == PagesWanted(6, 3, 3, 7, True)
    assert wanted(query) == PagesWanted(6, None, 3, 7, False)


def test_pages_asked_in_different_ways_are_left_to_their_own_statements():
    no_numbers = "{ telephonyConfigs { nodes { name } } }"
    two_number_pages = """{ telephonyConfigs { nodes { a: phoneNumbers(first: 1) { totalCount }
      b: phoneNumbers(first: 2) { totalCount } } } }"""
    two_config_pages = """{ a: telephonyConfigs(first: 1) { nodes { phoneNumbers { totalCount } } }
      b: telephonyConfigs(first: 2) { nodes { name } } }"""
    numbers_elsewhere = "{ defaultOutboundTelephonyConfig { phoneNumbers { totalCount } } }"
    same_twice = """{ a: telephonyConfigs(first: 3) { nodes { phoneNumbers(first: 4) { totalCount } } }
      b: telephonyConfigs(first: 3) { edges { node { phoneNumbers(first: 4) { totalCount } } } } }"""
    assert [wanted(query) for query in (no_numbers, two_number_pages, two_config_pages, numbers_elsewhere)] == [None] * 4
    assert wanted(same_twice) == PagesWanted(4, None, 5, None, False)


def test_a_plan_runs_without_a_transaction_only_after_runs_of_one_statement():
    learned = Learned()
    assert learned.misses == MISSES_REMEMBERED  # a new plan has shown nothing yet
    for _ in range(MISSES_REMEMBERED - 1):
        learned.ran(statements=1)
    assert learned.misses == 1
    learned.ran(statements=1)
    learned.ran(statements=1)
    assert learned.misses == 0
    learned.ran(statements=3)
    assert learned.misses == MISSES_REMEMBERED
    learned.ran(statements=1)
    learned.needed_more()  # a run refused its second statement
    assert learned.misses == MISSES_REMEMBERED
