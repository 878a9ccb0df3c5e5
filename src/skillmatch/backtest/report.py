"""The backtest report: one self-contained HTML file (tables, PNG plots embedded) and metrics.json with every figure."""
from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skillmatch.backtest.metrics import REFERENCES, per_agent_difficulty
from skillmatch.backtest.record import RunRecord
from skillmatch.backtest.table import DETAIL, REPLAY_DETAIL, Shown, formatted

REPORT_FILE = "report.html"
METRICS_FILE = "metrics.json"


def write_report(out_dir: Path, summary: Mapping[str, Any], scenarios: Sequence[Mapping[str, RunRecord]],
                 settings: Mapping[str, Any]) -> dict[str, Path]:
    """Write report.html and metrics.json into `out_dir` (each file whole or not at all); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_meta = {runs_name: {name: run.meta for name, run in runs.items()}
                 for runs_name, runs in zip(summary["scenarios"], scenarios)}
    kept = {k: v for k, v in summary.items() if k != "replicates"}  # replicates stay in memory only
    document = {"settings": dict(settings), **kept, "runs": runs_meta}
    metrics_path = _write_atomic(out_dir / METRICS_FILE, json.dumps(_plain(document), indent=1, allow_nan=False))
    report_path = _write_atomic(out_dir / REPORT_FILE, _html(summary, scenarios, settings))
    return {"report": report_path, "metrics": metrics_path}


def _write_atomic(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, nan to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return value


# ---------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}img{max-width:100%}
.note{color:#555;font-size:.9em}
"""


def _html(summary: Mapping[str, Any], scenarios: Sequence[Mapping[str, RunRecord]], settings: Mapping[str, Any]) -> str:
    policies: Mapping[str, Mapping[str, Any]] = summary["policies"]
    boot = summary["bootstrap"]
    estimation = summary.get("estimation")  # present in log replay: figures are estimated, not true
    truth = "estimated" if estimation else "true"
    intro = (f"Figures are the metrics of the tickets created in the evaluation window of the log, replayed under "
             f"each policy; outcomes and difficulty are <b>estimated</b> (see below)." if estimation else
             f"Figures are means over {len(summary['scenarios'])} scenario(s) of the ground-truth "
             f"metrics of the tickets created in the evaluation window.")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>skillmatch backtest</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>skillmatch backtest" + (": log replay" if estimation else "") + "</h1>",
             f"<p>{html.escape(_describe(settings, summary))}</p>",
             f"<p class='note'>{intro} Brackets: 95% intervals, "
             f"{boot['replicates']} bootstrap replicates resampling {html.escape(boot['cluster'])} "
             f"(clustered by time, {', '.join(map(str, boot['clusters_per_scenario']))} clusters per scenario; the "
             f"Gini and CV across agents resample agents instead), the same draws for every policy. Wait of a ticket never taken is counted up to the end of the run.</p>"]
    if estimation:
        parts += _estimation_section(estimation)
    parts += ["<h2>Policies</h2>", _table(policies, REPLAY_DETAIL if estimation else DETAIL)]
    if estimation:
        parts += _off_policy_section(summary.get("off_policy", {}))
    if "gain_captured" in summary:
        parts += ["<h2>Share of the attainable resolution gain</h2>",
                  "<p class='note'>(policy - free selection) / (oracle - free selection); the oracle assigns each "
                  "round by the true chance of resolution.</p>",
                  _one_row_table(summary["gain_captured"], Shown("gain", "share of gain", 100.0, 0))]
    for ref in REFERENCES:
        diffs = {k.split(" - ")[0]: v for k, v in summary["differences"].items() if k.endswith(f" - {ref}")}
        if diffs:
            parts += [f"<h2>Paired differences against {html.escape(ref)}</h2>",
                      _table(diffs, REPLAY_DETAIL if estimation else DETAIL)]
    parts += ["<h2>Waiting by channel</h2>", _channel_table(policies, scenarios[0])]
    if "coverage_by_topic" in summary:
        parts += ["<h2>Topic coverage</h2>", _coverage_table(summary["coverage_by_topic"])]
    parts += ["<h2>Quality against fairness</h2>", _img(_plot_quality_fairness(policies, truth)),
              "<h2>Waiting time</h2>", _img(_plot_waits(scenarios)),
              "<h2>Difficulty carried per agent</h2>", _img(_plot_agent_difficulty(scenarios, truth))]
    if not estimation:
        parts += ["<h2>Growth</h2>", _img(_plot_growth(scenarios))]
    parts.append("</body></html>")
    return "\n".join(parts)


