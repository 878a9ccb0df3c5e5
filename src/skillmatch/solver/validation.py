"""Boundary checks for the solver: shapes, dtypes and finiteness, one ValueError that says what and where."""
from __future__ import annotations

import numpy as np


def check_score(score: object, name: str = "score") -> np.ndarray:
    """Return `score` as a finite float64 `(n_tickets, n_agents)` array; NaN or inf is refused, not guessed."""
    array = np.asarray(score)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_tickets, n_agents), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        ticket, agent = np.argwhere(bad)[0]
        raise ValueError(f"{name} must be finite, got {int(bad.sum())} NaN/inf entries, "
                         f"the first at ticket {ticket}, agent {agent} ({array[ticket, agent]})")
    return array


def check_eligible(eligible: object, shape: tuple[int, int], name: str = "eligible") -> np.ndarray:
    """Return `eligible` as a boolean `(n_tickets, n_agents)` mask of the same shape as the scores."""
    array = np.asarray(eligible)
    if array.dtype != np.bool_:
        raise ValueError(f"{name} must be a boolean mask, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have the shape of score {shape}, got {array.shape}")
    return array


def check_slots(free_slots: object, n_agents: int, name: str = "free_slots") -> np.ndarray:
    """Return `free_slots` as a non-negative int64 `(n_agents,)` vector."""
    array = np.asarray(free_slots)
    if array.ndim != 1 or array.shape[0] != n_agents:
        raise ValueError(f"{name} must be 1-D with one entry per agent ({n_agents},), got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if (array < 0).any():
        agent = int(np.flatnonzero(array < 0)[0])
        raise ValueError(f"{name} must be >= 0, got {int(array[agent])} for agent {agent}")
    return array
