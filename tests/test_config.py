"""The training config: documented defaults equal the code's, and every bad config gets one clear ConfigError."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from skillmatch.config import TrainConfig, load_train_config
from skillmatch.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ROOT / "training"


def test_default_toml_documents_exactly_the_defaults():
    assert load_train_config(TRAINING / "default.toml") == TrainConfig()


def test_default_toml_spells_out_every_field():
    """Each field of every section appears in default.toml, so the file is complete documentation."""
    written = tomllib.loads((TRAINING / "default.toml").read_text())
    defaults = TrainConfig().model_dump()
    assert written.keys() == defaults.keys()
    for section, values in defaults.items():
        if isinstance(values, dict):
            assert written[section].keys() == values.keys(), section


def test_simulated_toml_differs_from_the_defaults_only_in_message_words():
    simulated = load_train_config(TRAINING / "simulated.toml")
    assert simulated.features.extra_numeric == ["message_words"]
    assert simulated.model_copy(update={"features": TrainConfig().features}) == TrainConfig()


def test_no_path_gives_the_defaults():
    assert load_train_config(None) == TrainConfig()


def test_a_partial_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("max_reference_agents = 12\n[lightgbm]\nnum_leaves = 15\n[split]\neval_fraction = 0.3\n")
    config = load_train_config(path)
    assert (config.max_reference_agents, config.lightgbm.num_leaves, config.split.eval_fraction) == (12, 15, 0.3)
    assert config.lightgbm.n_estimators == 200 and config.minimum == TrainConfig().minimum


def test_an_integer_is_accepted_where_a_float_is_expected(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[minimum]\ndays = 5\n[lightgbm]\nlearning_rate = 1\n")
    config = load_train_config(path)
    assert config.minimum.days == 5.0 and isinstance(config.minimum.days, float)


def test_the_config_is_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        TrainConfig().lightgbm.num_leaves = 3  # type: ignore[misc]


BAD_CONFIGS = [
    pytest.param("[lightgbm]\nnum_leafs = 31\n", "lightgbm.num_leafs", "unknown key", id="unknown-key"),
    pytest.param("[lightgbn]\nnum_leaves = 31\n", "lightgbn", "one of features, split", id="unknown-section"),
    pytest.param("[lightgbm]\nn_estimators = \"300\"\n", "lightgbm.n_estimators", "valid integer",
                 id="string-for-int"),
    pytest.param("[lightgbm]\nn_estimators = 300.0\n", "lightgbm.n_estimators", "valid integer",
                 id="float-for-int"),
    pytest.param("[targets]\ncsat = 1\n", "targets.csat", "valid boolean", id="int-for-bool"),
    pytest.param("max_reference_agents = true\n", "max_reference_agents", "valid integer", id="bool-for-int"),
    pytest.param("[lightgbm]\nnum_leaves = -3\n", "lightgbm.num_leaves", "greater than or equal to 2",
                 id="num-leaves-out-of-range"),
    pytest.param("[lightgbm]\nlearning_rate = 1.5\n", "lightgbm.learning_rate", "less than or equal to 1",
                 id="learning-rate-too-big"),
    pytest.param("[lightgbm]\nlearning_rate = nan\n", "lightgbm.learning_rate", "finite number", id="nan"),
    pytest.param("[features]\nprior_strength = -1.0\n", "features.prior_strength", "greater than 0",
                 id="negative-prior"),
    pytest.param("[features]\nextra_numeric = \"message_words\"\n", "features.extra_numeric", "valid list",
                 id="string-for-list"),
    pytest.param("[features]\nextra_numeric = [\"a\", \"a\"]\n", "features.extra_numeric", "listed once",
                 id="repeated-column"),
    pytest.param("[features]\nextra_numeric = [\"a\"]\nextra_categorical = [\"a\"]\n", "features",
                 "only one of extra_numeric and extra_categorical", id="numeric-and-categorical"),
    pytest.param("[split]\neval_fraction = 0\n", "split.eval_fraction", "greater than 0", id="eval-fraction-0"),
    pytest.param("[split]\neval_fraction = 0.6\n", "split.eval_fraction", "less than 0.6", id="eval-fraction-0.6"),
    pytest.param("[split]\ncalibration_fraction = 0.5\n", "split.calibration_fraction", "less than 0.5",
                 id="calibration-fraction"),
    pytest.param("[minimum]\nagents = 1\n", "minimum.agents", "greater than or equal to 2", id="one-agent"),
    pytest.param("split = 0.2\n", "split", "a table [split]", id="value-for-table"),
]


@pytest.mark.parametrize(("text", "field", "expected"), BAD_CONFIGS)
def test_a_bad_value_is_one_config_error_naming_file_and_field(tmp_path, text, field, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_train_config(path)
    assert isinstance(caught.value, InputError)  # the CLI turns it into exit status 2
    assert caught.value.file == str(path) and caught.value.column == field
    message = str(caught.value)
    assert str(path) in message and f"'{field}'" in message and expected in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"this is not toml\n", "not valid TOML at line 1, column 6", id="not-toml"),
        pytest.param(b"[lightgbm]\nnum_leaves = 31\nseed = \n", "not valid TOML at line 3", id="missing-value"),
        pytest.param(b"[lightgbm]\n[lightgbm]\n", "not valid TOML at line 2", id="repeated-table"),
        pytest.param(b"\xff\xfe[split]\n", "not UTF-8", id="not-utf8"),
    ],
)
def test_a_file_that_is_not_toml_names_the_line(tmp_path, content, expected):
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_train_config(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="training config not found") as caught:
        load_train_config(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in str(caught.value)


def test_a_folder_instead_of_a_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the training config"):
        load_train_config(tmp_path)


def test_only_the_first_problem_is_reported_with_a_count_of_the_rest(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[lightgbm]\nnum_leaves = 0\nlearning_rate = 0\nseed = -1\n")
    with pytest.raises(ConfigError, match=r"2 more problems after this one") as caught:
        load_train_config(path)
    assert caught.value.column == "lightgbm.num_leaves"
    assert "learning_rate" not in str(caught.value)


def test_policy_toml_documents_exactly_the_defaults() -> None:
    from skillmatch.config import PolicyConfig, load_policy_config

    assert load_policy_config(Path(__file__).resolve().parents[1] / "training" / "policy.toml") == PolicyConfig()


@pytest.mark.parametrize(
    ("text", "field"),
    [("[match]\nresolve = 0.0\ncsat = 0.0\n", "match"), ("[weights]\nfairness = -1.0\n", "weights.fairness"),
     ("[sla_targets_s]\nchat = 0.0\n", "sla_targets_s"), ("bogus = 1\n", "bogus")],
    ids=["speed-alone", "negative-weight", "zero-target", "unknown-key"],
)
def test_a_bad_policy_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    from skillmatch.config import load_policy_config

    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="policy config") as caught:
        load_policy_config(path)
    assert caught.value.column == field and caught.value.file == str(path)
