"""A round's predictions kept per (ticket, agent) across rounds: a claim stream asks for nearly the same pairs.

Each claim-next request carries the whole queue (200 tickets, say) and the free agents, and all but a
ticket or two were in the previous request. `SkillmatchModel.predict_round` looks each pair up here first
and computes only the pairs it does not find. A ticket is known by a token that stands for its fields and
creation time (`skillmatch.features.ticket_fields`); what else its side of the features reads, its
customer's recent contacts, is kept with the span of `now` in which it holds. An agent is known by its
whole profile. A pair's predictions hold while both its ticket's recent contacts and its agent-side row
hold (`SkillmatchModel._agent_side`: the row scores exactly as a fresh one in that span), so they are
reused only at a `now` in both spans, and everything is forgotten when the history changes (a new
`owner`). A reused prediction is therefore the one a fresh computation gives, bit for bit (tested).
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_CELLS = 1 << 20
"""(ticket, agent) cells kept at most: 48 MB of predictions and spans with four predictions. A queue of
1,000 tickets among 1,000 agents fits; when tickets overflow, those not asked for longest go."""
MAX_ROWS = 8192
"""Tickets kept at most, however few the agents (a claim stream brings new tickets all day long: 6 MB
with 16 agents)."""
_MIN_ROWS, _MIN_COLUMNS = 256, 16
_TICKET_WIDTH = 3  # per ticket: its customer's recent contacts and the span [from, until) in which that holds


@dataclass
class Recall:
    """What `PairMemo.recall` found for a round. Per ticket: whether its kept values hold at `now` (`current`),
    its customer's recent contacts, their span (2, n_tickets) and its reference values (meaningful where
    current); the round's pairs found (positions) and their predictions (n_predictions, len(found))."""

    current: np.ndarray
    recent: np.ndarray
    recent_span: np.ndarray
    reference: np.ndarray
    found: np.ndarray
    values: np.ndarray


