"""C2SP signed notes with Ed25519 keys, and the Go / Tessera key-string formats.

A signed note is text followed by a blank line and ``— <key name> <base64(key id || sig)>``
lines. Verifiers skip signatures from keys they do not know (that is what makes witness
cosigning and key rotation work), must verify the ones they know, and accept the note only if
at least one known key signed it. See https://c2sp.org/signed-note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import NoteError

__all__ = [
    "SIGTYPE_ED25519",
    "Signer",
    "Verifier",
    "generate_signer_key",
    "key_id",
    "open_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "verifier_key_from_signer_key",
]

SIGTYPE_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

MAX_SIGNATURES = 100
"""More signature lines than this are refused, bounding the work one note can cause (≥ 16)."""

_SIG_PREFIX = "\u2014 "
_KEY_ID_RE = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64


def key_id(name: str, sigtype: int, public_key: bytes) -> int:
    """Key ID: the first 4 bytes of SHA-256(name || 0x0A || sigtype || public key), big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sigtype]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


class Verifier:
    """An Ed25519 public key under a key name, able to check note signatures."""

    __slots__ = ("_key", "_key_id", "_name", "_public_key")

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_name(name)
        if len(public_key) != _ED25519_KEY_SIZE:
            raise NoteError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
        self._name = name
        self._public_key = bytes(public_key)
        self._key_id = key_id(name, SIGTYPE_ED25519, self._public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public_key)

    @property
    def name(self) -> str:
        """The key name that signature lines carry."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID that prefixes each signature."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_key

    @property
    def key_string(self) -> str:
        """``<name>+<8-hex key id>+<base64(0x01 || public key)>``, as ``keys show`` prints it."""
        encoded = _b64(bytes([SIGTYPE_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Say whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != _ED25519_SIG_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.key_string!r})"


class Signer:
    """An Ed25519 private key under a key name, producing note signature lines."""

    __slots__ = ("_key", "_key_id", "_name", "_public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self._name = name
        self._key = private_key
        self._public_key = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, SIGTYPE_ED25519, self._public_key)

    @property
    def name(self) -> str:
        """The key name written on signature lines."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written before each signature."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_key

    @classmethod
    def generate(cls, name: str) -> Signer:
        """Make a signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def key_string(self) -> str:
        """``PRIVATE+KEY+<name>+<8-hex key id>+<base64(0x01 || seed)>``; keep it secret."""
        encoded = _b64(bytes([SIGTYPE_ED25519]) + self._key.private_bytes_raw())
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{encoded}"

    def verifier(self) -> Verifier:
        """The matching verifier, to publish."""
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with Ed25519 (deterministic, RFC 8032)."""
        return self._key.sign(message)

    def signature_line(self, text: str) -> str:
        """The ``— name base64(key id || signature)`` line, newline included, for ``text``."""
        signature = self.key_id.to_bytes(4, "big") + self.sign(text.encode())
        return f"{_SIG_PREFIX}{self.name} {_b64(signature)}\n"

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def generate_signer_key(name: str) -> str:
    """Make a new random Ed25519 signer key string for ``name``."""
    return Signer.generate(name).key_string


def parse_signer_key(key: str) -> Signer:
    """Parse a ``PRIVATE+KEY+…`` string, checking that its key id matches the derived public key."""
    parts = key.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteError("malformed signer key: expected PRIVATE+KEY+<name>+<key id>+<key>")
    name, hex_id, seed = _parse_key_parts(parts[2], parts[3], parts[4], "signer")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(seed))
    if signer.key_id != int(hex_id, 16):
        raise NoteError(f"signer key id {hex_id} does not match its key")
    return signer


def parse_verifier_key(key: str) -> Verifier:
    """Parse a ``<name>+<key id>+<base64>`` verifier key, checking that its key id matches."""
    parts = key.split("+", 2)
    if len(parts) != 3:
        raise NoteError("malformed verifier key: expected <name>+<key id>+<key>")
    name, hex_id, public_key = _parse_key_parts(parts[0], parts[1], parts[2], "verifier")
    verifier = Verifier(name, public_key)
    if verifier.key_id != int(hex_id, 16):
        raise NoteError(f"verifier key id {hex_id} does not match its key")
    return verifier


