"""The audit as one self-contained HTML page: how to read it, the center, plots (embedded PNG) and every agent.

matplotlib is imported here only, and drawn through `Figure` + the Agg canvas (no pyplot, no global
backend), so writing a report never needs a display.
"""
from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from skillmatch.audit.files import agents_frame
from skillmatch.audit.run import LEGITIMATE, AuditResult

FLAG_COLOR, OTHER_COLOR, CENTER_COLOR = "#c0392b", "#34495e", "#7f8c8d"
TABLE_COLUMNS = (("agent_id", "agent", "{}"), ("index", "index", "{:+.2f}"), ("index_low", "low", "{:+.2f}"),
                 ("index_high", "high", "{:+.2f}"), ("n_picks", "picks", "{:.0f}"),
                 ("n_informative_picks", "informative", "{:.0f}"), ("pick_easiness", "pick easiness", "{:.3f}"),
                 ("churn_rate", "churn", "{:.1%}"), ("handled_ratio", "handled/engaged", "{:.1%}"),
                 ("idle_with_work_share", "idle w/ work", "{:.1%}"), ("hard_share", "hard share", "{:.1%}"),
                 ("fair_hard_share", "fair share", "{:.1%}"), ("handle_time_ratio", "HT ratio", "{:.2f}"),
                 ("notes", "notes", "{}"))


