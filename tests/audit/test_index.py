"""The index shrinks thin evidence toward the center, widens its interval, and flags only clear cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skillmatch.audit.index import combine, shrink
from skillmatch.audit.indicators import Indicator

UNIT_VARIANCE = 0.08  # per-claim variance of pick easiness in the simulated centers


def _indicator(values: dict[str, tuple[float, float]], name: str = "pick_easiness", sign: int = 1,
               center: float = 0.5) -> Indicator:
    """An indicator from {agent: (value, n)} with the pooled per-unit variance."""
    frame = pd.DataFrame({"value": {a: v for a, (v, _) in values.items()},
                          "n": {a: float(n) for a, (_, n) in values.items()}})
    frame["var"] = UNIT_VARIANCE / frame["n"]
    return Indicator(name, name, frame, center, sign, True, "")


@pytest.fixture
def center_with_two_outliers() -> dict[str, tuple[float, float]]:
    """40 ordinary agents (true easiness 0.5 +- 0.03, 500 picks each), one extreme on 3 picks, one clear on 800."""
    rng = np.random.default_rng(7)
    values = {f"A{i:02d}": (0.5 + rng.normal(0, 0.03) + rng.normal(0, np.sqrt(UNIT_VARIANCE / 500)), 500)
              for i in range(40)}
    values["FEW"] = (0.95, 3)
    values["MANY"] = (0.70, 800)
    return values


def test_few_picks_are_pulled_to_the_center_and_not_flagged(center_with_two_outliers) -> None:
    agents = pd.Index(sorted(center_with_two_outliers))
    index, tables = combine([_indicator(center_with_two_outliers)], agents, {}, level=0.9, flag_above=1.0)
    few, many = index.loc["FEW"], index.loc["MANY"]
    assert tables["pick_easiness"].loc["FEW", "weight_of_own_data"] < 0.1
    assert few["index"] < many["index"]
    assert few["index_high"] - few["index_low"] > 3 * (many["index_high"] - many["index_low"])
    assert not few["flag"] and many["flag"]
    assert index["flag"].sum() == 1


def test_the_same_value_on_more_picks_earns_a_narrower_interval() -> None:
    widths = []
    for n in (10, 100, 1000):
        values = {f"A{i}": (0.5 + 0.01 * (i % 5 - 2), 400) for i in range(20)} | {"X": (0.6, n)}
        index, _ = combine([_indicator(values)], pd.Index(sorted(values)), {}, level=0.9, flag_above=1.0)
        widths.append(index.loc["X", "index_high"] - index.loc["X", "index_low"])
    assert widths[0] > widths[1] > widths[2]


def test_an_agent_without_units_sits_at_the_center_with_full_uncertainty() -> None:
    values = {f"A{i}": (0.5 + 0.02 * (i % 3), 300) for i in range(10)}
    table = shrink(_indicator(values), pd.Index([*sorted(values), "NEW"]))
    assert table.loc["NEW", "z"] == 0.0 and table.loc["NEW", "sd"] == 1.0


@pytest.mark.parametrize("sign", [1, -1], ids=["higher-is-pickier", "lower-is-pickier"])
def test_the_sign_makes_higher_always_more_selective(sign: int) -> None:
    values = {f"A{i}": (0.5 + 0.01 * (i % 4), 400) for i in range(12)} | {"HIGH": (0.7, 400)}
    table = shrink(_indicator(values, sign=sign), pd.Index(sorted(values)))
    assert np.sign(table.loc["HIGH", "z"]) == sign


def test_weights_decide_how_much_each_indicator_counts() -> None:
    easy = _indicator({"A": (0.6, 400), "B": (0.4, 400), "C": (0.5, 400)}, "pick_easiness")
    churn = _indicator({"A": (0.4, 400), "B": (0.6, 400), "C": (0.5, 400)}, "churn_rate")
    agents = pd.Index(["A", "B", "C"])
    only_easy, _ = combine([easy, churn], agents, {"churn_rate": 0.0}, level=0.9, flag_above=1.0)
    both, _ = combine([easy, churn], agents, {}, level=0.9, flag_above=1.0)
    assert only_easy.loc["A", "index"] > 0 > only_easy.loc["B", "index"]
    assert both.loc["A", "index"] == pytest.approx(0.0, abs=1e-12)


def test_flag_means_the_whole_interval_clears_the_threshold(center_with_two_outliers) -> None:
    agents = pd.Index(sorted(center_with_two_outliers))
    index, _ = combine([_indicator(center_with_two_outliers)], agents, {}, level=0.9, flag_above=1.0)
    assert index["flag"].equals(index["index_low"] > 1.0)
    stricter, _ = combine([_indicator(center_with_two_outliers)], agents, {}, level=0.99, flag_above=1.0)
    assert stricter["flag"].sum() <= index["flag"].sum()
