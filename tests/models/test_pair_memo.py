"""Predictions kept per (ticket, agent) across rounds equal fresh ones, bit for bit, as the queue, the crew, time
and the history move; the memo answers only what still holds, whatever it had to drop."""
from __future__ import annotations

import dataclasses
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.features import Roster, posix_seconds
from skillmatch.features.history import HistoryIndex, LayeredHistoryIndex
from skillmatch.models import factored
from skillmatch.models.folder import read_model_folder
from skillmatch.models.pair_memo import PairMemo

from .test_factored import _profiles, _round_tickets

COLUMNS = ("topic", "language", "channel", "customer_tier", "priority", "sentiment", "customer_id", "message_words")


@pytest.mark.skipif(not factored.AVAILABLE, reason="numba is not installed")
def test_a_claim_stream_with_ticket_tokens_equals_predict_pairs(trained, two_weeks, monkeypatch):
    """Rounds from a second to weeks apart over a moving queue and a changing crew (agents leave and come back,
    one's profile changes), outcomes arriving midway: every round equals predict_pairs of that round, most
    pairs are taken from the memo, and tickets are counted again once their customer's recent contacts
    may have changed."""
    model = read_model_folder(trained[0])[0]
    computed, renewed = [], []
    fresh_round = type(model)._fresh_round
    monkeypatch.setattr(type(model), "_fresh_round",
                        lambda self, *a: computed.append(len(a[5])) or fresh_round(self, *a))
    for index_type in (HistoryIndex, LayeredHistoryIndex):
        span = index_type.customer_recent_span
        monkeypatch.setattr(index_type, "customer_recent_span",
                            lambda self, c, t, span=span: renewed.append(len(c)) or span(self, c, t))
    interactions = two_weeks[0].interactions
    start = pd.to_datetime(interactions["created_at"], utc=True).max() + pd.Timedelta(hours=1)
    pool = _round_tickets(model, interactions, 60, start, seed=8)
    tokens = np.arange(len(pool), dtype=np.int64) * 7 + 3
    everyone = _profiles(model, 9, 2)
    rng = np.random.default_rng(3)
    offsets = np.concatenate([[0.0, 0.0], np.cumsum(np.geomspace(1.0, 40 * 86400.0, 44))])
    seen: set[int] = set()
    fresh_tickets, pairs_asked, pairs_computed = [], 0, 0
    for step, offset in enumerate(offsets):
        if step == 30:  # outcomes arrive: nothing kept from the old history is used
            recent = model.history
            model.append_history(type(recent)(*(getattr(recent, f.name)[len(recent) - 40:]
                                                for f in dataclasses.fields(recent))))
        crew = [p for i, p in enumerate(everyone) if (i + max(step, 1)) % 6 != 0]  # one agent in six is away
        if step >= 20:  # an agent's profile changes: a new agent to the memo
            crew = [dataclasses.replace(p, languages=(*p.languages, "de")) if p is everyone[1] else p for p in crew]
        first = (step // 2) * 2 % 30  # the queue moves on by two tickets every other round
        queue, queue_tokens = pool[first:first + 30], tokens[first:first + 30]
        frame = pd.DataFrame([t.model_dump() for t in queue])
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        if step != 1:  # round 1 asks round 0's pairs again, at the same moment
            pair_t, pair_a = np.nonzero(rng.random((len(queue), len(crew))) < 0.8)
        now_s = start.timestamp() + offset
        ids = np.array([p.agent_id for p in crew], dtype=object)
        expected = model.predict_pairs(frame, pair_t, ids[pair_a], np.full(len(queue), now_s), roster=Roster(crew))
        reference = model.ticket_reference(frame, np.full(len(queue), now_s))[1]
        columns = {name: [t.model_dump().get(name) for t in queue] for name in COLUMNS}
        computed.clear()
        renewed.clear()
        got = model.predict_round(columns, posix_seconds(frame["created_at"]), crew, pair_t, pair_a, now_s,
                                  ticket_tokens=queue_tokens)
        for key in ("p_resolve", "handle_time_s", "csat"):
            np.testing.assert_array_equal(got.pairs[key], expected[key].to_numpy(), err_msg=f"{key} at step {step}")
        for key in ("p_resolve_ref", "log_handle_ref"):
            np.testing.assert_array_equal(getattr(got, key), reference[key].to_numpy(), err_msg=f"{key} at step {step}")
        new = set(queue_tokens.tolist()) - seen
        seen |= new
        fresh_tickets.append(sum(renewed) - (len(new) if step != 30 else len(queue)))
        pairs_asked += len(pair_t)
        pairs_computed += sum(computed)
        if step == 1:  # the same round again at the same moment: everything from the memo
            assert computed == [] and renewed == []
        if step == 30:
            assert sum(computed) == len(pair_t)
    assert pairs_computed < 0.6 * pairs_asked
    assert sum(fresh_tickets) > 0  # known tickets counted again: their customer's window may have moved


_MEMO_ROUNDS = st.lists(st.tuples(
    st.lists(st.integers(0, 11), min_size=1, max_size=8, unique=True),  # the round's tickets (tokens)
    st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True),  # its agents
    st.integers(0, 60),  # now
    st.integers(0, 2**32 - 1),  # what else is drawn: pairs, spans, values
    st.booleans(),  # a new owner (the history changed)
), min_size=1, max_size=25)


