"""What a model folder says about itself: `metadata.json` and a short human-readable model card."""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from skillmatch.config import TrainConfig
from skillmatch.models.folder import MODEL_FORMAT
from skillmatch.models.training import TrainingResult

LIBRARIES = ("skillmatch", "lightgbm", "scikit-learn", "numpy", "pandas", "scipy", "joblib")


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the saved models depend on."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_metadata(result: TrainingResult, config: TrainConfig, model_version: str, fingerprint: str,
                   sources: dict[str, Path], created_at: datetime | None = None) -> dict[str, Any]:
    """Everything needed to audit a version: window, data, features, libraries, config, metrics."""
    return {
        "format": MODEL_FORMAT,
        "version": model_version,
        "created_at": (created_at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "training_window": result.window,
        "rows": result.n_rows,
        "data": {"fingerprint": fingerprint, "files": {k: str(v) for k, v in sources.items()}},
        "features": result.features,
        "library_versions": library_versions(),
        "config": config.model_dump(mode="json"),
        "metrics": result.metrics,
    }


def _f(value: Any, digits: int = 3) -> str:
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return "n/a"


def render_card(metadata: dict[str, Any], result: TrainingResult) -> str:
    """A short Markdown card: data window, metrics against baselines, top features, known limits."""
    m = metadata["metrics"]
    res, handle = m["resolution"], m["handle_time"]
    window, rows = metadata["training_window"], metadata["rows"]
    lines = [
        f"# skillmatch model {metadata['version']}",
        "",
        f"Created {metadata['created_at']}. Trained on interactions created {window['start']} to {window['split']} "
        f"({rows['fit']} rows to fit, the last {rows['calibration']} of them to calibrate P(resolved)); evaluated on "
        f"the {rows['evaluation']} interactions created {window['split']} to {window['end']}, which no model saw.",
        "",
        "## What it predicts",
        "- **Difficulty** of a ticket in [0, 1]: the chance that a typical agent does not resolve it. Learned with the "
        "handling agent as a feature and averaged over a fixed reference population of agents, so tickets that "
        "weak or picky agents took do not look harder or easier than they are.",
        "- **Agent fit** for any (ticket, agent) pair: calibrated P(resolved), expected handle time, expected "
        "satisfaction (learned from answered surveys only).",
        "",
        "## Resolution on the held-out slice",
        "| model | AUC | log loss | Brier | calibration error |",
        "|---|---|---|---|---|",
    ]
    for name, values in [("agent fit", res["model"]), *[(f"baseline: {k.replace('_', ' ')}", v)
                                                           for k, v in res["baselines"].items()]]:
        lines.append(f"| {name} | {_f(values['auc'])} | {_f(values['log_loss'])} | {_f(values['brier'])} | "
                     f"{_f(values['calibration_error'])} |")
    lift = ", ".join(f"{_f(v)} over {k.replace('_', ' ')}" for k, v in res["auc_lift"].items())
    lines += ["", f"AUC lift: {lift}.", "",
              "Baselines: *topic only* and *agent only* are the training resolution rates of the ticket's topic and "
              "of the handling agent; *ticket only* is the difficulty model's P(resolved) for a typical agent (every "
              "ticket feature, no agent), so the lift over it is what knowing the agent adds.",
              "", "## Handle time on the held-out slice",
              "| model | mean absolute error (s) |", "|---|---|",
              f"| agent fit | {_f(handle['model']['mae_s'], 1)} |"]
    lines += [f"| baseline: {k.replace('_', ' ')} | {_f(v['mae_s'], 1)} |" for k, v in handle["baselines"].items()]
    csat = m.get("csat", {})
    if "model" in csat:
        lines += ["", f"Satisfaction: MAE {_f(csat['model']['mae'], 2)} against {_f(csat['baselines']['topic_only']['mae'], 2)} "
                      f"for topic averages, on {csat['n_surveys_eval']} answered surveys."]
    if "truth" in m:
        t = m["truth"]
        lines += ["", "## Against the simulator's ground truth (held-out tickets)",
                  "| measure | value |", "|---|---|",
                  f"| Spearman, predicted vs true difficulty (de-confounded model) | {_f(t['difficulty_spearman'])} |",
                  f"| Spearman, predicted vs true difficulty (naive model, no agent effects) | "
                  f"{_f(t['naive_difficulty_spearman'])} |",
                  f"| mean per-ticket Spearman, predicted vs true P(resolved) across eligible agents | "
                  f"{_f(t['agent_ranking_spearman'])} ({t['ranking_tickets']} tickets, "
                  f"{t['ranking_pairs']} pairs) |"]
    top = result.feature_importance.head(10)
    total = float(result.feature_importance.sum()) or 1.0
    lines += ["", "## Most important features (resolution model, share of gain)", "| feature | share |", "|---|---|"]
    lines += [f"| {name} | {_f(gain / total)} |" for name, gain in top.items()]
    lines += ["", "## Known limits",
              "- Outcomes are only observed for the agent who handled each ticket; predictions for other agents rely "
              "on their history in the topic, which is thin for topics they avoided.",
              "- Satisfaction is learned from answered surveys, which are not a random sample of customers.",
              "- History features assume `closed_at` (or `assigned_at`/`created_at` + `handle_time_s`) is when the "
              "outcome became known.",
              "- The served model is the evaluated one (trained before the split); the held-out slice feeds only the "
              "live agent history, not the model weights.", ""]
    return "\n".join(lines)
