"""skillmatch: learned ticket assignment for contact centers (skill match, fairness, growth)."""
from skillmatch.errors import ConfigError, InputError, ModelError, SkillmatchError

__version__ = "0.1.0"

__all__ = ["ConfigError", "InputError", "ModelError", "SkillmatchError", "__version__"]
