"""The UCI "Incident management process enriched event log" (ServiceNow IT service desk) as contract logs.

Raw file: `incident_event_log.csv.xz`, one row per update of an incident (141,712 rows, 24,918 incidents;
missing values written `?`; dates `D/M/YYYY HH:MM`). Choices:

- **One interaction per assignment segment**, not one per incident. A segment is a run of updates during
  which the same analyst (`assigned_to`) holds the incident, up to its (last) resolution; updates where
  nobody is named (the incident waits in a group's queue) do not end a run of the same analyst. A segment
  that ends because the incident passed to another analyst or group is `transferred` and not `resolved`;
  the segment that holds it at resolution is the resolving one. So `resolved` means what the contract
  says, resolved by *this* analyst without passing it on, and the models learn who resolves which
  incidents instead of bouncing them (45.6% of incidents were reassigned). One row per incident crediting
  only the final resolver would hide every bounce and leave 99% of rows resolved.
- **resolved** = the resolving segment, and the caller did not reject the resolution during it
  (`reopen_count` did not grow): resolution quality, not speed. Meeting the SLA (`made_sla`) is not part
  of it: a slow but correct fix is resolved; `made_sla` is kept as an extra column (an outcome: never a
  feature). `reopened` = `reopen_count` grew during the segment.
- **The two pseudonym numberings** of the same people (`assigned_to` "Resolver N", `resolved_by`
  "Resolved by M") are unified as the README suggests: in incidents never reassigned, the pair (N, M)
  is taken to be one person when they co-occur at least MAP_MIN_INCIDENTS times and each is the other's
  partner in at least MAP_MIN_SHARE = 80% of their incidents (so the mapping is one-to-one). agent_id is
  the `Resolver N` pseudonym; a `Resolved by M` with no confident partner stays a separate agent under its
  own name. The analyst in charge at resolution (`assigned_to` on the resolution update) gets the
  resolution; `resolved_by` names the resolver only where nobody was in charge then (the incident sat in
  a group queue): that person gets a resolving segment that starts when the last named analyst let go.
  The resolution update is the later of the last update at or before `resolved_at` and the last update
  that entered the Resolved state (the first Closed one when neither exists); later updates (closure)
  are not looked at for segments.
- **Order of updates**: by their own time (`sys_updated_at`), then `sys_mod_count` (minute ties; one
  incident's counter is out of order, so the counter alone would misplace an update).
- **Times** (the file's local clock, minute resolution; written without offset, which the contract reads
  as UTC). created_at = `opened_at` for the first segment and the hand-over for later ones (the update
  where the previous holder let go: when the incident entered the next queue); assigned_at = the first
  update naming the analyst (empty for a resolver who was never named); closed_at = the hand-over for a
  transferred segment, `resolved_at` for the resolving one (the update that last entered Resolved when
  `resolved_at` is `?`). Times out of order (a handful of updates) are clipped so created <= assigned <=
  closed. handle_time_s is *calendar* time in the segment (there is no active handling time in the file),
  at least 60 s (the clock has minute resolution).
- **Ticket fields** come from the segment's first update (what was known when it was routed):
  topic = `category` (a `?` takes the incident's nearest known category; incidents with none are dropped),
  priority = leading digit of `priority` (1 critical .. 4 low), channel = `contact_type` lower-cased
  (phone, self_service, email, ivr, direct_opening: not `voice`, since an incident reported by phone is
  worked later, not as a live call), customer_id = `caller_id`. No language in the file: left empty
  (the contract's default `en` for everyone). Extra columns: `incident`, `handoffs_before` (segments
  before this one), `subcategory`, `symptom` (`u_symptom`), `assignment_group`, `location`, and the
  outcomes `made_sla`, `closed_code` (never features).
- **Dropped**: incidents not Closed on their last update (still open, or cut by --limit-rows), without any
  category, or with no analyst named anywhere and no `resolved_by`.
- **Roster**: every agent of a segment. skills = observed volume levels 1..5 per category from the earlier
  half of the segments (`adapters.common`; never from the period a model is evaluated on); team = the
  assignment group of most of its segments;
  capacity = observed concurrency (90th percentile of segments held at once when taking one).
  No languages or hire dates in the file.
- **Events** per segment: `queued` at created_at, `assigned` at assigned_at (when known), then
  `transferred` or `closed` at closed_at, with the segment's ticket_id (`INC0000045-2`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from skillmatch.adapters.common import (
    Adapted, build_roster, iso, module_choices, parse_datetime, parse_int, posix_s, read_raw, refuse_bad,
    require_interactions,
)

DATASET = "uci-incidents"
WHAT = "the UCI incident event log (incident_event_log.csv)"
REQUIRED = ("number", "incident_state", "reassignment_count", "reopen_count", "sys_mod_count", "made_sla",
            "caller_id", "opened_at", "sys_updated_at", "contact_type", "location", "category", "subcategory",
            "u_symptom", "priority", "assignment_group", "assigned_to", "closed_code", "resolved_by",
            "resolved_at")
MISSING = ("?", "")
DATE_FORMAT = "%d/%m/%Y %H:%M"
MAP_MIN_INCIDENTS = 3
MAP_MIN_SHARE = 0.8
MIN_HANDLE_S = 60.0
CLOSED, RESOLVED = "Closed", "Resolved"


def adapt(raw: Path, limit_rows: int | None = None) -> Adapted:
    """Turn the raw incident event log into one interaction per assignment segment, a roster and events."""
    raw = Path(raw)
    df = read_raw(raw, what=WHAT, required=REQUIRED, limit_rows=limit_rows, na_values=MISSING)
    ev = _parse(df, raw)
    n_incidents = int(ev["number"].nunique())
    dropped: dict[str, int] = {}

    last = ev.groupby("inc", sort=True).tail(1).set_index("inc")
    open_ = last["incident_state"] != CLOSED
    no_category = ev.groupby("inc")["category"].count() == 0
    dropped["incidents not Closed on their last update (open, or cut by --limit-rows)"] = int(open_.sum())
    dropped["incidents without any category"] = int((no_category & ~open_).sum())
    keep_inc = last.index[~open_ & ~no_category]
    require_interactions(len(keep_inc), raw, dropped, limit_rows)
    ev = ev[ev["inc"].isin(keep_inc)].reset_index(drop=True)
    ev["pos"] = np.arange(len(ev))
    last = last.loc[keep_inc]

    mapping = pseudonym_map(last)
    resolver = last["resolved_by"].map(mapping).fillna(last["resolved_by"])
    rows, notes = _segments(ev, last, resolver, mapping)
    dropped["incidents with no analyst named and no resolved_by"] = notes.pop("incidents without any agent")
    require_interactions(len(rows), raw, dropped, limit_rows)
    interactions = _interactions(rows)
    roster = _roster(rows)
    events = _events(rows)
    n_resolved_by = int(last["resolved_by"].nunique())
    notes = {
        "incidents read": n_incidents,
        "incidents adapted": int(rows["inc"].nunique()),
        "resolved_by pseudonyms": n_resolved_by,
        "resolved_by pseudonyms unified with an assigned_to pseudonym": len(mapping),
        "resolved_by pseudonyms kept as separate agents": n_resolved_by - len(mapping),
        **notes,
        "share of segments transferred": round(float(rows["transferred"].mean()), 4),
        "share of segments resolved": round(float(rows["resolved"].mean()), 4),
    }
    return Adapted(dataset=DATASET, source=raw, interactions=interactions, agents=roster.drop(columns="n_handled"),
                   events=events, rows_in=len(df), unit_in="incident updates (raw rows)", dropped=dropped,
                   notes=notes, limit_rows=limit_rows, choices=module_choices(sys.modules[__name__]))


def _parse(df: pd.DataFrame, raw: Path) -> pd.DataFrame:
    """Typed columns in incident order (number, update time, sys_mod_count); bad cells refused with their rows."""
    refuse_bad(df["number"].isna(), df, file=raw, column="number", problem="empty incident number",
               expected="an incident id such as INC0000045")
    ev = pd.DataFrame({"_row": df["_row"], "number": df["number"].str.strip()})
    for column in ("sys_mod_count", "reopen_count", "reassignment_count"):
        ev[column] = parse_int(df, column, file=raw)
    example = "29/2/2016 01:16"
    ev["opened_at"] = parse_datetime(df, "opened_at", DATE_FORMAT, file=raw, example=example)
    ev["updated_at"] = parse_datetime(df, "sys_updated_at", DATE_FORMAT, file=raw, example=example)
    ev["resolved_at"] = parse_datetime(df, "resolved_at", DATE_FORMAT, file=raw, allow_missing=True, example=example)
    sla = df["made_sla"].str.strip().str.lower()
    refuse_bad(~sla.isin(["true", "false"]), df, file=raw, column="made_sla", problem="not true or false",
               expected="true or false")
    ev["made_sla"] = sla == "true"
    digit = df["priority"].str.strip().str.extract(r"^([1-4])\b", expand=False)
    refuse_bad(digit.isna(), df, file=raw, column="priority", problem="not a priority 1..4",
               expected="a priority such as '3 - Moderate' (leading digit 1..4)")
    ev["priority"] = digit.astype(int)
    for column, name in (("incident_state", "incident_state"), ("caller_id", "caller_id"),
                         ("contact_type", "contact_type"), ("location", "location"), ("category", "category"),
                         ("subcategory", "subcategory"), ("u_symptom", "symptom"),
                         ("assignment_group", "assignment_group"), ("assigned_to", "assigned_to"),
                         ("closed_code", "closed_code"), ("resolved_by", "resolved_by")):
        ev[name] = df[column].str.strip()
    ev = ev.sort_values(["number", "updated_at", "sys_mod_count", "_row"], kind="stable").reset_index(drop=True)
    ev["inc"] = (ev["number"] != ev["number"].shift()).cumsum() - 1
    by_inc = ev.groupby("inc", sort=False)
    for column in ("category", "subcategory"):
        ev[column] = by_inc[column].ffill().groupby(ev["inc"]).bfill()
    return ev


def pseudonym_map(last: pd.DataFrame) -> dict[str, str]:
    """`Resolved by M` -> `Resolver N` where, in never-reassigned incidents, the two are confidently one person."""
    alone = last[(last["reassignment_count"] == 0) & last["assigned_to"].notna() & last["resolved_by"].notna()]
    pairs = alone.groupby(["resolved_by", "assigned_to"]).size()
    if pairs.empty:
        return {}
    share_of_resolver = pairs / pairs.groupby(level="resolved_by").transform("sum")
    share_of_assignee = pairs / pairs.groupby(level="assigned_to").transform("sum")
    sure = (pairs >= MAP_MIN_INCIDENTS) & (share_of_resolver >= MAP_MIN_SHARE) & (share_of_assignee >= MAP_MIN_SHARE)
    return dict(pairs[sure].index.tolist())


def _segments(ev: pd.DataFrame, last: pd.DataFrame, resolver: pd.Series,
              mapping: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per (incident, holder) segment with its times, ticket fields and outcome."""
    state = ev["incident_state"]
    first_update = ev["inc"] != ev["inc"].shift()
    enters_resolved = (state == RESOLVED) & ((state.shift() != RESOLVED) | first_update)
    entered = ev.loc[enters_resolved].groupby("inc")["pos"].max().reindex(last.index)
    by_time = ev.loc[ev["updated_at"] <= ev["inc"].map(last["resolved_at"])].groupby("inc")["pos"].max()
    first_closed = ev.loc[state == CLOSED].groupby("inc")["pos"].min().reindex(last.index)
    res_pos = np.fmax(entered, by_time.reindex(last.index)).fillna(first_closed).astype(int)
    res_time = last["resolved_at"].fillna(pd.Series(ev["updated_at"].to_numpy()[res_pos.to_numpy()], index=last.index))
    last_pos = ev.groupby("inc")["pos"].max()

    named = ev[(ev["pos"] <= ev["inc"].map(res_pos)) & ev["assigned_to"].notna()]
    new_run = (named["inc"] != named["inc"].shift()) | (named["assigned_to"] != named["assigned_to"].shift())
    runs = named.groupby(new_run.cumsum().to_numpy()).agg(
        inc=("inc", "first"), agent_id=("assigned_to", "first"), first_pos=("pos", "first"),
        last_pos=("pos", "last")).reset_index(drop=True)
    runs["k"] = runs.groupby("inc").cumcount()
    is_last = runs["k"] == runs.groupby("inc")["k"].transform("max")
    in_charge = ev["assigned_to"].notna().to_numpy()[res_pos.reindex(runs["inc"]).to_numpy()]
    runs["resolving"] = is_last & (in_charge | (runs["agent_id"] == resolver.reindex(runs["inc"]).to_numpy()))

    handled_inc = runs.loc[runs["resolving"], "inc"]
    needs_resolver = last.index[~last.index.isin(handled_inc) & resolver.notna().to_numpy()]
    no_agent = last.index[~last.index.isin(runs["inc"]) & resolver.isna().to_numpy()]
    unresolved_by_anyone = last.index[~last.index.isin(handled_inc) & resolver.isna().to_numpy()
                                      & last.index.isin(runs["inc"])]
    n_runs = runs.groupby("inc").size()
    extra = pd.DataFrame({"inc": needs_resolver, "agent_id": resolver.reindex(needs_resolver).to_numpy(),
                          "first_pos": res_pos.reindex(needs_resolver).to_numpy(), "last_pos": -1,
                          "k": n_runs.reindex(needs_resolver).fillna(0).astype(int).to_numpy(), "resolving": True})
    seg = pd.concat([runs.assign(named=True), extra.assign(named=False)], ignore_index=True)
    seg = seg.sort_values(["inc", "k"], kind="stable").reset_index(drop=True)

    upd = ev["updated_at"].to_numpy()
    reopen = ev["reopen_count"].to_numpy()
    handover = np.where(seg["resolving"], -1, seg["last_pos"] + 1)
    seg["assigned_at"] = pd.Series(np.where(seg["named"], upd[seg["first_pos"]], np.datetime64("NaT")),
                                   dtype="datetime64[ns]")
    seg["closed_at"] = np.where(seg["resolving"], res_time.reindex(seg["inc"]).to_numpy(),
                                upd[np.maximum(handover, 0)])
    previous_end = seg.groupby("inc")["closed_at"].shift()
    seg["created_at"] = previous_end.fillna(pd.Series(last["opened_at"].reindex(seg["inc"]).to_numpy()))
    seg["clipped"] = (seg["assigned_at"] < seg["created_at"]) | (
        seg["closed_at"] < seg["assigned_at"].fillna(seg["created_at"]))
    seg["assigned_at"] = seg["assigned_at"].where(seg["assigned_at"].isna(),
                                                  seg[["assigned_at", "created_at"]].max(axis=1))
    start = seg["assigned_at"].fillna(seg["created_at"])
    seg["closed_at"] = seg[["closed_at"]].assign(start=start).max(axis=1)
    seg["handle_time_s"] = np.maximum((seg["closed_at"] - start).dt.total_seconds(), MIN_HANDLE_S)

    end_pos = np.where(seg["resolving"], last_pos.reindex(seg["inc"]).to_numpy(), handover)
    seg["reopened"] = reopen[end_pos] > reopen[seg["first_pos"]]
    seg["transferred"] = ~seg["resolving"]
    seg["resolved"] = seg["resolving"] & ~seg["reopened"]
    seg["made_sla"] = ev["made_sla"].to_numpy()[end_pos]
    seg["closed_code"] = np.where(seg["resolving"], last["closed_code"].reindex(seg["inc"]).to_numpy(), None)
    at_start = ev.iloc[seg["first_pos"].to_numpy()].reset_index(drop=True)
    for column in ("number", "category", "subcategory", "symptom", "priority", "contact_type", "caller_id",
                   "assignment_group", "location"):
        seg[column] = at_start[column].to_numpy()

    named_resolver = resolver.reindex(runs["inc"]).to_numpy()
    differs = (runs["resolving"] & in_charge & pd.notna(named_resolver)
               & (runs["agent_id"] != named_resolver)).to_numpy()
    unified = np.isin(named_resolver, list(mapping.values()))
    notes = {
        "incidents without any agent": len(no_agent),
        "incidents resolved by the analyst in charge while resolved_by names another unified analyst":
            int((differs & unified).sum()),
        "incidents resolved by the analyst in charge while resolved_by is a pseudonym not unified":
            int((differs & ~unified).sum()),
        "incidents resolved from a group queue (resolving segment from resolved_by)": len(needs_resolver),
        "incidents whose resolver is unknown (last segment kept as transferred)": len(unresolved_by_anyone),
        "segments with times out of order, clipped": int(seg["clipped"].sum()),
    }
    return seg, notes


