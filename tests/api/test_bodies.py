"""Routing bodies validated once per distinct ticket give exactly what pydantic gives for the whole body."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from skillmatch.api.bodies import memo_info, parse_routing_body
from skillmatch.api.schemas import AssignRequest, NextRequest

TICKET = {"ticket_id": "T1", "created_at": "2026-11-23T10:01:00Z", "topic": "Billing", "channel": "chat",
          "language": "ES", "priority": 2, "customer_id": "C9", "customer_tier": "vip", "sentiment": -0.6,
          "queue_name": "retention"}
AGENT = {"agent_id": "A7", "languages": ["en", "es"], "free_slots": 1}
MODELS = [(NextRequest, "queue"), (AssignRequest, "tickets")]


def _body(field: str, tickets: list, **head: object) -> dict:
    if field == "queue":
        return {"request_id": "n-1", "now": "2026-11-23T10:15:00Z", "agent": AGENT, "queue": tickets,
                "others": [{**AGENT, "agent_id": "A8"}], "commit": False, **head}
    return {"request_id": "r-1", "now": "2026-11-23T10:15:00Z", "tickets": tickets, "agents": [AGENT], **head}


def _outcome(model: type[BaseModel], parse) -> tuple[str, object]:
    try:
        return "ok", parse().model_dump()
    except ValidationError as exc:
        return "refused", exc.errors(include_url=False, include_input=False)


def _same_as_pydantic(model: type[BaseModel], field: str, raw: bytes) -> None:
    expected = _outcome(model, lambda: model.model_validate_json(raw))
    assert _outcome(model, lambda: parse_routing_body(model, raw, field)) == expected


INVALID = [
    pytest.param(lambda b, f: {**b, f: [*b[f], {**TICKET, "ticket_id": "T2", "priority": 9}]}, id="ticket-field"),
    pytest.param(lambda b, f: {**b, f: [*b[f], {**TICKET, "created_at": "yesterday"}]}, id="ticket-time"),
    pytest.param(lambda b, f: {**b, f: [*b[f], "T2"]}, id="ticket-not-an-object"),
    pytest.param(lambda b, f: {**b, f: {"T1": TICKET}}, id="tickets-not-a-list"),
    pytest.param(lambda b, f: {k: v for k, v in b.items() if k != f}, id="tickets-missing"),
    pytest.param(lambda b, f: {**b, "now": "soon"}, id="head-field"),
    pytest.param(lambda b, f: {**b, "surprise": 1}, id="head-extra-field"),
    pytest.param(lambda b, f: [b], id="body-not-an-object"),
]


@pytest.mark.parametrize(("model", "field"), MODELS)
def test_a_valid_body_parses_as_pydantic_parses_it_whole(model, field):
    raw = json.dumps(_body(field, [TICKET, {**TICKET, "ticket_id": "T2", "sentiment": None}])).encode()
    _same_as_pydantic(model, field, raw)
    assert getattr(parse_routing_body(model, raw, field), field)[0].model_extra == {"queue_name": "retention"}


@pytest.mark.parametrize(("model", "field"), MODELS)
@pytest.mark.parametrize("spoil", INVALID)
def test_an_invalid_body_is_refused_with_pydantics_errors_and_paths(model, field, spoil):
    raw = json.dumps(spoil(_body(field, [TICKET]), field)).encode()
    with pytest.raises(ValidationError):
        model.model_validate_json(raw)
    _same_as_pydantic(model, field, raw)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"queue": [}', b"[NaN]", b'{"queue": [], "queue": 3}',
                                 b'{"agent": {"agent_id": "A"}, "queue": [], "agent": {"agent_id": ""}}'])
def test_malformed_or_repeated_json_is_handled_as_pydantic_handles_it(raw):
    _same_as_pydantic(NextRequest, "queue", raw)


def test_a_ticket_sent_again_is_the_ticket_validated_the_first_time():
    ticket = {**TICKET, "ticket_id": "T-memo-1"}
    first = parse_routing_body(NextRequest, json.dumps(_body("queue", [ticket])).encode(), "queue").queue[0]
    hits = memo_info()[0]
    again = parse_routing_body(NextRequest, json.dumps(_body("queue", [TICKET, ticket], request_id="n-2")).encode(),
                               "queue").queue[1]
    assert again is first
    assert memo_info()[0] >= hits + 1


def test_a_refused_ticket_is_not_remembered_as_valid():
    raw = json.dumps(_body("queue", [{**TICKET, "ticket_id": "T-bad", "priority": 0}])).encode()
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            parse_routing_body(NextRequest, raw, "queue")
        assert refused.value.errors()[0]["loc"] == ("queue", 0, "priority")


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
                    st.text(max_size=4), st.sampled_from(["2026-11-23T10:01:00Z", "2026-11-23T10:01:00", "x"]))
_tickets = st.lists(st.dictionaries(st.sampled_from([*TICKET, "other"]), _values, max_size=4).map(
    lambda changes: {**TICKET, **changes}), max_size=4)


@given(tickets=_tickets, now=_values, request_id=_values)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_body_parses_or_is_refused_exactly_as_pydantic_would(tickets, now, request_id):
    for model, field in MODELS:
        raw = json.dumps(_body(field, tickets, now=now, request_id=request_id)).encode()
        _same_as_pydantic(model, field, raw)
