"""Secrets at rest, hashing of bearer secrets, and masked previews."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretDecryptError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _fernet_key(secret: str) -> bytes:
    # Any operator secret becomes a valid Fernet key; a real Fernet key stays itself.
    raw = secret.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"switchboard-fernet:" + raw).digest())


class SecretBox:
    """Encrypts with the first key, decrypts with any of them (MultiFernet rotation)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext for `plaintext` under the newest key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; `SecretDecryptError` when no key fits or the data was altered."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptError("stored secret cannot be decrypted") from exc

    def rotate(self, ciphertext: str) -> str:
        """The same secret re-encrypted under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptError("stored secret cannot be decrypted") from exc


def sha256_hex(value: str) -> str:
    """Hex SHA-256: the stored form of high-entropy bearer secrets (API keys, refresh tokens)."""
    return hashlib.sha256(value.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def mask_secret(secret: str) -> str:
    """`sk-...7890`: enough to recognise a key, never enough to use it."""
    if len(secret) <= 12:
        return "*" * min(len(secret), 8)
    head = secret[:3]
    return f"{head}...{secret[-4:]}"
