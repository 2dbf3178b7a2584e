"""Figures beside their baselines: a Rich table on the terminal and JSON on disk."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

__all__ = ["Figure", "render", "write_json"]


@dataclass(slots=True)
class Figure:
    """One measured figure, the baseline measured in the same run, and the target."""

    backend: str
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    ratio_label: str  # what the ratio is, e.g. "server/raw"
    target: str  # human form, e.g. "≥ 25,000"
    passed: bool | None  # None: no target
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        return data


def _number(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f} {unit}"


def render(figures: list[Figure], console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("backend")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("baseline (same run)", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target", justify="right")
    table.add_column("result")
    for figure in figures:
        baseline = (
            "—"
            if figure.baseline is None
            else f"{_number(figure.baseline, figure.unit)} ({figure.baseline_label})"
        )
        ratio = "—" if figure.ratio is None else f"{figure.ratio:.2f}× {figure.ratio_label}"
        if figure.passed is None:
            verdict = ""
        else:
            verdict = "[green]PASS[/]" if figure.passed else "[red]FAIL[/]"
        table.add_row(
            figure.backend,
            figure.name + (f"\n[dim]{figure.note}[/]" if figure.note else ""),
            _number(figure.value, figure.unit),
            baseline,
            ratio,
            figure.target,
            verdict,
        )
    console.print(table)


def write_json(path: Path, meta: dict[str, Any], figures: list[Figure], details: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "figures": [f.as_json() for f in figures],
        "details": details,
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
