"""Encryption of stored credentials with Fernet; several keys so they can be rotated."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .settings import Settings, SettingsError

_RECENT_LIMIT = 4096


class Vault:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: list[str] | tuple[str, ...]) -> None:
        if not keys:
            raise SettingsError("at least one Fernet key is needed")
        try:
            fernets = [Fernet(key.encode()) for key in keys]
            self._fernet, self._newest = MultiFernet(fernets), fernets[0]
        except ValueError as exc:
            raise SettingsError(
                "GQL_TELEPHONY_SECRET_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)"
            ) from exc
        self._recent: dict[str, dict[str, object]] = {}

    def encrypt_json(self, values: Mapping[str, object]) -> str:
        return self._fernet.encrypt(json.dumps(values, separators=(",", ":")).encode()).decode()

    def decrypt_json(self, token: str) -> dict[str, object]:
        if not token:
            return {}
        # A token always decrypts to the same plaintext, so reads of unchanged rows skip the AES work.
        plain = self._recent.get(token)
        if plain is None:
            try:
                plain = json.loads(self._fernet.decrypt(token.encode()))
            except InvalidToken as exc:
                raise SettingsError("a stored credential cannot be decrypted with the configured keys") from exc
            if len(self._recent) >= _RECENT_LIMIT:
                self._recent.pop(next(iter(self._recent)))
            self._recent[token] = plain
        return dict(plain)

    def is_current(self, token: str) -> bool:
        """Encrypted under the newest key already (nothing to rotate)."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, token: str) -> str:
        """The same plaintext under the newest key (for rotation)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SettingsError("a stored credential cannot be decrypted with the configured keys") from exc


def vault_from_settings(settings: Settings) -> Vault:
    """Keys from the environment; for SQLite without them, a dev key file beside the database."""
    if settings.secret_keys:
        return Vault(settings.secret_keys)
    if not settings.is_sqlite:
        raise SettingsError("GQL_TELEPHONY_SECRET_KEYS is required with PostgreSQL")
    db_path = settings.sqlite_path
    assert db_path is not None, "Settings refuse in-memory SQLite"
    return Vault([_dev_key(db_path.with_name(db_path.name + ".key"))])


def _dev_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # Created with owner-only permissions; O_EXCL makes two starting processes agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
