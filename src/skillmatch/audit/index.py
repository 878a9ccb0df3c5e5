"""One cherry-pick index per agent: shrunk, standardised indicators combined, with an interval and a flag.

Why this shape:
- **Shrinkage** (empirical Bayes, normal-normal): an agent's indicator is pulled toward the center's
  value by `B = tau^2 / (tau^2 + var)`, where `var` is its sampling variance (large with few picks)
  and `tau^2` the between-agent variance of true values (method of moments, precision-weighted so
  that agents with little data do not inflate it). Ten lucky picks do not make a picker.
- **Standardising** by `tau` puts indicators in one unit (between-agent standard deviations) and
  signs them so that higher always means more selective; the index is their weighted mean.
- **Interval**: each standardised indicator keeps its posterior standard deviation `sqrt(1 - B)`;
  they are added as if fully correlated (sum of weighted standard deviations), which can only widen
  the interval, since several indicators are read off the same claims.
- **Flag** only when the whole interval lies above the threshold: the agent is, with high
  confidence, more selective than the center by more than `flag_above` between-agent standard
  deviations. A relative index always has a top; requiring the interval to clear a margin keeps the
  flag for clear, well-measured cases and leaves the rest to the indicators and the conversation.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from skillmatch.audit.indicators import Indicator

MIN_VARIANCE = 1e-12
MIN_TAU2_SHARE = 1e-6
"""tau^2 never falls below this share of the indicator's mean sampling variance (no division by zero)."""


def shrink(indicator: Indicator, agents: pd.Index) -> pd.DataFrame:
    """Per agent: raw value, n, shrunk value, signed standardised z and its posterior sd (no units: z 0, sd 1)."""
    v = indicator.values.reindex(agents)
    x, var = v["value"].to_numpy(dtype=float), v["var"].to_numpy(dtype=float)
    has = np.isfinite(x) & np.isfinite(var)
    var = np.maximum(var, MIN_VARIANCE)  # a unit-free indicator measured without noise still has weights
    mu = indicator.center
    if has.sum() >= 2 and np.isfinite(mu):
        # precision-weighted moments around the center: E[sum w (x - mu)^2] = k + tau^2 sum w, with w = 1/var
        w = 1.0 / var[has]
        spread = float((np.sum(w * (x[has] - mu) ** 2) - has.sum()) / np.sum(w))
        tau2 = max(spread, MIN_TAU2_SHARE * float(np.mean(var[has])), 1e-18)
    else:  # fewer than two agents to compare: nobody differs from the center
        has = np.zeros_like(has)
        tau2 = 1.0
    b = np.where(has, tau2 / (tau2 + np.where(has, var, 0.0)), 0.0)
    shrunk = np.where(has, mu + b * (np.where(has, x, mu) - mu), mu)
    z = np.where(has, indicator.sign * (shrunk - mu) / np.sqrt(tau2), 0.0)
    return pd.DataFrame({"value": x, "n": v["n"].fillna(0.0).to_numpy(), "shrunk": shrunk, "z": z,
                         "sd": np.sqrt(1.0 - b), "weight_of_own_data": b}, index=agents).assign(tau=np.sqrt(tau2))


def combine(indicators: Sequence[Indicator], agents: pd.Index, weights: Mapping[str, float], level: float,
            flag_above: float) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The index, its interval at `level` (two-sided) and the flag, per agent; plus each indicator's shrinkage table.

    Indicators that no agent has data for are left out of the index (their tables are still returned).
    """
    tables = {ind.name: shrink(ind, agents) for ind in indicators if ind.in_index}
    # an indicator nobody has data for (e.g. no presence events in the log) says nothing: leave it out
    used = {name: t for name, t in tables.items() if t["value"].notna().any()}
    w = np.array([weights.get(name, 1.0) for name in used], dtype=float)
    if not len(used) or w.sum() <= 0:
        raise ValueError("the index needs at least one indicator with data and a positive weight")
    z = np.column_stack([t["z"].to_numpy() for t in used.values()])
    sd = np.column_stack([t["sd"].to_numpy() for t in used.values()])
    index = z @ w / w.sum()
    index_sd = sd @ w / w.sum()
    half = norm.ppf(0.5 + level / 2.0) * index_sd
    out = pd.DataFrame({"index": index, "index_low": index - half, "index_high": index + half}, index=agents)
    out["flag"] = out["index_low"] > flag_above
    return out, tables
