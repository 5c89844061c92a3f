"""The object types that show stored data, as views (fields.py): each field defined once, here.

Sources: a TelephonyConfig is a configuration row, a PhoneNumber a number row, a connection a
`Page` of rows, ProviderMetadata and ProviderField a provider's declaration (domain/providers.py),
the warning types the domain's own values. Batched fields read through the operation's Reader.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from ...domain.config_rules import present_config
from ...domain.errors import ErrorCode, UserError
from ...domain.ids import encode_cursor, encode_id
from ...domain.provider_checks import AccountCheck, AccountStatus, NumberCheck, NumberStatus
from ...domain.providers import PROVIDERS, Connectivity, FieldType, Provider, ProviderField, ProviderKey
from ...domain.warnings import (
    LISTED_NUMBER_WARNINGS,
    ConfigWarning,
    Severity,
    SeverityCounts,
    WarningCode,
    WarningSummary,
    listed,
)
from ...services.reader import Reader
from ...services.reads import stored_config
from ...storage.queries import POSITIONS, ConfigRow, NumberRow
from ...storage.summary_inputs import PagesWanted
from .arguments import After, First, Page, page_arguments
from .audit_pages import AuditPage, entity_pages
from .context import Context
from .enums import register_enums
from .fields import batched, computed, itself, read, view

if TYPE_CHECKING:
    from .audit_types import AuditEventConnection

Info = strawberry.Info[Context, None]

register_enums()  # fields below are annotated with the domain's own enums
# audit_types.py builds on this module's types; its connection is named here lazily.
AuditEvents = Annotated["AuditEventConnection", strawberry.lazy("gql_telephony.api.graph.audit_types")]
_HISTORY = "Its own audit events, newest first (its changes, by whom and when)."


@strawberry.interface(description="An object with a global id, which node(id:) and nodes(ids:) find again.")
class Node:
    id: strawberry.ID = strawberry.field(description="Global id: opaque, stable, unique across types.")


# Partials of a C-level cached function: no Python frame per row of a large page.
_config_id = partial(encode_id, "TelephonyConfig")
_number_id = partial(encode_id, "PhoneNumber")


# --- Providers and warnings: views over the domain's own values --------------------------------


@view("ProviderField", description="One input of a provider's configuration form.")
class ProviderFieldType_:
    source: strawberry.Private[ProviderField]
    key: str = read(description="The key of this field in TelephonyConfig.config, e.g. api_key.")
    label: str = read(description="The input's label, for people.")
    type: FieldType = read(description="How to draw the input, and the JSON type of its value.")
    required: bool = read(description="The API rejects a create without it (form and API agree).")
    secret: bool = read(description="Stored encrypted, returned masked, never returned in clear.")
    description: str | None = read(description="Help for the input, e.g. the format the API checks; null when none.")
    placeholder: str | None = read(description="An example to show in the empty input; null when none.")
    default_value: JSON | None = read("default", description="What the key reads as when left out; null when none.")
    choices: list[str] | None = read(
        then=lambda values: list(values) or None,
        description="The only values the field takes (a form shows a select); null when free.",
    )


@view("ProviderMetadata", description="A provider the API connects, and the form its config takes.")
class ProviderMetadataType:
    source: strawberry.Private[Provider]
    key: ProviderKey = read(description="TelephonyConfig.provider for this provider.")
    name: str = read(description="The provider's name, for people.")
    notes: str = read(description="One line on when to choose it.")
    connectivity: Connectivity = read(description="How it places calls: its HTTP API, or SIP.")
    docs_url: str | None = read(description="Where the provider documents these credentials; null when none.")
    fields: list[ProviderFieldType_] = read(description="The keys TelephonyConfig.config allows, in form order.")
    checks_account: bool = read(description="Whether the server asks the provider about the account.")
    checks_numbers: bool = read(description="Whether each registered number is looked up in the account.")
    imports_numbers: bool = read(description="Whether importPhoneNumbers can list the account's numbers.")


def provider_of(stored: str) -> Provider:
    return PROVIDERS[ProviderKey(stored)]


@view("ProviderAccountCheck", description="What the provider last said about the account.")
class ProviderAccountCheckType:
    source: strawberry.Private[AccountCheck]
    status: AccountStatus = read(description="The account's state.")
    checked_at: datetime = read(
        description="When the provider last answered; until it has, when it was first asked."
    )
    message: str | None = read(description="For people; never a secret or the provider's own text.")


@view("PhoneNumberProviderCheck", description="What the provider last said about this number.")
class PhoneNumberProviderCheckType:
    source: strawberry.Private[NumberCheck]
    status: NumberStatus = read(description="Whether the provider account holds the number.")
    voice_capable: bool | None = read(description="Null when the provider does not say.")
    checked_at: datetime = read(description="When the provider last answered about it (UTC).")
    message: str | None = read(description="For people; never a secret or the provider's own text.")


async def _warned_numbers(reader: Reader, warnings: list[ConfigWarning]) -> list[NumberRow | None]:
    numbers = await reader.numbers([w.number_id for w in warnings if w.number_id is not None])
    return [None if w.number_id is None else numbers.get(w.number_id) for w in warnings]


@view("TelephonyConfigWarning", description="Something misconfigured, found before calls fail.")
class TelephonyConfigWarningType:
    source: strawberry.Private[ConfigWarning]
    code: WarningCode = read(description="What it is about: match on this, not on message.")
    severity: Severity = read(description="How urgent it is (fixed for each code).")
    message: str = read(description="A fixed sentence for people, the same for every warning of the code.")
    field: str | None = read(description="The config key to fill in to clear it, where one does.")
    phone_number: PhoneNumberType | None = batched(
        _warned_numbers, description="The number a number's warning is about; null for the configuration's own."
    )


@view("WarningCodeCount", description="How many warnings of one code the organization has.")
class WarningCodeCount:
    source: strawberry.Private[tuple[WarningCode, int]]
    code: WarningCode = computed(itemgetter(0), description="The code counted.")
    count: int = computed(itemgetter(1), description="Its warnings in all configs (at least 1).")


@view("WarningSeverityCounts", description="Warnings counted by severity: the three add up to all of them.")
class WarningSeverityCountsType:
    source: strawberry.Private[SeverityCounts]
    critical: int = read(description="Warnings of severity CRITICAL: calls fail until they are fixed.")
    warning: int = read(description="Warnings of severity WARNING.")
    info: int = read(description="Warnings of severity INFO.")


@view("TelephonyConfigWarningSummary", description="The organization's warnings, counted.")
class TelephonyConfigWarningSummaryType:
    source: strawberry.Private[WarningSummary]
    total_count: int = read(description="All warnings of all the organization's configs.")
    configs_with_warnings_count: int = read(description="Configs with at least one warning.")
    by_code: list[WarningCodeCount] = read(description="One entry per code with a count above zero.")
    has_default_outbound: bool = read(description="False when no config is the default outbound one.")
    by_severity: WarningSeverityCountsType = read(description="All of them by severity (they add up to totalCount).")


# --- Connections: views over a Page -------------------------------------------------------------


# Rows of a page are read by position: a plan's pages of numbers are the driver's plain tuples.
# The id is every table's first column (storage/queries.py checks it).
def _first_cursor(page: Page) -> str | None:
    return encode_cursor(page.rows[0][0]) if page.rows else None


def _last_cursor(page: Page) -> str | None:
    return encode_cursor(page.rows[-1][0]) if page.rows else None


@view("PageInfo", description="Where a page sits in its connection.")
class PageInfo:
    source: strawberry.Private[Page]
    has_next_page: bool = read("has_next", description="More items follow: pass endCursor as `after` for them.")
    has_previous_page: bool = read("after_given", description="True when the page was asked for with `after`.")
    start_cursor: str | None = computed(_first_cursor, description="The first item's cursor; null on an empty page.")
    end_cursor: str | None = computed(_last_cursor, description="The last item's cursor; null on an empty page.")


async def _config_totals(reader: Reader, pages: list[Page]) -> list[int]:
    return [await reader.config_count()] * len(pages)


async def _number_totals(reader: Reader, pages: list[Page]) -> list[int]:
    counts = await reader.number_counts([page.config_id for page in pages])
    return [counts[page.config_id].active if page.active_only else counts[page.config_id].total for page in pages]


_CURSOR = "Pass it as `after` for the items after this one."
_NODES = "The page's items, as in edges but without cursors."
_PAGE_INFO = "Whether more items follow, and the cursors."


@view("PhoneNumberEdge", description="A phone number of a page, with its cursor.", columns=POSITIONS["phone_number"])
class PhoneNumberEdge:
    source: strawberry.Private[NumberRow]
    cursor: str = read("id", then=encode_cursor, description=_CURSOR)
    node: PhoneNumberType = computed(itself, description="The phone number.")


@view("PhoneNumberConnection", description="A page of phone numbers, oldest first.")
class PhoneNumberConnection:
    source: strawberry.Private[Page]
    edges: list[PhoneNumberEdge] = read("rows", description="The page's numbers, each with its cursor.")
    nodes: list[PhoneNumberType] = read("rows", description=_NODES)
    page_info: PageInfo = computed(itself, description=_PAGE_INFO)
    total_count: int = batched(_number_totals, description="All the numbers it selects (activeOnly applies).")


@view("TelephonyConfigEdge", description="A configuration of a page, with its cursor.",
      columns=POSITIONS["telephony_config"])
class TelephonyConfigEdge:
    source: strawberry.Private[ConfigRow]
    cursor: str = read("id", then=encode_cursor, description=_CURSOR)
    node: TelephonyConfigType = computed(itself, description="The configuration.")


@view("TelephonyConfigConnection", description="A page of configurations, oldest first.")
class TelephonyConfigConnection:
    source: strawberry.Private[Page]
    edges: list[TelephonyConfigEdge] = read("rows", description="The page's configurations, each with its cursor.")
    nodes: list[TelephonyConfigType] = read("rows", description=_NODES)
    page_info: PageInfo = computed(itself, description=_PAGE_INFO)
    total_count: int = batched(_config_totals, description="All the organization's configurations, on every page.")


# --- Phone numbers -----------------------------------------------------------------------------


_CONFIG_OF_NUMBER = POSITIONS["phone_number"]["telephony_config_id"]
_ID_OF_NUMBER = POSITIONS["phone_number"]["id"]


def _config_id_of(number: NumberRow) -> int:
    """By position for a plan's plain tuples, by name for a mutation's own (ORM) number."""
    try:
        return int(number[_CONFIG_OF_NUMBER])
    except TypeError:
        return int(number.telephony_config_id)


def _id_of(number: NumberRow) -> int:
    try:
        return int(number[_ID_OF_NUMBER])
    except TypeError:
        return int(number.id)


async def _configs_of_numbers(reader: Reader, rows: list[NumberRow]) -> list[ConfigRow | GraphQLError]:
    config_ids = [_config_id_of(row) for row in rows]
    configs = await reader.configs(config_ids)
    gone = GraphQLError("The configuration of this number was deleted meanwhile.", extensions={"code": "NOT_FOUND"})
    # Each from its own snapshot, a number may outlive its configuration's read: that one field fails.
    return [configs.get(config_id) or gone for config_id in config_ids]


async def _number_checks(reader: Reader, rows: list[NumberRow]) -> list[NumberCheck | None]:
    ids = [_id_of(row) for row in rows]
    found = await reader.number_checks(ids)
    return [found[number_id] for number_id in ids]


async def _number_histories(reader: Reader, rows: list[NumberRow], first: First = None,
                            after: After = None) -> list[AuditPage]:
    return await entity_pages(reader, [_number_id(_id_of(row)) for row in rows], first, after)


@view("PhoneNumber", description="A caller ID of a configuration: a number its calls may come from.",
      columns=POSITIONS["phone_number"])
class PhoneNumberType(Node):
    source: strawberry.Private[NumberRow]
    id: strawberry.ID = read("id", then=_number_id, description="Global id of the number.")
    phone_number: str = read(description="Normalized E.164 (+14155550100), or a sip: URI on a SIP provider.")
    label: str | None = read(description="Free text of at most 64 characters; null when none.")
    is_active: bool = read(description="Only active numbers place calls and count in phoneNumberCount.")
    created_at: datetime = read(description="When it was added (UTC).")
    updated_at: datetime = read(description="When it last changed (UTC).")
    telephony_config: TelephonyConfigType = batched(_configs_of_numbers, description="The configuration it serves.")
    provider_check: PhoneNumberProviderCheckType | None = batched(
        _number_checks, description="Null until first checked, and on providers without an inventory (ARI)."
    )
    audit_events: AuditEvents = batched(_number_histories, description=_HISTORY)


# --- Telephony configurations ------------------------------------------------------------------


async def _masked_configs(reader: Reader, rows: list[ConfigRow]) -> list[dict[str, object]]:
    return [present_config(provider_of(row.provider), stored_config(row, reader.vault)) for row in rows]


async def _active_counts(reader: Reader, rows: list[ConfigRow]) -> list[int]:
    counts = await reader.number_counts([row.id for row in rows])
    return [counts[row.id].active for row in rows]


async def _warnings(reader: Reader, rows: list[ConfigRow]) -> list[list[ConfigWarning]]:
    return [listed(found) for found in await reader.warnings(rows)]


async def _warning_counts(reader: Reader, rows: list[ConfigRow]) -> list[int]:
    return [len(found) for found in await reader.warnings(rows)]


async def _severity_counts(reader: Reader, rows: list[ConfigRow]) -> list[SeverityCounts]:
    return [SeverityCounts.of(warning.severity for warning in found) for found in await reader.warnings(rows)]


async def _account_checks(reader: Reader, rows: list[ConfigRow]) -> list[AccountCheck | None]:
    found = await reader.account_checks([row.id for row in rows])
    return [found[row.id] for row in rows]


ActiveOnly = Annotated[bool | None, strawberry.argument(
    description="true: active numbers only (totalCount too); false or null: all of them."
)]


async def _number_pages(reader: Reader, rows: list[ConfigRow], first: First = None, after: After = None,
                        active_only: ActiveOnly = None) -> list[Page]:
    limit, after_id = page_arguments(first, after)
    only_active = bool(active_only)
    pages = await reader.number_pages([row.id for row in rows], limit=limit + 1, after_id=after_id,
                                      active_only=only_active)
    return [Page.of(pages[row.id], limit, after_id, config_id=row.id, active_only=only_active) for row in rows]


def pages_wanted(configs: dict[str, Any], numbers: dict[str, Any]) -> PagesWanted:
    """What `Query.telephonyConfigs` with these arguments, then `phoneNumbers` with these on each
    of its configurations, will read: both read one row more than they show (Page.of)."""
    config_limit, after_config = page_arguments(configs.get("first"), configs.get("after"))
    limit, after_id = page_arguments(numbers.get("first"), numbers.get("after"))
    return PagesWanted(config_limit + 1, after_config, limit + 1, after_id, bool(numbers.get("active_only")))


async def _config_histories(reader: Reader, rows: list[ConfigRow], first: First = None,
                            after: After = None) -> list[AuditPage]:
    return await entity_pages(reader, [_config_id(row.id) for row in rows], first, after)


@view("TelephonyConfig", description="A provider account the organization connected, with its caller IDs.",
      columns=POSITIONS["telephony_config"])
class TelephonyConfigType(Node):
    source: strawberry.Private[ConfigRow]
    id: strawberry.ID = read("id", then=_config_id, description="Global id of the configuration.")
    name: str = read(description="1 to 64 characters, unique in the organization (ignoring case).")
    provider: ProviderKey = read(description="Chosen at create; never changes.")
    is_default_outbound: bool = read(description="The organization's default for outbound calls (one at most).")
    version: int = read(description="Increases on every change; pass it back as expectedVersion.")
    created_at: datetime = read(description="When it was created (UTC).")
    updated_at: datetime = read(description="When it last changed (UTC).")
    provider_metadata: ProviderMetadataType = read(
        "provider", then=provider_of, description="Its provider, with the fields its config allows."
    )
    config: JSON = batched(_masked_configs, description=(
        "Provider settings, keys from telephonyProviders { fields }; secret values masked."
    ))
    phone_number_count: int = batched(
        _active_counts, description="Active phone numbers: the most calls this config can place at once."
    )
    phone_numbers: PhoneNumberConnection = batched(_number_pages, description="Its phone numbers, oldest first.")
    warnings: list[TelephonyConfigWarningType] = batched(_warnings, description=(
        f"Its own warnings, then its numbers' (at most {LISTED_NUMBER_WARNINGS}; warningCount counts all)."
    ))
    warning_count: int = batched(
        _warning_counts, description="Every warning, number warnings beyond those listed included."
    )
    warning_counts_by_severity: WarningSeverityCountsType = batched(
        _severity_counts, description="Every warning (as warningCount counts them), by severity."
    )
    provider_check: ProviderAccountCheckType | None = batched(
        _account_checks, description="Null until the provider is first asked."
    )
    audit_events: AuditEvents = batched(_config_histories, description=_HISTORY)


# --- Mutations' errors -------------------------------------------------------------------------


@strawberry.type(name="UserError", description="Why a mutation refused its input: it changed nothing.")
class UserErrorType:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "config", "api_key"].'
    )
    message: str = strawberry.field(description="For people: what is wrong, and how to put it right.")
    code: ErrorCode = strawberry.field(description="The kind of refusal, for code to match on.")


    @classmethod
    def of(cls, error: UserError) -> UserErrorType:
        return cls(field=list(error.field) if error.field else None, message=error.message, code=error.code)
