"""What workers tell us is encrypted in the application before it reaches Redis.

AES-256-GCM (the ``cryptography`` package) with a random 96-bit nonce per value. A sealed
text reads ``enc1:<key id>:<base64 of nonce and ciphertext>``; sealed bytes are the same
prefix followed by the raw nonce and ciphertext. The key id (8 hex digits of the key's
SHA-256) says which key of the keyring opens it: the first key seals, every key opens, so
a new key can come in front while older values are re-encrypted (``helpline keys
rotate``). A value without the prefix was stored before encryption was on and is read
as it is.

The keyring comes from HELPLINE_DATA_KEY (base64 keys, comma-separated, the current one
first) or, when that is unset, from ``data.key`` in the data folder - created on first
use, readable by the owner only. Every bot process of one helpline needs the same keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1:"
_BYTES_PREFIX = PREFIX.encode()
KEY_FILE = "data.key"


class SealError(ValueError):
    """A sealed value that no key of the keyring opens (or that was tampered with)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def parse_keys(text: str) -> list[bytes]:
    keys = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            key = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("a data key must be 32 bytes in base64") from exc
        if len(key) != 32:
            raise ValueError("a data key must be 32 bytes in base64")
        keys.append(key)
    return keys


@dataclass(frozen=True)
class Sealer:
    keys: tuple[bytes, ...]

    @classmethod
    def plain(cls) -> Sealer:
        """No encryption (tools and tests that write plain data on purpose)."""
        return cls(())

    @classmethod
    def load(cls, configured: str | None, data_dir: Path) -> Sealer:
        """The keyring: HELPLINE_DATA_KEY, else the data folder's key file (created)."""
        if configured:
            return cls(tuple(parse_keys(configured)))
        return cls(tuple(parse_keys(_key_file(data_dir))))

    @property
    def on(self) -> bool:
        return bool(self.keys)

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0]) if self.keys else ""

    def _key(self, kid: str) -> bytes:
        for key in self.keys:
            if key_id(key) == kid:
                return key
        raise SealError(f"no key {kid} in the keyring (HELPLINE_DATA_KEY / data.key)")

    def seal(self, text: str) -> str:
        if not self.keys:
            return text
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, text.encode(), None)
        return f"{PREFIX}{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def unseal(self, value: str | bytes) -> str:
        text = value.decode() if isinstance(value, bytes) else value
        if not text.startswith(PREFIX):
            return text
        kid, _, body = text[len(PREFIX) :].partition(":")
        raw = base64.b64decode(body)
        try:
            return AESGCM(self._key(kid)).decrypt(raw[:12], raw[12:], None).decode()
        except InvalidTag as exc:
            raise SealError("a sealed value does not open: tampered, or the wrong key") from exc

    def seal_bytes(self, data: bytes) -> bytes:
        if not self.keys:
            return data
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, data, None)
        return _BYTES_PREFIX + self.current_id.encode() + b":" + nonce + sealed

    def unseal_bytes(self, data: bytes) -> bytes:
        if not data.startswith(_BYTES_PREFIX):
            return data
        head = data[len(_BYTES_PREFIX) :]
        kid, raw = head[:8].decode(), head[9:]
        try:
            return AESGCM(self._key(kid)).decrypt(raw[:12], raw[12:], None)
        except InvalidTag as exc:
            raise SealError("a sealed value does not open: tampered, or the wrong key") from exc

    def sealed_with(self, value: str | bytes) -> str | None:
        """The key id a value was sealed with (None: not sealed)."""
        head = value if isinstance(value, bytes) else value.encode()
        if not head.startswith(_BYTES_PREFIX):
            return None
        return head[len(_BYTES_PREFIX) : len(_BYTES_PREFIX) + 8].decode(errors="replace")


def _key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()  # another process made it a moment ago
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def add_key_to_file(data_dir: Path) -> str:
    """A new current key in front of the data folder's keyring; returns it."""
    path = data_dir / KEY_FILE
    old = path.read_text() if path.exists() else ""
    key = new_key()
    fd = os.open(path.with_suffix(".new"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n" + old)
    os.replace(path.with_suffix(".new"), path)
    return key


def drop_old_keys_from_file(data_dir: Path) -> int:
    path = data_dir / KEY_FILE
    keys = parse_keys(path.read_text())
    fd = os.open(path.with_suffix(".new"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(keys[0]).decode() + "\n")
    os.replace(path.with_suffix(".new"), path)
    return len(keys) - 1
