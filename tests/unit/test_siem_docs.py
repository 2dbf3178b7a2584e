"""The stream bodies printed in docs/siem/ are ones trailkeeper accepts: each page's
example under "The stream" passes the same validation as ``POST /v1/streams`` (as
printed, placeholders included), and the config of its command-line template names
exactly the settings of its type, every required one among them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trailkeeper.streams.config import CONFIGS, TYPES, parse_config, parse_request

SIEM = Path(__file__).resolve().parents[2] / "docs" / "siem"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize("kind", TYPES)
def test_the_pages_stream_example_is_accepted(kind: str) -> None:
    stream = section((SIEM / f"{kind}.md").read_text(encoding="utf-8"), "The stream")
    examples = [body for lang, body in BLOCK.findall(stream) if lang == "json"]
    assert len(examples) == 1, kind
    request = parse_request(json.loads(examples[0]))
    assert request.type == kind
    parse_config(kind, request.config)


@pytest.mark.parametrize("kind", TYPES)
def test_the_pages_command_line_config_names_the_types_settings(kind: str) -> None:
    stream = section((SIEM / f"{kind}.md").read_text(encoding="utf-8"), "The stream")
    (command,) = [body for lang, body in BLOCK.findall(stream) if lang == "sh"]
    match = re.search(r"^echo '(\{.*\})' > (\S+)$", command, re.MULTILINE)
    assert match is not None, command
    config, file = json.loads(match.group(1)), match.group(2)
    assert f"--type {kind} " in command
    assert f"--config @{file} " in command
    fields = CONFIGS[kind].model_fields
    assert set(config) <= set(fields), set(config) - set(fields)
    required = {name for name, field in fields.items() if field.is_required()}
    assert required <= set(config), required - set(config)
