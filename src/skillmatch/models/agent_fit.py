"""How well a given agent will do on a given ticket: calibrated P(resolved), handle time, satisfaction."""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from skillmatch.config import LightGBMParams
from skillmatch.models.difficulty import lgbm_matrix, lgbm_params

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

    def feature_importance(self) -> pd.Series:
        """Gain importance of the resolution model, largest first."""
        gain = self.resolve_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.features_).sort_values(ascending=False)
