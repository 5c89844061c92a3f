"""The GraphQL object types. Each wraps a stored row and resolves nested fields through loaders."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from ...domain.config_rules import present_config
from ...domain.errors import ErrorCode, UserError
from ...domain.providers import PROVIDERS, Connectivity, FieldType, Provider, ProviderKey
from ...domain.warnings import Severity, WarningCode, WarningSummary
from ...services.reads import warnings_of
from ...services.telephony_configs import stored_config
from ...storage.queries import ConfigRow, NumberRow
from .context import Context
from .ids import encode_cursor, encode_id
from .arguments import page_arguments
from .loaders import CountKey, PageKey

Info = strawberry.Info[Context, None]

TelephonyProviderKey = strawberry.enum(ProviderKey, name="TelephonyProviderKey")
ProviderConnectivity = strawberry.enum(Connectivity, name="ProviderConnectivity")
ProviderFieldType = strawberry.enum(FieldType, name="ProviderFieldType")
TelephonyWarningCode = strawberry.enum(WarningCode, name="TelephonyWarningCode")
WarningSeverity = strawberry.enum(Severity, name="WarningSeverity")
UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, keys: list[int], *, has_next: bool, after_given: bool) -> PageInfo:
        return cls(
            has_next_page=has_next,
            has_previous_page=after_given,
            start_cursor=encode_cursor(keys[0]) if keys else None,
            end_cursor=encode_cursor(keys[-1]) if keys else None,
        )


@strawberry.type(name="ProviderField", description="One input of a provider's configuration form.")
class ProviderFieldType_:
    key: str = strawberry.field(description="The key of this field in TelephonyConfig.config, e.g. api_key.")
    label: str
    type: ProviderFieldType
    required: bool = strawberry.field(description="The API rejects a create without it (form and API agree).")
    secret: bool = strawberry.field(description="Stored encrypted, returned masked, never returned in clear.")
    description: str | None
    placeholder: str | None
    default_value: JSON | None


@strawberry.type(name="ProviderMetadata")
class ProviderMetadataType:
    key: TelephonyProviderKey
    name: str
    notes: str
    connectivity: ProviderConnectivity
    docs_url: str | None
    fields: list[ProviderFieldType_]

    @classmethod
    def of(cls, provider: Provider) -> ProviderMetadataType:
        return cls(
            key=provider.key, name=provider.name, notes=provider.notes,
            connectivity=provider.connectivity, docs_url=provider.docs_url,
            fields=[
                ProviderFieldType_(
                    key=f.key, label=f.label, type=f.type, required=f.required, secret=f.secret,
                    description=f.description, placeholder=f.placeholder, default_value=f.default,
                )
                for f in provider.fields
            ],
        )


PROVIDER_METADATA = {key: ProviderMetadataType.of(provider) for key, provider in PROVIDERS.items()}


@strawberry.type(name="TelephonyConfigWarning")
class TelephonyConfigWarningType:
    code: TelephonyWarningCode
    severity: WarningSeverity
    message: str
    field: str | None = strawberry.field(description="The config key to fill in to clear it, where one does.")


@strawberry.type
class WarningCodeCount:
    code: TelephonyWarningCode
    count: int


@strawberry.type(name="TelephonyConfigWarningSummary")
class TelephonyConfigWarningSummaryType:
    total_count: int = strawberry.field(description="All warnings of all the organization's configs.")
    configs_with_warnings_count: int
    by_code: list[WarningCodeCount] = strawberry.field(description="One entry per code with a count above zero.")
    has_default_outbound: bool

    @classmethod
    def of(cls, summary: WarningSummary) -> TelephonyConfigWarningSummaryType:
        return cls(
            total_count=summary.total_count,
            configs_with_warnings_count=summary.configs_with_warnings_count,
            by_code=[WarningCodeCount(code=code, count=count) for code, count in summary.by_code],
            has_default_outbound=summary.has_default_outbound,
        )


@strawberry.type(name="PhoneNumber")
class PhoneNumberType(Node):
    row: strawberry.Private[NumberRow]
    phone_number: str = strawberry.field(description="Normalized E.164 (+14155550100), or a sip: URI on a SIP provider.")
    label: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: NumberRow) -> PhoneNumberType:
        return cls(
            id=strawberry.ID(encode_id("PhoneNumber", row.id)),  # type: ignore[arg-type]
            row=row, phone_number=row.phone_number, label=row.label, is_active=row.is_active,
            created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field
    async def telephony_config(self, info: Info) -> TelephonyConfigType:
        row = await info.context.loaders.config_by_id.load(self.row.telephony_config_id)
        if row is None:  # deleted between the two reads, each from its own snapshot
            raise GraphQLError("The configuration of this number was deleted meanwhile.", extensions={"code": "NOT_FOUND"})
        return TelephonyConfigType.of(row)


@strawberry.type
class PhoneNumberEdge:
    cursor: str
    node: PhoneNumberType


@strawberry.type
class PhoneNumberConnection:
    count_key: strawberry.Private[CountKey]
    edges: list[PhoneNumberEdge]
    nodes: list[PhoneNumberType]
    page_info: PageInfo

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.number_count_by_config.load(self.count_key)


@strawberry.type(name="TelephonyConfig")
class TelephonyConfigType(Node):
    row: strawberry.Private[ConfigRow]
    name: str
    provider: TelephonyProviderKey
    is_default_outbound: bool
    version: int = strawberry.field(description="Increases on every change; pass it back as expectedVersion.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ConfigRow) -> TelephonyConfigType:
        return cls(
            id=strawberry.ID(encode_id("TelephonyConfig", row.id)),  # type: ignore[arg-type]
            row=row, name=row.name, provider=ProviderKey(row.provider),
            is_default_outbound=row.is_default_outbound, version=row.version,
            created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field
    def provider_metadata(self) -> ProviderMetadataType:
        return PROVIDER_METADATA[ProviderKey(self.row.provider)]

    @strawberry.field(description="Provider settings; secret fields masked.")
    def config(self, info: Info) -> JSON:
        return present_config(PROVIDERS[ProviderKey(self.row.provider)], stored_config(self.row, info.context.runtime.vault))

    @strawberry.field(description="Active phone numbers: the most calls this config can place at once.")
    async def phone_number_count(self, info: Info) -> int:
        return await info.context.loaders.number_count_by_config.load(CountKey(self.row.id, True))  # type: ignore[arg-type]

    @strawberry.field
    async def phone_numbers(
        self, info: Info, first: int | None = None, after: str | None = None, active_only: bool | None = None
    ) -> PhoneNumberConnection:
        limit, after_id = page_arguments(first, after)
        only_active = bool(active_only)
        rows = await info.context.loaders.number_page_by_config.load(
            PageKey(self.row.id, limit, after_id, only_active)  # type: ignore[arg-type]
        )
        page = [PhoneNumberType.of(row) for row in rows[:limit]]
        return PhoneNumberConnection(
            count_key=CountKey(self.row.id, only_active),  # type: ignore[arg-type]
            edges=[PhoneNumberEdge(cursor=encode_cursor(n.row.id), node=n) for n in page],  # type: ignore[arg-type]
            nodes=page,
            page_info=PageInfo.of([n.row.id for n in page], has_next=len(rows) > limit, after_given=after_id is not None),  # type: ignore[misc]
        )

    @strawberry.field
    async def warnings(self, info: Info) -> list[TelephonyConfigWarningType]:
        active = await info.context.loaders.number_count_by_config.load(CountKey(self.row.id, True))  # type: ignore[arg-type]
        return [
            TelephonyConfigWarningType(code=w.code, severity=w.severity, message=w.message, field=w.field)
            for w in warnings_of(self.row, info.context.runtime.vault, active)
        ]

    @strawberry.field
    async def warning_count(self, info: Info) -> int:
        active = await info.context.loaders.number_count_by_config.load(CountKey(self.row.id, True))  # type: ignore[arg-type]
        return len(warnings_of(self.row, info.context.runtime.vault, active))


@strawberry.type
class TelephonyConfigEdge:
    cursor: str
    node: TelephonyConfigType


@strawberry.type
class TelephonyConfigConnection:
    edges: list[TelephonyConfigEdge]
    nodes: list[TelephonyConfigType]
    page_info: PageInfo

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.loaders.config_count()


@strawberry.type(name="UserError")
class UserErrorType:
    field: list[str] | None = strawberry.field(description='Path to the input field at fault, e.g. ["input", "config", "api_key"].')
    message: str
    code: UserErrorCode

    @classmethod
    def of(cls, error: UserError) -> UserErrorType:
        return cls(field=list(error.field) if error.field else None, message=error.message, code=error.code)
