"""The team report: one self-contained HTML page (plots as embedded PNG) for supervisors and coaching.

Alerts (tickets at risk, late, overloaded agents with the hand-back), each agent's difficulty against the
pro-rated fair share, growth with mentors, proficiency per topic, and every agent's summary in plain words.
matplotlib is drawn through `Figure` + the Agg canvas (no pyplot, no display needed).
"""
from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from skillmatch.supervision.coaching import agent_view
from skillmatch.supervision.supervisor import Supervisor

REPORT_FILE = "team.html"
MIN_CELL_OUTCOMES = 5
"""Proficiency cells with fewer outcomes are left blank in the heat map."""


def team_view(supervisor: Supervisor, now: datetime) -> dict[str, Any]:
    """Everything the report shows, computed once at `now`: alerts and one agent view per roster or active agent."""
    engine = supervisor.engine
    board = supervisor.board(now)
    roster = list(engine.model.roster.profiles)
    active = sorted({w.agent_id for w in board.items} - set(roster))
    agents = [agent_view(supervisor, a, now, board=board) for a in roster + active]
    return {"model_version": engine.model_version, "now": board.now.isoformat(), "ledger": engine.ledger.url,
            "window_hours": engine.policy.window_hours, "threshold": supervisor.rules.risk_threshold,
            "alerts": supervisor.alerts(now, board=board), "agents": agents,
            "skills": supervisor.skills(board.now)}


def write_team_report(view: dict[str, Any], out_dir: Path) -> Path:
    """Write `team.html` into `out_dir` whole or not at all (temp file, then rename); its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = render_html(view)
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT_FILE}.", dir=out_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out_dir / REPORT_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_dir / REPORT_FILE


def render_html(view: dict[str, Any]) -> str:
    """The report page as a string (no external files)."""
    agents = view["agents"]
    plots = [("Difficulty carried in the window against the fair share (pro-rated by capacity and time available)",
              _difficulty_plot(agents)),
             ("Open work per agent: in a slot, waiting, late or likely to be late", _queue_plot(agents)),
             ("Proficiency per topic (points of resolution above a typical agent on the same tickets)",
              _skills_plot(view["skills"]))]
    alert_rows = "".join(
        f"<tr><td>{_e(a['kind'])}</td><td>{_e(a['agent_id'])}</td><td>{_e(a.get('ticket_id') or '')}</td>"
        f"<td class='text'>{_e(a['reason'])}</td><td class='text'>{_e(a['suggested_action'])}</td></tr>"
        for a in view["alerts"]) or "<tr><td colspan='5' class='text'>No alerts: every queue fits.</td></tr>"
    team_rows = "".join(_team_row(a) for a in agents)
    summaries = "".join(
        f"<details><summary><b>{_e(a['agent_id'])}</b>{' (overloaded)' if a['queue']['overloaded'] else ''}"
        f"</summary><ul>{''.join(f'<li>{_e(s)}</li>' for s in a['summary'])}</ul></details>" for a in agents)
    figures = "".join(f"<h3>{_e(title)}</h3><img alt='{_e(title)}' src='data:image/png;base64,{png}'>"
                      for title, png in plots)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>skillmatch team report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }}
th {{ background: #f4f4f4; }} td:first-child, th:first-child, td.text {{ text-align: left; }}
.note {{ background: #f6f8fa; border-left: 4px solid #7f8c8d; padding: 0.6em 1em; }}
img {{ max-width: 100%; }} details {{ margin: 0.3em 0; }}
</style></head><body>
<h1>Team report</h1>
<p>At {_e(view['now'])} &middot; model {_e(view['model_version'])} &middot; ledger {_e(view['ledger'])}</p>
<div class="note">Quality, not speed: proficiency is how much more often an agent resolves than a typical agent
on the same tickets; handle time never ranks anyone. A ticket is at risk when the chance that its agent starts it
after the channel's answer-time target reaches {view['threshold']:.0%} (its queue replayed with handle times drawn
around the predictions). Fair shares and growth quotas are pro-rated by time out of the queue.</div>
<h2>Alerts ({len(view['alerts'])})</h2>
<table><tr><th>kind</th><th>agent</th><th>ticket</th><th>reason</th><th>suggested action</th></tr>{alert_rows}</table>
<h2>Team</h2>
<table><tr><th>agent</th><th>tickets in window</th><th>mean difficulty / center</th>
<th>difficulty carried / fair share</th><th>available</th><th>QA (recent)</th><th>open / at risk / late</th>
<th>growth topics</th><th>mentors</th></tr>{team_rows}</table>
<h2>Plots</h2>{figures}
<h2>Each agent in plain words</h2>{summaries}
</body></html>
"""


