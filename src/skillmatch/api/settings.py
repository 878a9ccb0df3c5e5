"""What a server is configured with: model folder, ledger, policy, tokens, size limits, reload interval.

Settings come from `skillmatch serve` options or, for uvicorn worker processes, from `SKILLMATCH_*`
environment variables (`ApiSettings.from_env`), so every worker sees the same configuration.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from skillmatch.errors import ConfigError, InputError

ENV_TOKENS = "SKILLMATCH_API_TOKENS"
ENV_TOKENS_FILE = "SKILLMATCH_API_TOKENS_FILE"
ENV_MODELS = "SKILLMATCH_MODELS"
ENV_POLICY = "SKILLMATCH_POLICY"
ENV_AUDIT = "SKILLMATCH_AUDIT"
ENV_MAX_TICKETS = "SKILLMATCH_MAX_TICKETS"
ENV_MAX_AGENTS = "SKILLMATCH_MAX_AGENTS"
ENV_MAX_BODY_BYTES = "SKILLMATCH_MAX_BODY_BYTES"
ENV_RELOAD_INTERVAL = "SKILLMATCH_RELOAD_INTERVAL_S"
ENV_ALERT_WEBHOOK = "SKILLMATCH_ALERT_WEBHOOK"
ENV_ALERT_INTERVAL = "SKILLMATCH_ALERT_INTERVAL_S"


@dataclass(frozen=True)
class ApiSettings:
    """One server's configuration; `tokens` empty means no authentication (loopback only)."""

    models_dir: Path
    database_url: str | None = None
    policy_path: Path | None = None
    audit_dir: Path | None = None
    tokens: frozenset[str] = field(default_factory=frozenset)
    max_tickets: int = 2000
    max_agents: int = 2000
    max_body_bytes: int = 4_000_000
    reload_interval_s: float = 1.0
    alert_webhook: str | None = None
    alert_interval_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("max_tickets", "max_agents", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError("must be at least 1", column=name, expected="a positive integer",
                                  got=getattr(self, name))
        if self.reload_interval_s <= 0:
            raise ConfigError("must be positive", column="reload_interval_s", expected="seconds > 0",
                              got=self.reload_interval_s)
        if self.alert_interval_s <= 0:
            raise ConfigError("must be positive", column="alert_interval_s", expected="seconds > 0",
                              got=self.alert_interval_s)
        if self.alert_webhook is not None and not self.alert_webhook.startswith(("http://", "https://")):
            raise ConfigError("not a webhook URL", column="alert_webhook", expected="an http:// or https:// URL",
                              got=self.alert_webhook)

    @classmethod
    def from_env(cls, **overrides: object) -> ApiSettings:
        """Settings from `SKILLMATCH_*` variables (tokens from SKILLMATCH_API_TOKENS or its _FILE), then overrides."""
        env = os.environ
        values: dict[str, object] = {
            "models_dir": Path(env.get(ENV_MODELS, "models")),
            "database_url": env.get("SKILLMATCH_DATABASE_URL") or None,
            "policy_path": Path(env[ENV_POLICY]) if env.get(ENV_POLICY) else None,
            "audit_dir": Path(env[ENV_AUDIT]) if env.get(ENV_AUDIT) else None,
            "tokens": env_tokens(),
            "alert_webhook": env.get(ENV_ALERT_WEBHOOK) or None,
        }
        for name, var, kind in (("max_tickets", ENV_MAX_TICKETS, int), ("max_agents", ENV_MAX_AGENTS, int),
                                ("max_body_bytes", ENV_MAX_BODY_BYTES, int),
                                ("reload_interval_s", ENV_RELOAD_INTERVAL, float),
                                ("alert_interval_s", ENV_ALERT_INTERVAL, float)):
            if env.get(var):
                try:
                    values[name] = kind(env[var])
                except ValueError:
                    raise ConfigError("not a number", column=var, expected=f"an {kind.__name__}",
                                      got=env[var]) from None
        return replace(cls(**values), **overrides)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` in a worker process return these settings."""
        env = {ENV_MODELS: str(self.models_dir), ENV_MAX_TICKETS: str(self.max_tickets),
               ENV_MAX_AGENTS: str(self.max_agents), ENV_MAX_BODY_BYTES: str(self.max_body_bytes),
               ENV_RELOAD_INTERVAL: str(self.reload_interval_s), ENV_TOKENS: ",".join(sorted(self.tokens)),
               ENV_ALERT_INTERVAL: str(self.alert_interval_s)}
        if self.database_url:
            env["SKILLMATCH_DATABASE_URL"] = self.database_url
        if self.policy_path:
            env[ENV_POLICY] = str(self.policy_path)
        if self.audit_dir:
            env[ENV_AUDIT] = str(self.audit_dir)
        if self.alert_webhook:
            env[ENV_ALERT_WEBHOOK] = self.alert_webhook
        return env


def env_tokens() -> frozenset[str]:
    """Bearer tokens from SKILLMATCH_API_TOKENS (comma-separated) and the file SKILLMATCH_API_TOKENS_FILE names."""
    file = os.environ.get(ENV_TOKENS_FILE)
    return read_tokens(os.environ.get(ENV_TOKENS), Path(file) if file else None)


def read_tokens(inline: str | None, file: Path | None) -> frozenset[str]:
    """Bearer tokens: comma-separated in a variable and/or one per line in a file (`#` starts a comment)."""
    tokens = {t.strip() for t in (inline or "").split(",") if t.strip()}
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the tokens file ({exc.strerror})", file=file,
                             expected="a text file with one bearer token per line") from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                tokens.add(line)
    return frozenset(tokens)


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: ApiSettings) -> None:
    """Refuse to serve without tokens on anything but a loopback address."""
    if not settings.tokens and not is_loopback(host):
        raise InputError(f"refusing to serve on {host} without authentication", column="--host",
                         expected=f"bearer tokens ({ENV_TOKENS}, {ENV_TOKENS_FILE} or --tokens-file) "
                                  "or a loopback address such as 127.0.0.1")
