"""Exotel's API as documented at developer.exotel.com: basic auth api_key:api_token, the account's
balance and pricing plan at /v1/Accounts/{sid}/Balance.json, ExoPhones at
/v2_beta/Accounts/{sid}/IncomingPhoneNumbers (JSON only) paged by Page (from 0) and PageSize, with a
`next_page_uri` on Exotel's own host (twilix.exotel.com, over http) as the documentation shows it.
ExoPhones are spelt in national form. Errors use the Twilio-style RestException Exotel inherits."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Fake
from .credentials import basic_auth

MAX_PAGE_SIZE = 100


@dataclass
class ExoPhone:
    phone_number: str  # national form, as Exotel spells it: "08047112233"
    voice: bool = True


@dataclass
class ExotelAccount:
    sid: str
    api_key: str
    api_token: str
    pricing_plan: str = "Pay As You Go"
    payment_required: bool = False  # Exotel's 402: out of plan or balance
    numbers: list[ExoPhone] = field(default_factory=list)


class ExotelFake(Fake):
    def __init__(self, *accounts: ExotelAccount) -> None:
        self.accounts = {account.sid: account for account in accounts}
        super().__init__([
            Route("/v1/Accounts/{sid}/Balance.json", self._balance),
            Route("/v2_beta/Accounts/{sid}/IncomingPhoneNumbers", self._numbers),
        ])

    def _signed_in(self, request: Request) -> ExotelAccount | Response:
        account = self.accounts.get(request.path_params["sid"])
        if account is None or basic_auth(request) != (account.api_key, account.api_token):
            return _error(401, "Authentication is required to view this page.")
        return account

    async def _balance(self, request: Request) -> Response:
        account = self._signed_in(request)
        if isinstance(account, Response):
            return account
        if account.payment_required:
            return _error(402, "Payment Required")
        return JSONResponse({"Account": {"AccountSid": account.sid, "BalanceData": {
            "Balance": "1543.75", "Currency": "INR", "PricingPlan": account.pricing_plan,
            "DateUpdated": "2026-04-24 10:32:18",
        }}})

    async def _numbers(self, request: Request) -> Response:
        account = self._signed_in(request)
        if isinstance(account, Response):
            return account
        try:
            page = int(request.query_params.get("Page", 0))
            size = int(request.query_params.get("PageSize", 50))
        except ValueError:
            return _error(400, "Invalid Page or PageSize")
        if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
            return _error(400, "Invalid Page or PageSize")
        start = page * size
        base = f"http://twilix.exotel.com/v2_beta/Accounts/{account.sid}/IncomingPhoneNumbers"
        last = start + size >= len(account.numbers)
        return JSONResponse({
            "page": page, "page_size": size, "uri": f"{base}?Page={page}&PageSize={size}",
            "first_page_uri": f"{base}?Page=0&PageSize={size}",
            "next_page_uri": None if last else f"{base}?Page={page + 1}&PageSize={size}",
            "previous_page_uri": f"{base}?Page={page - 1}&PageSize={size}" if page else None,
            "incoming_phone_numbers": [_exophone(account, n) for n in account.numbers[start:start + size]],
        })


def _exophone(account: ExotelAccount, number: ExoPhone) -> dict[str, object]:
    return {
        "sid": number.phone_number, "account_sid": account.sid, "friendly_name": number.phone_number,
        "phone_number": number.phone_number, "voice_url": None, "sms_url": None,
        "capabilities": {"voice": number.voice, "sms": True}, "number_type": "Landline", "region": "KA",
        "country": "IN", "date_created": "2018-08-22T12:22:49Z", "date_updated": "2018-08-24T11:25:49Z",
        "uri": f"/v2_beta/Accounts/{account.sid}/IncomingPhoneNumbers/{number.phone_number}",
    }


def _error(status: int, message: str) -> Response:
    return JSONResponse({"RestException": {"Status": status, "Message": message}}, status)
