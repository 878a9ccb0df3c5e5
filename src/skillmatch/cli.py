"""The `skillmatch` command line: one function per command; domain errors become exit codes here.

Exit status: 0 success, 2 bad input (one clear message, no traceback), 1 anything else.
Set SKILLMATCH_DEBUG=1 to see the traceback of an unexpected error.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skillmatch.errors import InputError, SkillmatchError

app = typer.Typer(
    name="skillmatch",
    help="Learned ticket assignment for contact centers: skill match, fairness and growth instead of cherry-picking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
F = TypeVar("F", bound=Callable[..., Any])


def _edge(command: F) -> F:
    """Translate domain errors into one message and an exit status (the CLI's only error edge)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            _print_error(exc)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (SkillmatchError, OSError) as exc:
            if os.environ.get("SKILLMATCH_DEBUG"):
                raise
            _print_error(exc)
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper  # type: ignore[return-value]


def _print_error(exc: BaseException) -> None:
    """One line on stderr; the message is shown as written (cell values may look like markup)."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True, emoji=False)


def _print_pairs(title: str, pairs: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    for label, value in pairs:
        table.add_row(label, value)
    out.print(table)


@app.command(epilog="Example: skillmatch simulate --out runs/sim --days 30 --agents 60 --seed 1")
@_edge
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the logs and the ground truth into.")],
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days of history.")] = 30,
    agents: Annotated[int, typer.Option(min=2, max=5000, help="Agents on the roster.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 0,
) -> None:
    """Write the logs of a simulated contact center whose agents cherry-pick, plus its hidden ground truth."""
    from skillmatch.simulation import SimulationConfig, simulate_history

    config = SimulationConfig(days=days, n_agents=agents, seed=seed)
    history = simulate_history(config, progress=_progress_bar("simulating", days))
    paths = history.write(out_dir)
    _print_pairs(f"simulated {days} days, {agents} agents, seed {seed}",
                 [(name, str(path)) for name, path in paths.items()])


@app.command(epilog="Example: skillmatch validate --interactions data/sample/interactions.csv.gz "
             "--agents data/sample/agents.csv --events data/sample/events.csv.gz")
@_edge
def validate(
    interactions: Annotated[Path, typer.Option(help="Interactions log (CSV, .csv.gz or Parquet).")],
    agents: Annotated[Path, typer.Option(help="Agents roster (CSV, .csv.gz or Parquet).")],
    events: Annotated[Path | None, typer.Option(help="Optional queue events log.")] = None,
) -> None:
    """Check logs against the contract and print a summary; exit 2 with one clear error if they break it."""
    from skillmatch.logs import load_logs, summarize

    logs = load_logs(interactions, agents, events)
    _print_pairs("logs are valid", summarize(logs).lines())


@app.command(epilog="Example: skillmatch train --interactions data/sample/interactions.csv.gz "
             "--agents data/sample/agents.csv --out models/sample --config training/simulated.toml "
             "--truth data/sample/truth.json.gz")
@_edge
def train(
    interactions: Annotated[Path, typer.Option(help="Interactions log (CSV, .csv.gz or Parquet).")],
    agents: Annotated[Path, typer.Option(help="Agents roster.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Model folder to create, e.g. models/2026-11-23.")],
    config: Annotated[Path | None, typer.Option(help="Training config (TOML); defaults documented in "
                                                     "training/default.toml.")] = None,
    truth: Annotated[Path | None, typer.Option(help="Ground truth of a simulated history (truth.json.gz): "
                                                    "adds difficulty and agent-ranking checks.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model folder.")] = False,
) -> None:
    """Fit the difficulty and agent-fit models, evaluate them on a later time slice, write the model folder."""
    from skillmatch.config import load_train_config
    from skillmatch.logs import load_logs
    from skillmatch.models.publish import train_to_folder

    train_config = load_train_config(config)
    logs = load_logs(interactions, agents)
    ground_truth = _load_truth(truth) if truth is not None else None
    folder, _, metadata = train_to_folder(logs, train_config, out_dir, truth=ground_truth, progress=_say,
                                          overwrite=overwrite)
    _print_pairs(f"model {metadata['version']} written to {folder}",
                 [(k, f"{v:.3f}") for k, v in metadata["metrics"]["summary"].items()])
    out.print(f"model card: {folder / 'MODEL_CARD.md'}")


def _load_truth(path: Path):  # noqa: ANN202 - GroundTruth lives in the simulation package
    from skillmatch.simulation import GroundTruth

    return GroundTruth.load(path)


def _say(message: str) -> None:
    """Progress of a long command, on stderr."""
    err.print(f"[dim]{escape(message)}...[/]", highlight=False)


@app.command(epilog="Example: skillmatch demo --out runs/demo --days 30 --agents 60 --seed 0")
@_edge
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's data and models.")] = Path("runs/demo"),
    days: Annotated[int, typer.Option(min=5, help="Days of simulated history.")] = 30,
    agents: Annotated[int, typer.Option(min=5, help="Agents on the simulated roster.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    eval_days: Annotated[int, typer.Option(min=1, max=30, help="Days the backtest runs every policy for after "
                                                              "the history.")] = 2,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes running policies side by side.")] = 2,
) -> None:
    """Simulate a center that cherry-picks, train and evaluate models, backtest the policies (no arguments needed)."""
    from skillmatch.backtest import EvalSettings, Scenario, backtest as run_backtest, parse_lineup
    from skillmatch.backtest.lineup import DEMO_LINEUP
    from skillmatch.backtest.table import comparison_table
    from skillmatch.config import TrainConfig
    from skillmatch.logs import load_logs, summarize
    from skillmatch.models.folder import promote
    from skillmatch.models.publish import train_to_folder
    from skillmatch.simulation import SimulationConfig, simulate_history
    from skillmatch.simulation.history import EXTRA_COLUMNS

    config = SimulationConfig(days=days, n_agents=agents, seed=seed)
    history = simulate_history(config, progress=_progress_bar("simulating", days))
    paths = history.write(out_dir / "data")
    logs = load_logs(paths["interactions"], paths["agents"], paths["events"])
    _print_pairs("1. simulated history under free selection", summarize(logs).lines())

    train_config = TrainConfig.model_validate({"features": {"extra_numeric": list(EXTRA_COLUMNS)}})
    models_dir = out_dir / "models"
    version_dir = models_dir / f"seed-{seed}-{days}d-{agents}a"
    folder, result, metadata = train_to_folder(logs, train_config, version_dir, truth=history.truth,
                                               progress=_say, overwrite=True)
    promote(models_dir, folder.name)
    _print_pairs("2. models, evaluated on the last 20% of the history", _demo_metrics(result.metrics))
    out.print(f"logs and ground truth: {out_dir / 'data'}\nmodel folder (promoted as latest): {folder}\n"
              f"model card: {folder / 'MODEL_CARD.md'}")

    compared = run_backtest([Scenario.from_history(history, folder, eval_days)], parse_lineup(DEMO_LINEUP),
                            out_dir / "backtest", evaluation=EvalSettings.for_window(eval_days), workers=workers,
                            described={"days": days, "eval_days": eval_days, "agents": agents, "seed": seed},
                            progress=_progress_bar, say=_say)
    out.print(comparison_table(compared.summary, title=f"3. the policies over {eval_days} more days: same tickets, "
                                                       f"agents still learning (95% intervals)"))
    out.print(f"backtest report: {compared.paths['report']}\nall figures: {compared.paths['metrics']}")


def _demo_metrics(metrics: dict) -> list[tuple[str, str]]:
    res, truth = metrics["resolution"], metrics.get("truth", {})
    pairs = [("resolution AUC", f"{res['model']['auc']:.3f} (topic-only baseline "
                                f"{res['baselines']['topic_only']['auc']:.3f}, agent-only "
                                f"{res['baselines']['agent_only']['auc']:.3f})"),
             ("calibration error", f"{res['model']['calibration_error']:.3f}"),
             ("handle time MAE", f"{metrics['handle_time']['model']['mae_s']:.0f} s (topic x channel median "
                                 f"{metrics['handle_time']['baselines']['topic_channel_median']['mae_s']:.0f} s)")]
    if truth:
        pairs += [("difficulty vs truth", f"Spearman {truth['difficulty_spearman']:.3f} (naive model "
                                          f"{truth['naive_difficulty_spearman']:.3f})"),
                  ("agent ranking vs truth", f"mean per-ticket Spearman {truth['agent_ranking_spearman']:.3f}")]
    return pairs


models_app = typer.Typer(name="models", help="List the model folders and promote one to `latest` (what serving loads).",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")
ModelsDir = Annotated[Path, typer.Option("--dir", help="Folder holding the model folders and the `latest` link.")]


@models_app.command("list", epilog="Example: skillmatch models list --dir models")
@_edge
def models_list(models_dir: ModelsDir = Path("models")) -> None:
    """Show the model folders, oldest first, with their headline metrics and which one is `latest`."""
    from datetime import timezone

    from skillmatch.models.folder import list_models

    infos = list_models(models_dir)
    if not infos:
        out.print(f"no model folders in {escape(str(models_dir))} (train one with `skillmatch train --out "
                  f"{escape(str(models_dir / 'NAME'))} ...`)", highlight=False)
        return
    metric_names = list(dict.fromkeys(name for info in infos for name in info.metrics))
    table = Table(title=f"models in {escape(str(models_dir))}", title_justify="left")
    for column in ("name", "version", "created (UTC)", "latest", *metric_names):
        table.add_column(escape(column), justify="right" if column in metric_names else "left")
    for info in infos:
        created = info.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        metrics = [f"{info.metrics[m]:.3f}" if m in info.metrics else "" for m in metric_names]
        table.add_row(escape(info.name), escape(info.version), created, "<- latest" if info.is_latest else "",
                      *metrics)
    out.print(table)


@models_app.command("promote", epilog="Example: skillmatch models promote 2026-11-23T09-00-00Z-ab12 --dir models")
@_edge
def models_promote(
    name: Annotated[str, typer.Argument(help="Name of the model folder inside --dir to make `latest`.")],
    models_dir: ModelsDir = Path("models"),
) -> None:
    """Point `latest` (what serving and Engine.load("models/latest") load) at a complete model folder, atomically."""
    from skillmatch.models.folder import LATEST, promote

    target = promote(models_dir, name)
    out.print(f"{escape(str(models_dir / LATEST))} -> {escape(target.name)}", highlight=False)


@app.command(epilog="Example: SKILLMATCH_API_TOKENS=s3cret skillmatch serve --models models --host 0.0.0.0 --workers 2")
@_edge
def serve(
    models_dir: Annotated[Path, typer.Option("--models", help="A models directory (its `latest` is served and "
                                             "reloaded when promoted) or one model folder.")],
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs tokens.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (uvicorn).")] = 1,
    policy: Annotated[Path | None, typer.Option(help="Policy config (TOML); default: the documented defaults.")] = None,
    tokens_file: Annotated[Path | None, typer.Option(help="Bearer tokens, one per line (also: "
                                                     "SKILLMATCH_API_TOKENS, comma-separated).")] = None,
    audit: Annotated[Path | None, typer.Option(help="Output folder of `skillmatch audit`, shown in agent "
                                               "profiles.")] = None,
    max_tickets: Annotated[int, typer.Option(min=1, help="Most tickets (or outcome rows) per request.")] = 2000,
    max_agents: Annotated[int, typer.Option(min=1, help="Most agents per request.")] = 2000,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Largest request body.")] = 4_000_000,
    reload_interval: Annotated[float, typer.Option(min=0.05, help="Seconds between checks for a newly "
                                                   "promoted model.")] = 1.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    alert_webhook: Annotated[str | None, typer.Option(help="POST new supervisor alerts (SLA risk, overload) here as "
                                                      "JSON, retried with backoff; never slows routing.")] = None,
) -> None:
    """Serve the HTTP API (CONTRACT section 3): OpenAPI at /docs, JSON access logs on stderr."""
    import tempfile

    import uvicorn

    from skillmatch.api import ApiSettings, create_app
    from skillmatch.api.settings import check_bind, env_tokens, read_tokens
    from skillmatch.api.workers import run_workers
    from skillmatch.config import load_policy_config
    from skillmatch.ledger import Ledger

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise InputError("unknown log level", column="--log-level", expected="debug, info, warning or error",
                         got=log_level)
    if not models_dir.exists():
        raise InputError("no such models directory", file=models_dir,
                         expected="a folder of model versions (train one with `skillmatch train`)")
    load_policy_config(policy)
    settings = ApiSettings.from_env(models_dir=models_dir, policy_path=policy, audit_dir=audit,
                                    tokens=env_tokens() | read_tokens(None, tokens_file), max_tickets=max_tickets,
                                    max_agents=max_agents, max_body_bytes=max_body_bytes,
                                    reload_interval_s=reload_interval,
                                    **({"alert_webhook": alert_webhook} if alert_webhook else {}))
    check_bind(host, settings)
    Ledger.connect(settings.database_url).close()
    if audit is not None:
        from skillmatch.audit import read_audit

        read_audit(audit)
    logging_config = _serve_logging(log_level.upper())
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=logging_config)
        return
    os.environ.update(settings.to_env())
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="skillmatch-metrics-"))
    run_workers("skillmatch.api.app:app_from_env", workers, host=host, port=port, access_log=False,
                log_config=logging_config)


def _serve_logging(level: str) -> dict[str, Any]:
    """Server logs on stderr: one JSON line per request (skillmatch.access), plain lines for the rest."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                       "json": {"format": "%(message)s"}},
        "handlers": {"plain": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
                     "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"skillmatch.access": {"handlers": ["json"], "level": level, "propagate": False},
                    "skillmatch": {"handlers": ["plain"], "level": level, "propagate": False},
                    "uvicorn": {"handlers": ["plain"], "level": level, "propagate": False}},
    }