def _estimation_section(estimation: Mapping[str, Any]) -> list[str]:
    """Log replay: which figures are estimated, by which model, and what is as logged."""
    check = estimation.get("logged_pairs", {})
    items = [("Estimated", ", ".join(estimation["estimated"])), ("As logged", ", ".join(estimation["as_logged"])),
             ("Outcomes estimated by", estimation["evaluation_model"]),
             ("Evaluation model folders", ", ".join(estimation["evaluation_model_folders"])),
             ("Decisions of greedy_best_fit and skillmatch made by", estimation["decision_model_folder"]
              + " (trained on the interactions before the window only)"),
             ("Resolution", estimation["resolution"]), ("Handle time", estimation["handle_time"]),
             ("Difficulty", estimation["difficulty"]), ("Agent availability", estimation["availability"]),
             ("Growth", estimation["growth"])]
    if check:
        items.append(("The estimator on the logged pairs",
                      f"estimated resolution {100 * check['estimated_resolution_rate']:.1f}% against "
                      f"{100 * check['actual_resolution_rate']:.1f}% actual (Brier {check['brier']:.3f}); compare "
                      f"the rows free_selection (estimated) and free_selection:logged (actual)"))
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                   for k, v in items)
    return ["<h2>What is estimated</h2>", f"<table>{rows}</table>"]


def _off_policy_section(off_policy: Mapping[str, Any]) -> list[str]:
    """Inverse-propensity and doubly robust estimates, or why there are none."""
    if not off_policy.get("available"):
        return ["<h2>Off-policy estimates</h2>",
                f"<p class='note'>Not available: {html.escape(str(off_policy.get('reason', '')))}.</p>"]
    columns = [Shown("ips", "IPS resolution %", 100.0, 1), Shown("snips", "self-normalised IPS %", 100.0, 1),
               Shown("dr", "doubly robust %", 100.0, 1)]
    return ["<h2>Off-policy estimates</h2>",
            f"<p class='note'>{html.escape(off_policy['estimand'])}; propensities from the log.</p>",
            _table(off_policy["policies"], columns)]


def _describe(settings: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in settings.items() if not isinstance(v, (list, tuple, dict)))
    return f"Scenarios: {', '.join(summary['scenarios'])}. Settings: {shown}."


def _table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[Shown]) -> str:
    head = "<tr><th>policy</th>" + "".join(f"<th>{html.escape(c.label)}</th>" for c in columns) + "</tr>"
    body = "".join("<tr><td>" + html.escape(name) + "</td>"
                   + "".join(f"<td>{html.escape(formatted(c, est.get(c.key, {})))}</td>" for c in columns) + "</tr>"
                   for name, est in rows.items())
    return f"<table>{head}{body}</table>"


def _one_row_table(values: Mapping[str, Mapping[str, float]], shown: Shown) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(k)}</th>" for k in values) + "</tr>"
    row = "<tr>" + "".join(f"<td>{html.escape(formatted(shown, v))}</td>" for v in values.values()) + "</tr>"
    return f"<table>{head}{row}</table>"


def _channel_table(policies: Mapping[str, Mapping[str, Any]], runs: Mapping[str, RunRecord]) -> str:
    channels = next(iter(runs.values())).channels
    columns = [Shown(f"{m}.{c}", f"{c} {label}", scale, dec) for c in channels
               for m, label, scale, dec in (("wait_p50_s", "p50 s", 1.0, 0), ("wait_p99_s", "p99 s", 1.0, 0),
                                            ("sla", "SLA %", 100.0, 1))]
    return _table(policies, columns)


def _coverage_table(coverage: Mapping[str, Mapping[str, Mapping[str, Mapping[str, int]]]]) -> str:
    rows = []
    for scenario, by_policy in coverage.items():
        topics = list(next(iter(by_policy.values())))
        start = next(iter(by_policy.values()))
        rows.append(f"<tr><th>{html.escape(scenario)}: agents above the bar</th>"
                    + "".join(f"<th>{html.escape(t)}</th>" for t in topics) + "</tr>")
        rows.append("<tr><td>start of window</td>" + "".join(f"<td>{start[t]['start']}</td>" for t in topics)
                    + "</tr>")
        rows += [f"<tr><td>end, {html.escape(name)}</td>" + "".join(f"<td>{v[t]['end']}</td>" for t in topics)
                 + "</tr>" for name, v in by_policy.items()]
    return f"<table>{''.join(rows)}</table>"


