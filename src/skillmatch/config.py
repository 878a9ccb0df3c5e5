"""The training config: typed, frozen, read from TOML once at the edge; one ConfigError for the first problem.

`training/default.toml` documents every field with its default (a test keeps it equal to `TrainConfig()`).
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

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
    max_reference_agents: int = Field(40, ge=1)


def load_train_config(path: str | Path | None) -> TrainConfig:
    """The config in the TOML file at `path` (None: the defaults); ConfigError naming file and field otherwise."""
    if path is None:
        return TrainConfig()
    path = Path(path)
    data = _read_toml(path)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(exc, path, data) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML document, or ConfigError for a missing, unreadable or malformed file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("training config not found", file=path, expected="an existing TOML file "
                          "(training/default.toml documents every field)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the training config ({exc.strerror or exc})", file=path,
                          expected="a readable TOML file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the training config is not UTF-8 text (byte {exc.start})", file=path,
                          expected="a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        at = f"line {where.group(1)}, column {where.group(2)}" if where else "end of document"
        raise ConfigError(f"the training config is not valid TOML at {at}: {reason}", file=path,
                          expected="TOML syntax, e.g. `[lightgbm]` then `num_leaves = 31`") from None


def _first_problem(exc: ValidationError, path: Path, data: dict[str, Any]) -> ConfigError:
    """One ConfigError for the problem that comes first in the file, saying how many more there are."""
    errors = exc.errors(include_url=False)
    first = min(errors, key=lambda error: _position(data, error["loc"]))
    field = ".".join(str(part) for part in first["loc"])
    more = len(errors) - 1
    suffix = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        return ConfigError(f"unknown key in the training config{suffix}", file=path, column=field,
                           expected=f"one of {_allowed_keys(first['loc'])}")
    if kind == "model_type":
        expected = f"a table [{field}]"
    else:
        expected = first["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
    return ConfigError(f"invalid value in the training config{suffix}", file=path, column=field,
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


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    """The keys the table holding `loc` accepts (for an unknown-key message)."""
    model: type[BaseModel] = TrainConfig
    for part in loc[:-1]:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return ", ".join(model.model_fields)


def _shown(value: object) -> object:
    """The offending value as the user wrote it; None (not shown) for a whole table."""
    return None if isinstance(value, dict) else value
