"""The "Anonymous Bank" call center (Israel, February 1999; Technion SEE) as contract logs.

Raw file: `anonymous_bank_1999_02.tsv.gz`, one tab-separated record per call (see its README). Choices:

- **Which calls are interactions.** A call becomes an interaction when it was served (`outcome` AGENT by a
  named `server`, with a service time above 0) by an *identified* customer (`customer_id` not 0), and
  at least REPEAT_WINDOW_H hours of log follow its end. Phantom calls are ignored (the README says so);
  records with a negative `vru_time`, and AGENT records without a named server, are dropped as corrupt;
  abandoned calls (HANG) are not interactions (no agent handled them) but appear as `queued` events.
- **resolved (a proxy; the file records no resolution).** A call counts as *not* resolved when the same
  identified customer calls again about the same service type (`type`) within REPEAT_WINDOW_H = 72 hours
  after this call ended, whether that call is served, abandoned or served for 0 seconds (any call that is
  not phantom or corrupt); otherwise resolved. `reopened` is the
  same repeat flag (the customer came back). Calls of unidentified customers (59% of all calls, nearly
  all prospects `NW` and internet support `IN`) cannot be followed, so they are not interactions, only
  events. Calls that end within the last 72 h of the log are dropped too (whatever happened after them):
  keeping only those already seen to repeat would make the last days, the evaluation slice, look worse
  than they were. This is a noisy proxy: frequent callers call back about new business, and a satisfied
  customer may call about the same type within three days.
- **Ticket fields.** ticket_id = `vru+line` + `-` + `call_id` (unique in the file). created_at = `date` +
  `vru_entry` (the customer contacted); assigned_at = `date` + `ser_start`; closed_at = assigned_at +
  `ser_time` (the README prefers `ser_time` to `ser_exit`, which breaks across midnight). A time of day
  earlier than `vru_entry` belongs to the next day. Times are local (Israel Standard Time in February,
  UTC+2) and written with the `+02:00` offset. topic = `type` lower-cased (ps regular banking, ne stock
  exchange, tt callback, pe banking in English, nw prospects, in internet). channel = `voice`. language =
  `en` for `PE`, else `he`. priority: `priority` 2 (priority customers, 1.5 min head start) -> 2, 0 or
  1 -> 3. customer_tier = `vip` for `priority` 2, else `standard`. handle_time_s = `ser_time`.
  transferred is not recorded and left out. Extra columns: `wait_s` (`q_time`, seconds the caller queued
  before this agent: known when the call is assigned) and `vru_s` (`vru_time`).
- **Roster.** Every named server of a served call. languages = `he`, plus `en` for agents seen serving
  an English (`PE`) call anywhere in the file (a static fact, and a hard routing constraint). skills =
  observed volume levels 1..5 per type from the earlier half of the served calls (see
  `adapters.common`): who the bank routed what to, not measured skill, and never read from the period
  a model is evaluated on. capacity = observed concurrency (1: a phone agent holds
  one call). No team or hire date in the file.
- **Events.** For every served or queue-abandoned call (identified or not, inside the 72 h tail or not):
  `queued` at `q_start` (at `ser_start` for a call served without queueing), `assigned` at `ser_start`
  and `closed` at the end of service for served calls. Calls that hung up in the voice menu before
  reaching the queue have no event.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.adapters.common import (
    Adapted, build_roster, iso, module_choices, parse_int, posix_s, read_raw, refuse_bad, require_interactions,
)

DATASET = "anonymous-bank"
WHAT = "the Anonymous Bank call log (tab-separated, anonymous_bank_1999_02.tsv.gz)"
REQUIRED = ("vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_time",
            "q_start", "q_time", "outcome", "ser_start", "ser_time", "server")
OUTCOMES = ("AGENT", "HANG", "PHANTOM")
NO_SERVER = "NO_SERVER"
UNIDENTIFIED = "0"
REPEAT_WINDOW_H = 72.0
"""A repeat call about the same type within this many hours after a call ends marks it not resolved."""
UTC_OFFSET = "+02:00"
"""Israel Standard Time; February has no daylight saving time."""
ENGLISH_TYPE = "PE"
PRIORITY_CUSTOMER = 2
_TIME = r"^\d{1,2}:\d{2}:\d{2}$"


def adapt(raw: Path, limit_rows: int | None = None) -> Adapted:
    """Turn the raw call log into interactions (identified served calls), a roster and queue events."""
    raw = Path(raw)
    df = read_raw(raw, what=WHAT, required=REQUIRED, limit_rows=limit_rows, sep="\t")
    calls = _parse(df, raw)
    dropped: dict[str, int] = {}

    phantom = calls["outcome"] == "PHANTOM"
    corrupt_vru = ~phantom & (calls["vru_time"] < 0)
    no_server = ~phantom & ~corrupt_vru & (calls["outcome"] == "AGENT") & (calls["server"] == NO_SERVER)
    served_any = ~phantom & ~corrupt_vru & ~no_server & (calls["outcome"] == "AGENT")
    zero_service = served_any & ((calls["ser_time"] <= 0) | calls["ser_start_s"].isna())
    served = served_any & ~zero_service
    abandoned = ~phantom & ~corrupt_vru & (calls["outcome"] == "HANG")
    identified = calls["customer_id"] != UNIDENTIFIED
    dropped["phantom calls (virtual records, ignored as the README says)"] = int(phantom.sum())
    dropped["negative vru_time (corrupt record)"] = int(corrupt_vru.sum())
    dropped["outcome AGENT without a named server (corrupt record)"] = int(no_server.sum())
    dropped["served with zero service time or no service start"] = int(zero_service.sum())
    dropped["abandoned (HANG): no agent handled them; queued events only"] = int(abandoned.sum())

    calls = _anchor_times(calls)
    real_call = ~phantom & ~corrupt_vru & ~no_server
    repeat = _repeat_flags(calls, contacts=real_call & identified)
    log_end = calls.loc[~phantom & ~corrupt_vru, "created_at"].max()
    censored = calls["closed_at"] + pd.Timedelta(hours=REPEAT_WINDOW_H) > log_end
    keep = served & identified & ~censored
    unidentified = served & ~identified
    dropped["served, unidentified customer: no repeat call can be seen; events only"] = int(unidentified.sum())
    dropped[f"served, ends within the last {REPEAT_WINDOW_H:g} h of the log (outcome censored)"] = int(
        (served & identified & censored).sum())

    require_interactions(int(keep.sum()), raw, dropped, limit_rows)
    interactions = _interactions(calls[keep], repeat[keep])
    roster = _roster(calls[served])
    events = _events(calls, served, abandoned)
    notes = {
        "calls served by a named agent": int(served.sum()),
        "share of served calls by identified customers": round(float(identified[served].mean()), 4),
        f"repeat within {REPEAT_WINDOW_H:g} h (same type), share of interactions":
            round(float(interactions["reopened"].mean()), 4) if len(interactions) else None,
        "agents who served English (PE) calls": int(roster["languages"].str.contains("en").sum()),
    }
    return Adapted(dataset=DATASET, source=raw, interactions=interactions, agents=roster.drop(columns="n_handled"),
                   events=events, rows_in=len(df), unit_in="calls (raw rows)", dropped=dropped, notes=notes,
                   limit_rows=limit_rows, choices=module_choices(sys.modules[__name__]))


def _parse(df: pd.DataFrame, raw: Path) -> pd.DataFrame:
    """Typed columns; a cell that cannot be what the README says is refused with its rows."""
    out = pd.DataFrame({"_row": df["_row"]})
    out["ticket_id"] = df["vru+line"].str.strip() + "-" + df["call_id"].str.strip()
    refuse_bad(out["ticket_id"].isna(), df, file=raw, column="call_id", problem="empty vru+line or call_id",
               expected="a VRU line such as AA0101 and a call id")
    refuse_bad(out["ticket_id"].duplicated(keep=False), df.assign(call_id=out["ticket_id"]), file=raw,
               column="call_id", problem="the same vru+line and call_id twice", expected="each call once")
    for column in ("priority", "vru_time", "q_time", "ser_time"):
        out[column] = parse_int(df, column, file=raw)
    out["customer_id"] = df["customer_id"].str.strip().fillna(UNIDENTIFIED)
    out["type"] = df["type"].str.strip().str.upper()
    refuse_bad(out["type"].isna(), df, file=raw, column="type", problem="empty service type",
               expected="a service type such as PS, NE, NW, TT, IN, PE")
    out["outcome"] = df["outcome"].str.strip().str.upper()
    refuse_bad(~out["outcome"].isin(OUTCOMES), df, file=raw, column="outcome", problem="unknown outcome",
               expected="one of " + ", ".join(OUTCOMES))
    out["server"] = df["server"].str.strip().fillna(NO_SERVER)
    out["day"] = pd.to_datetime(df["date"].str.strip(), format="%y%m%d", errors="coerce")
    refuse_bad(out["day"].isna(), df, file=raw, column="date", problem="not a date in the file's format",
               expected="YYMMDD such as 990201")
    for column in ("vru_entry", "q_start", "ser_start"):
        text = df[column].str.strip()
        refuse_bad(~text.fillna("").str.match(_TIME), df, file=raw, column=column,
                   problem="not a time of day", expected="H:MM:SS such as 7:02:47 (0:00:00: did not happen)")
        parts = text.str.split(":", expand=True).astype(int)
        seconds = (parts[0] * 3600 + parts[1] * 60 + parts[2]).astype(float)
        out[f"{column}_s"] = seconds if column == "vru_entry" else seconds.where(seconds > 0)
    return out


def _anchor_times(calls: pd.DataFrame) -> pd.DataFrame:
    """created/queued/assigned/closed timestamps: a time of day before the VRU entry is on the next day."""
    day = calls["day"]
    entry = calls["vru_entry_s"]
    out = calls.copy()
    out["created_at"] = day + pd.to_timedelta(entry, unit="s")
    for column, name in (("q_start_s", "queued_at"), ("ser_start_s", "assigned_at")):
        seconds = calls[column] + np.where(calls[column] < entry, 86400.0, 0.0)
        out[name] = day + pd.to_timedelta(seconds, unit="s")
    out["closed_at"] = out["assigned_at"] + pd.to_timedelta(calls["ser_time"].clip(lower=0), unit="s")
    return out


def _repeat_flags(calls: pd.DataFrame, contacts: pd.Series) -> pd.Series:
    """True where the same customer's next contact about the same type starts within the window after the end."""
    mine = calls.loc[contacts, ["customer_id", "type", "created_at", "closed_at"]]
    mine = mine.sort_values(["customer_id", "type", "created_at"], kind="stable")
    next_created = mine.groupby(["customer_id", "type"], sort=False)["created_at"].shift(-1)
    end = mine["closed_at"].fillna(mine["created_at"])
    repeat = next_created.notna() & (next_created <= end + pd.Timedelta(hours=REPEAT_WINDOW_H))
    return repeat.reindex(calls.index, fill_value=False)


