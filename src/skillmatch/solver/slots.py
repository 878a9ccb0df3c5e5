"""The one call to scipy: a maximum-value partial matching of tickets to agent slots on an expanded matrix.

The matrix has one row per ticket that could be placed at all, one column per usable agent slot (an
agent with capacity c is repeated min(c, tickets it may take) times: it can never use more) and one
"stay unassigned" column per row. Staying unassigned costs 0, an allowed pair costs -value (value > 0),
and a forbidden pair costs FORBIDDEN, a finite number larger than the value of any whole matching.
scipy needs finite costs (inf makes rows infeasible and raises), and no forbidden pair is ever chosen:
swapping it for one of the row's free unassigned columns (there are as many as rows) lowers the cost.

When the values already rank a matching with more pairs above any with fewer (`maximum_cardinality`,
see `lexicographic_value`), the unassigned columns are left out: scipy then fills every row (or every
slot) and, since one forbidden pair costs more than any matching is worth, uses as few forbidden pairs
as possible, i.e. places the most pairs, then the best ones; the forbidden pairs it had to use are read
as unassigned. The matrix is a third smaller and scipy about a third faster on a 500 x 500 round.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

UNASSIGNED = -1


def slot_counts(allowed: np.ndarray, free_slots: np.ndarray) -> np.ndarray:
    """Usable slot columns per agent `(n_agents,)`: min(free slots, tickets the agent may take)."""
    return np.minimum(free_slots, allowed.sum(axis=0))


def match_slots(value: np.ndarray, allowed: np.ndarray, free_slots: np.ndarray,
                maximum_cardinality: bool = False) -> np.ndarray:
    """Agent of each ticket `(n_tickets,)` (-1 when unassigned) maximising the summed `value` of allowed pairs.

    `value` and `allowed` are `(n_tickets, n_agents)`; `value` must be > 0 where allowed, so that placing a
    pair is only chosen for what it adds. Each agent takes at most `free_slots[a]` tickets.
    `maximum_cardinality`: the caller's values make every matching with more pairs worth more (see the
    module docstring); the answer is the same, found faster.
    """
    agent_of_ticket = np.full(value.shape[0], UNASSIGNED, dtype=np.intp)
    n_columns = slot_counts(allowed, free_slots)
    rows = np.flatnonzero(allowed[:, n_columns > 0].any(axis=1))
    if rows.size == 0:  # nothing can be placed: no scipy call on an empty or all-forbidden matrix
        return agent_of_ticket
    used_agents = np.flatnonzero(n_columns > 0)
    if rows.size == allowed.shape[0] and used_agents.size == allowed.shape[1]:
        agent_allowed, agent_value = allowed, value  # the usual round: no copies
    else:
        agent_allowed, agent_value = allowed[np.ix_(rows, used_agents)], value[np.ix_(rows, used_agents)]
    forbidden = 1.0 + rows.size * float(np.abs(agent_value).max())  # >= any allowed value: beats every matching
    agent_cost = np.where(agent_allowed, -agent_value, forbidden)
    column_agent = np.repeat(used_agents, n_columns[used_agents])
    n_slots = column_agent.size
    stay = 0 if maximum_cardinality else rows.size
    cost = np.zeros((rows.size, n_slots + stay))  # the last `stay` columns: stay unassigned
    np.take(agent_cost, np.repeat(np.arange(used_agents.size), n_columns[used_agents]), axis=1,
            out=cost[:, :n_slots])
    row_index, column_index = linear_sum_assignment(cost)
    placed = column_index < n_slots
    if maximum_cardinality:  # forbidden pairs scipy had to fill rows or slots with are no placements
        placed &= cost[row_index, column_index] < 0
    agent_of_ticket[rows[row_index[placed]]] = column_agent[column_index[placed]]
    return agent_of_ticket
