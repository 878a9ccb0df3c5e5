"""The audit folder: agents.csv, audit.json and audit.html, written whole or not at all, and read back."""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skillmatch.audit.run import AuditResult
from skillmatch.errors import InputError

AUDIT_FORMAT = "skillmatch-audit/1"
FILES = {"agents": "agents.csv", "json": "audit.json", "html": "audit.html"}
LEADING_COLUMNS = ("agent_id", "index", "index_low", "index_high", "flag", "n_picks", "n_informative_picks",
                   "n_closed", "online_h", "pick_easiness", "churn_rate", "handled_ratio", "idle_with_work_share",
                   "hard_share", "fair_hard_share", "hard_share_vs_fair", "handle_time_ratio", "median_pool_size")


def agents_frame(result: AuditResult) -> pd.DataFrame:
    """The per-agent table as written to agents.csv: most selective first, headline columns first."""
    frame = result.agents.sort_values(["index", "agent_id"], ascending=[False, True], kind="stable")
    leading = [c for c in LEADING_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in leading and c != "notes"]
    return frame[leading + rest + ["notes"]].reset_index(drop=True)


def audit_document(result: AuditResult) -> dict[str, Any]:
    """audit.json: format, creation time, how the audit was made, the center's figures and every agent's row."""
    rows = [{k: _plain(v) for k, v in row.items()} for row in agents_frame(result).to_dict(orient="records")]
    return {"format": AUDIT_FORMAT, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **result.summary(), "agents": rows}


def write_audit(result: AuditResult, out_dir: str | Path) -> dict[str, Path]:
    """Write agents.csv, audit.json and audit.html into `out_dir` via a temporary sibling (never half a report)."""
    from skillmatch.audit.report import render_html  # matplotlib only where the report is drawn

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("a file is in the way of the audit folder", file=out_dir, expected="a folder path")
    document = audit_document(result)
    html = render_html(result)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the report folder is meant to be shared
        agents_frame(result).to_csv(tmp / FILES["agents"], index=False)
        (tmp / FILES["json"]).write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        (tmp / FILES["html"]).write_text(html, encoding="utf-8")
        if out_dir.exists():
            for name in FILES.values():
                os.replace(tmp / name, out_dir / name)
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {key: out_dir / name for key, name in FILES.items()}


def read_audit(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """agent_id -> that agent's row of the audit (index, interval, flag, indicators, notes), from audit.json."""
    path = Path(out_dir) / FILES["json"]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no audit here", file=path, expected="a folder written by `skillmatch audit --out`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the audit ({exc})", file=path, expected="audit.json written by skillmatch") \
            from None
    found = document.get("format") if isinstance(document, dict) else None
    if found != AUDIT_FORMAT:
        raise InputError("not a skillmatch audit", file=path, expected=AUDIT_FORMAT, got=found)
    return {row["agent_id"]: row for row in document["agents"]}


def _plain(value: Any) -> Any:
    """A JSON-ready cell: numpy scalars as Python, nan as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
