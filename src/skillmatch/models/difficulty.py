"""How hard a ticket is for a typical agent, with the handling agent held fixed.

Free-selection logs are confounded: easy tickets went to some agents and hard ones waited for
others. The model therefore learns P(resolved) and handle time from ticket features *and* the
handling agent's identity, and a ticket's difficulty is the prediction averaged over a fixed
reference population of agents, so "tickets that weak agents took" is not mistaken for "hard".
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from skillmatch.config import LightGBMParams
from skillmatch.features.categories import with_categories
from skillmatch.models import factored as factored_scoring
from skillmatch.models.factored import Forest, Unsupported

AGENT_COLUMN = "agent"
CHUNK_ROWS = 1_000_000


def lgbm_params(params: LightGBMParams) -> dict[str, object]:
    """LightGBM keyword arguments from the config (quiet, seeded, deterministic)."""
    return {
        "n_estimators": params.n_estimators, "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves, "min_child_samples": params.min_child_samples,
        "subsample": params.subsample, "subsample_freq": params.subsample_freq,
        "colsample_bytree": params.colsample_bytree, "reg_lambda": params.reg_lambda,
        "n_jobs": params.num_threads, "random_state": params.seed, "deterministic": True,
        "force_col_wise": True, "verbose": -1,
    }


def lgbm_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The float matrix LightGBM builds from a frame whose categoricals carry the training categories.

    Categoricals become their codes (missing -> nan), exactly as LightGBM's own pandas conversion does;
    converting once lets several models score the same rows without converting again.
    """
    columns = [frame[c].cat.codes.to_numpy(dtype=float) if isinstance(frame[c].dtype, pd.CategoricalDtype)
               else frame[c].to_numpy(dtype=float, na_value=np.nan) for c in frame.columns]
    matrix = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
    for j, c in enumerate(frame.columns):
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            matrix[matrix[:, j] < 0, j] = np.nan
    return matrix


class DifficultyModel:
    """P(resolved) and log handle time of a ticket for a reference agent population.

    With `agent_effects=False` it is the naive model that ignores who handled each ticket
    (kept for comparison in evaluation).
    """

    def __init__(self, params: LightGBMParams, *, agent_effects: bool = True, max_reference_agents: int = 40,
                 min_rows_per_agent: int = 30) -> None:
        self.params = params
        self.agent_effects = agent_effects
        self.max_reference_agents = max_reference_agents
        self.min_rows_per_agent = min_rows_per_agent

    def fit(self, tickets: pd.DataFrame, agent: np.ndarray, resolved: np.ndarray,
            log_handle: np.ndarray) -> DifficultyModel:
        """`tickets`: ticket features (PairFeatureBuilder.ticket_features); one handling agent per row."""
        volume = pd.Series(agent).value_counts()
        known = volume[volume >= self.min_rows_per_agent]
        self.agents_ = known.index.tolist()
        self.reference_agents_ = self.agents_[: self.max_reference_agents]
        X = self._with_agent(tickets, agent)
        kwargs = lgbm_params(self.params)
        self.resolve_ = lgb.LGBMClassifier(**kwargs).fit(X, resolved.astype(int))
        self.handle_ = lgb.LGBMRegressor(**kwargs).fit(X, log_handle)
        self.base_rate_ = float(np.mean(resolved))
        return self

    def _with_agent(self, tickets: pd.DataFrame, agent: np.ndarray) -> pd.DataFrame:
        if not self.agent_effects:
            return tickets
        X = tickets.copy()
        X[AGENT_COLUMN] = with_categories(agent, self.agents_)
        return X

    def reference(self, tickets: pd.DataFrame) -> pd.DataFrame:
        """Per ticket: `p_resolve_ref` and `log_handle_ref`, averaged over the reference agents."""
        if not self.agent_effects or not self.reference_agents_:
            return pd.DataFrame({"p_resolve_ref": self.resolve_.predict_proba(tickets)[:, 1],
                                 "log_handle_ref": self.handle_.predict(tickets)})
        n_ref = len(self.reference_agents_)
        per_chunk = max(1, CHUNK_ROWS // n_ref)
        p_parts, h_parts = [], []
        for start in range(0, len(tickets), per_chunk):
            chunk = tickets.iloc[start:start + per_chunk]
            m = len(chunk)
            replicated = chunk.iloc[np.repeat(np.arange(m), n_ref)].reset_index(drop=True)
            X = lgbm_matrix(self._with_agent(replicated, np.tile(np.asarray(self.reference_agents_, dtype=object), m)))
            p_parts.append(self.resolve_.booster_.predict(X).reshape(m, n_ref).mean(axis=1))
            h_parts.append(self.handle_.booster_.predict(X).reshape(m, n_ref).mean(axis=1))
        return pd.DataFrame({"p_resolve_ref": np.concatenate(p_parts) if p_parts else np.array([]),
                             "log_handle_ref": np.concatenate(h_parts) if h_parts else np.array([])})

    def reference_matrix(self, tickets: np.ndarray, factored: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """`reference` from ticket features as LightGBM reads them (`PairFeatureBuilder.ticket_matrix`): p_resolve_ref, log_handle_ref.

        With `factored` (and numba available) the reference agents' splits are tested once, not once per
        ticket (see `skillmatch.models.factored`); the values are those of `reference` either way.
        """
        tickets = np.asarray(tickets, dtype=float)
        n, n_columns = tickets.shape
        with_agents = self.agent_effects and bool(self.reference_agents_)
        n_ref = len(self.reference_agents_) if with_agents else 1
        agent_codes = np.arange(n_ref, dtype=float)[:, None]  # reference agents are the first of `agents_`
        forest = self._forest() if factored else None
        if forest is None:
            X = tickets if not with_agents else np.column_stack([np.repeat(tickets, n_ref, axis=0),
                                                                 np.tile(agent_codes[:, 0], n)])
            out = np.vstack([self.resolve_.booster_.predict(X), self.handle_.booster_.predict(X)])
        else:
            left = forest.masks(tickets, range(n_columns))
            right = self.__dict__.get("_reference_masks")
            if right is None:  # the reference agents' side is the same for every ticket
                right = self.__dict__["_reference_masks"] = (
                    forest.masks(agent_codes, [n_columns]) if with_agents else forest.masks(np.zeros((1, 0)), []))
            out = forest.predict(left, np.repeat(np.arange(n), n_ref), right, np.tile(np.arange(n_ref), n))
        return out[0].reshape(n, n_ref).mean(axis=1), out[1].reshape(n, n_ref).mean(axis=1)

    def _forest(self) -> Forest | None:
        """Both boosters flattened for factored scoring, once (None when that is not possible here)."""
        if "_factored_forest" not in self.__dict__:
            forest = None
            if factored_scoring.ready():
                try:
                    forest = Forest.from_boosters([self.resolve_.booster_, self.handle_.booster_])
                    n_ticket = forest.n_features - (1 if self.agent_effects and self.reference_agents_ else 0)
                    forest.check_sides(range(n_ticket), range(n_ticket, forest.n_features))
                except (Unsupported, ValueError):
                    forest = None
            self.__dict__["_factored_forest"] = forest
        return self.__dict__["_factored_forest"]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_factored_forest", None)  # derived from the boosters
        state.pop("_reference_masks", None)
        return state

    def difficulty(self, tickets: pd.DataFrame) -> np.ndarray:
        """Difficulty in [0, 1]: the chance that a typical agent does not resolve the ticket."""
        return 1.0 - self.reference(tickets)["p_resolve_ref"].to_numpy()
