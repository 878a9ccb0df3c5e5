"""The audit as a rich terminal table (fits 80 columns): the most selective agents first, notes below it."""
from __future__ import annotations

import math

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from skillmatch.audit.files import agents_frame
from skillmatch.audit.run import AuditResult

COLUMNS = (  # (column, header, format)
    ("n_picks", "picks", "{:.0f}"),
    ("pick_easiness", "easy", "{:.2f}"),
    ("churn_rate", "churn", "{:.0%}"),
    ("handled_ratio", "done", "{:.0%}"),
    ("idle_with_work_share", "idle", "{:.1%}"),
)
LEGEND = ("easy: pick easiness (0.5 = random pick from the eligible queue); churn: claims handed back; "
          "done: closed of claimed/viewed; idle: online time free while eligible work waited; "
          "hard/fair: share of hard tickets closed vs the fair share. HT ratio and z-scores: agents.csv.")


def agents_table(result: AuditResult, limit: int = 25) -> Group:
    """Up to `limit` agents by index (descending), every flagged agent included, then their notes and a legend."""
    frame = agents_frame(result)
    shown = frame[(frame.index < limit) | frame["flag"]]
    center, settings = result.center, result.settings
    table = Table(title=f"cherry-pick audit: {center['n_agents']} agents, {center['n_picks']} picks, "
                        f"{center['n_flagged']} flagged", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("agent", no_wrap=True)
    table.add_column("index", justify="right", no_wrap=True)
    table.add_column(f"{settings.level:.0%} int.", justify="right", no_wrap=True)
    table.add_column("flag")
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right")
    table.add_column("hard/fair", justify="right", no_wrap=True)
    for row in shown.to_dict(orient="records"):
        cells = [_fmt(fmt, row.get(name)) for name, _, fmt in COLUMNS]
        table.add_row(escape(str(row["agent_id"])), f"{row['index']:+.2f}",
                      f"{row['index_low']:+.2f},{row['index_high']:+.2f}",
                      "[bold red]flag[/]" if row["flag"] else "", *cells,
                      f"{_fmt('{:.0%}', row.get('hard_share'))}/{_fmt('{:.0%}', row.get('fair_hard_share'))}")
    lines = [Text(f"{row['agent_id']}: {row['notes']}") for row in shown.to_dict(orient="records") if row["notes"]]
    more = len(frame) - len(shown)
    footer = [Text(f"flag rule: {center['flag_rule']}" + (f"; {more} more agents in agents.csv" if more else "")),
              Text(LEGEND, style="dim")]
    return Group(table, *(([Text("notes:", style="bold")] + lines) if lines else []), *footer)


def _fmt(fmt: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)
