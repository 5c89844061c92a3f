"""Cloudonix API.Core as documented (developers.cloudonix.com, github.com/cloudonix/api.core-openapi,
and the DNID fields of the cloudonix-php SDK): `Authorization: Bearer <key>`, a domain at
/customers/self/domains/{domain} ("self" is the customer owning the key), its DNIDs as one JSON
array. A key sees the domains it was issued for; any other domain is a 404."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Fake
from .credentials import bearer_token

_ids = itertools.count(1000)


@dataclass
class CloudonixDnid:
    source: str
    prefix: bool = False
    expression: bool = False
    asterisk_compatible: bool = False
    active: bool = True
    voice_application: str | None = "call-routing"
    messaging_application: str | None = None
    id: int = field(default_factory=lambda: next(_ids))


@dataclass
class CloudonixDomain:
    domain: str
    key: str  # the bearer token that may read it
    active: bool = True
    customer_active: bool = True
    dnids: list[CloudonixDnid] = field(default_factory=list)


class CloudonixFake(Fake):
    def __init__(self, *domains: CloudonixDomain) -> None:
        self.domains = {domain.domain: domain for domain in domains}
        super().__init__([
            Route("/customers/self/domains/{domain}", self._domain),
            Route("/customers/self/domains/{domain}/dnids", self._dnids),
        ])

    def _visible(self, request: Request) -> CloudonixDomain | Response:
        token = bearer_token(request)
        if token is None or token not in {d.key for d in self.domains.values()}:
            return JSONResponse({"status": 401, "message": "Unauthorized"}, 401)
        domain = self.domains.get(request.path_params["domain"])
        if domain is None or domain.key != token:
            return JSONResponse({"status": 404, "message": "No resource found"}, 404)
        return domain

    async def _domain(self, request: Request) -> Response:
        domain = self._visible(request)
        if isinstance(domain, Response):
            return domain
        return JSONResponse({
            "id": 7, "domain": domain.domain, "active": domain.active, "profile": {}, "aliases": [],
            "tenant": {"id": 3, "name": "acme", "active": domain.customer_active},
            "createdAt": "2023-05-14T10:00:00Z", "modifiedAt": "2023-05-14T10:00:00Z",
        })

    async def _dnids(self, request: Request) -> Response:
        domain = self._visible(request)
        if isinstance(domain, Response):
            return domain
        return JSONResponse([_dnid(d) for d in domain.dnids])


def _dnid(dnid: CloudonixDnid) -> dict[str, object]:
    return {
        "id": dnid.id, "domainId": 7, "source": dnid.source, "dnid": f"^{dnid.source}$", "global": False,
        "prefix": dnid.prefix, "expression": dnid.expression, "asteriskCompatible": dnid.asterisk_compatible,
        "active": dnid.active,
        "applicationId": 11 if dnid.voice_application else None, "applicationName": dnid.voice_application,
        "messagingApplicationId": 12 if dnid.messaging_application else None,
        "messagingApplicationName": dnid.messaging_application,
        "createdAt": "2023-05-14T10:00:00Z", "modifiedAt": "2023-05-14T10:00:00Z", "deletedAt": None,
    }