def _interactions(calls: pd.DataFrame, repeat: pd.Series) -> pd.DataFrame:
    """Contract interactions, one per identified served call."""
    vip = calls["priority"] == PRIORITY_CUSTOMER
    out = pd.DataFrame({
        "ticket_id": calls["ticket_id"],
        "created_at": calls["created_at"],
        "assigned_at": calls["assigned_at"],
        "closed_at": calls["closed_at"],
        "agent_id": calls["server"],
        "topic": calls["type"].str.lower(),
        "channel": "voice",
        "language": np.where(calls["type"] == ENGLISH_TYPE, "en", "he"),
        "priority": np.where(vip, 2, 3),
        "customer_id": calls["customer_id"],
        "customer_tier": np.where(vip, "vip", "standard"),
        "handle_time_s": calls["ser_time"].astype(float),
        "resolved": ~repeat.to_numpy(dtype=bool),
        "reopened": repeat.to_numpy(dtype=bool),
        "wait_s": calls["q_time"].astype(float),
        "vru_s": calls["vru_time"].astype(float),
    }).sort_values("created_at", kind="stable")
    for column in ("created_at", "assigned_at", "closed_at"):
        out[column] = iso(out[column], UTC_OFFSET)
    return out.reset_index(drop=True)


def _roster(served: pd.DataFrame) -> pd.DataFrame:
    """Every named server: languages from the calls they took, volume levels, concurrency."""
    english = served.loc[served["type"] == ENGLISH_TYPE, "server"].unique()
    agents = pd.Index(served["server"].unique())
    languages = pd.Series(np.where(agents.isin(english), "he;en", "he"), index=agents)
    handled = pd.DataFrame({"agent_id": served["server"].to_numpy(), "topic": served["type"].str.lower().to_numpy(),
                            "start_s": posix_s(served["assigned_at"]), "end_s": posix_s(served["closed_at"])})
    return build_roster(handled, languages=languages)


