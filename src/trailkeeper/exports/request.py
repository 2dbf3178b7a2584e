"""What an export request may ask for (CONTRACT section 5, "Exports").

Checked in the contract's order: the body's shape first, then the window rules,
and only then (in the service) the daily quota, so that a refused request never
uses quota."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trailkeeper.errors import InvalidRequest, InvalidWindow
from trailkeeper.events.query import FILTER_NAMES, EventQuery

__all__ = ["ExportRequest", "ExportSpec", "WindowRules", "parse_export_request"]

Format = Literal["jsonl", "csv", "parquet"]
Compression = Literal["none", "gzip"]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTER_KEYS = (*FILTER_NAMES, "q")


class ExportResource(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # The event's resource rules: the export's self-audit event names this resource.
    type: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=256)


class ExportRequest(BaseModel):
    """The body of ``POST /v1/exports``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Format
    compression: Compression = "none"
    start: str | None = Field(None, max_length=64)
    end: str | None = Field(None, max_length=64)
    resource: ExportResource | None = None
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    webhook_url: str | None = Field(None, max_length=2048)

    @field_validator("format", "compression", mode="before")
    @classmethod
    def _lowercase(cls, value: Any) -> Any:
        """Enumerated values are case-insensitive everywhere (GraphQL says CSV)."""
        return value.lower() if isinstance(value, str) else value

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(FILTER_KEYS))
        if unknown:
            raise ValueError(f"unknown filter {unknown[0][:64]!r}; known: {', '.join(FILTER_KEYS)}")
        return value


@dataclass(frozen=True, slots=True)
class WindowRules:
    """The deployment's export window rules (defaults: the contract's)."""

    max_days: int = 30
    history_days: int = 180

    def resolve(self, start: str | None, end: str | None, today: date) -> tuple[date, date]:
        """Whole UTC days, inclusive. Omitted, the last ``max_days`` complete days."""
        latest = today - timedelta(days=1)  # D-1: today is not complete yet
        first_allowed = today - timedelta(days=self.history_days)
        allowed = (
            f"Exports cover whole UTC days from {first_allowed.isoformat()} "
            f"({self.history_days} days ago) to {latest.isoformat()} (yesterday), "
            f"at most {self.max_days} days at a time"
        )
        try:
            end_day = _day(end, "end") if end is not None else None
            start_day = _day(start, "start") if start is not None else None
        except InvalidWindow as exc:
            raise InvalidWindow(f"{exc.message}. {allowed}") from None
        if end_day is None:
            end_day = (
                latest
                if start_day is None
                else min(latest, start_day + timedelta(days=self.max_days - 1))
            )
        if start_day is None:
            start_day = end_day - timedelta(days=self.max_days - 1)
        if start_day > end_day:
            raise InvalidWindow(f"'start' ({start_day}) is after 'end' ({end_day}). {allowed}")
        if end_day > latest:
            raise InvalidWindow(
                f"'end' ({end_day}) is not complete yet or in the future. {allowed}"
            )
        if start_day < first_allowed:
            raise InvalidWindow(f"'start' ({start_day}) is before the history limit. {allowed}")
        days = (end_day - start_day).days + 1
        if days > self.max_days:
            raise InvalidWindow(f"The window spans {days} days. {allowed}")
        return start_day, end_day


def _day(text: str, name: str) -> date:
    if not _DAY.match(text):
        raise InvalidWindow(f"'{name}' must be a date as YYYY-MM-DD (a whole UTC day)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidWindow(f"'{name}' ({text}) is not a real calendar date") from None


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """A validated request: what the job will write, as stored with the job."""

    format: Format
    compression: Compression
    start: date
    end: date
    resource: dict[str, str] | None
    filters: dict[str, list[str] | str]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "compression": self.compression,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resource": self.resource,
            "filters": self.filters,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportSpec:
        return cls(
            format=data["format"],
            compression=data["compression"],
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            resource=data["resource"],
            filters=dict(data["filters"]),
        )

    @property
    def quota_resource(self) -> str:
        """What the daily quota counts by: the resource, or the whole tenant."""
        if self.resource is None:
            return "*"
        return f"{self.resource['type']}:{self.resource['id']}"

    def query(self) -> EventQuery:
        """The events to write: the filters, the resource and the window, oldest first."""
        params: dict[str, list[str]] = {
            name: [value] if isinstance(value, str) else list(value)
            for name, value in self.filters.items()
        }
        query = EventQuery.from_params(params)
        start = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        end = datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)
        end += timedelta(days=1) - timedelta(microseconds=1)
        if self.resource is not None:
            query = replace(
                query,
                resource_type=(self.resource["type"],),
                resource_id=(self.resource["id"],),
            )
        return replace(query, start=start, end=end, order="asc")


def parse_export_request(
    body: Any, rules: WindowRules, today: date
) -> tuple[ExportSpec, str | None]:
    """Validate a request body: the spec and the webhook URL (checked separately)."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("The body must be a JSON object")
    try:
        request = ExportRequest.model_validate(dict(body))
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in error["loc"]) or None, "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        first = details[0]
        raise InvalidRequest(
            f"Invalid export request: {first['field']}: {first['message']}", details
        ) from None
    if request.resource is not None and {"resource_type", "resource_id"} & set(request.filters):
        raise InvalidRequest("Give the resource either as 'resource' or as filters, not both")
    if request.format == "parquet" and request.compression != "none":
        raise InvalidRequest("Parquet files are compressed inside; use compression 'none'")
    start, end = rules.resolve(request.start, request.end, today)
    resource = None if request.resource is None else request.resource.model_dump()
    spec = ExportSpec(request.format, request.compression, start, end, resource, request.filters)
    spec.query()  # the filters' own checks (lengths, IPs, counts): a 400 now, not a failed job
    return spec, request.webhook_url