@app.command(epilog="Example: skillmatch audit --events data/sample/events.csv.gz --interactions "
             "data/sample/interactions.csv.gz --agents data/sample/agents.csv --out runs/audit "
             "--config training/simulated.toml")
@_edge
def audit(
    events: Annotated[Path, typer.Option(help="Queue events log (queued, viewed, claimed, assigned, unassigned, "
                                               "transferred, closed, agent_online, agent_offline).")],
    interactions: Annotated[Path, typer.Option(help="Interactions log: ticket fields for difficulty, who closed what.")],
    agents: Annotated[Path, typer.Option(help="Agents roster: languages, certifications and capacity decide "
                                               "what each agent could have taken.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for agents.csv, audit.json and audit.html.")],
    models: Annotated[Path | None, typer.Option(help="Model folder (or a models directory with `latest`) whose "
                                                     "difficulty model rates the tickets; without it a difficulty "
                                                     "model is fitted on these logs.")] = None,
    config: Annotated[Path | None, typer.Option(help="Training config (TOML) for that fit, e.g. "
                                                     "training/simulated.toml (ignored with --models).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Agents shown in the terminal table (flagged ones always).")] = 25,
) -> None:
    """Per-agent cherry-picking indicators and one index with intervals, from the queue's events (for coaching)."""
    from skillmatch.audit import check_audit_logs, difficulty_from_model, fit_difficulty, run_audit, write_audit
    from skillmatch.audit.table import agents_table
    from skillmatch.config import load_train_config
    from skillmatch.logs import load_logs
    from skillmatch.models.folder import read_model_folder, resolve

    if models is None:
        train_config = load_train_config(config)  # a bad config fails before the logs are read
        logs = load_logs(interactions, agents, events)
        check_audit_logs(logs)  # and unusable events before a model is fitted
        difficulty = fit_difficulty(logs, train_config, progress=_say)
    else:
        logs = load_logs(interactions, agents, events)
        check_audit_logs(logs)
        model, metadata = read_model_folder(models)
        difficulty = difficulty_from_model(model, logs.interactions,  # type: ignore[arg-type]
                                           f"model folder {resolve(models)} (version {metadata.get('version')})")
    result = run_audit(logs, difficulty, progress=_say)
    _say("writing the report")
    paths = write_audit(result, out_dir)
    out.print(agents_table(result, limit=top))
    out.print(f"report: {escape(str(paths['html']))}\nper-agent table: {escape(str(paths['agents']))}\n"
              f"summary: {escape(str(paths['json']))}", highlight=False, soft_wrap=True)


