"""Who is asking: Query.viewer, its organization and its API key, as views (fields.py).

A Viewer's source is the request's Principal (services/tenancy.py), which the operation's
Reader carries; an ApiKey's the same Principal (the key as it was authenticated); an
Organization's its row as the operation reads it (storage/queries.py), so that its dataVersion
belongs to the same snapshot as the rest of a compiled plan's reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import strawberry

from ...domain.ids import encode_id
from ...services.reader import Reader
from ...services.tenancy import Principal
from ...storage.queries import OrganizationRow
from .fields import batched, computed, itself, read, view
from .types import Node

organization_id = partial(encode_id, "Organization")  # also the entity id of WARNINGS_CHANGED


def _key_id(key: int) -> str:
    """As `gql-telephony list-api-keys` prints it, and as AuditActor.apiKeyId shows it."""
    return str(key)


@view("Organization", description="The organization whose data the API key reads and writes.")
class OrganizationType(Node):
    source: strawberry.Private[OrganizationRow]
    id: strawberry.ID = read("id", then=organization_id, description="Global id of the organization.")
    name: str = read(description="The organization's name, as it was created.")
    data_version: str = read(then=str, description=(
        "Decimal text (it can exceed GraphQL's 32-bit Int); larger is newer; moves on every write."
    ))


@view("ApiKey", description="The API key that sent the request.")
class ApiKeyType:
    source: strawberry.Private[Principal]
    id: strawberry.ID = read("key_id", then=_key_id, description="The key's id, as list-api-keys prints it.")
    label: str | None = read(description="The label it was created with; null when none.")
    read_only: bool = read(description="True: the key reads, and every mutation is refused.")


async def organizations(reader: Reader, keys: Sequence[int]) -> dict[int, OrganizationRow]:
    """The reader's own organization when its key is asked for: no other is ever shown."""
    if reader.org_id not in keys:
        return {}
    row = await reader.organization()
    return {} if row is None else {row.id: row}


async def _viewers_organizations(reader: Reader, viewers: list[Principal]) -> list[OrganizationRow | None]:
    return [await reader.organization()] * len(viewers)


@view("Viewer", description="Who is asking: the API key that sent the request, and its organization.")
class ViewerType:
    source: strawberry.Private[Principal]
    organization: OrganizationType = batched(
        _viewers_organizations, description="The organization the key belongs to."
    )
    api_key: ApiKeyType = computed(itself, description="The key itself (never its secret).")


async def viewers(reader: Reader, roots: list[None]) -> list[Principal]:
    """The request's principal, for Query.viewer (an authenticated request always has one)."""
    assert reader.principal is not None, "resolvers run only for authenticated requests"
    return [reader.principal] * len(roots)
