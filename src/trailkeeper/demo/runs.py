"""Workflow runs: the flows' values, and a run's events from start to completion."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trailkeeper.demo.cast import (
    AUTOMATION,
    CUSTOMER_SUPPORT,
    FINANCE_WAREHOUSE,
    INVOICE_SYNC,
    SLA_ESCALATION,
    USERS,
    VENDOR_DUE_DILIGENCE,
    Actor,
    Episode,
    Flow,
    Step,
)
from trailkeeper.demo.story import Story


def _sla_values(rng: random.Random) -> dict[str, Any]:
    return {
        "pipe_id": CUSTOMER_SUPPORT.resource.id,
        "sla_hours": rng.choice((4, 8, 24)),
        "overdue_cards": rng.randint(1, 9),
        "card_id": str(rng.randint(1_024_300_000, 1_024_399_999)),
        "assignee": rng.choice(USERS).email,
        "message_id": f"<{rng.getrandbits(40):010x}@mail.example.com>",
        "channel": "#support-escalations",
        "slack_ts": f"{rng.randint(1_700_000_000, 1_799_999_999)}.{rng.randint(0, 999_999):06d}",
    }


def _invoice_values(rng: random.Random) -> dict[str, Any]:
    return {
        "card_id": str(rng.randint(1_024_300_000, 1_024_399_999)),
        "invoice_number": f"NF-{rng.randint(10_000, 99_999)}",
        "cnpj": rng.choice(VENDOR_DUE_DILIGENCE.fields["CNPJ"]),
        "amount_brl": round(rng.uniform(300, 60_000), 2),
        "valid": True,
        "erp_document_id": f"SAP-{rng.randint(5_100_000_000, 5_199_999_999)}",
        "phase": "Ordered",
    }


def _warehouse_values(rng: random.Random) -> dict[str, Any]:
    rows = rng.randint(8_000, 250_000)
    return {
        "source": "erp.invoices",
        "mode": rng.choice(("incremental", "incremental", "full_refresh")),
        "rows_extracted": rows,
        "table": "raw.erp_invoices",
        "rows_loaded": rows,
        "models": 14,
        "models_built": 14,
        "checks": 37,
        "checks_failed": 0,
    }


FLOWS: tuple[Flow, ...] = (
    Flow(
        SLA_ESCALATION,
        "schedule",
        (
            Step(
                "find_overdue_cards",
                ("pipe_id", "sla_hours"),
                ("overdue_cards",),
                ("GraphQL query timed out after 30s",),
                (80, 900),
            ),
            Step(
                "send_email",
                ("card_id", "assignee"),
                ("message_id",),
                (
                    "SMTP 451 4.7.1 temporary failure, try again later",
                    "550 5.1.1 recipient address rejected: mailbox unavailable",
                ),
                (150, 2_500),
            ),
            Step(
                "post_to_slack",
                ("channel", "card_id"),
                ("slack_ts",),
                ("Slack API error: channel_not_found", "Slack API error: ratelimited"),
                (100, 1_200),
            ),
        ),
        _sla_values,
    ),
    Flow(
        INVOICE_SYNC,
        "card.moved",
        (
            Step(
                "fetch_invoice",
                ("card_id",),
                ("invoice_number", "amount_brl"),
                ("Card has no attachment in field 'Invoice'",),
                (120, 1_500),
            ),
            Step(
                "validate_tax_id",
                ("cnpj",),
                ("valid",),
                ("Receita Federal lookup failed: HTTP 503 Service Unavailable",),
                (200, 4_000),
                0.06,
            ),
            Step(
                "create_erp_entry",
                ("invoice_number", "amount_brl", "cnpj"),
                ("erp_document_id",),
                (
                    "ERP rejected document: cost center CC-4410 is closed",
                    "Connection reset by peer (erp.example.com:443)",
                ),
                (400, 6_000),
                0.08,
            ),
            Step(
                "update_card",
                ("card_id", "erp_document_id"),
                ("phase",),
                ("Card is locked by another automation",),
                (90, 700),
            ),
        ),
        _invoice_values,
    ),
    Flow(
        FINANCE_WAREHOUSE,
        "schedule",
        (
            Step(
                "extract_erp",
                ("source", "mode"),
                ("rows_extracted",),
                ("Extract timed out after 60000 ms",),
                (5_000, 60_000),
            ),
            Step(
                "load_raw",
                ("table", "rows_extracted"),
                ("rows_loaded",),
                ("COPY failed: disk quota exceeded on warehouse volume",),
                (3_000, 45_000),
            ),
            Step(
                "transform_marts",
                ("models",),
                ("models_built",),
                ("Model fct_invoices failed: division by zero",),
                (10_000, 90_000),
                0.05,
            ),
            Step(
                "run_quality_checks",
                ("checks",),
                ("checks_failed",),
                ("3 checks failed: not_null(fct_invoices.cost_center)",),
                (2_000, 30_000),
                0.07,
            ),
        ),
        _warehouse_values,
    ),
)


class Runs(Story):
    # -- workflow runs ----------------------------------------------------------------------

    def workflow_run(self, at: datetime) -> Episode:
        """A run: started, one event per step until one fails, completed; seconds to minutes."""
        flow = self.rng.choice(FLOWS)
        values = flow.values(self.rng)
        run = RunLog(self, f"run_{self.rng.getrandbits(48):012x}", flow)
        starter = self.user() if flow.trigger == "schedule" and self.rng.random() < 0.15 else None
        trigger = flow.trigger if starter is None else "manual"
        started = at
        run.add(
            at,
            "flow.run.started",
            step="trigger",
            status="running",
            input_={"trigger": trigger},
            duration_ms=self.rng.randint(3, 40),
            actor=starter or AUTOMATION,
        )
        at, done, error = self.run_steps(run, values, at)
        at += timedelta(milliseconds=self.rng.randint(10, 300))
        summary = {
            "steps_total": len(flow.steps),
            "steps_succeeded": done,
            "steps_failed": 0 if error is None else 1,
        }
        run.add(
            at,
            "flow.run.completed",
            step=None,
            status="succeeded" if error is None else "failed",
            output=summary,
            error=error,
            duration_ms=round((at - started).total_seconds() * 1000),
        )
        return run.events

    def run_steps(
        self, run: RunLog, values: dict[str, Any], at: datetime
    ) -> tuple[datetime, int, str | None]:
        """The run's steps from ``at`` until one fails: when the last ended, how many
        succeeded, and the failure's error."""
        error: str | None = None
        done = 0
        for step in run.flow.steps:
            duration = self.rng.randint(*step.ms)
            at += timedelta(milliseconds=duration + self.rng.randint(20, 400))
            inputs = {key: values[key] for key in step.inputs}
            if self.rng.random() < step.failure_rate:
                error = self.rng.choice(step.errors)
                run.add(
                    at,
                    "flow.run.step.failed",
                    step=step.name,
                    status="failed",
                    input_=inputs,
                    error=error,
                    duration_ms=duration,
                )
                break
            done += 1
            outputs = {key: values[key] for key in step.outputs}
            run.add(
                at,
                "flow.run.step.succeeded",
                step=step.name,
                status="succeeded",
                input_=inputs,
                output=outputs,
                duration_ms=duration,
            )
        return at, done, error


@dataclass
class RunLog:
    """Collects the events of one run; they all carry the same ``run.id`` and ``run.flow``."""

    demo: Story
    run_id: str
    flow: Flow
    events: Episode = field(default_factory=list)

    def add(
        self,
        at: datetime,
        action: str,
        *,
        step: str | None,
        status: str,
        duration_ms: int,
        input_: dict[str, Any] | None = None,
        output: dict[str, Any] | None = None,
        error: str | None = None,
        actor: Actor = AUTOMATION,
    ) -> None:
        input_ = input_ or {}
        run = {
            "id": self.run_id,
            "flow": self.flow.resource.name,
            "step": step,
            "status": status,
            "input": input_,
            "output": output or {},
            "error": error,
            "duration_ms": duration_ms,
        }
        metadata = {"trigger": input_["trigger"]} if "trigger" in input_ else None
        self.events.append(
            self.demo.event(at, action, actor, self.flow.resource, run=run, metadata=metadata)
        )