@app.command(epilog="Examples: skillmatch backtest --simulate --days 30 --eval-days 10 --agents 60 --seeds 42,43,44 "
             "--out runs/backtest\n\n"
             "skillmatch backtest --interactions runs/real/bank/interactions.csv.gz --agents runs/real/bank/agents.csv "
             "--events runs/real/bank/events.csv.gz --config training/anonymous_bank.toml --out runs/replay/bank")
@_edge
def backtest(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html, metrics.json and the scenarios' "
                                                        "logs and models.")],
    simulate: Annotated[bool, typer.Option("--simulate", help="Backtest on a simulated center (instead of "
                                                               "replaying logs).")] = False,
    interactions: Annotated[Path | None, typer.Option(help="Log replay: the interactions log to replay.")] = None,
    events: Annotated[Path | None, typer.Option(help="Log replay: the events log (agent_online/offline sessions; "
                                                     "work on tickets not in the interactions).")] = None,
    config: Annotated[Path | None, typer.Option(help="Log replay: training config of the decision and evaluation "
                                                     "models (TOML), e.g. training/uci_incidents.toml.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Log replay: policy config (TOML; restricted topics, SLA "
                                                     "targets), default training/policy.toml's values.")] = None,
    eval_from: Annotated[str | None, typer.Option(help="Log replay: the evaluation window starts here (ISO "
                                                       "timestamp); default: see --eval-share.")] = None,
    eval_share: Annotated[float, typer.Option(min=0.01, max=0.9, help="Log replay: the window is this latest share "
                                                                      "of the interactions (by created_at).")] = 0.25,
    folds: Annotated[int, typer.Option(min=2, max=10, help="Log replay: folds of days the evaluation model is "
                                                           "cross-fitted over.")] = 2,
    session_gap: Annotated[float, typer.Option(min=0.0, help="Log replay without online/offline events: hours an "
                                                             "agent holds nothing before its session ends.")] = 1.0,
    overwrite: Annotated[bool, typer.Option(help="Log replay: replace a non-empty --out folder.")] = False,
    days: Annotated[int, typer.Option(min=5, max=3650, help="Days of simulated history to train on.")] = 30,
    eval_days: Annotated[int, typer.Option(min=1, max=365, help="Days every policy then runs for.")] = 10,
    agents: Annotated[str, typer.Option(help="With --simulate: agents on the simulated roster (a number); in log "
                                             "replay: the agents roster file.")] = "60",
    seeds: Annotated[str, typer.Option(help="Simulation seeds, comma-separated; figures are means over them.")] = "42",
    policies: Annotated[str, typer.Option(help="Policies to compare, comma-separated: free_selection, fifo, "
                                               "skills_rules, greedy_best_fit, skillmatch[:PRESET], oracle (not in "
                                               "log replay).")] = "all",
    round_interval: Annotated[float, typer.Option(min=1.0, help="Seconds between routing rounds of the engine "
                                                                "(and the oracle).")] = 30.0,
    report_interval: Annotated[float, typer.Option(min=0.0, help="Seconds of (simulated or replayed) time between "
                                                                 "the engine's outcome reports.")] = 1800.0,
    bootstrap: Annotated[int, typer.Option(min=50, help="Bootstrap replicates for the 95% intervals.")] = 400,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes running policies side by side.")] = 2,
) -> None:
    """Compare routing policies on a simulated center (--simulate) or by replaying logs: quality, waiting, fairness, growth."""
    from skillmatch.backtest import (
        EvalSettings, RunSettings, SimulatedSource, backtest as run_backtest, default_lineup, parse_lineup,
    )
    from skillmatch.backtest.scenario import parse_seeds
    from skillmatch.backtest.table import REPLAY_HEADLINE, comparison_table

    roster_file = None if agents.strip().isdigit() else Path(agents)
    if simulate and (interactions is not None or roster_file is not None):
        raise InputError("--simulate and log files were both given", expected="either --simulate or "
                         "--interactions with --agents (log replay)")
    if not simulate:
        if interactions is None or roster_file is None:
            raise InputError("nothing to backtest", expected="--simulate, or --interactions F --agents F "
                             "(log replay)", got=", ".join(f"--{n}" for n, v in (("interactions", interactions),
                                                                                ("agents", roster_file)) if v))
        result = _replay(interactions, roster_file, events, config, policy, out_dir, policies, eval_from, eval_share,
                         folds, session_gap, round_interval, report_interval, bootstrap, workers, overwrite)
        out.print(comparison_table(result.summary, title="log replay: policies compared (95% intervals; resolution "
                                   "and difficulty estimated by the evaluation model; free_selection:logged = actual)",
                                   columns=REPLAY_HEADLINE))
    else:
        if not agents.strip().isdigit() or not 5 <= int(agents) <= 5000:
            raise InputError("invalid --agents for a simulated center", expected="a whole number from 5 to 5000",
                             got=agents)
        specs = default_lineup() if policies.strip() == "all" else parse_lineup(policies.split(","))
        source = SimulatedSource(days=days, eval_days=eval_days, n_agents=int(agents), seeds=parse_seeds(seeds))
        result = run_backtest(source.scenarios(out_dir / "scenarios", _progress_bar, _say), specs, out_dir,
                              settings=RunSettings(round_interval_s=round_interval,
                                                   report_interval_s=report_interval),
                              evaluation=EvalSettings.for_window(eval_days), n_boot=bootstrap, workers=workers,
                              described={"days": days, "eval_days": eval_days, "agents": agents, "seeds": seeds},
                              progress=_progress_bar, say=_say)
        out.print(comparison_table(result.summary))
    out.print(f"report: {escape(str(result.paths['report']))}\nall figures: {escape(str(result.paths['metrics']))}",
              highlight=False)


