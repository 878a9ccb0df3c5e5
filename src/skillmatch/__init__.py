"""skillmatch: learned ticket assignment for contact centers (skill match, fairness, growth)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skillmatch.errors import ConfigError, InputError, ModelError, SkillmatchError

if TYPE_CHECKING:
    from skillmatch.engine import Engine

__version__ = "0.1.0"

__all__ = ["ConfigError", "Engine", "InputError", "ModelError", "SkillmatchError", "__version__"]


def __getattr__(name: str) -> Any:
    """`skillmatch.Engine` loads the engine (models, solver, ledger) only when it is asked for."""
    if name == "Engine":
        from skillmatch.engine import Engine

        return Engine
    raise AttributeError(f"module 'skillmatch' has no attribute {name!r}")
