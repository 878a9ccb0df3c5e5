"""What each agent could have taken: the eligible waiting tickets at any moment, by difficulty.

Tickets fall into eligibility classes (language, and the topic when it is restricted to certified
agents); an agent may take the classes it speaks and is certified for. Counting the waiting tickets
of a class in a difficulty bin at time t is two binary searches (intervals started by t minus
intervals ended by t), so pick percentiles for every claim cost O(classes x bins x claims x log n).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillmatch.logs.schema import DEFAULT_CAPACITY, DEFAULT_LANGUAGE
from skillmatch.scoring.eligibility import eligibility

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Eligibility:
    """Ticket classes and which agents may take them.

    ticket_class: class code per ticket_id (-1 for tickets without an interactions row).
    allowed: (n_agents, n_classes) bool, rows in the order of `agents`.
    agents: agent ids (the roster, then agents seen only in the events, with default languages).
    capacity: concurrent tickets per agent_id.
    """

    ticket_class: pd.Series
    allowed: np.ndarray
    agents: pd.Index
    capacity: pd.Series

    def agent_rows(self, agent_id: pd.Series | np.ndarray) -> np.ndarray:
        """Row of `allowed` per agent id."""
        return self.agents.get_indexer(np.asarray(agent_id, dtype=object))


def build_eligibility(tickets: pd.DataFrame, roster: pd.DataFrame, extra_agents: np.ndarray) -> Eligibility:
    """Classes from the tickets' language and restricted topic; a topic is restricted when the roster certifies for it.

    `tickets` holds ticket_id, topic, language; `roster` is the validated agents frame. Agents in
    `extra_agents` that are not on the roster get the contract's defaults (speak en, capacity 1).
    """
    restricted = frozenset(t for certs in roster["certifications"] for t in certs)
    language = tickets["language"].fillna(DEFAULT_LANGUAGE).astype(str).to_numpy(dtype=object)
    topic = tickets["topic"].astype(str).to_numpy(dtype=object)
    gated = np.where(pd.Series(topic).isin(restricted).to_numpy(), topic, "")
    classes = pd.DataFrame({"language": language, "topic": gated})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(classes))
    class_language = [lang for lang, _ in uniques]
    class_topic = [t for _, t in uniques]
    known = pd.Index(roster["agent_id"])
    others = pd.Index(pd.unique(np.asarray(extra_agents, dtype=object))).difference(known)
    agents = known.append(others)
    languages = [frozenset(langs) for langs in roster["languages"]] + [frozenset({DEFAULT_LANGUAGE})] * len(others)
    certs = [frozenset(c) for c in roster["certifications"]] + [frozenset()] * len(others)
    allowed = eligibility(class_language, class_topic, languages, certs, restricted).T
    capacity = pd.concat([pd.Series(roster["capacity"].to_numpy(dtype=float), index=known),
                          pd.Series(float(DEFAULT_CAPACITY), index=others)])
    return Eligibility(ticket_class=pd.Series(codes, index=tickets["ticket_id"].to_numpy(dtype=object)),
                       allowed=np.asarray(allowed, dtype=bool), agents=agents, capacity=capacity)


def difficulty_bins(difficulty: pd.Series, n_bins: int) -> pd.Series:
    """Equal-count bins 0..n_bins-1 of predicted difficulty (ties share a bin), per ticket_id."""
    ranks = difficulty.rank(method="min", pct=True).to_numpy()
    return pd.Series(np.minimum((ranks * n_bins).astype(int), n_bins - 1)
                     if len(ranks) else np.zeros(0, dtype=int), index=difficulty.index)


def pick_percentiles(waits: pd.DataFrame, claims: pd.DataFrame, elig: Eligibility, bins: pd.Series, n_bins: int,
                     progress: Progress | None = None) -> pd.DataFrame:
    """For each claim: how many eligible tickets waited, and the claimed ticket's difficulty percentile among them.

    The pool at a claim is every ticket of a class the agent may take that was waiting just before
    it, plus the claimed ticket itself; within one instant the log's order decides (a ticket another
    agent took earlier in the same instant is out, one queued earlier in it is in).
    `percentile` is the mid-rank of the claimed ticket (0 = easiest waiting, 1 = hardest; ties within
    one of `n_bins` difficulty bins count half). Returns pool_size and percentile (nan when the
    claimed ticket has no predicted difficulty), aligned with `claims`.
    """
    say = progress or (lambda message: None)
    n = len(claims)
    qbin = claims["ticket_id"].map(bins).to_numpy(dtype=float)
    qrow = elig.agent_rows(claims["agent_id"])
    known = ~np.isnan(qbin) & (qrow >= 0)
    t = claims["order"].to_numpy(dtype=np.int64)
    below, same, total = np.zeros(n), np.zeros(n), np.zeros(n)
    wait_class = waits["ticket_id"].map(elig.ticket_class).fillna(-1).to_numpy(dtype=int)
    wait_bin = waits["ticket_id"].map(bins).fillna(-1).to_numpy(dtype=int)
    scored = (wait_class >= 0) & (wait_bin >= 0)
    starts, ends = waits["start_order"].to_numpy(dtype=np.int64), waits["end_order"].to_numpy(dtype=np.int64)
    n_classes = elig.allowed.shape[1]
    say(f"pick percentiles of {n} claims ({n_classes} ticket classes x {n_bins} difficulty bins)")
    for c in range(n_classes):
        q = np.flatnonzero(known & elig.allowed[np.maximum(qrow, 0), c])
        in_class = scored & (wait_class == c)
        if len(q) == 0 or not in_class.any():
            continue
        tq, bq = t[q], qbin[q]
        cls_bin, cls_start, cls_end = wait_bin[in_class], starts[in_class], ends[in_class]
        for b in np.unique(cls_bin):
            mask = cls_bin == b
            s, e = np.sort(cls_start[mask]), np.sort(cls_end[mask])
            # started before the claim, not ended by it (the claimed ticket's own interval ends at it)
            count = (np.searchsorted(s, tq, side="left") - np.searchsorted(e, tq, side="right")).astype(float)
            total[q] += count
            below[q] += np.where(b < bq, count, 0.0)
            same[q] += np.where(b == bq, count, 0.0)
    pool = total + 1.0  # the claimed ticket itself
    percentile = np.where(known, (below + 0.5 * (same + 1.0)) / pool, np.nan)
    return pd.DataFrame({"pool_size": np.where(known, pool, np.nan), "percentile": percentile}, index=claims.index)


def covered_time(waits: pd.DataFrame, stretches: pd.DataFrame, elig: Eligibility) -> np.ndarray:
    """Seconds of each stretch (agent_id, start_s, end_s) during which an eligible ticket was waiting.

    Per distinct eligibility profile, the waiting intervals of its classes are merged into disjoint
    blocks with a running length, so each stretch's covered time is two binary searches.
    """
    out = np.zeros(len(stretches))
    if len(stretches) == 0 or len(waits) == 0:
        return out
    wait_class = waits["ticket_id"].map(elig.ticket_class).fillna(-1).to_numpy(dtype=int)
    starts, ends = waits["start_s"].to_numpy(dtype=float), waits["end_s"].to_numpy(dtype=float)
    rows = elig.agent_rows(stretches["agent_id"])
    profiles, profile_of_row = np.unique(elig.allowed, axis=0, return_inverse=True)
    profile = np.where(rows >= 0, profile_of_row.reshape(-1)[np.maximum(rows, 0)], -1)
    s_lo, s_hi = stretches["start_s"].to_numpy(dtype=float), stretches["end_s"].to_numpy(dtype=float)
    for p, allowed in enumerate(profiles):
        which = np.flatnonzero(profile == p)
        mask = (wait_class >= 0) & allowed[np.maximum(wait_class, 0)]
        if len(which) == 0 or not mask.any():
            continue
        block_lo, block_hi = _merge(starts[mask], ends[mask])
        cum = np.r_[0.0, np.cumsum(block_hi - block_lo)]
        out[which] = (_measure_upto(block_lo, block_hi, cum, s_hi[which])
                      - _measure_upto(block_lo, block_hi, cum, s_lo[which]))
    return out


def _merge(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint sorted blocks covering the union of the intervals [lo, hi)."""
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    new_block = np.r_[True, lo[1:] > reach[:-1]]
    return lo[new_block], np.maximum.reduceat(hi, np.flatnonzero(new_block))


def _measure_upto(lo: np.ndarray, hi: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Length of the union of blocks [lo, hi) that lies before t."""
    i = np.searchsorted(lo, t, side="right")  # blocks starting at or before t
    last = np.maximum(i - 1, 0)
    partial = np.where(i > 0, np.clip(t - lo[last], 0.0, hi[last] - lo[last]), 0.0)
    return cum[last] * (i > 0) + partial
