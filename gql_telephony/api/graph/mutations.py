"""The Mutation root: each mutation's input, payload and resolver together."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from ...domain.errors import UserErrors
from ...domain.ids import decode_id_of, encode_id
from ...domain.providers import ProviderKey
from ...storage.queries import ConfigRow, NumberRow
from ...storage.tables import PhoneNumberRow, TelephonyConfigRow
from .types import Info, PhoneNumberType, TelephonyConfigType, UserErrorType
from .webhook_mutations import WebhookMutations

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


def of_number(row: PhoneNumberRow | NumberRow | None) -> PhoneNumberType | None:
    return PhoneNumberType(source=cast(NumberRow, row)) if row is not None else None


# Descriptions said by several inputs and payloads.
_CONFIG_ID = "The configuration's global id."
_NUMBER_ID = "The phone number's global id."
_EXPECTED_VERSION = "The version you read; if it is no longer current: CONFLICT, and nothing changes."
_USER_ERRORS = "Why the input was refused; empty when the mutation succeeded."
_CHANGED_CONFIG = "The configuration as the mutation left it; null when refused."
_CHANGED_NUMBER = "The phone number as the mutation left it; null when refused."


def _input(description: str) -> object:
    """A mutation's `input` argument, described (as its Annotated metadata)."""
    return strawberry.argument(description=description)


@strawberry.input(description="A provider account to connect.")
class CreateTelephonyConfigInput:
    name: str = strawberry.field(description="1 to 64 characters, unique in the organization (ignoring case).")
    provider: ProviderKey = strawberry.field(description="The provider; it cannot change later.")
    config: JSON = strawberry.field(
        description="An object whose keys are telephonyProviders { fields { key } } of the provider."
    )
    is_default_outbound: bool | None = strawberry.field(
        default=None, description="true: make it the default outbound config, demoting the previous one."
    )


@strawberry.type(description="What createTelephonyConfig did.")
class CreateTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(
        description="The new configuration; null when refused."
    )
    previous_default: TelephonyConfigType | None = strawberry.field(
        description="The configuration demoted when this one was created as the default."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="Changes to a configuration; what is left out stays as it is.")
class UpdateTelephonyConfigInput:
    id: strawberry.ID = strawberry.field(description=_CONFIG_ID)
    name: str | None = strawberry.field(default=None, description="A new name; null or left out keeps it.")
    config: JSON | None = strawberry.field(default=None, description=(
        "Merged: a key given sets it, a key given as null clears it, a key left out stays."
    ))
    expected_version: int | None = strawberry.field(default=None, description=_EXPECTED_VERSION)


@strawberry.type(description="What updateTelephonyConfig did.")
class UpdateTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(description=_CHANGED_CONFIG)
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The configuration to delete, with its phone numbers.")
class DeleteTelephonyConfigInput:
    id: strawberry.ID = strawberry.field(description=_CONFIG_ID)
    expected_version: int | None = strawberry.field(default=None, description=_EXPECTED_VERSION)


@strawberry.type(description="What deleteTelephonyConfig did.")
class DeleteTelephonyConfigPayload:
    deleted_telephony_config_id: strawberry.ID | None = strawberry.field(
        description="The id of the deleted configuration; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The configuration to make the default outbound one.")
class SetDefaultOutboundTelephonyConfigInput:
    id: strawberry.ID = strawberry.field(description=_CONFIG_ID)


@strawberry.type(description="What setDefaultOutboundTelephonyConfig did.")
class SetDefaultOutboundTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(
        description="The new default; null when refused."
    )
    previous_default: TelephonyConfigType | None = strawberry.field(
        description="The configuration demoted; null when none was."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="A phone number to register as a caller ID of a configuration.")
