"""An Asterisk HTTP server with ARI enabled, as documented at docs.asterisk.org (The Asterisk
Resource; Asterisk REST Data Models): `GET /ari/asterisk/info` with basic auth as an ARI user from
ari.conf. Wrong credentials get 401 with {"message": "Authentication required"} and a Basic
challenge; any other path is a 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Fake
from .credentials import basic_auth


class AriFake(Fake):
    def __init__(self, users: dict[str, str], version: str = "20.5.0") -> None:
        self.users = users
        self.version = version
        super().__init__([Route("/ari/asterisk/info", self._info)])

    async def _info(self, request: Request) -> Response:
        given = basic_auth(request)
        if given is None or self.users.get(given[0]) != given[1]:
            return JSONResponse(
                {"message": "Authentication required"}, 401,
                {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        return JSONResponse({
            "build": {"os": "Linux", "kernel": "6.1.0-18-amd64", "machine": "x86_64", "options": "",
                      "date": "2024-01-01 00:00:00 UTC", "user": "builder"},
            "system": {"version": self.version, "entity_id": "ec:f4:bb:67:a6:d0"},
            "config": {"name": "pbx", "default_language": "en", "setid": {"user": "asterisk", "group": "asterisk"}},
            "status": {"startup_time": "2024-01-01T00:00:00.000+0000", "last_reload_time": "2024-01-01T00:00:00.000+0000"},
        })
