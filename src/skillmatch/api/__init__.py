"""The HTTP API (CONTRACT section 3): the only package that knows HTTP."""
from skillmatch.api.app import app_from_env, create_app
from skillmatch.api.settings import ApiSettings

__all__ = ["ApiSettings", "app_from_env", "create_app"]
