"""How well a given agent will do on a given ticket: calibrated P(resolved), handle time, satisfaction."""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from skillmatch.config import LightGBMParams
from skillmatch.models import factored as factored_scoring
from skillmatch.models.difficulty import lgbm_matrix, lgbm_params
from skillmatch.models.factored import Forest, Unsupported
from skillmatch.models.pair_cache import PairScoreCache

_PAIR_CACHES_LOCK = threading.Lock()
PREDICTIONS = ("p_resolve", "p_resolve_raw", "handle_time_s", "csat")
"""What `AgentFitModel.predict_sides` gives per pair, in this order."""
MIN_SURVEYS = 200
"""Fewer answered surveys than this and no satisfaction model is fitted (predictions are nan)."""


class AgentFitModel:
    """Three LightGBM models on pair features; P(resolved) calibrated by isotonic regression.

    Satisfaction is learned only from answered surveys (missing is not zero); its predictions are
    what an answering customer would say, and answering customers are a biased sample.
    """

    def __init__(self, params: LightGBMParams, *, fit_csat: bool = True, fit_handle_time: bool = True) -> None:
        self.params = params
        self.fit_csat = fit_csat
        self.fit_handle_time = fit_handle_time

    def fit(self, X: pd.DataFrame, resolved: np.ndarray, handle_time_s: np.ndarray, csat: np.ndarray,
            X_cal: pd.DataFrame, resolved_cal: np.ndarray) -> AgentFitModel:
        """Fit on one slice; calibrate P(resolved) on a later slice `X_cal` (never the fitting rows)."""
        kwargs = lgbm_params(self.params)
        self.features_ = list(X.columns)
        self.resolve_ = lgb.LGBMClassifier(**kwargs).fit(X, resolved.astype(int))
        self.calibrator_ = IsotonicRegression(y_min=0.001, y_max=0.999, out_of_bounds="clip")
        self.calibrator_.fit(self.resolve_.predict_proba(X_cal)[:, 1], resolved_cal.astype(float))
        self.handle_ = (lgb.LGBMRegressor(**kwargs).fit(X, np.log(handle_time_s))
                        if self.fit_handle_time else None)
        answered = ~np.isnan(csat)
        self.csat_ = (lgb.LGBMRegressor(**kwargs).fit(X[answered], csat[answered])
                      if self.fit_csat and answered.sum() >= MIN_SURVEYS else None)
        self.n_surveys_ = int(answered.sum())
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per pair: `p_resolve` (calibrated), `handle_time_s` (median), `csat` (nan without a model)."""
        matrix = lgbm_matrix(X[self.features_])  # once for the three models
        raw = self.resolve_.booster_.predict(matrix)
        n = len(X)
        return pd.DataFrame({
            "p_resolve": self.calibrator_.predict(raw),
            "p_resolve_raw": raw,
            "handle_time_s": (np.exp(self.handle_.booster_.predict(matrix)) if self.handle_ is not None
                              else np.full(n, np.nan)),
            "csat": (np.clip(self.csat_.booster_.predict(matrix), 1, 5) if self.csat_ is not None
                     else np.full(n, np.nan)),
        })

    def predict_sides(self, left: np.ndarray, left_names: Sequence[str], left_row: np.ndarray, right: np.ndarray,
                      right_names: Sequence[str], right_row: np.ndarray, factored: bool = True,
                      left_ids: np.ndarray | None = None, right_ids: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """`predict` for pairs given as two sides: pair i is row `left_row[i]` of `left` with row `right_row[i]` of `right`.

        Each side holds some of the features as LightGBM reads them (columns named by `*_names`); together
        they hold all of `features_`. With `factored` (and numba available) each side's splits are tested
        once per side row and a pair costs one look-up per tree (see `skillmatch.models.factored`);
        otherwise the pair rows are assembled and given to LightGBM. Same values either way (tested).
        With `left_ids` (an id per left row that stands for its values across calls, -1 for none) the
        scores of pairs seen before are reused (`skillmatch.models.pair_cache`), again the same values;
        `right_ids` likewise for right rows (it needs `left_ids`).
        """
        left_columns, right_columns = self._columns(left_names), self._columns(right_names)
        forest = self._forest() if factored else None
        if forest is None:
            matrix = np.empty((len(left_row), len(self.features_)))
            matrix[:, left_columns] = np.asarray(left, dtype=float)[left_row]
            matrix[:, right_columns] = np.asarray(right, dtype=float)[right_row]
            scores = np.vstack([m.booster_.predict(matrix) for m in (self.resolve_, self.handle_, self.csat_)
                                if m is not None])
            predicted = self._predictions(scores)
        elif left_ids is not None:  # kept with their calibration and transforms applied
            predicted = self._pair_cache(forest, left_columns, right_columns).predict(left, left_ids, left_row, right,
                                                                                      right_row, right_ids)
        else:
            forest.check_sides(left_columns, right_columns)
            predicted = self._predictions(forest.predict(forest.masks(left, left_columns), left_row,
                                                         forest.masks(right, right_columns), right_row))
        return dict(zip(PREDICTIONS, predicted))

    def scores_factored(self) -> bool:
        """Whether `predict_sides(..., factored=True)` scores the models factored here (numba, a supported forest)."""
        return self._forest() is not None

    def class_horizons(self, left_names: Sequence[str], right: np.ndarray, right_names: Sequence[str],
                       drift: np.ndarray) -> np.ndarray:
        """Per right row of a factored `predict_sides` with ids, how many seconds it scores every pair as it does
        now while its features move by `drift` per second (see `PairScoreCache.class_horizons`). Needs
        `scores_factored()`."""
        forest = self._forest()
        if forest is None:
            raise RuntimeError("class_horizons needs the models scored factored (see scores_factored)")
        cache = self._pair_cache(forest, self._columns(left_names), self._columns(right_names))
        return cache.class_horizons(right, drift)

    def _columns(self, names: Sequence[str]) -> list[int]:
        position = {name: j for j, name in enumerate(self.features_)}
        return [position[n] for n in names]

    def _predictions(self, scores: np.ndarray) -> np.ndarray:
        """(len(PREDICTIONS), n) from the models' raw scores (n_models, n): resolve, then handle and csat if fitted.

        Elementwise, so the predictions of a pair do not depend on the pairs computed with it.
        """
        raw, rest = scores[0], iter(scores[1:])
        handle = next(rest) if self.handle_ is not None else None
        csat = next(rest) if self.csat_ is not None else None
        n = len(raw)
        return np.vstack([self._calibrated(raw), raw,
                          np.exp(handle) if handle is not None else np.full(n, np.nan),
                          np.clip(csat, 1, 5) if csat is not None else np.full(n, np.nan)])

    def _calibrated(self, raw: np.ndarray) -> np.ndarray:
        """`calibrator_.predict(raw)` without its input checks (the same clip and interpolation; tested equal)."""
        cal = self.calibrator_
        if getattr(cal, "out_of_bounds", None) == "clip" and callable(getattr(cal, "f_", None)):
            return np.asarray(cal.f_(np.clip(np.asarray(raw, dtype=float), cal.X_min_, cal.X_max_)), dtype=float)
        return cal.predict(raw)

    def _forest(self) -> Forest | None:
        """The fitted boosters flattened for factored scoring, once (None when that is not possible here)."""
        if "_factored_forest" not in self.__dict__:
            forest = None
            if factored_scoring.ready():
                boosters = [m.booster_ for m in (self.resolve_, self.handle_, self.csat_) if m is not None]
                try:
                    forest = Forest.from_boosters(boosters)
                    if forest.feature_names != [str(f) for f in self.features_]:
                        forest = None
                except Unsupported:
                    forest = None
            self.__dict__["_factored_forest"] = forest
        return self.__dict__["_factored_forest"]

    def _pair_cache(self, forest: Forest, left_columns: list[int], right_columns: list[int]) -> PairScoreCache:
        """The pair scores kept for this split of the features into two sides (one per layout, made once)."""
        caches = self.__dict__.setdefault("_pair_caches", {})
        layout = (tuple(left_columns), tuple(right_columns))
        with _PAIR_CACHES_LOCK:
            if layout not in caches:
                caches[layout] = PairScoreCache(forest, left_columns, right_columns,
                                                finish=(self._weak_predictions(), len(PREDICTIONS)))
            return caches[layout]

    def _weak_predictions(self) -> Callable[[np.ndarray], np.ndarray]:
        """`_predictions` through a weak reference: a cache this model holds must not hold the model back, or the
        two make a reference cycle that only a full collection frees (a serving worker avoids those)."""
        method = weakref.WeakMethod(self._predictions)
        return lambda scores: method()(scores)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_factored_forest", None)  # derived from the boosters
        state.pop("_pair_caches", None)
        return state

    def feature_importance(self) -> pd.Series:
        """Gain importance of the resolution model, largest first."""
        gain = self.resolve_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.features_).sort_values(ascending=False)