def render_html(result: AuditResult) -> str:
    """The whole report page as a string (no external files, images inlined as base64 PNG)."""
    frame = agents_frame(result)
    c, s = result.center, result.settings
    plots = [("Index per agent, with its interval", _index_plot(frame, s.flag_above, s.level)),
             ("Pick easiness", _easiness_plot(result.claims, frame)),
             ("Hard tickets carried against the fair share", _hard_share_plot(frame))]
    indicator_rows = "".join(
        f"<tr><td>{_e(ind.label)}</td><td><code>{_e(ind.name)}</code></td><td>{_e(ind.meaning)}</td>"
        f"<td>{_fmt('{:.3f}', ind.center)}</td><td>{'yes' if ind.in_index else 'context only'}</td></tr>"
        for ind in result.indicators)
    flagged = ", ".join(_e(a) for a in c["flagged"]) or "none"
    missing = []
    if not c["has_views"]:
        missing.append("The events log has no <code>viewed</code> events: handled vs engaged counts claimed tickets "
                       "only; pick easiness does not need views (it uses the tickets waiting at each claim).")
    if not c["has_presence"]:
        missing.append("The events log has no agent_online/agent_offline events: idle time could not be measured.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>skillmatch cherry-pick audit</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }}
th {{ background: #f4f4f4; }} td:first-child, th:first-child, td.text {{ text-align: left; }}
tr.flag td {{ background: #fdecea; }}
.note {{ background: #f6f8fa; border-left: 4px solid #7f8c8d; padding: 0.6em 1em; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Cherry-pick audit</h1>
<p>Events from {_e(result.window['start'])} to {_e(result.window['end'])} ({c['days']} days):
{c['n_agents']} agents, {c['n_picks']} picks ({c['n_informative_picks']} with at least one eligible alternative
waiting; median pool {_fmt('{:.0f}', c['median_pool_size'])} tickets), {c['n_closed_audited']} closed tickets.
Ticket difficulty: {_e(result.difficulty_source)}.</p>
<p><b>Flagged: {c['n_flagged']}</b> ({flagged}). Rule: {_e(c['flag_rule'])}.</p>

<h2>How to read this</h2>
<p class="note">{_e(LEGITIMATE)}</p>
<p>Each indicator compares an agent with the center. <b>Pick easiness</b> is measured at pick time: for every
claim, the predicted difficulty percentile of the claimed ticket among the tickets the agent could have taken
(its languages and certifications) that were waiting at that moment; 0.5 is a random pick, higher means the
agent left harder tickets behind. It needs only queued, claimed/assigned, unassigned and closed events.
The <b>index</b> shrinks every indicator toward the center's value in proportion to how little evidence the
agent has (empirical Bayes: few picks, strong pull), expresses it in between-agent standard deviations with
higher = more selective, and averages them. The interval adds the indicators' uncertainties as if they were
fully correlated, which can only make it wider. An agent is flagged only when the whole interval lies above
{s.flag_above:g}, so a handful of lucky or unlucky picks never flags anyone. The handle-time ratio is
context: it measures speed against a typical agent on the same tickets, not selection, and is not in the index.</p>
{''.join(f'<p class="note">{m}</p>' for m in missing)}

<h2>Indicators</h2>
<table><tr><th>indicator</th><th>column</th><th class="text">meaning</th><th>center</th><th>in index</th></tr>
{indicator_rows}</table>

{''.join(f'<h2>{_e(title)}</h2><img alt="{_e(title)}" src="data:image/png;base64,{png}">' for title, png in plots)}

<h2>Agents (most selective first)</h2>
{_agents_table(frame)}
<p>Also in <code>agents.csv</code> and <code>audit.json</code>, with the standardised shrunk indicators
(<code>z_*</code>).</p>
</body></html>
"""


def _index_plot(frame: pd.DataFrame, flag_above: float, level: float) -> str:
    order = frame.sort_values("index").reset_index(drop=True)
    n = len(order)
    fig = Figure(figsize=(8, max(3.0, 0.22 * n + 1.0)))
    ax = fig.add_subplot()
    y = np.arange(n)
    colors = [FLAG_COLOR if f else OTHER_COLOR for f in order["flag"]]
    ax.hlines(y, order["index_low"], order["index_high"], colors=colors, linewidth=2)
    ax.scatter(order["index"], y, c=colors, zorder=3, s=16)
    ax.axvline(0.0, color=CENTER_COLOR, linewidth=1, linestyle=":", label="center")
    ax.axvline(flag_above, color=FLAG_COLOR, linewidth=1, linestyle="--", label=f"flag threshold ({flag_above:g})")
    ax.set_yticks(y, order["agent_id"].astype(str), fontsize=7 if n > 40 else 8)
    ax.set_xlabel(f"cherry-pick index (between-agent sd), {level:.0%} interval")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _easiness_plot(claims: pd.DataFrame, frame: pd.DataFrame) -> str:
    fig = Figure(figsize=(10, 3.8))
    left, right = fig.subplots(1, 2)
    informative = claims[(claims["pool_size"] >= 2) & claims["easiness"].notna()]
    flagged = set(frame.loc[frame["flag"], "agent_id"])
    is_flagged = informative["agent_id"].isin(flagged)
    bins = np.linspace(0, 1, 21)
    left.hist(informative.loc[~is_flagged, "easiness"], bins=bins, density=True, alpha=0.7, color=OTHER_COLOR,
              label="not flagged")
    if is_flagged.any():
        left.hist(informative.loc[is_flagged, "easiness"], bins=bins, density=True, alpha=0.6, color=FLAG_COLOR,
                  label="flagged")
    left.axvline(0.5, color=CENTER_COLOR, linestyle=":", label="random pick")
    left.set_xlabel("pick easiness of one claim (1 - difficulty percentile in the eligible queue)")
    left.set_ylabel("density")
    left.legend(fontsize=8)
    has = frame["pick_easiness"].notna()
    right.scatter(frame.loc[has, "n_informative_picks"], frame.loc[has, "pick_easiness"], s=18,
                  c=[FLAG_COLOR if f else OTHER_COLOR for f in frame.loc[has, "flag"]])
    right.axhline(0.5, color=CENTER_COLOR, linestyle=":")
    right.set_xscale("log")
    right.set_xlabel("informative picks (log scale)")
    right.set_ylabel("agent's mean pick easiness")
    fig.tight_layout()
    return _png(fig)


def _hard_share_plot(frame: pd.DataFrame) -> str:
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    has = frame["hard_share"].notna() & frame["fair_hard_share"].notna()
    shown = frame[has]
    size = 10 + 60 * np.sqrt(shown["n_closed"] / max(float(shown["n_closed"].max()), 1.0)) if len(shown) else 10
    ax.scatter(shown["fair_hard_share"], shown["hard_share"], s=size,
               c=[FLAG_COLOR if f else OTHER_COLOR for f in shown["flag"]])
    top = max(0.5, float(np.nanmax(shown[["hard_share", "fair_hard_share"]].to_numpy())) + 0.05) if len(shown) else 1
    ax.plot([0, top], [0, top], color=CENTER_COLOR, linestyle=":", label="carries its fair share")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("fair share of hard tickets (center, among tickets it may take)")
    ax.set_ylabel("share of hard tickets among those it closed")
    ax.legend(fontsize=8)
    return _png(fig)


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _agents_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    rows = []
    for row in frame.to_dict(orient="records"):
        cells = "".join(f'<td{" class=text" if col in ("agent_id", "notes") else ""}>{_fmt(fmt, row.get(col))}</td>'
                        for col, _, fmt in TABLE_COLUMNS)
        rows.append(f'<tr{" class=flag" if row["flag"] else ""}>{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _fmt(fmt: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return _e(fmt.format(value))


def _e(text: object) -> str:
    return html.escape(str(text))
