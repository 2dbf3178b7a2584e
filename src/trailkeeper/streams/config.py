"""What a stream may be configured with (CONTRACT section 5, "Streams to SIEMs").

One strict model per destination type: unknown keys, wrong types and missing
settings are each a 400 that names the field. Fields listed in ``SECRETS`` are
write-only: they are split off, sealed, and never shown again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from trailkeeper.errors import InvalidRequest
from trailkeeper.exports.request import FILTER_KEYS

__all__ = [
    "CONFIGS",
    "FORMATS",
    "SECRETS",
    "TYPES",
    "AzureMonitorConfig",
    "DatadogConfig",
    "ElasticsearchConfig",
    "S3Config",
    "SplunkHecConfig",
    "StreamRequest",
    "SyslogConfig",
    "WebhookConfig",
    "invalid",
    "parse_config",
    "parse_request",
]

StreamType = Literal[
    "splunk_hec", "datadog", "elasticsearch", "azure_monitor", "s3", "syslog", "webhook"
]
Format = Literal["native", "ocsf", "cef"]
TYPES: tuple[str, ...] = StreamType.__args__  # type: ignore[attr-defined]
FORMATS: tuple[str, ...] = Format.__args__  # type: ignore[attr-defined]


def _url() -> Any:
    return Field(min_length=1, max_length=2048)


def _secret(*default: None) -> Any:
    """Required, or optional when given the default ``None``."""
    return Field(*default, min_length=1, max_length=4096)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DCR = re.compile(r"^dcr-[0-9a-f]{32}$")
_HOST = re.compile(r"^[A-Za-z0-9.:\-\[\]]{1,255}$")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SplunkHecConfig(_Config):
    url: str = _url()
    token: str = _secret()
    index: str | None = Field(None, min_length=1, max_length=128)
    sourcetype: str = Field("trailkeeper:audit", min_length=1, max_length=128)
    verify_tls: bool = True


class DatadogConfig(_Config):
    url: str = Field("https://http-intake.logs.datadoghq.com", min_length=1, max_length=2048)
    api_key: str = _secret()
    service: str = Field("trailkeeper", min_length=1, max_length=256)
    tags: list[str] = Field(default_factory=list, max_length=100)


class ElasticsearchConfig(_Config):
    model_config = ConfigDict(
        json_schema_extra={  # _one_credential, as JSON Schema says it
            # username and password come together, and null is as good as absent
            "allOf": [
                {
                    "if": {"properties": {one: {"type": "string"}}, "required": [one]},
                    "then": {"properties": {other: {"type": "string"}}, "required": [other]},
                }
                for one, other in (("username", "password"), ("password", "username"))
            ],
            "not": {
                "properties": {"api_key": {"type": "string"}, "username": {"type": "string"}},
                "required": ["api_key", "username"],
            },
        }
    )

    url: str = _url()
    index: str = Field(min_length=1, max_length=255, pattern=r"^[^A-Z\\/*?\"<>| ,#:]+$")
    api_key: str | None = _secret(None)
    username: str | None = Field(None, min_length=1, max_length=256)
    password: str | None = _secret(None)

    @model_validator(mode="after")
    def _one_credential(self) -> ElasticsearchConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("give 'username' and 'password' together")
        if self.api_key is not None and self.username is not None:
            raise ValueError("give either 'api_key' or 'username' + 'password', not both")
        return self


class AzureMonitorConfig(_Config):
    endpoint: str = _url()
    dcr_immutable_id: str = Field(max_length=64, pattern=_DCR.pattern)
    stream_name: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_\-]+$")
    tenant_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9.\-]+$")
    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str = _secret()
    authority_url: str = Field("https://login.microsoftonline.com", min_length=1, max_length=2048)

    @field_validator("dcr_immutable_id")
    @classmethod
    def _dcr(cls, value: str) -> str:
        if not _DCR.match(value):
            raise ValueError("a data collection rule's immutable id looks like dcr-<32 hex digits>")
        return value


class S3Config(_Config):
    bucket: str = Field(min_length=3, max_length=63, pattern=_BUCKET.pattern)
    prefix: str = Field("", max_length=512)
    region: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9\-]+$")
    endpoint_url: str | None = Field(None, min_length=1, max_length=2048)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError("not a valid S3 bucket name (3-63 of a-z 0-9 . -)")
        return value


class SyslogConfig(_Config):
    model_config = ConfigDict(  # _ca_with_tls, as JSON Schema says it
        json_schema_extra={
            "if": {"required": ["ca_file"]},
            "then": {"properties": {"protocol": {"const": "tls"}}},
        }
    )

    host: str = Field(min_length=1, max_length=255, pattern=_HOST.pattern)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "tls"]
    ca_file: str | None = Field(None, min_length=1, max_length=4096)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError("a host name or IP address")
        return value

    @model_validator(mode="after")
    def _ca_with_tls(self) -> SyslogConfig:
        if self.ca_file is not None and self.protocol != "tls":
            raise ValueError("'ca_file' applies only to protocol 'tls'")
        return self


class WebhookConfig(_Config):
    url: str = _url()


CONFIGS: dict[str, type[_Config]] = {
    "splunk_hec": SplunkHecConfig,
    "datadog": DatadogConfig,
    "elasticsearch": ElasticsearchConfig,
    "azure_monitor": AzureMonitorConfig,
    "s3": S3Config,
    "syslog": SyslogConfig,
    "webhook": WebhookConfig,
}
SECRETS: dict[str, tuple[str, ...]] = {
    "splunk_hec": ("token",),
    "datadog": ("api_key",),
    "elasticsearch": ("api_key", "password"),
    "azure_monitor": ("client_secret",),
}
"""The write-only settings of each type: sealed at rest, never returned or logged."""


StreamStart = Annotated[
    str,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": ["now", "beginning"]},
                {"type": "string", "format": "date-time", "maxLength": 64},
            ],
            "default": "now",
            "description": "Where delivery starts: 'now', 'beginning', or an RFC 3339 time",
        }
    ),
]
"""Declared as what the service accepts (``_start_cursor``), not as any string."""


class StreamRequest(BaseModel):
    """The body of ``POST /v1/streams``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=256)
    type: StreamType
    format: Format = "native"
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    config: dict[str, Any]
    start: StreamStart = Field("now", min_length=1, max_length=64)

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(FILTER_KEYS))
        if unknown:
            raise ValueError(f"unknown filter {unknown[0][:64]!r}; known: {', '.join(FILTER_KEYS)}")
        return value


