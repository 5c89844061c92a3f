"""The webhook endpoints' mutations: inputs, payloads and resolvers (Mutation inherits them).

A signing secret appears in clear in exactly two places: the payloads of createWebhookEndpoint
and rotateWebhookSecret. Everywhere else, WebhookEndpoint.signingSecret is masked.
"""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from ...domain.audit import WebhookEventType
from ...domain.ids import decode_id_of, encode_id
from ...domain.webhook_endpoints import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH
from ...services.webhook_endpoints import KEEP, WebhookEndpoints
from ...storage.tables import WebhookDeliveryRow, WebhookEndpointRow
from ...storage.webhooks import DeliveryRow, EndpointRow
from .types import Info, UserErrorType
from .webhook_types import WebhookDeliveryType, WebhookEndpointType

_ID = "The webhook endpoint's global id."
_USER_ERRORS = "Why the input was refused; empty when the mutation succeeded."
_ENDPOINT = "The endpoint as the mutation left it; null when refused."
_SECRET_ONCE = "The signing secret in clear, shown this once (later reads mask it); null when refused."
# The rules in full: docs/WEBHOOKS.md.
_URL = f"http(s) URL, at most {MAX_URL_LENGTH:,} characters; not to a private address (docs/WEBHOOKS.md)."


def _service(info: Info) -> WebhookEndpoints:
    return info.context.runtime.endpoints


def _key(global_id: str) -> int | None:
    return decode_id_of("WebhookEndpoint", global_id)


def _endpoint(row: WebhookEndpointRow | None) -> WebhookEndpointType | None:
    return WebhookEndpointType(source=cast(EndpointRow, row)) if row is not None else None


def _input(description: str) -> object:
    return strawberry.argument(description=description)


@strawberry.input(description="A webhook endpoint to create.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description=_URL)
    events: list[WebhookEventType] = strawberry.field(
        description="The events to send it: at least one; a repeated event counts once."
    )
    description: str | None = strawberry.field(
        default=None, description=f"Free text of at most {MAX_DESCRIPTION_LENGTH} characters."
    )


@strawberry.type(description="What createWebhookEndpoint did.")
class CreateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpointType | None = strawberry.field(description="The new endpoint; null when refused.")
    signing_secret: str | None = strawberry.field(description=_SECRET_ONCE)
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="Changes to a webhook endpoint; what is left out stays as it is.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=_ID)
    url: str | None = strawberry.field(default=None, description="A new URL; null keeps it. Rules as at create.")
    events: list[WebhookEventType] | None = strawberry.field(
        default=None, description="The events to send it from now on (replacing them); null keeps them."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or blank removes the description; leave it out to keep it."
    )
    enabled: bool | None = strawberry.field(default=None, description=(
        "false disables it; true re-enables it (clearing disabledReason); null keeps it."
    ))


@strawberry.type(description="What updateWebhookEndpoint did.")
class UpdateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpointType | None = strawberry.field(description=_ENDPOINT)
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The webhook endpoint to delete, with its deliveries.")
class DeleteWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=_ID)


@strawberry.type(description="What deleteWebhookEndpoint did.")
class DeleteWebhookEndpointPayload:
    deleted_webhook_endpoint_id: strawberry.ID | None = strawberry.field(
        description="The id of the deleted endpoint; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The webhook endpoint whose signing secret to replace.")
class RotateWebhookSecretInput:
    id: strawberry.ID = strawberry.field(description=_ID)


@strawberry.type(description="What rotateWebhookSecret did.")
class RotateWebhookSecretPayload:
    webhook_endpoint: WebhookEndpointType | None = strawberry.field(description=_ENDPOINT)
    signing_secret: str | None = strawberry.field(description=_SECRET_ONCE)
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.input(description="The webhook endpoint to send a test ping.")
class SendTestWebhookInput:
    endpoint_id: strawberry.ID = strawberry.field(description=_ID)