REPLAY_LINEUP = ("free_selection", "fifo", "skills_rules", "greedy_best_fit", "skillmatch")


def _replay(interactions: Path, agents: Path, events: Path | None, config: Path | None, policy: Path | None,
            out_dir: Path, policies: str, eval_from: str | None, eval_share: float, folds: int, session_gap_h: float,
            round_interval: float, report_interval: float, bootstrap: int, workers: int,
            overwrite: bool):  # noqa: ANN202
    """The log-replay backtest (checks every input before any training)."""
    from skillmatch.backtest import parse_lineup
    from skillmatch.backtest.replay import ReplaySettings, replay_backtest
    from skillmatch.config import load_policy_config, load_train_config
    from skillmatch.logs import load_logs

    specs = parse_lineup(REPLAY_LINEUP if policies.strip() == "all" else policies.split(","))
    if any(s.kind == "oracle" for s in specs):
        raise InputError("the oracle cannot be replayed from a log", expected="policies without oracle (a log has "
                         "no true chance of resolution)", got=policies)
    train_config, policy_config = load_train_config(config), load_policy_config(policy)
    _say("reading the logs")
    logs = load_logs(interactions, agents, events)
    settings = ReplaySettings(eval_from=eval_from, eval_share=eval_share, folds=folds,
                              round_interval_s=round_interval, report_interval_s=report_interval,
                              session_gap_s=session_gap_h * 3600.0,
                              n_boot=bootstrap, workers=workers)
    return replay_backtest(logs, train_config, policy_config, specs, out_dir, settings, overwrite=overwrite,
                           progress=_progress_bar, say=_say)


