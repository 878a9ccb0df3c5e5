"""The resolution comparison behind an assignment's reasons: the other eligible agents' best and median."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skillmatch.engine import _others_p_resolve
from skillmatch.scoring import assignment_reasons


@st.composite
def placed_rows(draw):
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    p = draw(hnp.arrays(np.float64, (n, m), elements=st.floats(0.0, 1.0)))
    eligible = draw(hnp.arrays(np.bool_, (n, m)))
    chosen = draw(hnp.arrays(np.int64, n, elements=st.integers(0, m - 1)))
    return p, eligible, chosen


@settings(max_examples=200, deadline=None)
@given(placed_rows())
def test_best_and_median_are_those_of_the_other_eligible_agents(rows):
    p, eligible, chosen = rows
    best, median = _others_p_resolve(p, eligible, chosen)
    for r in range(len(chosen)):
        others = eligible[r].copy()
        others[chosen[r]] = False
        if not others.any():
            assert np.isnan(best[r]) and np.isnan(median[r])
        else:
            assert best[r] == np.max(p[r, others])
            assert median[r] == np.median(p[r, others])


def _reasons(p_resolve: float, best_other: float, median_other: float) -> list[str]:
    return assignment_reasons(language="en", topic="billing", p_resolve=p_resolve, best_other=best_other,
                              median_other=median_other, fairness=0.0, stretch=False, urgency=0.0,
                              waited_over_target=False, served_customer_before=False)


def test_the_best_agent_alone_or_ahead_is_called_best_and_a_strong_one_strong():
    assert _reasons(0.7, float("nan"), float("nan")) == ["best predicted resolution on billing"]
    assert _reasons(0.8, 0.8, 0.5) == ["best predicted resolution on billing"]
    assert _reasons(0.7, 0.8, 0.6) == ["strong on billing"]
    assert _reasons(0.6, 0.8, 0.6) == ["eligible and free for billing"]
