"""A fake of Telnyx API v2: the balance and the phone number list.

Authentication is `Authorization: Bearer <API key>`; an unknown key is a 401 and a disabled
account a 403, each with Telnyx's `errors` list. Numbers page by `page[number]`/`page[size]`
with `meta.total_pages`; `filter[phone_number]` takes digits and matches partially (any other
character matches nothing), as Telnyx documents it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .base import Fake


@dataclass
class TelnyxAccount:
    api_key: str
    balance: str = "300.00"
    credit_limit: str = "0.00"
    disabled: bool = False
    numbers: list[str] = field(default_factory=list)  # E.164


def _error(status: int, code: str, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"errors": [{
        "code": code, "title": title, "detail": detail,
        "meta": {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"},
    }]}, status)


class TelnyxFake(Fake):
    def __init__(self) -> None:
        self.accounts: dict[str, TelnyxAccount] = {}
        super().__init__([Route("/v2/balance", self._balance), Route("/v2/phone_numbers", self._numbers)])

    def add(self, account: TelnyxAccount) -> TelnyxAccount:
        self.accounts[account.api_key] = account
        return account

    def _authenticated(self, request: Request) -> TelnyxAccount | JSONResponse:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        account = self.accounts.get(key) if scheme == "Bearer" else None
        if account is None:
            return _error(401, "10009", "Authentication failed",
                          "The required authentication headers were either invalid or not included in the request.")
        if account.disabled:
            return _error(403, "10010", "Authorization failed",
                          "You do not have permission to perform the requested action on the specified resource or resources.")
        return account

    async def _balance(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        available = float(account.balance) + float(account.credit_limit)
        return JSONResponse({"data": {
            "record_type": "balance", "pending": "0.00", "balance": account.balance,
            "credit_limit": account.credit_limit, "available_credit": f"{available:.2f}", "currency": "USD",
        }})

    async def _numbers(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        page = int(request.query_params.get("page[number]", "1"))
        size = int(request.query_params.get("page[size]", "20"))
        if size > 250 or size < 1 or page < 1:
            return _error(400, "10015", "Bad Request", "The request failed because it was not well-formed.")
        matching = account.numbers
        if "filter[phone_number]" in request.query_params:
            wanted = request.query_params["filter[phone_number]"]
            matching = [n for n in matching if wanted.isdigit() and wanted in n]
        chunk = matching[(page - 1) * size:page * size]
        return JSONResponse({
            "data": [
                {"id": str(1000 + i), "record_type": "phone_number", "phone_number": number, "status": "active",
                 "tags": [], "connection_id": "1293384261075731499", "messaging_profile_id": None,
                 "phone_number_type": "local", "purchased_at": "2026-01-01T00:00:00Z"}
                for i, number in enumerate(chunk, start=(page - 1) * size)
            ],
            "meta": {"page_number": page, "page_size": size, "total_results": len(matching),
                     "total_pages": math.ceil(len(matching) / size)},
        })
