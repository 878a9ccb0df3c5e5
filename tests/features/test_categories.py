"""Categoricals over a fitted vocabulary: what the models read for seen, unseen and missing values."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from skillmatch.features.categories import with_categories

VOCAB = ["billing", "tech", "sales"]


@pytest.mark.parametrize("values, codes", [
    (["tech", "billing", "sales"], [1, 0, 2]),
    (["tech", "never-seen", None, np.nan], [1, -1, -1, -1]),
    ([], []),
])
def test_seen_values_keep_their_code_and_the_rest_are_missing(values: list, codes: list[int]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas deprecates building these from values outside the categories
        column = with_categories(np.asarray(values, dtype=object), VOCAB)
    assert column.codes.tolist() == codes
    assert list(column.categories) == VOCAB


def test_same_column_as_the_pandas_constructor() -> None:
    values = np.array(["sales", "TECH", None, "tech", 7], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pd.Categorical(values, categories=VOCAB)
    got = with_categories(values, VOCAB)
    assert got.dtype == expected.dtype
    assert got.codes.tolist() == expected.codes.tolist()
