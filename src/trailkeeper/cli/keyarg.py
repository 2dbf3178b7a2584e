"""``--public-key``: the verifier key as text, as ``@FILE``, or as a path to a file.

Auditors receive keys as files (``trailkeeper keys show > key.pub``); the text form is
what ``keys show`` prints."""

from __future__ import annotations

from pathlib import Path

__all__ = ["KEY_HELP", "KeyFileError", "key_argument"]

KEY_HELP = "Verifier key (name+id+key, as `keys show` prints it), or @FILE or a file holding it"


class KeyFileError(ValueError):
    """The file named for the key cannot be read."""


def key_argument(value: str) -> str:
    """The key text behind ``value``."""
    text = value.strip()
    if text.startswith("@"):
        return _read(Path(text[1:]))
    candidate = Path(text)
    if "+" not in candidate.name and candidate.is_file():
        return _read(candidate)
    return text


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KeyFileError(f"cannot read the key file {path}: {reason}") from None