def _events(calls: pd.DataFrame, served: pd.Series, abandoned: pd.Series) -> pd.DataFrame:
    """queued for every call that reached the queue or an agent; assigned and closed for served calls."""
    reached = served | (abandoned & calls["queued_at"].notna())
    queued_at = calls["queued_at"].where(calls["queued_at"].notna(), calls["assigned_at"])
    ticket, server = calls.loc[served, "ticket_id"], calls.loc[served, "server"]
    parts = [
        pd.DataFrame({"ts": queued_at[reached], "event": "queued", "ticket_id": calls.loc[reached, "ticket_id"],
                      "agent_id": None, "_order": 0}),
        pd.DataFrame({"ts": calls.loc[served, "assigned_at"], "event": "assigned", "ticket_id": ticket,
                      "agent_id": server, "_order": 1}),
        pd.DataFrame({"ts": calls.loc[served, "closed_at"], "event": "closed", "ticket_id": ticket,
                      "agent_id": server, "_order": 2}),
    ]
    events = pd.concat(parts, ignore_index=True).sort_values(["ts", "_order"], kind="stable")
    events["ts"] = iso(events["ts"], UTC_OFFSET)
    return events.drop(columns="_order").reset_index(drop=True)


__all__ = ["DATASET", "REPEAT_WINDOW_H", "adapt"]
