"""A round's ticket columns are the tickets' own fields, whether a ticket object was read before or not."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from skillmatch.features.ticket_fields import TicketFieldReader
from skillmatch.records import Ticket

START = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
NAMES = ["topic", "language", "priority", "sentiment", "customer_id", "queue_name", "wait_class"]

_tickets = st.builds(
    lambda i, topic, priority, sentiment, extra: Ticket(
        ticket_id=f"T{i}", created_at=START + timedelta(seconds=i), topic=topic, priority=priority,
        sentiment=sentiment, customer_id=f"C{i % 3}", **extra),
    st.integers(0, 10_000), st.sampled_from(["billing", "technical"]), st.integers(1, 4),
    st.none() | st.floats(-1, 1), st.dictionaries(st.sampled_from(["queue_name", "wait_class"]), st.text(max_size=3)))


def _expected(tickets: list[Ticket]) -> tuple[dict[str, list], list[float]]:
    return ({name: [t.model_dump().get(name) for t in tickets] for name in NAMES},
            [t.created_at.timestamp() for t in tickets])


@given(st.lists(_tickets, max_size=6),
       st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=8), st.booleans()), min_size=1, max_size=4),
       st.integers(1, 4))
@settings(max_examples=80, deadline=None)
def test_columns_are_the_tickets_fields_however_often_they_were_read(pool, rounds, max_tickets):
    reader = TicketFieldReader(NAMES, max_tickets=max_tickets)
    for picks, remember in rounds:
        tickets = [pool[i % len(pool)] for i in picks] if pool else []
        columns, created = reader.read(tickets, remember)
        expected_columns, expected_created = _expected(tickets)
        assert columns == expected_columns
        assert created.tolist() == expected_created


def test_a_new_ticket_object_is_read_even_where_an_old_one_was():
    reader = TicketFieldReader(NAMES)
    for topic in ("billing", "technical", "billing"):  # a new object each time
        columns, _ = reader.read([Ticket(ticket_id="T1", created_at=START, topic=topic)])
        assert columns["topic"] == [topic]


def test_tickets_not_to_remember_are_not_kept():
    reader = TicketFieldReader(NAMES)
    reader.read([Ticket(ticket_id=f"T{i}", created_at=START, topic="billing") for i in range(5)], remember=False)
    assert len(reader) == 0
    reader.read([Ticket(ticket_id="T9", created_at=START, topic="billing")], remember=True)
    assert len(reader) == 1


def test_a_ticket_object_keeps_its_token_and_no_other_ticket_shares_it():
    """The token stands for the ticket (its fields and creation time) in later rounds: equal object, equal token."""
    reader, other = TicketFieldReader(NAMES, max_tickets=3), TicketFieldReader(NAMES)
    tickets = [Ticket(ticket_id=f"T{i}", created_at=START, topic="billing") for i in range(3)]
    _, _, first = reader.read_with_tokens(tickets)
    _, _, again = reader.read_with_tokens([tickets[2], tickets[0]])
    assert again.tolist() == [first[2], first[0]] and len(set(first.tolist())) == 3
    twin = Ticket(ticket_id="T0", created_at=START, topic="billing")  # equal fields, another object: a new token
    _, _, elsewhere = other.read_with_tokens([twin, tickets[0]])
    assert not set(elsewhere.tolist()) & set(first.tolist())
    assert reader.read_with_tokens(tickets, remember=False)[2] is None
    reader.read_with_tokens([Ticket(ticket_id=f"N{i}", created_at=START, topic="billing") for i in range(5)])
    _, _, forgotten = reader.read_with_tokens(tickets[:1])  # forgotten when the reader was full: a new token
    assert forgotten[0] not in first.tolist()
