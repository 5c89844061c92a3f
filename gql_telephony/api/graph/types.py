"""The object types that show stored data, as views (fields.py): each field defined once, here.

Sources: a TelephonyConfig is a configuration row, a PhoneNumber a number row, a connection a
`Page` of rows, ProviderMetadata and ProviderField a provider's declaration (domain/providers.py),
the warning types the domain's own values. Batched fields read through the operation's Reader.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from operator import itemgetter

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from ...domain.config_rules import present_config
from ...domain.errors import ErrorCode, UserError
from ...domain.provider_checks import AccountCheck, AccountStatus, NumberCheck, NumberStatus
from ...domain.providers import PROVIDERS, Connectivity, FieldType, Provider, ProviderField, ProviderKey
from ...domain.warnings import LISTED_NUMBER_WARNINGS, ConfigWarning, Severity, WarningCode, WarningSummary, listed
from ...services.reader import Reader
from ...services.reads import stored_config
from ...storage.queries import POSITIONS, ConfigRow, NumberRow
from .arguments import Page, page_arguments
from .context import Context
from .fields import batched, computed, itself, read, view
from .ids import encode_cursor, encode_id

Info = strawberry.Info[Context, None]

# The domain's enums under their GraphQL names (strawberry.enum marks the class itself, so
# fields below are annotated with the domain's own enum).
strawberry.enum(ProviderKey, name="TelephonyProviderKey")
strawberry.enum(Connectivity, name="ProviderConnectivity")
strawberry.enum(FieldType, name="ProviderFieldType")
strawberry.enum(WarningCode, name="TelephonyWarningCode")
strawberry.enum(Severity, name="WarningSeverity")
strawberry.enum(ErrorCode, name="UserErrorCode")
strawberry.enum(AccountStatus, name="ProviderAccountStatus")
strawberry.enum(NumberStatus, name="PhoneNumberProviderStatus")


@strawberry.interface
class Node:
    id: strawberry.ID


# Partials of a C-level cached function: no Python frame per row of a large page.
_config_id = partial(encode_id, "TelephonyConfig")
_number_id = partial(encode_id, "PhoneNumber")


# --- Providers and warnings: views over the domain's own values --------------------------------


@view("ProviderField", description="One input of a provider's configuration form.")
class ProviderFieldType_:
    source: strawberry.Private[ProviderField]
    key: str = read(description="The key of this field in TelephonyConfig.config, e.g. api_key.")
    label: str = read()
    type: FieldType = read()
    required: bool = read(description="The API rejects a create without it (form and API agree).")
    secret: bool = read(description="Stored encrypted, returned masked, never returned in clear.")
    description: str | None = read()
    placeholder: str | None = read()
    default_value: JSON | None = read("default")
    choices: list[str] | None = read(
        then=lambda values: list(values) or None,
        description="The only values the field takes (a form shows a select); null when free.",
    )


@view("ProviderMetadata")
class ProviderMetadataType:
    source: strawberry.Private[Provider]
    key: ProviderKey = read()
    name: str = read()
    notes: str = read()
    connectivity: Connectivity = read()
    docs_url: str | None = read()
    fields: list[ProviderFieldType_] = read()
    checks_account: bool = read(description="Whether the server asks the provider about the account.")
    checks_numbers: bool = read(description="Whether each registered number is looked up in the account.")
    imports_numbers: bool = read(description="Whether importPhoneNumbers can list the account's numbers.")


def provider_of(stored: str) -> Provider:
    return PROVIDERS[ProviderKey(stored)]


@view("ProviderAccountCheck", description="What the provider last said about the account.")
class ProviderAccountCheckType:
    source: strawberry.Private[AccountCheck]
    status: AccountStatus = read()
    checked_at: datetime = read(
        description="When the provider last answered; until it has, when it was first asked."
    )
    message: str | None = read(description="For people; never a secret or the provider's own text.")


@view("PhoneNumberProviderCheck", description="What the provider last said about this number.")
class PhoneNumberProviderCheckType:
    source: strawberry.Private[NumberCheck]
    status: NumberStatus = read()
    voice_capable: bool | None = read(description="Null when the provider does not say.")
    checked_at: datetime = read()
    message: str | None = read()


async def _warned_numbers(reader: Reader, warnings: list[ConfigWarning]) -> list[NumberRow | None]:
    numbers = await reader.numbers([w.number_id for w in warnings if w.number_id is not None])
    return [None if w.number_id is None else numbers.get(w.number_id) for w in warnings]


@view("TelephonyConfigWarning")
class TelephonyConfigWarningType:
    source: strawberry.Private[ConfigWarning]
    code: WarningCode = read()
    severity: Severity = read()
    message: str = read()
    field: str | None = read(description="The config key to fill in to clear it, where one does.")
    phone_number: PhoneNumberType | None = batched(
        _warned_numbers, description="The number a number's warning is about; null for the configuration's own."
    )


@view("WarningCodeCount")
class WarningCodeCount:
    source: strawberry.Private[tuple[WarningCode, int]]
    code: WarningCode = computed(itemgetter(0))
    count: int = computed(itemgetter(1))


@view("TelephonyConfigWarningSummary")
class TelephonyConfigWarningSummaryType:
    source: strawberry.Private[WarningSummary]
    total_count: int = read(description="All warnings of all the organization's configs.")
    configs_with_warnings_count: int = read()
    by_code: list[WarningCodeCount] = read(description="One entry per code with a count above zero.")
    has_default_outbound: bool = read()


# --- Connections: views over a Page -------------------------------------------------------------


# Rows of a page are read by position: a plan's pages of numbers are the driver's plain tuples.
# The id is every table's first column (storage/queries.py checks it).
def _first_cursor(page: Page) -> str | None:
    return encode_cursor(page.rows[0][0]) if page.rows else None


def _last_cursor(page: Page) -> str | None:
    return encode_cursor(page.rows[-1][0]) if page.rows else None


@view("PageInfo")
class PageInfo:
    source: strawberry.Private[Page]
    has_next_page: bool = read("has_next")
    has_previous_page: bool = read("after_given")
    start_cursor: str | None = computed(_first_cursor)
    end_cursor: str | None = computed(_last_cursor)


async def _config_totals(reader: Reader, pages: list[Page]) -> list[int]:
    return [await reader.config_count()] * len(pages)


async def _number_totals(reader: Reader, pages: list[Page]) -> list[int]:
    counts = await reader.number_counts([page.config_id for page in pages])
    return [counts[page.config_id].active if page.active_only else counts[page.config_id].total for page in pages]


@view("PhoneNumberEdge", columns=POSITIONS["phone_number"])
class PhoneNumberEdge:
    source: strawberry.Private[NumberRow]
    cursor: str = read("id", then=encode_cursor)
    node: PhoneNumberType = computed(itself)


@view("PhoneNumberConnection")
class PhoneNumberConnection:
    source: strawberry.Private[Page]
    edges: list[PhoneNumberEdge] = read("rows")
    nodes: list[PhoneNumberType] = read("rows")
    page_info: PageInfo = computed(itself)
    total_count: int = batched(_number_totals)


@view("TelephonyConfigEdge", columns=POSITIONS["telephony_config"])
class TelephonyConfigEdge:
    source: strawberry.Private[ConfigRow]
    cursor: str = read("id", then=encode_cursor)
    node: TelephonyConfigType = computed(itself)


@view("TelephonyConfigConnection")
class TelephonyConfigConnection:
    source: strawberry.Private[Page]
    edges: list[TelephonyConfigEdge] = read("rows")
    nodes: list[TelephonyConfigType] = read("rows")
    page_info: PageInfo = computed(itself)
    total_count: int = batched(_config_totals)


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


@view("PhoneNumber", columns=POSITIONS["phone_number"])
class PhoneNumberType(Node):
    source: strawberry.Private[NumberRow]
    id: strawberry.ID = read("id", then=_number_id)
    phone_number: str = read(description="Normalized E.164 (+14155550100), or a sip: URI on a SIP provider.")
    label: str | None = read()
    is_active: bool = read()
    created_at: datetime = read()
    updated_at: datetime = read()
    telephony_config: TelephonyConfigType = batched(_configs_of_numbers)
    provider_check: PhoneNumberProviderCheckType | None = batched(
        _number_checks, description="Null until first checked, and on providers without an inventory (ARI)."
    )


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


async def _account_checks(reader: Reader, rows: list[ConfigRow]) -> list[AccountCheck | None]:
    found = await reader.account_checks([row.id for row in rows])
    return [found[row.id] for row in rows]


async def _number_pages(reader: Reader, rows: list[ConfigRow], first: int | None = None, after: str | None = None,
                        active_only: bool | None = None) -> list[Page]:
    limit, after_id = page_arguments(first, after)
    only_active = bool(active_only)
    pages = await reader.number_pages([row.id for row in rows], limit=limit + 1, after_id=after_id,
                                      active_only=only_active)
    return [Page.of(pages[row.id], limit, after_id, config_id=row.id, active_only=only_active) for row in rows]


@view("TelephonyConfig", columns=POSITIONS["telephony_config"])
class TelephonyConfigType(Node):
    source: strawberry.Private[ConfigRow]
    id: strawberry.ID = read("id", then=_config_id)
    name: str = read()
    provider: ProviderKey = read()
    is_default_outbound: bool = read()
    version: int = read(description="Increases on every change; pass it back as expectedVersion.")
    created_at: datetime = read()
    updated_at: datetime = read()
    provider_metadata: ProviderMetadataType = read("provider", then=provider_of)
    config: JSON = batched(_masked_configs, description="Provider settings; secret fields masked.")
    phone_number_count: int = batched(
        _active_counts, description="Active phone numbers: the most calls this config can place at once."
    )
    phone_numbers: PhoneNumberConnection = batched(_number_pages)
    warnings: list[TelephonyConfigWarningType] = batched(_warnings, description=(
        f"Its own warnings, then its numbers' (at most {LISTED_NUMBER_WARNINGS}; warningCount counts all)."
    ))
    warning_count: int = batched(
        _warning_counts, description="Every warning, number warnings beyond those listed included."
    )
    provider_check: ProviderAccountCheckType | None = batched(
        _account_checks, description="Null until the provider is first asked."
    )


# --- Mutations' errors -------------------------------------------------------------------------


@strawberry.type(name="UserError")
class UserErrorType:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "config", "api_key"].'
    )
    message: str
    code: ErrorCode

    @classmethod
    def of(cls, error: UserError) -> UserErrorType:
        return cls(field=list(error.field) if error.field else None, message=error.message, code=error.code)