def _team_row(a: dict[str, Any]) -> str:
    w, d, q = a["window"], a["difficulty"], a["queue"]
    mean = (f"{w['mean_difficulty']:.2f} / {w['fair_share_mean_difficulty']:.2f}" if w["mean_difficulty"] is not None
            else "-")
    qa = f"{a['qa']['recent_mean']:.1f} ({a['qa']['recent_n']})" if a.get("qa") and a["qa"]["recent_mean"] else "-"
    mentors = "; ".join(f"{t}: {', '.join(m['agent_id'] for m in ms) or 'none'}" for t, ms in a["mentors"].items())
    return (f"<tr><td>{_e(a['agent_id'])}</td><td>{w['tickets']}</td><td>{mean}</td>"
            f"<td>{d['carried_sum']:.1f} / {_fmt(d['fair_share_sum'])}</td><td>{w['available_share']:.0%}</td>"
            f"<td>{qa}</td><td>{q['open']} / {q['at_risk']} / {q['late']}{' !' if q['overloaded'] else ''}</td>"
            f"<td class='text'>{_e(', '.join(a['growth']['topics']) or '-')}</td>"
            f"<td class='text'>{_e(mentors or '-')}</td></tr>")


def _difficulty_plot(agents: list[dict[str, Any]]) -> str:
    ids = [a["agent_id"] for a in agents]
    carried = [a["difficulty"]["carried_sum"] for a in agents]
    fair = [a["difficulty"]["fair_share_sum"] or 0.0 for a in agents]
    fig = Figure(figsize=(11, 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(ids))
    ax.bar(x - 0.2, carried, 0.4, label="carried", color="#34495e")
    ax.bar(x + 0.2, fair, 0.4, label="fair share", color="#95a5a6")
    ax.set_xticks(x, ids, rotation=90, fontsize=7)
    ax.set_ylabel("difficulty (sum)")
    ax.legend()
    return _png(fig)


def _queue_plot(agents: list[dict[str, Any]]) -> str:
    ids = [a["agent_id"] for a in agents]
    opened = np.array([a["queue"]["open"] for a in agents])
    waiting = np.array([a["queue"]["waiting"] for a in agents])
    risky = np.array([a["queue"]["at_risk"] + a["queue"]["late"] for a in agents])
    fig = Figure(figsize=(11, 3.2))
    ax = fig.add_subplot()
    x = np.arange(len(ids))
    ax.bar(x, opened - waiting, label="in a slot", color="#7f8c8d")
    ax.bar(x, waiting - risky, bottom=opened - waiting, label="waiting", color="#3498db")
    ax.bar(x, risky, bottom=opened - risky, label="late or likely to be late", color="#c0392b")
    ax.set_xticks(x, ids, rotation=90, fontsize=7)
    ax.set_ylabel("tickets")
    ax.legend()
    return _png(fig)


def _skills_plot(skills: Any) -> str:
    cells = skills[skills["outcomes"] >= MIN_CELL_OUTCOMES]
    fig = Figure(figsize=(11, 3.6))
    ax = fig.add_subplot()
    if cells.empty:
        ax.text(0.5, 0.5, "no agent has enough outcomes in any topic yet", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    table = cells.pivot(index="topic", columns="agent_id", values="proficiency") * 100.0
    limit = max(float(np.nanmax(np.abs(table.to_numpy()))), 1.0)
    image = ax.imshow(table.to_numpy(), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(table.shape[0]), table.index)
    fig.colorbar(image, ax=ax, label="points")
    return _png(fig)


def _png(fig: Figure) -> str:
    fig.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