class AddPhoneNumberInput:
    telephony_config_id: strawberry.ID = strawberry.field(description="The global id of the configuration it serves.")
    phone_number: str = strawberry.field(
        description="With +country code (or region); on a SIP provider, a sip: URI too. Stored normalized."
    )
    region: str | None = strawberry.field(
        default=None, description="ISO 3166 region (e.g. GB) for a number written without +country code."
    )
    label: str | None = strawberry.field(default=None, description="Free text of at most 64 characters.")
    is_active: bool | None = strawberry.field(default=None, description="Whether it places calls; default true.")


@strawberry.type(description="What addPhoneNumber did.")
class AddPhoneNumberPayload:
    phone_number: PhoneNumberType | None = strawberry.field(description="The number added; null when refused.")
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="Changes to a phone number; what is left out stays as it is.")
class UpdatePhoneNumberInput:
    id: strawberry.ID = strawberry.field(description=_NUMBER_ID)
    label: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or blank removes the label; leave it out to keep it."
    )
    is_active: bool | None = strawberry.field(default=None, description="Whether it places calls; null keeps it.")


@strawberry.type(description="What updatePhoneNumber did.")
class UpdatePhoneNumberPayload:
    phone_number: PhoneNumberType | None = strawberry.field(description=_CHANGED_NUMBER)
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The phone number to remove.")
class RemovePhoneNumberInput:
    id: strawberry.ID = strawberry.field(description=_NUMBER_ID)


@strawberry.type(description="What removePhoneNumber did.")
class RemovePhoneNumberPayload:
    deleted_phone_number_id: strawberry.ID | None = strawberry.field(
        description="The id of the removed number; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The configuration to check with its provider now.")
class CheckTelephonyConfigInput:
    id: strawberry.ID = strawberry.field(description=_CONFIG_ID)


