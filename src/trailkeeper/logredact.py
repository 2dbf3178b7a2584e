"""Secrets and search terms never reach a log line.

Signed download links are valid for an hour without a token, webhook URLs may
carry credentials in their query strings, and search terms and actor filters
are personal data. ``install`` wraps the process's log record factory, so every
record, from every logger (uvicorn's access log, httpx's request log, ours), is
redacted when it is made, whatever handler or formatter later prints it."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

__all__ = ["REDACTED", "install", "makes_records", "redact"]

REDACTED = "[redacted]"
# Query parameters whose values are secrets or personal data, in request paths.
_SECRET_PARAMS = (
    "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "token", "access_token", "api_key", "apikey", "key", "secret", "password",
    "q", "actor", "ip",
)  # fmt: skip
_PARAM = re.compile(
    r"(?<=[?&;])(" + "|".join(map(re.escape, _SECRET_PARAMS)) + r")=[^&;\s\"'#]*",
    re.IGNORECASE,
)
# A whole URL (outbound: webhooks, S3): drop its credentials and its whole query string.
_URL_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s\"'<>#]*", re.IGNORECASE)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@\"'<>]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with secret query values, outbound query strings and userinfo replaced."""
    if "?" not in text and "@" not in text:
        return text
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _URL_QUERY.sub(rf"\1?{REDACTED}", text)
    return _PARAM.sub(rf"\1={REDACTED}", text)


def _redact_arg(value: Any) -> Any:
    """Strings and objects that print as text (httpx.URL, exceptions) are redacted;
    numbers stay numbers, so ``%d`` in the message still works."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def _scrub(record: logging.LogRecord) -> None:
    record.msg = _redact_arg(record.msg)
    if isinstance(record.args, dict):
        record.args = {key: _redact_arg(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_redact_arg(value) for value in record.args)
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatters print exc_text when it is set: format the traceback once, redacted.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())


def install() -> None:
    """Redact every record this process makes from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "trailkeeper_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _scrub(record)
        return record

    factory.trailkeeper_redacts = True  # type: ignore[attr-defined]
    factory.trailkeeper_wraps = current  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def makes_records() -> bool:
    """Whether every record is made by ``install``'s factory over the standard one: then a
    record's text is :func:`redact` of each of its arguments, as a writer that bypasses
    records (``api/accesslog.py``) must write it."""
    factory = logging.getLogRecordFactory()
    return getattr(factory, "trailkeeper_wraps", None) is logging.LogRecord