class PairMemo:
    """Per ticket token: recent contacts and reference values with their span; per (ticket, agent profile):
    predictions with theirs. Thread-safe; a new owner (the history the values came from) clears it."""

    def __init__(self, n_predictions: int, n_reference: int, max_cells: int = MAX_CELLS,
                 max_rows: int = MAX_ROWS) -> None:
        self.n_predictions, self.n_reference, self.max_cells, self.max_rows = (n_predictions, n_reference,
                                                                               max_cells, max_rows)
        self._lock = threading.Lock()
        self._owner: object | None = None
        self._clock = itertools.count(1)
        self._allocate()

    def _allocate(self) -> None:
        rows, columns = min(_MIN_ROWS, self.max_rows), _MIN_COLUMNS
        self._rows: dict[int, int] = {}  # ticket token -> row
        self._columns: dict[Hashable, int] = {}  # agent profile -> column
        self._values = np.empty((self.n_predictions, rows, columns))
        self._span = np.empty((2, rows, columns))
        self._span[0], self._span[1] = np.inf, -np.inf  # an empty cell holds at no moment
        self._ticket = np.empty((rows, _TICKET_WIDTH + self.n_reference))
        self._ticket[:, 1:3] = (np.inf, -np.inf)
        self._asked = np.zeros(rows, dtype=np.int64)  # the recall that last asked for each row
        self._free_rows = list(range(rows - 1, -1, -1))

    def __len__(self) -> int:
        """Cells holding predictions."""
        return int(np.count_nonzero(self._span[0] < np.inf))

    def recall(self, owner: object, tokens: np.ndarray, agents: Sequence[Hashable], pair_ticket: np.ndarray,
               pair_agent: np.ndarray, now_s: float) -> Recall:
        """What is kept for the round's tickets (`tokens`) and pairs (pair i: ticket `pair_ticket[i]`, agent
        `agents[pair_agent[i]]`) that holds at `now_s`, from `owner`'s history."""
        with self._lock:
            if owner is not self._owner:
                self._allocate()
                self._owner = owner
            rows = _positions(self._rows, tokens.tolist())
            try:
                columns = _positions(self._columns, agents)
            except TypeError:  # an unhashable profile is never kept
                columns = np.full(len(agents), -1, dtype=np.int64)
            known = rows >= 0
            self._asked[rows[known]] = next(self._clock)
            ticket = self._ticket[np.where(known, rows, 0)]
            current = known & (ticket[:, 1] <= now_s) & (now_s < ticket[:, 2])
            column = columns[pair_agent]
            seen = np.flatnonzero(current[pair_ticket] & (column >= 0))
            cell = rows[pair_ticket[seen]] * self._values.shape[2] + column[seen]  # in the flattened (row, column)
            span = self._span.reshape(2, -1).take(cell, axis=1)
            valid = (span[0] <= now_s) & (now_s < span[1])
            found = seen[valid]
            values = self._values.reshape(self.n_predictions, -1).take(cell[valid], axis=1)
        return Recall(current, ticket[:, 0], ticket[:, 1:3].T.copy(), ticket[:, _TICKET_WIDTH:], found, values)

    def keep(self, owner: object, tokens: np.ndarray, renewed: np.ndarray, recent: np.ndarray,
             recent_span: np.ndarray, reference: np.ndarray, agents: Sequence[Hashable], pair_ticket: np.ndarray,
             pair_agent: np.ndarray, values: np.ndarray, span: np.ndarray) -> None:
        """Keep, per ticket of `tokens`, its recent contacts with their span (2, n) and its reference values;
        where `renewed`, those replace what was kept, and the ticket's pairs kept before are dropped. Per pair
        (`tokens[pair_ticket[i]]`, `agents[pair_agent[i]]`): its predictions `values` and span (2, n_pairs).
        Values from `owner`'s history are dropped if another owner came meanwhile."""
        with self._lock:
            if owner is not self._owner:
                return
            rows = self._rows_of(tokens.tolist())
            columns = self._columns_of(agents) if rows is not None else None
            if rows is None or columns is None:
                return
            self._span[0, rows[renewed]], self._span[1, rows[renewed]] = np.inf, -np.inf
            self._ticket[rows] = np.column_stack([recent, recent_span.T, reference])
            cell = rows[pair_ticket] * self._values.shape[2] + columns[pair_agent]  # in the flattened (row, column)
            self._values.reshape(self.n_predictions, -1)[:, cell] = values
            self._span.reshape(2, -1)[:, cell] = span

    def _rows_of(self, tokens: list[int]) -> np.ndarray | None:
        """The row of each token, new tokens given free rows (None: no room)."""
        rows = _positions(self._rows, tokens)
        new = list(dict.fromkeys(tokens[i] for i in np.flatnonzero(rows < 0).tolist()))
        if not new:
            return rows
        if not self._make_rows(len(new), keep=rows[rows >= 0]):
            return None
        at = [self._free_rows.pop() for _ in new]
        self._asked[at] = next(self._clock)
        self._span[0, at], self._span[1, at] = np.inf, -np.inf
        self._rows.update(zip(new, at))
        return _positions(self._rows, tokens)

    def _columns_of(self, agents: Sequence[Hashable]) -> np.ndarray | None:
        """The column of each agent, new agents given new columns (None: no room; everything was dropped)."""
        try:
            columns = _positions(self._columns, agents)
            new = list(dict.fromkeys(agents[i] for i in np.flatnonzero(columns < 0).tolist()))
        except TypeError:  # an unhashable profile is never kept
            return None
        if not new:
            return columns
        at = list(range(len(self._columns), len(self._columns) + len(new)))
        if at[-1] >= self._values.shape[2] and not self._grow(columns=2 * (at[-1] + 1)):
            self._allocate()  # more agents than fit beside the tickets kept: start again
            return None
        self._columns.update(zip(new, at))
        return _positions(self._columns, agents)

    def _make_rows(self, needed: int, keep: np.ndarray) -> bool:
        """Room for `needed` new rows: grow, or else free the rows asked for longest ago except `keep`
        (False: not enough room even so)."""
        if len(self._free_rows) >= needed:
            return True
        size = self._values.shape[1]
        if size < self.max_rows or size < needed:
            self._grow(rows=min(max(2 * size, size + needed), max(self.max_rows, needed)))
            if len(self._free_rows) >= needed:
                return True
            size = self._values.shape[1]
        occupied = np.fromiter(self._rows.values(), dtype=np.int64, count=len(self._rows))
        occupied = occupied[~np.isin(occupied, keep)]
        gone = set(occupied[np.argsort(self._asked[occupied], kind="stable")][:max(needed, size // 4)].tolist())
        for token in [token for token, row in self._rows.items() if row in gone]:
            del self._rows[token]
        self._free_rows.extend(gone)
        return len(self._free_rows) >= needed

    def _grow(self, rows: int = 0, columns: int = 0) -> bool:
        """Enlarge the arrays, keeping what they hold; False when that would pass `max_cells`."""
        old_rows, old_columns = self._values.shape[1:]
        rows, columns = max(rows, old_rows), max(columns, old_columns)
        if rows * columns > self.max_cells:
            return False
        values = np.empty((self.n_predictions, rows, columns))
        values[:, :old_rows, :old_columns] = self._values
        span = np.empty((2, rows, columns))
        span[0], span[1] = np.inf, -np.inf
        span[:, :old_rows, :old_columns] = self._span
        ticket = np.empty((rows, self._ticket.shape[1]))
        ticket[:old_rows] = self._ticket
        asked = np.zeros(rows, dtype=np.int64)
        asked[:old_rows] = self._asked
        self._values, self._span, self._ticket, self._asked = values, span, ticket, asked
        self._free_rows = [*range(rows - 1, old_rows - 1, -1), *self._free_rows]
        return True


def _positions(places: dict, keys: Sequence[Hashable]) -> np.ndarray:
    """Each key's place, -1 when it has none."""
    return np.fromiter(map(places.get, keys, itertools.repeat(-1)), dtype=np.int64, count=len(keys))


__all__ = ["MAX_CELLS", "MAX_ROWS", "PairMemo", "Recall"]
