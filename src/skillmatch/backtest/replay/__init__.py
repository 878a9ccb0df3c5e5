"""Log replay: arrivals and agent availability as logged, routed again by each policy, outcomes estimated.

`window` cuts the log and prepares what is replayed; `evaluation` fits the cross-fitted evaluation
model that estimates outcomes (never the decision model); `center` is the discrete-event replay;
`policies` adapts the shared policies to it; `records` turns runs into `RunRecord`s; `pipeline` runs it all.
"""
from skillmatch.backtest.replay.pipeline import ReplaySettings, replay_backtest
from skillmatch.backtest.replay.window import ReplayData, prepare_replay

__all__ = ["ReplayData", "ReplaySettings", "prepare_replay", "replay_backtest"]
