"""A fake SignalWire space: the Twilio-compatible (LaML) API under /api/laml, with the project ID
as the account SID. Its next-page links leave the .json suffix out."""

from __future__ import annotations

from .twilio import FakeNumber, TwilioAccount, TwilioFake

__all__ = ["FakeNumber", "SignalWireFake", "TwilioAccount"]


class SignalWireFake(TwilioFake):
    unauthorized: dict[str, object] = {"status": 401, "message": "Unauthorized", "code": "WRONG_CREDENTIALS"}

    def __init__(self) -> None:
        super().__init__("/api/laml", next_page_suffix="")