def _interactions(seg: pd.DataFrame) -> pd.DataFrame:
    """Contract interactions from segments, in created_at order."""
    out = pd.DataFrame({
        "ticket_id": seg["number"] + "-" + (seg["k"] + 1).astype(str),
        "created_at": iso(seg["created_at"]),
        "assigned_at": iso(seg["assigned_at"]),
        "closed_at": iso(seg["closed_at"]),
        "agent_id": seg["agent_id"],
        "topic": seg["category"],
        "channel": seg["contact_type"].str.lower().str.replace(" ", "_", regex=False),
        "priority": seg["priority"],
        "customer_id": seg["caller_id"],
        "handle_time_s": seg["handle_time_s"],
        "resolved": seg["resolved"],
        "reopened": seg["reopened"],
        "transferred": seg["transferred"],
        "incident": seg["number"],
        "handoffs_before": seg["k"],
        "subcategory": seg["subcategory"],
        "symptom": seg["symptom"],
        "assignment_group": seg["assignment_group"],
        "location": seg["location"],
        "made_sla": seg["made_sla"],
        "closed_code": seg["closed_code"],
    })
    order = np.lexsort((seg["k"].to_numpy(), seg["number"].to_numpy(), seg["created_at"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _roster(seg: pd.DataFrame) -> pd.DataFrame:
    """Every agent of a segment: volume levels per category, main assignment group, observed concurrency."""
    start = seg["assigned_at"].fillna(seg["created_at"])
    handled = pd.DataFrame({"agent_id": seg["agent_id"], "topic": seg["category"].str.lower(),
                            "start_s": posix_s(start), "end_s": posix_s(seg["closed_at"])})
    groups = seg.dropna(subset=["assignment_group"]).groupby(["agent_id", "assignment_group"]).size()
    team = groups.sort_values(ascending=False, kind="stable").reset_index().drop_duplicates("agent_id")
    return build_roster(handled, team=team.set_index("agent_id")["assignment_group"])


def _events(seg: pd.DataFrame) -> pd.DataFrame:
    """queued, assigned (when known), then transferred or closed, per segment."""
    ticket = seg["number"] + "-" + (seg["k"] + 1).astype(str)
    known = seg["assigned_at"].notna()
    parts = [
        pd.DataFrame({"ts": seg["created_at"], "event": "queued", "ticket_id": ticket, "agent_id": None, "_o": 0}),
        pd.DataFrame({"ts": seg.loc[known, "assigned_at"], "event": "assigned", "ticket_id": ticket[known],
                      "agent_id": seg.loc[known, "agent_id"], "_o": 1}),
        pd.DataFrame({"ts": seg["closed_at"], "event": np.where(seg["transferred"], "transferred", "closed"),
                      "ticket_id": ticket, "agent_id": seg["agent_id"], "_o": 2}),
    ]
    events = pd.concat(parts, ignore_index=True).sort_values(["ts", "ticket_id", "_o"], kind="stable")
    events["ts"] = iso(events["ts"])
    return events.drop(columns="_o").reset_index(drop=True)


__all__ = ["DATASET", "adapt", "pseudonym_map"]
