"""Secrets at rest, hashing of bearer secrets, and masked previews.

A secret stored with associated data (the row it belongs to) is sealed with AES-256-GCM
in a versioned token (`v2.<base64>`): copied into another row, whose associated data
differ, it no longer opens. Tokens without the prefix are Fernet tokens, written by
earlier versions or for secrets bound to nothing; they stay readable so nothing stored
is lost, and `rotate` rewrites them in the bound form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BOUND_PREFIX = "v2."
_NONCE_BYTES = 12


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


def _aead_key(secret: str) -> AESGCM:
    # A key of its own, derived under another label: the Fernet key is never reused.
    return AESGCM(hashlib.sha256(b"switchboard-aead-v2:" + secret.encode()).digest())


class SecretBox:
    """Encrypts with the first key, decrypts with any of them (rotation).

    With `associated_data`, the token is sealed to it (AEAD) and opens only with the
    same bytes; without, it is a Fernet token (the format earlier versions stored).
    """

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in keys])
        self._aeads = [_aead_key(key) for key in keys]

    def encrypt(self, plaintext: str, associated_data: bytes | None = None) -> str:
        """Ciphertext for `plaintext` under the newest key, sealed to `associated_data`."""
        if associated_data is None:
            return self._fernet.encrypt(plaintext.encode()).decode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aeads[0].encrypt(nonce, plaintext.encode(), associated_data)
        return BOUND_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, associated_data: bytes | None = None) -> str:
        """The plaintext; `SecretDecryptError` when no key fits, the data was altered, or
        a bound token is opened with other associated data."""
        if ciphertext.startswith(BOUND_PREFIX):
            return self._open_bound(ciphertext, associated_data or b"")
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptError("stored secret cannot be decrypted") from exc

    def is_bound(self, ciphertext: str) -> bool:
        """Whether `ciphertext` is sealed to associated data (not a legacy Fernet token)."""
        return ciphertext.startswith(BOUND_PREFIX)

    def rotate(self, ciphertext: str, associated_data: bytes | None = None) -> str:
        """The same secret re-encrypted under the newest key (bound when given data)."""
        return self.encrypt(self.decrypt(ciphertext, associated_data), associated_data)

    def _open_bound(self, ciphertext: str, associated_data: bytes) -> str:
        try:
            raw = base64.urlsafe_b64decode(ciphertext[len(BOUND_PREFIX) :].encode())
        except (binascii.Error, ValueError) as exc:
            raise SecretDecryptError("stored secret cannot be decrypted") from exc
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, sealed, associated_data).decode()
            except (InvalidTag, ValueError):
                continue
        raise SecretDecryptError("stored secret cannot be decrypted")


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
