"""Routing request bodies, validated once per distinct ticket: a claim stream sends nearly the same queue every time.

Claim-next requests carry the whole queue (200 tickets, say), of which all but a ticket or two were in the
previous request. `parse_routing_body` splits the body with msgspec, in one pass, into the JSON text of
each top-level field and of each ticket, takes the tickets it has validated before from a memo keyed by
that text, validates the new ones and the rest of the body with pydantic, and gives the same model
instance that `model.model_validate_json(body)` would. Validation is pure, so a remembered ticket is the
ticket a fresh validation would give; anything the fast path does not accept (malformed JSON, an invalid
or unknown field) is validated again whole by pydantic, so refusals and their paths are exactly pydantic's.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

import msgspec
from pydantic import BaseModel, TypeAdapter, ValidationError

from skillmatch.records import Ticket

TICKET_MEMO_SIZE = 20_000
"""Distinct ticket texts remembered per process (1.7 kB each with the validated ticket: about 35 MB when full)."""

_Body = TypeVar("_Body", bound=BaseModel)
_TICKET = TypeAdapter(Ticket)
_EMPTY_LIST = b"[]"


@lru_cache(maxsize=TICKET_MEMO_SIZE)
def _ticket(text: bytes) -> Ticket:
    """The ticket of this exact JSON text (ValidationError if invalid; refusals are not remembered)."""
    return _TICKET.validate_json(text)


def parse_routing_body(model: type[_Body], raw: bytes, tickets_field: str) -> _Body:
    """`model.model_validate_json(raw)`, with the tickets of `tickets_field` taken from the memo when seen before.

    Raises pydantic's ValidationError (from validating the whole body) when the body is invalid.
    """
    try:
        top = _top_level(model, tickets_field).decode(raw)
        texts = getattr(top, tickets_field)
        if texts is msgspec.UNSET:
            return model.model_validate_json(raw)
        tickets = list(map(_ticket, map(bytes, texts)))
    except (msgspec.DecodeError, ValidationError):
        return model.model_validate_json(raw)
    head = {name: value for name in top.__struct_fields__ if (value := getattr(top, name)) is not msgspec.UNSET}
    head[tickets_field] = msgspec.Raw(_EMPTY_LIST)
    try:
        body = model.model_validate_json(msgspec.json.encode(head))
    except ValidationError:
        return model.model_validate_json(raw)
    setattr(body, tickets_field, tickets)
    return body


@lru_cache(maxsize=None)
def _top_level(model: type[BaseModel], tickets_field: str) -> msgspec.json.Decoder:
    """A decoder of `model`'s JSON object into each field's text, the tickets' field into one text per ticket.

    Unknown fields (aliases included) fail to decode, so that such bodies are left to pydantic whole.
    """
    fields = [(name, (list[msgspec.Raw] if name == tickets_field else msgspec.Raw) | msgspec.UnsetType, msgspec.UNSET)
              for name in model.model_fields]
    return msgspec.json.Decoder(msgspec.defstruct(f"_{model.__name__}TopLevel", fields, forbid_unknown_fields=True))


def memo_info() -> tuple[int, int, int]:
    """(hits, misses, size) of the ticket memo since the process started."""
    info = _ticket.cache_info()
    return info.hits, info.misses, info.currsize


__all__ = ["TICKET_MEMO_SIZE", "memo_info", "parse_routing_body"]
