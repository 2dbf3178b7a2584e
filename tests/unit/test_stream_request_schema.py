"""The published schema of ``POST /v1/streams`` refuses what the server refuses: NUL in any
string, and a username or password without the other (null counts as absent)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from trailkeeper.errors import InvalidRequest
from trailkeeper.streams.config import parse_config, parse_request
from trailkeeper.streams.request_schema import stream_request_schema

SCHEMA = stream_request_schema()
ELASTIC = {"url": "https://93.184.215.14", "index": "audit"}


def _valid(body: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(SCHEMA).is_valid(body)


def _accepted(body: dict[str, Any]) -> bool:
    try:
        request = parse_request(body)
        parse_config(request.type, request.config)
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"name": "d", "type": "datadog", "config": {"api_key": "k", "tags": ["a"]}}, True),
        ({"name": "d", "type": "datadog", "config": {"api_key": "k", "tags": ["\x00"]}}, False),
        ({"name": "d\x00", "type": "datadog", "config": {"api_key": "k"}}, False),
        ({"name": "e", "type": "elasticsearch", "config": {**ELASTIC, "index": "a\x00"}}, False),
        ({"name": "e", "type": "elasticsearch", "config": ELASTIC}, True),
        (
            {
                "name": "e",
                "type": "elasticsearch",
                "config": {**ELASTIC, "username": "u", "password": "p"},
            },
            True,
        ),
        (
            {
                "name": "e",
                "type": "elasticsearch",
                "config": {**ELASTIC, "username": "u", "password": None},
            },
            False,
        ),
        (
            {
                "name": "e",
                "type": "elasticsearch",
                "config": {**ELASTIC, "api_key": None, "username": "u", "password": "p"},
            },
            True,
        ),
        (
            {
                "name": "e",
                "type": "elasticsearch",
                "config": {**ELASTIC, "api_key": "k", "username": "u", "password": "p"},
            },
            False,
        ),
    ],
)
def test_the_schema_and_the_server_agree(body: dict[str, Any], valid: bool) -> None:
    assert _valid(body) is valid
    assert _accepted(body) is valid