def verifier_key_from_signer_key(key: str) -> str:
    """Derive the public verifier key string from a signer key string."""
    return parse_signer_key(key).verifier().key_string


def _parse_key_parts(name: str, hex_id: str, encoded: str, kind: str) -> tuple[str, str, bytes]:
    """Validate the name, key id and base64 key of a key string; return the raw Ed25519 key."""
    _check_name(name)
    if not _KEY_ID_RE.fullmatch(hex_id):
        raise NoteError(f"malformed {kind} key: key id must be 8 hex digits")
    raw = _unb64(encoded, f"{kind} key")
    if not raw:
        raise NoteError(f"malformed {kind} key: empty key")
    if raw[0] != SIGTYPE_ED25519:
        raise NoteError(f"unsupported {kind} key algorithm 0x{raw[0]:02x}")
    if len(raw) != 1 + _ED25519_KEY_SIZE:
        raise NoteError(f"malformed {kind} key: Ed25519 keys have 32 bytes, got {len(raw) - 1}")
    return name, hex_id, raw[1:]


def sign_note(text: str, signer: Signer, *more: Signer) -> str:
    """Sign ``text`` (which must end in a newline) and return the signed note."""
    _check_text(text)
    lines = [s.signature_line(text) for s in (signer, *more)]
    return text + "\n" + "".join(lines)


def open_note(note: str | bytes, verifiers: Verifier | Iterable[Verifier]) -> str:
    """Check a signed note against known keys; return its text (with the final newline).

    Signatures by unknown keys are ignored; a bad signature by a known key, or no signature by
    any known key, is an error.
    """
    known = _index_verifiers(verifiers)
    note = _decode(note)
    _check_chars(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    message = text.encode()
    verified = 0
    for line in lines:
        name, kid, signature = _parse_signature_line(line)
        verifier = known.get((name, kid))
        if verifier is None:
            continue
        if not verifier.verify(message, signature):
            raise NoteError(f"invalid signature for key {name}+{kid:08x}")
        verified += 1
    if not verified:
        raise NoteError("note has no signature from a known key")
    return text


def _parse_signature_line(line: str) -> tuple[str, int, bytes]:
    """Split ``— name base64`` into the name, the key id and the signature bytes."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note: signature lines start with an em dash and a space")
    name, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not encoded:
        raise NoteError("malformed note: signature line needs a key name and a signature")
    _check_name(name)
    raw = _unb64(encoded, "signature")
    if len(raw) < 5:
        raise NoteError("malformed note: signature is too short")
    return name, int.from_bytes(raw[:4], "big"), raw[4:]


def _index_verifiers(verifiers: Verifier | Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    """Map (name, key id) to verifier; two different keys under one pair are ambiguous."""
    items = [verifiers] if isinstance(verifiers, Verifier) else list(verifiers)
    known: dict[tuple[str, int], Verifier] = {}
    for v in items:
        other = known.setdefault((v.name, v.key_id), v)
        if other.public_key != v.public_key:
            raise NoteError(f"ambiguous key {v.name}+{v.key_id:08x}")
    return known


def _check_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces, control characters or '+'."""
    if not name:
        raise NoteError("key name must not be empty")
    if "+" in name or any(c.isspace() or c < " " for c in name):
        raise NoteError(f"key name {name!r} must not contain spaces, control characters or '+'")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_chars(text)


def _check_chars(s: str) -> None:
    """Notes are UTF-8 with no ASCII control characters other than newline."""
    if _CONTROL_RE.search(s):
        raise NoteError("malformed note: control characters other than newline are not allowed")
    try:
        s.encode()
    except UnicodeEncodeError as exc:
        raise NoteError("malformed note: not valid UTF-8") from exc


def _decode(note: str | bytes) -> str:
    if isinstance(note, str):
        return note
    try:
        return note.decode()
    except UnicodeDecodeError as exc:
        raise NoteError("malformed note: not valid UTF-8") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(encoded: str, what: str) -> bytes:
    """Strict standard base64: right alphabet, right padding, canonical encoding."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"malformed {what}: invalid base64") from exc
    if _b64(raw) != encoded:
        raise NoteError(f"malformed {what}: non-canonical base64")
    return raw