@app.command(
    help="Turn a public raw dataset into contract logs, with counts and every choice written to ADAPTED.md.\n\n"
    "The output is validated against the contract before it appears; `skillmatch validate` and `skillmatch train` "
    "take it as it is. docs/real-data.md explains every choice, with counts and trained models.\n\n"
    "uci-incidents (UCI incident event log, incident_event_log.csv.xz): one interaction per assignment segment "
    "(one analyst holding the incident); a segment that passes it on is transferred, not resolved; resolved = the "
    "segment holding it at resolution, without a reopen (the SLA is speed, not quality); the two pseudonym "
    "numberings of analysts are unified; topic = category; priority = the leading digit; '?' is missing; "
    "handle time is calendar time.\n\n"
    "anonymous-bank (Anonymous Bank call log, anonymous_bank_1999_02.tsv.gz): one interaction per served call of "
    "an identified customer; resolved = no call by that customer about the same service type within 72 h after it "
    "ended (a proxy); abandoned and unidentified calls are events only; calls ending in the last 72 h are dropped "
    "(outcome unseen); topic = service type; language en for PE calls, else he.",
    epilog="Examples: skillmatch adapt uci-incidents incident_event_log.csv.xz --out data/real/uci  |  "
    "skillmatch adapt anonymous-bank anonymous_bank_1999_02.tsv.gz --out data/real/bank --limit-rows 5000")
