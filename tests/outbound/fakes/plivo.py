"""Plivo's REST API as documented (plivo.com/docs, and the fixtures of github.com/plivo/plivo-python):
basic auth auth_id:auth_token, the auth ID again in every path, numbers as digits with the country
code and no '+', lists paged by limit (at most 20) and offset with a `meta` block."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Fake
from .credentials import basic_auth

MAX_LIMIT = 20


@dataclass
class PlivoNumber:
    number: str  # as Plivo spells it: "14155550100"
    voice_enabled: bool = True


@dataclass
class PlivoAccount:
    auth_id: str
    auth_token: str
    account_type: str = "standard"  # or "developer" (free trial)
    numbers: list[PlivoNumber] = field(default_factory=list)


class PlivoFake(Fake):
    def __init__(self, *accounts: PlivoAccount) -> None:
        self.accounts = {account.auth_id: account for account in accounts}
        super().__init__([
            Route("/v1/Account/{auth_id}/", self._account),
            Route("/v1/Account/{auth_id}/Number/", self._numbers),
            Route("/v1/Account/{auth_id}/Number/{number}/", self._number),
        ])

    def _signed_in(self, request: Request) -> PlivoAccount | None:
        account = self.accounts.get(request.path_params["auth_id"])
        given = basic_auth(request)
        if account is None or given != (account.auth_id, account.auth_token):
            return None
        return account

    async def _account(self, request: Request) -> Response:
        account = self._signed_in(request)
        if account is None:
            return _refused()
        return _json({
            "account_type": account.account_type, "address": "", "auth_id": account.auth_id, "auto_recharge": False,
            "billing_mode": "prepaid", "cash_credits": "4.88860", "city": "", "name": "Sherlock Holmes",
            "resource_uri": f"/v1/Account/{account.auth_id}/",
            "state": "NY",  # a postal state, not the account's status: Plivo's account has none
            "timezone": "Asia/Kolkata",
        })

    async def _numbers(self, request: Request) -> Response:
        account = self._signed_in(request)
        if account is None:
            return _refused()
        try:
            limit = int(request.query_params.get("limit", MAX_LIMIT))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return _json({"error": "limit and offset must be integers"}, 400)
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return _json({"error": f"limit must be between 1 and {MAX_LIMIT}"}, 400)
        total = len(account.numbers)
        base = f"/v1/Account/{account.auth_id}/Number/"
        return _json({
            "meta": {
                "limit": limit, "offset": offset, "total_count": total,
                "next": f"{base}?limit={limit}&offset={offset + limit}" if offset + limit < total else None,
                "previous": f"{base}?limit={limit}&offset={max(0, offset - limit)}" if offset else None,
            },
            "objects": [_number(account, n) for n in account.numbers[offset:offset + limit]],
        })

    async def _number(self, request: Request) -> Response:
        account = self._signed_in(request)
        if account is None:
            return _refused()
        wanted = request.path_params["number"]
        for number in account.numbers:
            if number.number == wanted:
                return _json(_number(account, number))
        return _json({"error": "not found"}, 404)


def _number(account: PlivoAccount, number: PlivoNumber) -> dict[str, object]:
    return {
        "number": number.number, "alias": None, "sub_account": None, "added_on": "2014-02-14",
        "application": f"/v1/Account/{account.auth_id}/Application/29986316244302815/", "carrier": "Plivo",
        "region": "California, UNITED STATES", "number_type": "local", "monthly_rental_rate": "0.80000",
        "sms_enabled": True, "sms_rate": "0.00000", "mms_enabled": False, "voice_enabled": number.voice_enabled,
        "voice_rate": "0.00850", "resource_uri": f"/v1/Account/{account.auth_id}/Number/{number.number}/",
    }


def _json(body: dict[str, object], status: int = 200) -> Response:
    return JSONResponse({"api_id": str(uuid.uuid4()), **body}, status)


def _refused() -> Response:
    return _json({"error": "Authentication failed"}, 401)
