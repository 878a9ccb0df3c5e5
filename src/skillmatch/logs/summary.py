"""What validated logs hold, in the figures a user checks before training: volume, period, mix, outcomes."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from skillmatch.logs.validate import Logs

TOP_SHOWN = 5


@dataclass(frozen=True)
class LogSummary:
    """Figures about one set of logs; rates are shares in [0, 1], None where no row has the value."""

    n_interactions: int
    n_roster_agents: int
    n_active_agents: int
    topics: dict[str, int]
    channels: dict[str, int]
    languages: dict[str, int]
    start: pd.Timestamp
    end: pd.Timestamp
    resolved_rate: float
    reopened_rate: float | None
    transferred_rate: float | None
    csat_response_rate: float
    csat_mean: float | None
    qa_mean: float | None
    handle_time_median_s: float
    wait_median_s: float | None
    missing_share: dict[str, float]
    n_events: int | None
    events: dict[str, int]

    def lines(self) -> list[tuple[str, str]]:
        """Label/value pairs for a two-column table."""
        days = (self.end - self.start).total_seconds() / 86400
        csat = "n/a" if self.csat_mean is None else f"mean {self.csat_mean:.2f}"
        gaps = {k: v for k, v in self.missing_share.items() if v > 0}
        return [
            ("interactions", f"{self.n_interactions:,}"),
            ("period", f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC ({days:.1f} days)"),
            ("agents", f"{self.n_roster_agents:,} on the roster, {self.n_active_agents:,} handled tickets"),
            ("topics", _counts(self.topics)),
            ("channels", _counts(self.channels)),
            ("languages", _counts(self.languages)),
            ("resolved", _share(self.resolved_rate)),
            ("reopened", _share(self.reopened_rate)),
            ("transferred", _share(self.transferred_rate)),
            ("csat", f"{csat}, {_share(self.csat_response_rate)} answered"),
            ("qa score", "n/a" if self.qa_mean is None else f"mean {self.qa_mean:.2f}"),
            ("handle time", f"median {_duration(self.handle_time_median_s)}"),
            ("wait", "n/a" if self.wait_median_s is None else f"median {_duration(self.wait_median_s)}"),
            ("missing cells", ", ".join(f"{k} {_share(v)}" for k, v in
                                        sorted(gaps.items(), key=lambda kv: -kv[1])) or "none"),
            ("events", "not given" if self.n_events is None
             else f"{self.n_events:,}: " + _counts(self.events, top=len(self.events))),
        ]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: timestamps as ISO-8601 text."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data


def summarize(logs: Logs) -> LogSummary:
    """Summarise validated logs (as returned by load_logs)."""
    df = logs.interactions
    csat = df["csat"]
    end = df["closed_at"].fillna(df["created_at"]).max()
    events = logs.events
    return LogSummary(
        n_interactions=len(df),
        n_roster_agents=len(logs.agents),
        n_active_agents=int(df["agent_id"].nunique()),
        topics=_value_counts(df["topic"]),
        channels=_value_counts(df["channel"]),
        languages=_value_counts(df["language"]),
        start=df["created_at"].min(),
        end=max(end, df["created_at"].max()),
        resolved_rate=float(df["resolved"].mean()),
        reopened_rate=_mean(df["reopened"]),
        transferred_rate=_mean(df["transferred"]),
        csat_response_rate=float(csat.notna().mean()),
        csat_mean=_mean(csat),
        qa_mean=_mean(df["qa_score"]),
        handle_time_median_s=float(df["handle_time_s"].median()),
        wait_median_s=_median((df["assigned_at"] - df["created_at"]).dt.total_seconds()),
        missing_share={str(k): float(v) for k, v in df.isna().mean().items()},
        n_events=None if events is None else len(events),
        events={} if events is None else _value_counts(events["event"]),
    )


def _value_counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts(dropna=True).items()}


def _mean(values: pd.Series) -> float | None:
    return float(values.astype("float64").mean()) if values.notna().any() else None


def _median(values: pd.Series) -> float | None:
    return float(values.median()) if values.notna().any() else None


def _share(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _duration(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def _counts(counts: dict[str, int], top: int = TOP_SHOWN) -> str:
    if not counts:
        return "none given"
    total = sum(counts.values())
    shown = ", ".join(f"{k} {v:,} ({_percent(v / total)})" for k, v in list(counts.items())[:top])
    more = len(counts) - top
    return shown + (f" and {more} more" if more > 0 else "")


def _percent(share: float) -> str:
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"
