"""Encryption of owners' Vendista credentials and tokens (Fernet, rotatable keys)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = tuple(settings.VENDISTA_ENCRYPTION_KEYS)
    if not keys:
        # DEV only (PROD refuses to start without keys): a key derived from SECRET_KEY.
        digest = hashlib.sha256(f"vendista:{settings.SECRET_KEY}".encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    return _multi_fernet(keys)


@cache
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(value: str) -> str:
    """Encrypt with the newest key; empty stays empty."""
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(value: str) -> str:
    """Decrypt with any configured key; raises `DecryptionError`."""
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored Vendista secret cannot be decrypted") from exc


def rotate(value: str) -> str:
    """Re-encrypt a stored value with the newest key; raises `DecryptionError`."""
    if not value:
        return ""
    try:
        return _fernet().rotate(value.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored Vendista secret cannot be decrypted") from exc
