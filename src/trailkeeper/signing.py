"""The checkpoint signing key (Ed25519, C2SP signer key format).

Given as ``TRAILKEEPER_SIGNING_KEY`` or made once under the data dir as
``signing.key`` (mode 0600). Every process of a deployment must use the same key."""

from __future__ import annotations

from trailkeeper.integrity import IntegrityError, Signer, generate_signer_key, parse_signer_key
from trailkeeper.private_files import read_or_create
from trailkeeper.settings import Settings

__all__ = ["SIGNING_KEY_FILE", "SigningKeyError", "load_signer"]

SIGNING_KEY_FILE = "signing.key"


class SigningKeyError(ValueError):
    """The signing key is malformed."""


def load_signer(settings: Settings) -> Signer:
    if settings.signing_key is not None:
        text, origin = settings.signing_key.get_secret_value(), "TRAILKEEPER_SIGNING_KEY"
    else:
        path = settings.data_dir / SIGNING_KEY_FILE
        text = read_or_create(path, lambda: generate_signer_key(settings.key_name))
        origin = str(path)
    try:
        return parse_signer_key(text)
    except (IntegrityError, ValueError) as exc:
        raise SigningKeyError(f"{origin} is not a valid signer key: {exc}") from None
