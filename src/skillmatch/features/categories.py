"""Categorical columns over a fitted vocabulary: the codes LightGBM reads, with unseen values missing."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def with_categories(values: Sequence[Any] | np.ndarray, categories: Sequence[Any]) -> pd.Categorical:
    """`values` as a categorical over `categories`; a value outside them (unseen in training, None) is missing.

    Built from codes: pandas deprecates constructing a categorical from values outside its categories.
    """
    index = pd.Index(categories)
    codes = index.get_indexer(pd.Index(np.asarray(values, dtype=object), dtype=object))
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(index))


__all__ = ["with_categories"]