@_edge
def adapt(
    dataset: Annotated[str, typer.Argument(help="uci-incidents or anonymous-bank.")],
    raw: Annotated[Path, typer.Argument(help="The raw file as published (compression from the extension).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for interactions.csv.gz, agents.csv, events.csv.gz, "
                                                        "ADAPTED.md and adapted.json.")],
    limit_rows: Annotated[int | None, typer.Option(min=1, help="Read only the first N raw rows (a quick look; "
                                                               "incidents cut short are dropped).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the adapted logs in a non-empty --out.")] = False,
) -> None:
    """Turn a public raw dataset into contract logs (help above); write them whole, validated, with ADAPTED.md."""
    from skillmatch.adapters import adapter_for, write_adapted
    from skillmatch.adapters.common import check_out_dir

    adapter = adapter_for(dataset)
    check_out_dir(out_dir, overwrite=overwrite)  # refuse a taken --out before reading anything
    _say(f"adapting {raw}")
    adapted = adapter(raw, limit_rows)
    _say("validating and writing the logs")
    paths = write_adapted(adapted, out_dir, overwrite=overwrite)
    pairs = [(f"{adapted.unit_in} read", f"{adapted.rows_in:,}"),
             ("interactions", f"{len(adapted.interactions):,}"), ("agents", f"{len(adapted.agents):,}"),
             ("events", "none" if adapted.events is None else f"{len(adapted.events):,}"),
             *[(f"not used: {reason}", f"{count:,}") for reason, count in adapted.dropped.items() if count]]
    _print_pairs(f"{adapted.dataset}: adapted logs in {out_dir}", pairs)
    events = f" --events {paths['events.csv.gz']}" if "events.csv.gz" in paths else ""
    out.print(f"choices and counts: {escape(str(paths['ADAPTED.md']))}\nnext: skillmatch validate --interactions "
              f"{escape(str(paths['interactions.csv.gz']))} --agents {escape(str(paths['agents.csv']))}"
              f"{escape(events)}", highlight=False)


