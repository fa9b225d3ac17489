"""Encryption of personal data at rest, per tenant, with blind indexes for exact search.

- A master key (32 bytes) wraps each tenant's data key (AES key wrap, RFC 3394).
- Field values are encrypted with AES-256-GCM under the tenant's data key; the
  associated data binds each ciphertext to its tenant and field, so a ciphertext copied
  into another row's field or another tenant fails to decrypt.
- A blind index is HMAC-SHA256 over the normalised value with a key derived (HKDF) from
  the data key: equal values match, nothing about the value is revealed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

KEY_BYTES = 32
NONCE_BYTES = 12
BLIND_INDEX_BYTES = 16
"""128 bits of HMAC output: collisions are negligible at any tenant's size."""


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or does not unwrap a tenant's key."""


def load_or_create_master_key(configured: str, key_file: Path) -> bytes:
    """The master key from configuration (base64), else from `key_file`, created 0600."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise MasterKeyError("KAKIN_MASTER_KEY is not valid base64") from exc
        if len(key) != KEY_BYTES:
            raise MasterKeyError("KAKIN_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    if key_file.exists():
        key = base64.b64decode(key_file.read_text().strip())
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"{key_file} does not hold a 32-byte key")
        return key
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key


def new_wrapped_data_key(master_key: bytes) -> bytes:
    return aes_key_wrap(master_key, os.urandom(KEY_BYTES))


def unwrap_data_key(master_key: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(master_key, wrapped)
    except InvalidUnwrap as exc:
        raise MasterKeyError("the master key does not unwrap this tenant's data key") from exc


class FieldCipher:
    """Encrypts, decrypts and blind-indexes one tenant's field values."""

    def __init__(self, tenant_id: str, data_key: bytes) -> None:
        self._tenant = tenant_id.encode()
        self._aead = AESGCM(data_key)
        self._index_key = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"kakin blind index"
        ).derive(data_key)

    def _aad(self, field: str) -> bytes:
        return self._tenant + b"|" + field.encode()

    def encrypt(self, field: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode(), self._aad(field))

    def decrypt(self, field: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(field)).decode()

    def blind_index(self, field: str, normalised: str | None) -> str | None:
        if normalised is None:
            return None
        # hmac.digest is the one-shot C path: several times faster than hmac.new() in bulk.
        mac = hmac.digest(self._index_key, field.encode() + b"|" + normalised.encode(), "sha256")
        return mac[:BLIND_INDEX_BYTES].hex()


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (tokens): a fast, exact lookup key.

    Passwords and client secrets chosen by people use argon2 instead; tokens are 256
    random bits, for which a plain hash is the standard (RFC 6819 §5.1.4.1.3).
    """
    return hashlib.sha256(secret.encode()).hexdigest()
