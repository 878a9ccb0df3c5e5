"""Time outside the queue (training, campaigns, mentoring) pro-rates an agent's share of the window's work."""
from __future__ import annotations

import math
from collections.abc import Iterable


def available_share(periods: Iterable[tuple[float, float]], start_s: float, end_s: float) -> float:
    """Share of the window [start_s, end_s) not covered by the (start, end) periods; overlaps count once."""
    if end_s <= start_s:
        raise ValueError(f"a window ends after it starts, got {start_s} .. {end_s}")
    clipped = sorted((max(a, start_s), min(b, end_s)) for a, b in periods if b > start_s and a < end_s)
    if not clipped:
        return 1.0
    covered, reach = 0.0, start_s
    for a, b in clipped:
        if b > reach:
            covered += b - max(a, reach)
            reach = b
    return min(max(1.0 - covered / (end_s - start_s), 0.0), 1.0)


def prorated_quota(quota: int, share: float) -> int:
    """The per-window quota scaled by the share of the window the agent is available (to the nearest ticket)."""
    return math.floor(quota * min(max(float(share), 0.0), 1.0) + 0.5)
