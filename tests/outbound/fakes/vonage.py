"""A fake of Vonage's REST API on rest.nexmo.com: the balance and the owned numbers.

Authentication is the API key and secret, as HTTP basic or as `api_key`/`api_secret` query
parameters (Vonage takes either); a refusal is a 401 with `error-code` "401". Numbers page by
`index` (from 1) and `size` (at most 100) with `count`, the total; `numbers` is left out when
there are none. `pattern` with `search_pattern` 0, 1 or 2 matches the start, any part or the end
of the msisdn (digits without +).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .base import Fake
from .twilio import basic_credentials


@dataclass
class VonageNumber:
    msisdn: str  # digits, no +
    features: list[str] = field(default_factory=lambda: ["VOICE", "SMS"])
    country: str = "GB"


@dataclass
class VonageAccount:
    api_key: str
    api_secret: str
    balance: float = 29.18202293
    numbers: list[VonageNumber] = field(default_factory=list)


class VonageFake(Fake):
    def __init__(self) -> None:
        self.accounts: dict[str, VonageAccount] = {}
        super().__init__([
            Route("/account/get-balance", self._balance), Route("/account/numbers", self._numbers),
        ])

    def add(self, account: VonageAccount) -> VonageAccount:
        self.accounts[account.api_key] = account
        return account

    def _authenticated(self, request: Request) -> VonageAccount | JSONResponse:
        credentials = basic_credentials(request) or (
            request.query_params.get("api_key", ""), request.query_params.get("api_secret", "")
        )
        account = self.accounts.get(credentials[0])
        if account is None or account.api_secret != credentials[1]:
            return JSONResponse({"error-code": "401", "error-code-label": "authentication failed"}, 401)
        return account

    async def _balance(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        return JSONResponse({"value": account.balance, "autoReload": False})

    async def _numbers(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        index = int(request.query_params.get("index", "1"))
        size = min(int(request.query_params.get("size", "10")), 100)
        matching = account.numbers
        pattern = request.query_params.get("pattern")
        if pattern is not None:
            how = request.query_params.get("search_pattern", "0")
            matching = [n for n in matching if (
                n.msisdn.startswith(pattern) if how == "0" else n.msisdn.endswith(pattern) if how == "2"
                else pattern in n.msisdn
            )]
        chunk = matching[(index - 1) * size:index * size]
        body: dict[str, object] = {"count": len(matching)}
        if chunk:
            body["numbers"] = [
                {"country": n.country, "msisdn": n.msisdn, "type": "mobile-lvn", "features": n.features}
                for n in chunk
            ]
        return JSONResponse(body)
