"""uvicorn's access log lines, written without a log record per request.

uvicorn logs every response through ``logging`` (the ``uvicorn.access`` logger): a record
is made (and redacted, ``logredact``), handed to the handler, copied by uvicorn's formatter,
formatted and written, for one short line; on single-event requests that was a fifth of the
event loop's time (docs/benchmarks.md, "Measured reasons in the code"). :class:`AccessLog`
stands in for that logger in the server's HTTP protocol (``api/httpserver.py``): while
the logger is set up as uvicorn sets it up (one stream handler, uvicorn's access format
without colours, no filters) and ``logredact`` makes the records, it writes the same line,
redacted the same way, to the handler's stream itself; any other set-up (colours on a
terminal, a handler or filter added, another level) goes through the logger as before.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from uvicorn.logging import AccessFormatter

from trailkeeper import logredact

__all__ = ["ACCESS_FORMAT", "ACCESS_MESSAGE", "AccessLog"]

ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
"""uvicorn's format for access lines (its ``LOGGING_CONFIG``)."""
ACCESS_MESSAGE = '%s - "%s %s HTTP/%s" %d'
"""The message uvicorn's HTTP protocol logs each response with."""


def _status_text(code: int) -> str:
    """``201 Created``, as uvicorn's ``AccessFormatter`` prints a status without colours."""
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    return f"{code} {phrase}"


_STATUS = {code: _status_text(code) for code in range(100, 600)}


class AccessLog:
    """Has the ``info`` of a ``logging.Logger`` (what uvicorn calls on its access logger)."""

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def info(self, msg: str, *args: Any) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = _plain_stream(logger)
        line = None if handler is None else _line(msg, args)
        if handler is None or line is None:
            logger.info(msg, *args, stacklevel=2)  # the record names uvicorn's caller
            return
        handler.acquire()  # what Handler.handle and StreamHandler.emit do with a record
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except Exception:
            record = logger.makeRecord(logger.name, logging.INFO, "", 0, msg, args, None)
            handler.handleError(record)  # as StreamHandler.emit reports a failed write
        finally:
            handler.release()


def _plain_stream(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The logger's one handler when a record of it would go nowhere else and be formatted
    exactly as :func:`_line` does, else ``None``."""
    if logger.filters or logger.propagate or len(logger.handlers) != 1:
        return None
    handler = logger.handlers[0]
    if type(handler) is not logging.StreamHandler or handler.filters:
        return None
    if handler.level > logging.INFO:
        return None
    formatter = handler.formatter
    if type(formatter) is not AccessFormatter or formatter.use_colors:
        return None
    style = formatter._style  # the format a record would be printed with
    if type(style) is not logging.PercentStyle or style._fmt != ACCESS_FORMAT:
        return None
    if not logredact.makes_records():
        return None
    return handler


def _line(msg: str, args: tuple[Any, ...]) -> str | None:
    """The access line ``AccessFormatter`` prints for this call (redacted as ``logredact``
    redacts a record's arguments), or ``None`` for a call of another shape."""
    if msg != ACCESS_MESSAGE or len(args) != 5:
        return None
    client, method, path, version, status = args
    if type(status) is not int or status not in _STATUS:
        return None
    if not (type(client) is type(method) is type(path) is type(version) is str):
        return None
    redact = logredact.redact  # each argument, as the record factory redacts them
    level = logging.getLevelName(logging.INFO)
    prefix = level + ":" + " " * (8 - len(level))
    request_line = f"{redact(method)} {redact(path)} HTTP/{redact(version)}"
    return f'{prefix} {redact(client)} - "{request_line}" {_STATUS[status]}'
