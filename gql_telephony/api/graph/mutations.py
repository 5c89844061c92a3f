"""The Mutation root: each mutation's input, payload and resolver together."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from ...domain.errors import UserErrors
from ...domain.providers import ProviderKey
from ...storage.queries import ConfigRow, NumberRow
from ...storage.tables import PhoneNumberRow, TelephonyConfigRow
from .ids import decode_id_of, encode_id
from .types import Info, PhoneNumberType, TelephonyConfigType, UserErrorType

T = TypeVar("T")


async def attempt(info: Info, call: Awaitable[T]) -> tuple[T | None, list[UserErrorType]]:
    """The use case's result, or its user errors (its transaction was rolled back).

    Reads are renewed afterwards: the payload, and any later mutation of the same document,
    must read the state this write left, not what was loaded before it.
    """
    try:
        return await call, []
    except UserErrors as refused:
        return None, [UserErrorType.of(error) for error in refused.errors]
    finally:
        info.context.renew_reads()


def config_key(global_id: str) -> int | None:
    return decode_id_of("TelephonyConfig", global_id)


def number_key(global_id: str) -> int | None:
    return decode_id_of("PhoneNumber", global_id)


# A payload shows the ORM row its write left (committed: its id is set). The views read a source
# by attribute, as they read a query's row; only plans read by position, and a plan never sees a
# payload. Hence the casts to the row types the views declare.
def of_config(row: TelephonyConfigRow | ConfigRow | None) -> TelephonyConfigType | None:
    return TelephonyConfigType(source=cast(ConfigRow, row)) if row is not None else None


def of_number(row: PhoneNumberRow | None) -> PhoneNumberType | None:
    return PhoneNumberType(source=cast(NumberRow, row)) if row is not None else None


@strawberry.input
class CreateTelephonyConfigInput:
    name: str
    provider: ProviderKey
    config: JSON
    is_default_outbound: bool | None = None


@strawberry.type
class CreateTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None
    previous_default: TelephonyConfigType | None = strawberry.field(
        description="The configuration demoted when this one was created as the default."
    )
    user_errors: list[UserErrorType]


@strawberry.input
class UpdateTelephonyConfigInput:
    id: strawberry.ID
    name: str | None = None
    config: JSON | None = strawberry.field(
        default=None, description="Merged into the stored config: see the contract README."
    )
    expected_version: int | None = None


@strawberry.type
class UpdateTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None
    user_errors: list[UserErrorType]


@strawberry.input
class DeleteTelephonyConfigInput:
    id: strawberry.ID
    expected_version: int | None = None


@strawberry.type
class DeleteTelephonyConfigPayload:
    deleted_telephony_config_id: strawberry.ID | None
    user_errors: list[UserErrorType]


@strawberry.input
class SetDefaultOutboundTelephonyConfigInput:
    id: strawberry.ID


@strawberry.type
class SetDefaultOutboundTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None
    previous_default: TelephonyConfigType | None
    user_errors: list[UserErrorType]


@strawberry.input
class AddPhoneNumberInput:
    telephony_config_id: strawberry.ID
    phone_number: str
    region: str | None = strawberry.field(
        default=None, description="ISO 3166 region (e.g. GB) for a number written without +country code."
    )
    label: str | None = None
    is_active: bool | None = None


@strawberry.type
class AddPhoneNumberPayload:
    phone_number: PhoneNumberType | None
    user_errors: list[UserErrorType]


@strawberry.input
class UpdatePhoneNumberInput:
    id: strawberry.ID
    label: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or blank removes the label; leave it out to keep it."
    )
    is_active: bool | None = None


@strawberry.type
class UpdatePhoneNumberPayload:
    phone_number: PhoneNumberType | None
    user_errors: list[UserErrorType]


@strawberry.input
class RemovePhoneNumberInput:
    id: strawberry.ID


@strawberry.type
class RemovePhoneNumberPayload:
    deleted_phone_number_id: strawberry.ID | None
    user_errors: list[UserErrorType]


@strawberry.input
class CheckTelephonyConfigInput:
    id: strawberry.ID


@strawberry.type
class CheckTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(
        description="With the fresh providerCheck of the account and of each number."
    )
    user_errors: list[UserErrorType]


@strawberry.input
class ImportPhoneNumbersInput:
    telephony_config_id: strawberry.ID


@strawberry.type
class ImportPhoneNumbersPayload:
    telephony_config: TelephonyConfigType | None
    imported_count: int | None = strawberry.field(description="Numbers registered by this import.")
    already_registered_count: int | None = strawberry.field(
        description="The account's voice numbers that the organization had already registered."
    )
    user_errors: list[UserErrorType]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_telephony_config(
        self, info: Info, input: CreateTelephonyConfigInput
    ) -> CreateTelephonyConfigPayload:
        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.configs.create(
            ctx.org_id, name=input.name, provider=input.provider, config=input.config,
            make_default=bool(input.is_default_outbound),
        ))
        created, previous = result if result is not None else (None, None)
        return CreateTelephonyConfigPayload(
            telephony_config=of_config(created), previous_default=of_config(previous), user_errors=errors
        )

    @strawberry.mutation
    async def update_telephony_config(
        self, info: Info, input: UpdateTelephonyConfigInput
    ) -> UpdateTelephonyConfigPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.configs.update(
            ctx.org_id, config_key(input.id), name=input.name, config=input.config,
            expected_version=input.expected_version,
        ))
        return UpdateTelephonyConfigPayload(telephony_config=of_config(row), user_errors=errors)

    @strawberry.mutation
    async def delete_telephony_config(
        self, info: Info, input: DeleteTelephonyConfigInput
    ) -> DeleteTelephonyConfigPayload:
        ctx = info.context
        deleted, errors = await attempt(info, ctx.runtime.configs.delete(
            ctx.org_id, config_key(input.id), expected_version=input.expected_version
        ))
        return DeleteTelephonyConfigPayload(
            deleted_telephony_config_id=strawberry.ID(encode_id("TelephonyConfig", deleted)) if deleted else None,
            user_errors=errors,
        )

    @strawberry.mutation
    async def set_default_outbound_telephony_config(
        self, info: Info, input: SetDefaultOutboundTelephonyConfigInput
    ) -> SetDefaultOutboundTelephonyConfigPayload:
        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.configs.set_default(ctx.org_id, config_key(input.id)))
        row, previous = result if result is not None else (None, None)
        return SetDefaultOutboundTelephonyConfigPayload(
            telephony_config=of_config(row), previous_default=of_config(previous), user_errors=errors
        )

    @strawberry.mutation
    async def add_phone_number(self, info: Info, input: AddPhoneNumberInput) -> AddPhoneNumberPayload:
        ctx = info.context
        added, errors = await attempt(info, ctx.runtime.numbers.add(
            ctx.org_id, config_key(input.telephony_config_id), phone_number=input.phone_number,
            region=input.region, label=input.label,
            is_active=True if input.is_active is None else input.is_active,
        ))
        if added is None:
            return AddPhoneNumberPayload(phone_number=None, user_errors=errors)
        # The payload shows the configuration the service found still there after the add.
        ctx.reader.prime_configs([added.config])
        return AddPhoneNumberPayload(phone_number=of_number(added.number), user_errors=errors)

    @strawberry.mutation
    async def update_phone_number(self, info: Info, input: UpdatePhoneNumberInput) -> UpdatePhoneNumberPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.numbers.update(
            ctx.org_id, number_key(input.id), label=input.label or None,
            set_label=input.label is not strawberry.UNSET, is_active=input.is_active,
        ))
        return UpdatePhoneNumberPayload(phone_number=of_number(row), user_errors=errors)

    @strawberry.mutation
    async def remove_phone_number(self, info: Info, input: RemovePhoneNumberInput) -> RemovePhoneNumberPayload:
        ctx = info.context
        deleted, errors = await attempt(info, ctx.runtime.numbers.remove(ctx.org_id, number_key(input.id)))
        return RemovePhoneNumberPayload(
            deleted_phone_number_id=strawberry.ID(encode_id("PhoneNumber", deleted)) if deleted else None,
            user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Asks the provider about the account and every number now (30 seconds at most)."
    ))
    async def check_telephony_config(
        self, info: Info, input: CheckTelephonyConfigInput
    ) -> CheckTelephonyConfigPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.checks.check_now(ctx.org_id, config_key(input.id)))
        if row is not None:
            ctx.reader.prime_configs([row])
        return CheckTelephonyConfigPayload(telephony_config=of_config(row), user_errors=errors)

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Registers the account's voice numbers that the organization has not registered yet."
    ))
    async def import_phone_numbers(self, info: Info, input: ImportPhoneNumbersInput) -> ImportPhoneNumbersPayload:
        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.checks.import_numbers(
            ctx.org_id, config_key(input.telephony_config_id)
        ))
        if result is None:
            return ImportPhoneNumbersPayload(
                telephony_config=None, imported_count=None, already_registered_count=None, user_errors=errors
            )
        imported, row = result
        ctx.reader.prime_configs([row])
        return ImportPhoneNumbersPayload(
            telephony_config=of_config(row), imported_count=imported.imported_count,
            already_registered_count=imported.already_registered_count, user_errors=errors,
        )