def invalid(exc: ValidationError, prefix: str, what: str) -> InvalidRequest:
    """A 400 listing every problem, each with its field path."""
    details = [
        {
            "field": ".".join([prefix, *(str(p) for p in error["loc"])]).strip(".") or None,
            "message": error["msg"],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]
    first = details[0]
    where = f"{first['field']}: " if first["field"] else ""
    return InvalidRequest(f"Invalid {what}: {where}{first['message']}", details)


def _nul_at(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The field path of the first string (or key) holding NUL, else ``None``: PostgreSQL
    cannot store it in JSON, and no destination setting has a use for it."""
    if isinstance(value, str):
        return ".".join(path) if "\x00" in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _nul_at(key, (*path, str(key))) or _nul_at(item, (*path, str(key)))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def parse_request(body: Any) -> StreamRequest:
    if not isinstance(body, Mapping):
        raise InvalidRequest("The body must be a JSON object")
    if (field := _nul_at(body)) is not None:
        message = "strings may not contain NUL (\\u0000)"
        raise InvalidRequest(
            f"Invalid stream: {field}: {message}", [{"field": field, "message": message}]
        )
    try:
        request = StreamRequest.model_validate(dict(body))
    except ValidationError as exc:
        raise invalid(exc, "", "stream") from None
    if request.format == "cef" and request.type != "syslog":
        raise InvalidRequest("Format 'cef' is for syslog streams; use 'native' or 'ocsf'")
    return request


def parse_config(kind: str, config: Mapping[str, Any]) -> _Config:
    """The validated config of a stream of type ``kind`` (secrets included)."""
    try:
        return CONFIGS[kind].model_validate(dict(config))
    except ValidationError as exc:
        raise invalid(exc, "config", f"{kind} config") from None
