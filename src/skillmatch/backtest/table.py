"""Which metrics the comparison shows, with their labels and number formats (shared by the CLI table and the report)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Shown:
    """A metric as people read it: label, unit scaling and decimals."""

    key: str
    label: str
    scale: float = 1.0
    decimals: int = 3
    better: str = "higher"  # or "lower"; "" when neither


HEADLINE: tuple[Shown, ...] = (
    Shown("resolution_rate", "resolution %", 100.0, 1),
    Shown("csat", "csat", 1.0, 2),
    Shown("sla", "SLA %", 100.0, 1),
    Shown("wait_p50_s", "wait p50 s", 1.0, 0, "lower"),
    Shown("wait_p99_s", "wait p99 s", 1.0, 0, "lower"),
    Shown("fairness.difficulty_gini", "difficulty Gini", 1.0, 3, "lower"),
    Shown("growth.skill_gain", "growth (logit)", 1.0, 3),
    Shown("speed.decisions_per_s", "decisions/s", 1.0, 0),
)
"""The short table printed by the CLI (the report has every figure)."""

DETAIL: tuple[Shown, ...] = (
    Shown("resolution_rate", "resolution %", 100.0, 1),
    Shown("p_resolve_true", "true P(resolved) %", 100.0, 1),
    Shown("csat", "csat (answered)", 1.0, 2),
    Shown("handle_time_s", "handle time s", 1.0, 0, "lower"),
    Shown("wait_p50_s", "wait p50 s", 1.0, 0, "lower"),
    Shown("wait_p90_s", "wait p90 s", 1.0, 0, "lower"),
    Shown("wait_p99_s", "wait p99 s", 1.0, 0, "lower"),
    Shown("sla", "answered within target %", 100.0, 1),
    Shown("fairness.difficulty_gini", "Gini of mean difficulty", 1.0, 3, "lower"),
    Shown("fairness.difficulty_cv", "CV of mean difficulty", 1.0, 3, "lower"),
    Shown("fairness.hard_share_gini", "Gini of hard share", 1.0, 3, "lower"),
    Shown("fairness.hard_share_cv", "CV of hard share", 1.0, 3, "lower"),
    Shown("growth.skill_gain", "skill gain, growth topics", 1.0, 3),
    Shown("growth.skill_gain_other", "skill gain, other topics", 1.0, 3),
    Shown("growth.practice_share", "tickets in growth topics %", 100.0, 1),
    Shown("coverage.gain", "coverage gain (agent x topic)", 1.0, 1),
    Shown("speed.decisions_per_s", "decisions per second", 1.0, 0),
)
"""Every headline figure of the report's main table."""


REPLAY_DETAIL: tuple[Shown, ...] = (
    Shown("resolution_rate", "resolution % (estimated; logged row: actual)", 100.0, 1),
    Shown("csat", "csat (estimated)", 1.0, 2),
    Shown("handle_time_s", "handle time s", 1.0, 0, "lower"),
    Shown("served_share", "served %", 100.0, 1),
    Shown("wait_p50_s", "wait p50 s", 1.0, 0, "lower"),
    Shown("wait_p90_s", "wait p90 s", 1.0, 0, "lower"),
    Shown("wait_p99_s", "wait p99 s", 1.0, 0, "lower"),
    Shown("sla", "answered within target %", 100.0, 1),
    Shown("fairness.difficulty_gini", "Gini of mean est. difficulty", 1.0, 3, "lower"),
    Shown("fairness.difficulty_cv", "CV of mean est. difficulty", 1.0, 3, "lower"),
    Shown("fairness.hard_share_gini", "Gini of hard share", 1.0, 3, "lower"),
    Shown("fairness.hard_share_cv", "CV of hard share", 1.0, 3, "lower"),
    Shown("growth.practice_share", "tickets in growth topics %", 100.0, 1),
    Shown("speed.decisions_per_s", "decisions per second", 1.0, 0),
)
"""The report's main table in log replay: no true skill, outcomes and difficulty estimated by the evaluation model."""

REPLAY_HEADLINE: tuple[Shown, ...] = (
    Shown("resolution_rate", "resolution % (est.)", 100.0, 1),
    Shown("handle_time_s", "handle s", 1.0, 0, "lower"),
    Shown("wait_p50_s", "wait p50 s", 1.0, 0, "lower"),
    Shown("wait_p99_s", "wait p99 s", 1.0, 0, "lower"),
    Shown("sla", "SLA %", 100.0, 1),
    Shown("fairness.difficulty_gini", "difficulty Gini (est.)", 1.0, 3, "lower"),
    Shown("speed.decisions_per_s", "decisions/s", 1.0, 0),
)
"""The CLI's short table in log replay."""


def formatted(shown: Shown, estimate: Mapping[str, float], interval: bool = True) -> str:
    """`value [lo, hi]` in the metric's unit; `n/a` when there is no value."""
    value = estimate.get("value", float("nan"))
    if value != value:  # nan
        return "n/a"
    text = f"{value * shown.scale:,.{shown.decimals}f}"
    lo, hi = estimate.get("lo", float("nan")), estimate.get("hi", float("nan"))
    if interval and lo == lo and hi == hi:
        text += f" [{lo * shown.scale:,.{shown.decimals}f}, {hi * shown.scale:,.{shown.decimals}f}]"
    return text


COLUMNS_PER_TABLE = 3
"""The CLI splits the headline into tables of this many figures, so that each fits an 80-column terminal."""


def comparison_table(summary: Mapping[str, Any], title: str = "policies compared (95% intervals)",
                     columns: tuple[Shown, ...] = HEADLINE) -> Group:
    """The headline figures per policy as rich tables of a few columns each (interval under each value), with the share of the attainable gain."""
    names = list(summary["policies"])
    gain = summary.get("gain_captured", {})
    shown_all: list[Shown | None] = [*columns, *([None] if gain else [])]  # None: the share of the gain
    tables = []
    for k in range(0, len(shown_all), COLUMNS_PER_TABLE):
        table = Table(title=title if k == 0 else None, title_justify="left")
        table.add_column("policy", style="bold", no_wrap=True, min_width=max(len(n) for n in names))
        chunk = shown_all[k:k + COLUMNS_PER_TABLE]
        for shown in chunk:
            table.add_column("share of gain" if shown is None else shown.label, justify="right", overflow="fold")
        for name, estimates in summary["policies"].items():
            table.add_row(Text(name), *(
                Text(formatted(Shown("gain", "", 100.0, 0), gain[name], interval=False) + "%") if shown is None
                else _two_lines(shown, estimates.get(shown.key, {})) for shown in chunk))
        tables.append(table)
    return Group(*tables)


def _two_lines(shown: Shown, estimate: Mapping[str, float]) -> Text:
    """The value, and its interval dimmed on the line below."""
    text = formatted(shown, estimate)
    value, _, interval = text.partition(" [")
    out = Text(value)
    if interval:
        out.append("\n[" + interval, style="dim")
    return out
