"""Webhook signing secrets: made here, stored sealed by the vault like credentials, shown in
clear only in the payload of the mutation that made them."""

from __future__ import annotations

import base64
import secrets

from ..crypto import Vault

PREFIX = "whsec_"  # the Standard Webhooks form: the prefix, then the key in base64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(vault: Vault, secret: str) -> str:
    return vault.encrypt_json({"secret": secret})


def unseal(vault: Vault, token: str) -> str:
    return str(vault.decrypt_json(token)["secret"])


def masked(secret: str) -> str:
    """What a later read shows: the prefix and the last four characters."""
    return f"{PREFIX}{'•' * 8}{secret[-4:]}"
