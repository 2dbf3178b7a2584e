"""File formats for downloads and exports, written as streams of byte chunks."""

from __future__ import annotations

from trailkeeper.formats.csv import CSV_HEADER, CsvWriter, defuse
from trailkeeper.formats.jsonl import JsonlWriter
from trailkeeper.formats.writer import FormatWriter

__all__ = ["CSV_HEADER", "FORMATS", "CsvWriter", "FormatWriter", "JsonlWriter", "defuse"]

FORMATS: dict[str, FormatWriter] = {"jsonl": JsonlWriter(), "csv": CsvWriter()}