report_app = typer.Typer(name="report", help="Reports for people: the team report for supervisors and coaching.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("team", epilog="Example: skillmatch report team --models models --database-url "
                    "sqlite:///skillmatch-ledger.db --out runs/team --now 2026-11-23T15:00:00Z")
@_edge
def report_team(
    models: Annotated[Path, typer.Option(help="A models directory (its `latest`) or one model folder.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write team.html into.")],
    database_url: Annotated[str | None, typer.Option(help="The ledger (default: SKILLMATCH_DATABASE_URL, else "
                                                          "sqlite:///skillmatch-ledger.db).")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy config (TOML) the engine routes with.")] = None,
    now: Annotated[str | None, typer.Option(help="The moment to report on (ISO-8601; default: now).")] = None,
) -> None:
    """A self-contained HTML team report: SLA alerts, hand-backs, fair shares, growth, mentors, each agent in words."""
    from datetime import datetime, timezone

    from skillmatch.engine import Engine
    from skillmatch.supervision import Supervisor
    from skillmatch.supervision.report import team_view, write_team_report

    if not models.exists():
        raise InputError("no such models directory or model folder", file=models,
                         expected="a folder written by `skillmatch train` (or a directory with `latest`)")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the report folder is a file", file=out_dir, expected="a folder (created if missing)")
    moment = datetime.now(timezone.utc)
    if now is not None:
        try:
            moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise InputError("not a timestamp", column="--now", expected="ISO-8601, e.g. 2026-11-23T15:00:00Z",
                             got=now) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    engine = Engine.load(models, database_url=database_url, policy=policy)
    try:
        _say("computing the team view")
        view = team_view(Supervisor(engine), moment)
        path = write_team_report(view, out_dir)
    finally:
        engine.close()
    overloaded = [a["agent_id"] for a in view["agents"] if a["queue"]["overloaded"]]
    _print_pairs(f"team report at {view['now']}", [
        ("agents", str(len(view["agents"]))), ("alerts", str(len(view["alerts"]))),
        ("overloaded", ", ".join(overloaded) or "none"), ("report", str(path))])


def _progress_bar(label: str, total: int) -> Callable[[int], None]:
    """A rich progress bar driven by a callback `advance(n)`; silent when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        return lambda n: None
    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, transient=True)
    task = progress.add_task(label, total=total)
    progress.start()

    def advance(n: int) -> None:
        progress.advance(task, n)
        if progress.finished:
            progress.stop()

    return advance


def main() -> None:
    """Console-script entry point."""
    app(prog_name="skillmatch")
    sys.exit(0)
