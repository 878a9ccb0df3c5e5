"""The training and policy configs: typed, frozen, read from TOML once at the edge; one ConfigError for the first problem.

`training/default.toml` and `training/policy.toml` document every field with its default (tests keep them
equal to `TrainConfig()` and `PolicyConfig()`).
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skillmatch.errors import ConfigError

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class LightGBMParams(BaseModel):
    """Settings shared by every LightGBM model of a version (deterministic for a given seed)."""

    model_config = _STRICT

    n_estimators: int = Field(200, ge=1, le=100_000)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    num_leaves: int = Field(15, ge=2, le=131_072)
    min_child_samples: int = Field(100, ge=1)
    subsample: float = Field(0.8, gt=0.0, le=1.0)
    subsample_freq: int = Field(1, ge=0)
    colsample_bytree: float = Field(0.8, gt=0.0, le=1.0)
    reg_lambda: float = Field(5.0, ge=0.0)
    num_threads: int = Field(1, ge=1, le=1024)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class FeaturesConfig(BaseModel):
    """Which extra log columns become ticket features, and how agent histories are smoothed."""

    model_config = _STRICT

    extra_numeric: list[str] = []
    extra_categorical: list[str] = []
    prior_strength: float = Field(20.0, gt=0.0)

    @field_validator("extra_numeric", "extra_categorical")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        """Column names are non-empty and listed once."""
        if any(not n.strip() for n in names):
            raise ValueError("non-empty column names")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each column listed once (repeated: {', '.join(repeated)})")
        return names

    @model_validator(mode="after")
    def _disjoint(self) -> FeaturesConfig:
        """A column is numeric or categorical, not both."""
        both = sorted(set(self.extra_numeric) & set(self.extra_categorical))
        if both:
            raise ValueError(f"a column in only one of extra_numeric and extra_categorical (both: {', '.join(both)})")
        return self


class SplitConfig(BaseModel):
    """The time split: the last share of the time span is evaluation, the end of the rest calibration."""

    model_config = _STRICT

    eval_fraction: float = Field(0.2, gt=0.0, lt=0.6)
    calibration_fraction: float = Field(0.15, gt=0.0, lt=0.5)


class MinimumData(BaseModel):
    """The least data worth training on; below it training stops with InsufficientDataError."""

    model_config = _STRICT

    rows: int = Field(2000, ge=1)
    agents: int = Field(3, ge=2)
    days: float = Field(3.0, gt=0.0)
    eval_rows: int = Field(200, ge=1)
    rows_per_reference_agent: int = Field(30, ge=1)


class TargetsConfig(BaseModel):
    """Which optional outcomes get a model besides P(resolved)."""

    model_config = _STRICT

    csat: bool = True
    handle_time: bool = True


class TrainConfig(BaseModel):
    """Everything `skillmatch train` can be told, with defaults that suit a mid-sized contact center."""

    model_config = _STRICT

    features: FeaturesConfig = FeaturesConfig()
    split: SplitConfig = SplitConfig()
    minimum: MinimumData = MinimumData()
    targets: TargetsConfig = TargetsConfig()
    lightgbm: LightGBMParams = LightGBMParams()
    max_reference_agents: int = Field(20, ge=1)


class Weights(BaseModel):
    """How much each part of the objective counts; a request may override them."""

    model_config = _STRICT

    match: float = Field(1.0, ge=0.0)
    fairness: float = Field(0.5, ge=0.0)
    growth: float = Field(0.3, ge=0.0)


class MatchValue(BaseModel):
    """The business value of a predicted outcome: resolution and satisfaction, handle time only beside them."""

    model_config = _STRICT

    resolve: float = Field(1.0, ge=0.0)
    csat: float = Field(0.25, ge=0.0)
    handle_time: float = Field(0.15, ge=0.0)

    @model_validator(mode="after")
    def _not_speed_alone(self) -> MatchValue:
        if self.resolve + self.csat <= 0:
            raise ValueError("resolve + csat > 0: matching on handle time alone rewards speed over quality")
        return self


class Guardrails(BaseModel):
    """When a stretch ticket (growth) is allowed at all."""

    model_config = _STRICT

    protected_tiers: list[str] = ["vip"]
    protected_sentiment_below: float = Field(-0.5, ge=-1.0, le=1.0)
    protected_priority_at_most: int = Field(1, ge=0, le=4)
    max_loss: float = Field(0.08, ge=0.0, le=1.0)
    quota_per_window: int = Field(4, ge=0)
    infer_growth_below_outcomes: int = Field(0, ge=0)


class Urgency(BaseModel):
    """How priority and waiting against the channel's answer-time target raise a ticket's score."""

    model_config = _STRICT

    priority: float = Field(0.15, ge=0.0)
    waiting: float = Field(0.3, ge=0.0)
    breach: float = Field(0.5, ge=0.0)
    max_wait_s: float = Field(900.0, gt=0.0)
    aging: float = Field(2.0, ge=0.0)


class PolicyConfig(BaseModel):
    """The routing policy: objective weights, match value, guardrails, SLA targets, restricted topics."""

    model_config = _STRICT

    weights: Weights = Weights()
    match: MatchValue = MatchValue()
    guardrails: Guardrails = Guardrails()
    urgency: Urgency = Urgency()
    sla_targets_s: dict[str, float] = {"voice": 60.0, "chat": 120.0, "sms": 1800.0, "social": 3600.0,
                                       "email": 14400.0}
    default_sla_s: float = Field(3600.0, gt=0.0)
    claim_hold_s: float = Field(3600.0, ge=0.0)
    restricted_topics: list[str] = []
    window_hours: float = Field(24.0, gt=0.0)
    hard_quantile: float = Field(0.75, gt=0.0, lt=1.0)

    @field_validator("sla_targets_s")
    @classmethod
    def _positive_targets(cls, targets: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in targets.items() if not v > 0]
        if bad:
            raise ValueError(f"answer-time targets > 0 seconds (not for {', '.join(bad)})")
        return targets


Config = TypeVar("Config", bound=BaseModel)


def load_train_config(path: str | Path | None) -> TrainConfig:
    """The training config in the TOML file at `path` (None: the defaults); ConfigError naming file and field."""
    return _load(TrainConfig, path, "training config", "training/default.toml")


def load_policy_config(path: str | Path | None) -> PolicyConfig:
    """The routing policy in the TOML file at `path` (None: the defaults); ConfigError naming file and field."""
    return _load(PolicyConfig, path, "policy config", "training/policy.toml")


def _load(model: type[Config], path: str | Path | None, what: str, documented_in: str) -> Config:
    if path is None:
        return model()
    path = Path(path)
    data = _read_toml(path, what, documented_in)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc, path, data, model, what) from None


def _read_toml(path: Path, what: str, documented_in: str) -> dict[str, Any]:
    """The parsed TOML document, or ConfigError for a missing, unreadable or malformed file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=path, expected="an existing TOML file "
                          f"({documented_in} documents every field)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} ({exc.strerror or exc})", file=path,
                          expected="a readable TOML file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the {what} is not UTF-8 text (byte {exc.start})", file=path,
                          expected="a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        at = f"line {where.group(1)}, column {where.group(2)}" if where else "end of document"
        raise ConfigError(f"the {what} is not valid TOML at {at}: {reason}", file=path,
                          expected="TOML syntax, e.g. `[lightgbm]` then `num_leaves = 31`") from None