def _img(png: bytes) -> str:
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"


# ---------------------------------------------------------------------- plots (matplotlib, Agg)

def _figure(width: float = 9.0, height: float = 5.0, ncols: int = 1):  # noqa: ANN202 - matplotlib objects
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return plt, fig, axes[0]


def _png(plt: Any, fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _plot_quality_fairness(policies: Mapping[str, Mapping[str, Any]], truth: str = "true") -> bytes:
    """Resolution against the Gini of per-agent mean difficulty, with intervals; skillmatch presets joined."""
    plt, fig, (ax,) = _figure(8, 5.5)
    presets = []
    for name, est in policies.items():
        x, y = est["fairness.difficulty_gini"], est["resolution_rate"]
        xerr = _errors(x, 1.0)
        yerr = _errors(y, 100.0)
        ax.errorbar(x["value"], 100 * y["value"], xerr=xerr, yerr=yerr, fmt="o", capsize=3)
        ax.annotate(name, (x["value"], 100 * y["value"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
        if name.startswith("skillmatch"):
            presets.append((x["value"], 100 * y["value"]))
    if len(presets) > 1:
        xs, ys = zip(*sorted(presets))
        ax.plot(xs, ys, "--", color="grey", linewidth=1)
    ax.set_xlabel(f"Gini of per-agent mean {truth} difficulty (lower is fairer)")
    ax.set_ylabel("resolution rate, %")
    ax.grid(alpha=0.3)
    return _png(plt, fig)


def _errors(estimate: Mapping[str, float], scale: float) -> list[list[float]] | None:
    """Error-bar lengths below and above the value (0 where the interval does not reach past it); None without one."""
    if estimate["lo"] != estimate["lo"]:
        return None
    return [[scale * max(estimate["value"] - estimate["lo"], 0.0)], [scale * max(estimate["hi"] - estimate["value"], 0.0)]]


def _plot_waits(scenarios: Sequence[Mapping[str, RunRecord]]) -> bytes:
    """Share of tickets still waiting after t seconds, per policy: all channels, voice, email."""
    plt, fig, axes = _figure(13, 4.2, ncols=3)
    first = scenarios[0]
    channels = next(iter(first.values())).channels
    panels = [("all channels", None)] + [(c, channels.index(c)) for c in ("voice", "email") if c in channels]
    for ax, (title, channel) in zip(axes, panels):
        for name in first:
            waits = np.concatenate([runs[name].wait_s if channel is None else runs[name].wait_s[runs[name].channel == channel]
                                    for runs in scenarios])
            waits = np.sort(np.maximum(waits, 1.0))
            still = 1.0 - np.arange(1, len(waits) + 1) / len(waits)
            ax.step(waits, still, where="post", label=name, linewidth=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 1.0)
        ax.set_title(title)
        ax.set_xlabel("wait, seconds")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of tickets still waiting")
    axes[len(panels) - 1].legend(fontsize=7)
    return _png(plt, fig)


def _plot_agent_difficulty(scenarios: Sequence[Mapping[str, RunRecord]], truth: str = "true") -> bytes:
    """Distribution across agents of the mean true difficulty each handled, per policy (agents of every scenario)."""
    plt, fig, (ax,) = _figure(10, 4.8)
    names = list(scenarios[0])
    data = [np.concatenate([per_agent_difficulty(runs[name]) for runs in scenarios]) for name in names]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"mean {truth} difficulty of an agent's tickets")
    ax.grid(alpha=0.3, axis="y")
    return _png(plt, fig)


def _plot_growth(scenarios: Sequence[Mapping[str, RunRecord]]) -> bytes:
    """Mean true skill gained on growth topics since the window started, per policy and time block."""
    plt, fig, (ax,) = _figure(8, 4.8)
    for name in scenarios[0]:
        curves = []
        for runs in scenarios:
            run = runs[name]
            skill = run.skill[:, run.growth] if run.growth.any() else np.zeros((len(run.skill), 1))
            curves.append((skill - skill[0]).mean(axis=1))
        curve = np.mean(curves, axis=0)
        days = np.arange(len(curve)) * scenarios[0][name].block_s / 86400.0
        ax.plot(days, curve, marker="o", markersize=3, label=name)
    ax.set_xlabel("days into the evaluation window")
    ax.set_ylabel("true skill gained on growth topics (logit)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(plt, fig)