@strawberry.type(description="What sendTestWebhook did.")
class SendTestWebhookPayload:
    delivery: WebhookDeliveryType | None = strawberry.field(description=(
        "The ping's delivery, due now (webhookDeliveries shows how it goes); null when refused."
    ))
    user_errors: list[UserErrorType] = strawberry.field(description=_USER_ERRORS)


@strawberry.type(description="The webhook endpoints' mutations (the Mutation root inherits them).")
class WebhookMutations:
    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Creates a webhook endpoint, and its signing secret (in the payload, this once)."
    ))
    async def create_webhook_endpoint(
        self, info: Info, input: Annotated[CreateWebhookEndpointInput, _input("The endpoint to create.")]
    ) -> CreateWebhookEndpointPayload:
        from .mutations import attempt  # noqa: PLC0415 - mutations.py imports this module

        ctx = info.context
        created, errors = await attempt(info, _service(info).create(
            ctx.org_id, ctx.actor, url=input.url, events=list(input.events), description=input.description,
        ))
        return CreateWebhookEndpointPayload(
            webhook_endpoint=_endpoint(created.endpoint if created else None),
            signing_secret=created.secret if created else None, user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Changes a webhook endpoint's URL, events or description; disables or re-enables it."
    ))
    async def update_webhook_endpoint(
        self, info: Info, input: Annotated[UpdateWebhookEndpointInput, _input("The changes.")]
    ) -> UpdateWebhookEndpointPayload:
        from .mutations import attempt  # noqa: PLC0415 - mutations.py imports this module

        ctx = info.context
        description = KEEP if input.description is strawberry.UNSET else input.description
        row, errors = await attempt(info, _service(info).update(
            ctx.org_id, ctx.actor, _key(input.id), url=input.url,
            events=list(input.events) if input.events is not None else None,
            description=description, enabled=input.enabled,
        ))
        return UpdateWebhookEndpointPayload(webhook_endpoint=_endpoint(row), user_errors=errors)

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Deletes a webhook endpoint and its deliveries."
    ))
    async def delete_webhook_endpoint(
        self, info: Info, input: Annotated[DeleteWebhookEndpointInput, _input("The endpoint to delete.")]
    ) -> DeleteWebhookEndpointPayload:
        from .mutations import attempt  # noqa: PLC0415 - mutations.py imports this module

        ctx = info.context
        deleted, errors = await attempt(info, _service(info).delete(ctx.org_id, ctx.actor, _key(input.id)))
        return DeleteWebhookEndpointPayload(
            deleted_webhook_endpoint_id=strawberry.ID(encode_id("WebhookEndpoint", deleted)) if deleted else None,
            user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Replaces the signing secret (shown this once); the old one still signs for 24 hours."
    ))
    async def rotate_webhook_secret(
        self, info: Info, input: Annotated[RotateWebhookSecretInput, _input("The endpoint.")]
    ) -> RotateWebhookSecretPayload:
        from .mutations import attempt  # noqa: PLC0415 - mutations.py imports this module

        ctx = info.context
        rotated, errors = await attempt(info, _service(info).rotate_secret(ctx.org_id, ctx.actor, _key(input.id)))
        return RotateWebhookSecretPayload(
            webhook_endpoint=_endpoint(rotated.endpoint if rotated else None),
            signing_secret=rotated.secret if rotated else None, user_errors=errors,
        )

    @strawberry.mutation(description=(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        "Sends an enabled endpoint a ping (type webhook.test), signed and retried like any event."
    ))
    async def send_test_webhook(
        self, info: Info, input: Annotated[SendTestWebhookInput, _input("The endpoint to ping.")]
    ) -> SendTestWebhookPayload:
        from .mutations import attempt  # noqa: PLC0415 - mutations.py imports this module

        ctx = info.context
        delivery, errors = await attempt(info, _service(info).send_test(
            ctx.org_id, _key(input.endpoint_id), path=("input", "endpointId"),
        ))
        return SendTestWebhookPayload(delivery=_delivery(delivery), user_errors=errors)


def _delivery(row: WebhookDeliveryRow | None) -> WebhookDeliveryType | None:
    return WebhookDeliveryType(source=cast(DeliveryRow, row)) if row is not None else None
