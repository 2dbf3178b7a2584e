"""The access log written without records prints the lines uvicorn's logger prints."""

from __future__ import annotations

import inspect
import io
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from trailkeeper import logredact
from trailkeeper.api.accesslog import ACCESS_FORMAT, ACCESS_MESSAGE, AccessLog

_names = itertools.count()


@contextmanager
def _access_logger(*, use_colors: bool = False) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger set up as uvicorn's ``LOGGING_CONFIG`` sets up ``uvicorn.access``."""
    logredact.install()  # as create_app does
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter(ACCESS_FORMAT, use_colors=use_colors))
    logger = logging.getLogger(f"test.accesslog.{next(_names)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def _both(args: tuple[Any, ...], *, use_colors: bool = False) -> tuple[str, str]:
    """What uvicorn's logger prints for ``args``, and what :class:`AccessLog` prints."""
    with _access_logger(use_colors=use_colors) as (logger, by_logger):
        logger.info(ACCESS_MESSAGE, *args)
    with _access_logger(use_colors=use_colors) as (logger, by_access_log):
        AccessLog(logger).info(ACCESS_MESSAGE, *args)
    return by_logger.getvalue(), by_access_log.getvalue()


_SPECIAL = [
    "?", "&", ";", "=", "@", "#", '"', " ", "\t", "://", "%22", "/", "q", "token", "signature",
    "actor", "X-Amz-Signature", "ip", "https", "user:pw", "é",
]  # fmt: skip
_piece = st.one_of(st.sampled_from(_SPECIAL), st.text(max_size=4))
_text = st.lists(_piece, max_size=12).map("".join)
_args = st.tuples(
    st.one_of(st.just(""), st.just("127.0.0.1:5123"), st.just("[::1]:80"), _text),
    st.one_of(st.sampled_from(["GET", "POST", "DELETE", "HEAD"]), _text),
    st.one_of(st.just("/v1/events"), st.just("/v1/events?q=Ana&actor=a@b.c&limit=5"), _text),
    st.one_of(st.sampled_from(["1.0", "1.1", "2"]), _text),
    st.integers(100, 599),
)


@given(_args)
def test_lines_are_uvicorns(args: tuple[Any, ...]) -> None:
    by_logger, by_access_log = _both(args)
    assert by_access_log == by_logger


def test_secret_query_values_are_redacted() -> None:
    args = ("10.0.0.1:9", "GET", "/v1/downloads/a.csv?expires=9&signature=sig&x=1", "1.1", 200)
    by_logger, by_access_log = _both(args)
    assert by_access_log == by_logger
    assert by_access_log == (
        'INFO:     10.0.0.1:9 - "GET /v1/downloads/a.csv?expires=9&signature=[redacted]&x=1'
        ' HTTP/1.1" 200 OK\n'
    )


@pytest.mark.parametrize("status", [99, 600, 799])
def test_statuses_uvicorn_has_no_line_for_go_through_the_logger(status: int) -> None:
    by_logger, by_access_log = _both(("127.0.0.1:1", "GET", "/", "1.1", status))
    assert by_access_log == by_logger


def test_colours_go_through_the_logger() -> None:
    args = ("127.0.0.1:1", "POST", "/v1/events?q=x", "1.1", 201)
    by_logger, by_access_log = _both(args, use_colors=True)
    assert "\x1b[" in by_access_log
    assert by_access_log == by_logger


def test_the_plain_set_up_makes_no_record(monkeypatch: pytest.MonkeyPatch) -> None:
    with _access_logger() as (logger, stream):

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("a record was made")

        monkeypatch.setattr(logger, "info", refuse)
        monkeypatch.setattr(logger, "makeRecord", refuse)
        AccessLog(logger).info(ACCESS_MESSAGE, "127.0.0.1:1", "POST", "/v1/events", "1.1", 201)
    assert stream.getvalue() == 'INFO:     127.0.0.1:1 - "POST /v1/events HTTP/1.1" 201 Created\n'


def test_another_set_up_goes_through_the_logger() -> None:
    with _access_logger() as (logger, stream):
        extra = io.StringIO()
        logger.addHandler(logging.StreamHandler(extra))
        AccessLog(logger).info(ACCESS_MESSAGE, "127.0.0.1:1", "GET", "/?token=t", "1.1", 200)
    assert "[redacted]" in stream.getvalue()
    assert extra.getvalue() == '127.0.0.1:1 - "GET /?token=[redacted] HTTP/1.1" 200\n'


def test_a_logger_not_at_info_writes_nothing() -> None:
    with _access_logger() as (logger, stream):
        logger.setLevel(logging.WARNING)
        AccessLog(logger).info(ACCESS_MESSAGE, "127.0.0.1:1", "GET", "/", "1.1", 200)
    assert stream.getvalue() == ""


def test_uvicorn_logs_with_this_format_and_message() -> None:
    """If uvicorn changes either, the fast way would never be taken: this says so."""
    assert LOGGING_CONFIG["formatters"]["access"]["fmt"] == ACCESS_FORMAT
    assert repr(ACCESS_MESSAGE)[1:-1] in inspect.getsource(RequestResponseCycle.send)