@given(rounds=_MEMO_ROUNDS, limits=st.sampled_from([(16, 100), (60, 100), (1 << 20, 6), (1 << 20, 100)]))
@settings(max_examples=120, deadline=None)
def test_the_memo_answers_only_what_was_kept_and_still_holds(rounds, limits):
    """Against a plain record of everything kept: each pair found was kept last with these values and holds
    now, as does its ticket; with room for everything, every such pair is found. Small memories drop rows
    and start again when agents overflow, never answering wrongly."""
    max_cells, max_rows = limits
    with patch.multiple("skillmatch.models.pair_memo", _MIN_ROWS=2, _MIN_COLUMNS=1):  # the arrays grow from tiny
        memo = PairMemo(2, 1, max_cells=max_cells, max_rows=max_rows)
        _check_rounds(memo, rounds, complete=limits == (1 << 20, 100))


def _check_rounds(memo: PairMemo, rounds: list, complete: bool) -> None:
    # everything kept since the owner last changed, latest last: a memo short of room may answer from an
    # older keep whose span still holds (those values were right for that span)
    tickets: dict[int, list[tuple[float, ...]]] = {}  # token -> [(recent, from, until, reference)]
    cells: dict[tuple[int, str], list[tuple[float, ...]]] = {}  # (token, agent) -> [(value 0, value 1, from, until)]
    owner = object()
    for tokens, agent_numbers, now, seed, new_owner in rounds:
        rng = np.random.default_rng(seed)
        if new_owner:
            owner = object()
            tickets.clear()
            cells.clear()
        agents = [f"A{a}" for a in agent_numbers]
        pair_t, pair_a = np.nonzero(rng.random((len(tokens), len(agents))) < 0.7)
        recall = memo.recall(owner, np.array(tokens), agents, pair_t, pair_a, float(now))
        for i, t in enumerate(tokens):
            if recall.current[i]:
                kept = (recall.recent[i], *recall.recent_span[:, i], recall.reference[i, 0])
                assert kept in tickets[t] and kept[1] <= now < kept[2]
        for j, i in enumerate(recall.found.tolist()):
            kept = tuple(recall.values[:, j])
            versions = cells[tokens[pair_t[i]], agents[pair_a[i]]]
            assert any(v[:2] == kept and v[2] <= now < v[3] for v in versions)
        if complete:  # room for everything: every keep succeeded, and what the latest holds is found
            current = [t in tickets and tickets[t][-1][1] <= now < tickets[t][-1][2] for t in tokens]
            holding = [i for i, (t, a) in enumerate(zip(pair_t, pair_a)) if current[t]
                       and (tokens[t], agents[a]) in cells and cells[tokens[t], agents[a]][-1][2] <= now
                       < cells[tokens[t], agents[a]][-1][3]]
            assert recall.current.tolist() == current and sorted(recall.found.tolist()) == holding
        # what a round computes and keeps: the tickets not current and the pairs not found
        missing = np.setdiff1d(np.arange(len(pair_t)), recall.found)
        asked = np.union1d(np.flatnonzero(~recall.current), pair_t[missing]).astype(np.int64)
        renewed = ~recall.current[asked]
        kept_recent = np.where(renewed, rng.integers(0, 4, len(asked)), recall.recent[asked])
        drawn_span = np.vstack([np.full(len(asked), float(now)), now + rng.integers(0, 20, len(asked))])
        kept_span = np.where(renewed, drawn_span, recall.recent_span[:, asked])
        reference = np.where(renewed[:, None], rng.random((len(asked), 1)), recall.reference[asked])
        position = np.full(len(tokens), -1)
        position[asked] = np.arange(len(asked))
        values = rng.random((2, len(missing)))
        span = np.vstack([now - rng.integers(0, 5, len(missing)), now + rng.integers(-1, 20, len(missing))])
        memo.keep(owner, np.array(tokens)[asked], renewed, kept_recent, kept_span, reference, agents,
                  position[pair_t[missing]], pair_a[missing], values, span)
        for k, i in enumerate(asked.tolist()):
            tickets.setdefault(tokens[i], []).append((float(kept_recent[k]), *kept_span[:, k].tolist(),
                                                      float(reference[k, 0])))
            if renewed[k] and complete:  # the ticket's earlier pairs are dropped
                cells = {key: cell for key, cell in cells.items() if key[0] != tokens[i]}
        for k, i in enumerate(missing.tolist()):
            cells.setdefault((tokens[pair_t[i]], agents[pair_a[i]]), []).append((*values[:, k].tolist(),
                                                                                 *span[:, k].tolist()))


def test_values_computed_from_an_older_history_are_not_kept():
    """A round that read the memo before the history changed keeps nothing once a round of the new one came."""
    memo = PairMemo(1, 1)
    old, new = object(), object()
    tokens, pair = np.array([5]), np.array([0])
    memo.recall(old, tokens, ["A"], pair, pair, 10.0)
    memo.recall(new, tokens, ["A"], pair, pair, 10.0)
    memo.keep(old, tokens, np.array([True]), np.array([0.0]), np.array([[10.0], [20.0]]), np.array([[0.5]]), ["A"],
              pair, pair, np.array([[0.9]]), np.array([[10.0], [20.0]]))
    recall = memo.recall(new, tokens, ["A"], pair, pair, 11.0)
    assert not recall.current[0] and len(recall.found) == 0 and len(memo) == 0
