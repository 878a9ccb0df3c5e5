"""Adapters from public raw datasets to contract logs (`skillmatch adapt`); one module per dataset.

Each module's docstring is the full list of its choices (also copied into the output's ADAPTED.md);
docs/real-data.md explains them with counts and the models trained on the results.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from skillmatch.adapters import anonymous_bank, uci_incidents
from skillmatch.adapters.common import OUTPUT_FILES, Adapted, write_adapted
from skillmatch.errors import InputError

ADAPTERS: dict[str, Callable[[Path, int | None], Adapted]] = {
    uci_incidents.DATASET: uci_incidents.adapt,
    anonymous_bank.DATASET: anonymous_bank.adapt,
}
"""Dataset name (as typed on the command line) -> its adapter."""

def adapter_for(dataset: str) -> Callable[[Path, int | None], Adapted]:
    """The adapter for a dataset name as typed; an unknown name is bad input (checked before reading)."""
    adapter = ADAPTERS.get(dataset.strip().lower())
    if adapter is None:
        raise InputError("unknown dataset", column="DATASET", expected="one of " + ", ".join(ADAPTERS),
                         got=dataset)
    return adapter


__all__ = ["ADAPTERS", "OUTPUT_FILES", "Adapted", "adapter_for", "write_adapted"]
