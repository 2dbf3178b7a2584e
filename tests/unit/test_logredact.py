"""Redaction of log records: every logger, args kept in shape, tracebacks included."""

from __future__ import annotations

import io
import logging

import httpx

from trailkeeper import logredact


def _logged(emit: object) -> str:
    logredact.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.logredact")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        emit(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_access_log_shape_is_kept_and_secret_values_go() -> None:
    text = _logged(
        lambda log: log.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5",
            "GET",
            "/v1/downloads/a.csv?expires=9&signature=sigvalue&x=1",
            "1.1",
            200,
        )
    )
    assert "sigvalue" not in text
    assert "expires=9&signature=[redacted]&x=1" in text
    assert text.endswith(" 200\n")


def test_outbound_urls_lose_query_strings_and_credentials() -> None:
    url = httpx.URL("https://user:pw@hooks.example.com/audit?token=abc&v=2")
    text = _logged(lambda log: log.info("HTTP Request: %s %s", "POST", url))
    assert "abc" not in text
    assert "pw" not in text
    assert "https://[redacted]@hooks.example.com/audit?[redacted]" in text


def test_s3_presigned_urls_in_tracebacks_are_redacted() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise RuntimeError("GET https://b.s3.amazonaws.com/k?X-Amz-Signature=s3sig failed")
        except RuntimeError:
            log.exception("upload failed")

    text = _logged(emit)
    assert "s3sig" not in text
    assert "Traceback" in text
    assert "?[redacted]" in text


def test_search_terms_in_request_paths() -> None:
    text = _logged(lambda log: log.info("GET /v1/events?limit=5&q=Ana%20S&actor=ana@example.com"))
    assert "Ana" not in text
    assert "ana@" not in text
    assert "limit=5&q=[redacted]&actor=[redacted]" in text
