"""Vobiz's REST API as documented at docs.vobiz.ai: X-Auth-ID and X-Auth-Token headers on every
request, the account at /api/v1/auth/me, numbers at /api/v1/account/{auth_id}/numbers under `items`
with `page`, `per_page` and `total` counters, errors as {"status": "error", "error": {...}}.

Vobiz's pages disagree on how a page is asked for (page and per_page, or limit and offset);
`paging` picks which one this fake honours, so the client is tried against both."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Fake

MAX_PER_PAGE = 100


@dataclass
class VobizNumber:
    e164: str
    voice: bool = True


@dataclass
class VobizAccount:
    auth_id: str
    auth_token: str
    is_active: bool = True
    enabled: bool = True
    is_trial_account: bool = False
    numbers: list[VobizNumber] = field(default_factory=list)


class VobizFake(Fake):
    def __init__(self, *accounts: VobizAccount, paging: Literal["page", "offset"] = "page") -> None:
        self.accounts = {account.auth_id: account for account in accounts}
        self.paging = paging
        super().__init__([
            Route("/api/v1/auth/me", self._me),
            Route("/api/v1/account/{auth_id}/numbers", self._numbers),
        ])

    def _signed_in(self, request: Request) -> VobizAccount | None:
        account = self.accounts.get(request.headers.get("x-auth-id", ""))
        if account is None or request.headers.get("x-auth-token") != account.auth_token:
            return None
        return account

    async def _me(self, request: Request) -> Response:
        account = self._signed_in(request)
        if account is None:
            return _error(401, "UNAUTHORIZED", "Invalid or missing authentication credentials")
        return JSONResponse({
            "type": "account", "id": "500000", "api_id": str(uuid.uuid4()), "name": "Acme Corp",
            "email": "admin@example.com", "auth_id": account.auth_id, "auth_secret": "<redacted>",
            "account_type": "standard", "postpaid": False, "enabled": account.enabled, "role": "admin",
            "is_active": account.is_active, "is_verified": False, "is_trial_account": account.is_trial_account,
            "country": "IN", "timezone": "Asia/Kolkata",
        })

    async def _numbers(self, request: Request) -> Response:
        account = self._signed_in(request)
        if account is None:
            return _error(401, "UNAUTHORIZED", "Invalid or missing authentication credentials")
        if request.path_params["auth_id"] != account.auth_id:
            return _error(403, "FORBIDDEN", "You do not have access to this account")
        query = request.query_params
        try:
            if self.paging == "page":
                per_page = int(query.get("per_page", 25))
                page = int(query.get("page", 1))
                start = (page - 1) * per_page
            else:
                per_page = int(query.get("limit", 20))
                start = int(query.get("offset", 0))
                page = start // per_page + 1
        except (ValueError, ZeroDivisionError):
            return _error(422, "VALIDATION_ERROR", "Invalid pagination parameters")
        if not 1 <= per_page <= MAX_PER_PAGE or start < 0:
            return _error(422, "VALIDATION_ERROR", "Invalid pagination parameters")
        return JSONResponse({
            "items": [_number(account, n) for n in account.numbers[start:start + per_page]],
            "page": page, "per_page": per_page, "total": len(account.numbers),
        })


def _number(account: VobizAccount, number: VobizNumber) -> dict[str, object]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, number.e164)), "account_id": account.auth_id, "e164": number.e164,
        "country": "IN", "region": "Karnataka", "status": "active", "provider": "", "setup_fee": 100,
        "monthly_fee": 300, "currency": "INR", "application_id": None, "tags": [], "is_blocked": False,
        "capabilities": {"voice": number.voice, "sms": False, "mms": False, "fax": False},
        "voice_enabled": number.voice, "is_trial_number": False, "source": "purchased",
    }


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({
        "status": "error", "error": {"code": code, "message": message},
        "timestamp": datetime.now(UTC).isoformat(), "requestId": f"req_{uuid.uuid4().hex[:12]}",
    }, status)