def _first_problem(exc: ValidationError, path: Path, data: dict[str, Any], model: type[BaseModel],
                   what: str) -> ConfigError:
    """One ConfigError for the problem that comes first in the file, saying how many more there are."""
    errors = exc.errors(include_url=False)
    first = min(errors, key=lambda error: _position(data, error["loc"]))
    field = ".".join(str(part) for part in first["loc"])
    more = len(errors) - 1
    suffix = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        return ConfigError(f"unknown key in the {what}{suffix}", file=path, column=field,
                           expected=f"one of {_allowed_keys(model, first['loc'])}")
    if kind == "model_type":
        expected = f"a table [{field}]"
    else:
        expected = first["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
    return ConfigError(f"invalid value in the {what}{suffix}", file=path, column=field,
                       expected=expected, got=_shown(first["input"]))


def _position(data: Any, loc: tuple[int | str, ...]) -> tuple[int, ...]:
    """Where `loc` sits in the parsed document (tomllib keeps the file's key order)."""
    out = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            out.append(list(data).index(part))
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            out.append(part)
            data = data[part]
        else:
            break
    return tuple(out)


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The keys the table holding `loc` accepts (for an unknown-key message)."""
    for part in loc[:-1]:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return ", ".join(model.model_fields)


def _shown(value: object) -> object:
    """The offending value as the user wrote it; None (not shown) for a whole table."""
    return None if isinstance(value, dict) else value
