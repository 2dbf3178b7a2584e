"""The deployment key: encrypts stored secrets and derives the cursor MAC key.

Given as ``TRAILKEEPER_SECRET_KEY`` or made once under the data dir (mode 0600).
There is no default key: a deployment that shares a database across hosts must
share this key, and the docs say so."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trailkeeper.private_files import read_or_create
from trailkeeper.settings import Settings

__all__ = ["DeploymentKey", "DeploymentKeyError", "DeploymentKeyMismatch", "load_deployment_key"]

KEY_FILE = "secret.key"
_NONCE = 12


class DeploymentKeyError(ValueError):
    """The deployment key is missing, malformed, or not this deployment's."""


class DeploymentKeyMismatch(DeploymentKeyError):
    pass


class DeploymentKey:
    def __init__(self, master: bytes) -> None:
        if len(master) < 32:
            raise DeploymentKeyError("the deployment secret key must be at least 32 bytes")
        self._master = master
        self._aead = AESGCM(self.derive(b"trailkeeper secrets v1"))

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte key for one purpose, so no key is used for two jobs."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            self._master
        )

    def fingerprint(self) -> bytes:
        """Identifies the key without revealing it (stored in the database)."""
        return self.derive(b"trailkeeper key fingerprint v1")[:16]

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), None)

    def open(self, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], None).decode()


def load_deployment_key(settings: Settings) -> DeploymentKey:
    if settings.secret_key is not None:
        text = settings.secret_key.get_secret_value()
        try:
            return DeploymentKey(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise DeploymentKeyError(
                f"TRAILKEEPER_SECRET_KEY must be base64 of 32 or more random bytes ({exc}); "
                "make one with: openssl rand -base64 32"
            ) from None
    return DeploymentKey(_key_file(settings.data_dir / KEY_FILE))


def _key_file(path: Path) -> bytes:
    """Read the key file, or create it (mode 0600) with 32 random bytes."""
    text = read_or_create(path, lambda: base64.b64encode(os.urandom(32)).decode())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DeploymentKeyError(f"{path} is not a valid key file (base64 expected)") from None