@strawberry.type(description="What checkTelephonyConfig learned.")
class CheckTelephonyConfigPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(
        description="With the fresh providerCheck of the account and of each number."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The configuration whose account's numbers to import.")
class ImportPhoneNumbersInput:
    telephony_config_id: strawberry.ID = strawberry.field(description=_CONFIG_ID)


@strawberry.type(description="What importPhoneNumbers did.")
class ImportPhoneNumbersPayload:
    telephony_config: TelephonyConfigType | None = strawberry.field(
        description="The configuration, with its numbers after the import; null when refused."
    )
    imported_count: int | None = strawberry.field(description="Numbers registered by this import.")
    already_registered_count: int | None = strawberry.field(
        description="The account's voice numbers that the organization had already registered."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.type(description="Writes. A refusal comes as userErrors; a read-only API key gets FORBIDDEN.")
class Mutation(WebhookMutations):
    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Connects a provider account; config is checked against the provider's fields."
    ))
    async def create_telephony_config(
        self, info: Info, input: Annotated[CreateTelephonyConfigInput, _input("The configuration to create.")]
    ) -> CreateTelephonyConfigPayload:
        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.configs.create(
            ctx.org_id, name=input.name, provider=input.provider, config=input.config,
            make_default=bool(input.is_default_outbound), actor=ctx.actor,
        ))
        created, previous = result if result is not None else (None, None)
        return CreateTelephonyConfigPayload(
            telephony_config=of_config(created), previous_default=of_config(previous), user_errors=errors
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Renames a configuration, or merges changes into its config."
    ))
    async def update_telephony_config(
        self, info: Info, input: Annotated[UpdateTelephonyConfigInput, _input("The changes.")]
    ) -> UpdateTelephonyConfigPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.configs.update(
            ctx.org_id, config_key(input.id), name=input.name, config=input.config,
            expected_version=input.expected_version, actor=ctx.actor,
        ))
        return UpdateTelephonyConfigPayload(telephony_config=of_config(row), user_errors=errors)

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Deletes a configuration and its phone numbers."
    ))
    async def delete_telephony_config(
        self, info: Info, input: Annotated[DeleteTelephonyConfigInput, _input("The configuration to delete.")]
    ) -> DeleteTelephonyConfigPayload:
        ctx = info.context
        deleted, errors = await attempt(info, ctx.runtime.configs.delete(
            ctx.org_id, config_key(input.id), expected_version=input.expected_version, actor=ctx.actor,
        ))
        return DeleteTelephonyConfigPayload(
            deleted_telephony_config_id=strawberry.ID(encode_id("TelephonyConfig", deleted)) if deleted else None,
            user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Makes a configuration the default outbound one, demoting the previous default."
    ))
    async def set_default_outbound_telephony_config(
        self, info: Info,
        input: Annotated[SetDefaultOutboundTelephonyConfigInput, _input("The configuration to make the default.")],
    ) -> SetDefaultOutboundTelephonyConfigPayload:
        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.configs.set_default(
            ctx.org_id, config_key(input.id), actor=ctx.actor,
        ))
        row, previous = result if result is not None else (None, None)
        return SetDefaultOutboundTelephonyConfigPayload(
            telephony_config=of_config(row), previous_default=of_config(previous), user_errors=errors
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Registers a phone number (a caller ID) on a configuration."
    ))
    async def add_phone_number(
        self, info: Info, input: Annotated[AddPhoneNumberInput, _input("The number to add.")]
    ) -> AddPhoneNumberPayload:
        ctx = info.context
        added, errors = await attempt(info, ctx.runtime.numbers.add(
            ctx.org_id, config_key(input.telephony_config_id), phone_number=input.phone_number,
            region=input.region, label=input.label,
            is_active=True if input.is_active is None else input.is_active, actor=ctx.actor,
        ))
        if added is None:
            return AddPhoneNumberPayload(phone_number=None, user_errors=errors)
        # The payload shows the configuration the service found still there after the add.
        ctx.reader.prime_configs([added.config])
        return AddPhoneNumberPayload(phone_number=of_number(added.number), user_errors=errors)

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Changes a phone number's label, or whether it is active."
    ))
    async def update_phone_number(
        self, info: Info, input: Annotated[UpdatePhoneNumberInput, _input("The changes.")]
    ) -> UpdatePhoneNumberPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.numbers.update(
            ctx.org_id, number_key(input.id), label=input.label or None,
            set_label=input.label is not strawberry.UNSET, is_active=input.is_active, actor=ctx.actor,
        ))
        return UpdatePhoneNumberPayload(phone_number=of_number(row), user_errors=errors)

    @strawberry.mutation(description="Removes a phone number.")  # type: ignore[untyped-decorator]  # typed Any
    async def remove_phone_number(
        self, info: Info, input: Annotated[RemovePhoneNumberInput, _input("The number to remove.")]
    ) -> RemovePhoneNumberPayload:
        ctx = info.context
        deleted, errors = await attempt(info, ctx.runtime.numbers.remove(
            ctx.org_id, number_key(input.id), actor=ctx.actor,
        ))
        return RemovePhoneNumberPayload(
            deleted_phone_number_id=strawberry.ID(encode_id("PhoneNumber", deleted)) if deleted else None,
            user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Asks the provider about the account and every number now (30 seconds at most)."
    ))
    async def check_telephony_config(
        self, info: Info, input: Annotated[CheckTelephonyConfigInput, _input("The configuration to check.")]
    ) -> CheckTelephonyConfigPayload:
        ctx = info.context
        row, errors = await attempt(info, ctx.runtime.checks.check_now(ctx.org_id, config_key(input.id)))
        if row is not None:
            ctx.reader.prime_configs([row])
        return CheckTelephonyConfigPayload(telephony_config=of_config(row), user_errors=errors)

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Registers the account's voice numbers that the organization has not registered yet."
    ))
    async def import_phone_numbers(
        self, info: Info, input: Annotated[ImportPhoneNumbersInput, _input("The configuration to import into.")]
    ) -> ImportPhoneNumbersPayload:

        ctx = info.context
        result, errors = await attempt(info, ctx.runtime.checks.import_numbers(
            ctx.org_id, config_key(input.telephony_config_id), actor=ctx.actor,
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
