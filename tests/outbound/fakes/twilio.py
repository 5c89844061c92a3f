"""A fake of Twilio's 2010-04-01 API (accounts and incoming phone numbers), and of SignalWire's
copy of it under /api/laml.

Authentication is HTTP basic with the account SID (a SignalWire project ID) and its token; the
SID in the path must be the authenticated account's. Numbers page by `PageSize`/`Page` with a
`next_page_uri` path, and the `PhoneNumber` filter matches partially, as Twilio's does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .base import Fake, Fault


@dataclass
class FakeNumber:
    number: str  # E.164
    voice: bool = True


@dataclass
class TwilioAccount:
    sid: str
    token: str
    status: str = "active"  # active, suspended, closed
    type: str = "Full"  # Full or Trial
    numbers: list[FakeNumber] = field(default_factory=list)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class TwilioFake(Fake):
    unauthorized: dict[str, object] = {
        "code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401,
    }

    def __init__(self, prefix: str = "", *, next_page_suffix: str = ".json") -> None:
        """`prefix`: "" for Twilio, "/api/laml" for SignalWire. `next_page_suffix`: how the
        next-page link spells the list (SignalWire's links leave .json out)."""
        self.prefix = prefix
        self.next_page_suffix = next_page_suffix
        self.accounts: dict[str, TwilioAccount] = {}
        self.page_faults: dict[int, Fault] = {}  # pages of numbers answered with a fault, every time
        base = f"{prefix}/2010-04-01/Accounts/{{sid}}"
        super().__init__([
            Route(base + ".json", self._account),
            Route(base + "/IncomingPhoneNumbers.json", self._numbers),
            Route(base + "/IncomingPhoneNumbers", self._numbers),
        ])

    def add(self, account: TwilioAccount) -> TwilioAccount:
        self.accounts[account.sid] = account
        return account

    def _authenticated(self, request: Request) -> TwilioAccount | JSONResponse:
        credentials = basic_credentials(request)
        account = self.accounts.get(credentials[0]) if credentials else None
        if credentials is None or account is None or account.token != credentials[1]:
            return JSONResponse(self.unauthorized, 401, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.path_params["sid"] != account.sid:
            return JSONResponse(
                {"code": 20404, "message": "The requested resource was not found",
                 "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404},
                404,
            )
        return account

    async def _account(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        return JSONResponse({
            "sid": account.sid, "friendly_name": "Fake account", "status": account.status, "type": account.type,
            "owner_account_sid": account.sid, "uri": f"{self.prefix}/2010-04-01/Accounts/{account.sid}.json",
        })

    async def _numbers(self, request: Request) -> JSONResponse:
        account = self._authenticated(request)
        if isinstance(account, JSONResponse):
            return account
        size = min(int(request.query_params.get("PageSize", "50")), 1000)
        page = int(request.query_params.get("Page", "0"))
        fault = self.page_faults.get(page)
        if fault is not None:
            await asyncio.sleep(fault.hang)
            return JSONResponse(fault.body, fault.status, fault.headers)
        wanted = "".join(ch for ch in request.query_params.get("PhoneNumber", "") if ch.isdigit())
        matching = [n for n in account.numbers if wanted in n.number]
        chunk = matching[page * size:(page + 1) * size]
        list_path = f"{self.prefix}/2010-04-01/Accounts/{account.sid}/IncomingPhoneNumbers"
        next_uri = None
        if (page + 1) * size < len(matching):
            next_uri = f"{list_path}{self.next_page_suffix}?PageSize={size}&Page={page + 1}&PageToken=PA{page + 1:032x}"
        return JSONResponse({
            "incoming_phone_numbers": [
                {"sid": f"PN{i:032x}", "account_sid": account.sid, "phone_number": n.number,
                 "friendly_name": n.number, "capabilities": {"voice": n.voice, "sms": True, "mms": False, "fax": False}}
                for i, n in enumerate(chunk, start=page * size)
            ],
            "page": page, "page_size": size, "start": page * size, "end": page * size + max(len(chunk) - 1, 0),
            "first_page_uri": f"{list_path}.json?PageSize={size}&Page=0", "next_page_uri": next_uri,
            "previous_page_uri": None, "uri": f"{list_path}.json?PageSize={size}&Page={page}",
        })
