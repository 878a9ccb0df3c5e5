"""The model folder: written whole or not at all, read back with clear errors, listed, promoted atomically."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from skillmatch.errors import InputError, ModelError
from skillmatch.models import folder as folder_module
from skillmatch.models.folder import (
    CARD_FILE, LATEST, METADATA_FILE, MODEL_FILE, MODEL_FORMAT, clean_stale_temporaries, fingerprint_files,
    list_models, new_version, promote, read_model_folder, resolve, write_model_folder,
)

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def _metadata(name: str, created_at: datetime = T0, **summary: float) -> dict:
    return {"version": f"v-{name}", "created_at": created_at.isoformat(), "metrics": {"summary": summary}}


def _write(models_dir: Path, name: str, created_at: datetime = T0, **summary: float) -> Path:
    bundle = {"weights": np.arange(5, dtype=float), "name": name}
    return write_model_folder(models_dir / name, bundle, _metadata(name, created_at, **summary), f"# {name}\n")


def _hidden(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir() if p.name.startswith("."))


def _visible(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir() if not p.name.startswith("."))


def _age(path: Path, seconds: float) -> None:
    """Pretend `path` and everything directly in it were last touched `seconds` ago."""
    then = time.time() - seconds
    for p in [*path.iterdir(), path] if path.is_dir() else [path]:
        os.utime(p, (then, then), follow_symlinks=False)


# --- writing and reading ---------------------------------------------------------------------------

def test_round_trip(tmp_path):
    bundle = {"weights": np.linspace(0, 1, 11), "table": pd.DataFrame({"a": [1, 2]}), "label": "x"}
    folder = write_model_folder(tmp_path / "models" / "v1", bundle, {"version": "v1", "rows": 3}, "# card\n")
    assert folder == tmp_path / "models" / "v1"
    assert sorted(p.name for p in folder.iterdir()) == sorted([MODEL_FILE, METADATA_FILE, CARD_FILE])
    loaded, metadata = read_model_folder(str(folder))
    np.testing.assert_array_equal(loaded["weights"], bundle["weights"])
    pd.testing.assert_frame_equal(loaded["table"], bundle["table"])
    assert metadata == {"version": "v1", "rows": 3, "format": MODEL_FORMAT}
    assert (folder / CARD_FILE).read_text() == "# card\n"
    assert _hidden(folder.parent) == []


def test_metadata_with_numpy_and_pandas_values_is_plain_json(tmp_path):
    metadata = {
        "auc": np.float64(0.8125), "n": np.int64(7), "ok": np.bool_(True), "per_topic": np.array([1.5, np.nan]),
        "start": pd.Timestamp("2026-11-01 08:00", tz="UTC"), "naive": pd.Timestamp("2026-11-02 10:30"),
        "when": np.datetime64("2026-11-03T00:00:00"), "missing": pd.NaT, "nan": float("nan"),
        "counts": {np.int64(3): np.float32(0.5)}, "span": (1, 2), "path": Path("data/x.csv"),
    }
    folder = write_model_folder(tmp_path / "v1", {"w": 1}, metadata, "card")
    on_disk = json.loads((folder / METADATA_FILE).read_text())
    assert on_disk == {
        "auc": 0.8125, "n": 7, "ok": True, "per_topic": [1.5, None], "start": "2026-11-01T08:00:00+00:00",
        "naive": "2026-11-02T10:30:00", "when": "2026-11-03T00:00:00", "missing": None, "nan": None,
        "counts": {"3": 0.5}, "span": [1, 2], "path": "data/x.csv", "format": MODEL_FORMAT,
    }
    assert "NaN" not in (folder / METADATA_FILE).read_text()


def test_metadata_that_json_cannot_hold_fails_before_anything_is_written(tmp_path):
    with pytest.raises(TypeError, match=r"metadata\['config'\]\['fn'\] has type function"):
        write_model_folder(tmp_path / "v1", {"w": 1}, {"config": {"fn": lambda: 0}}, "card")
    assert list(tmp_path.iterdir()) == []


def test_a_different_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="skillmatch-model/0"):
        write_model_folder(tmp_path / "v1", {"w": 1}, {"format": "skillmatch-model/0"}, "card")


def test_an_existing_folder_is_not_overwritten(tmp_path):
    first = _write(tmp_path, "v1")
    with pytest.raises(InputError, match="exists already and is not empty.*--overwrite"):
        write_model_folder(first, {"w": 2}, _metadata("v1"), "new card")
    assert read_model_folder(first)[0]["name"] == "v1"
    assert (first / CARD_FILE).read_text() == "# v1\n"
    assert _hidden(tmp_path) == []


def test_an_empty_existing_folder_is_filled(tmp_path):
    (tmp_path / "v1").mkdir()
    _write(tmp_path, "v1")
    assert read_model_folder(tmp_path / "v1")[0]["name"] == "v1"


@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "rename-aside"])
def test_overwrite_replaces_the_whole_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(folder_module, "_exchange", lambda a, b: False)
    folder = _write(tmp_path, "v1")
    (folder / "extra.bin").write_bytes(b"stale")
    write_model_folder(folder, {"name": "second"}, _metadata("v1"), "second card", overwrite=True)
    assert read_model_folder(folder)[0] == {"name": "second"}
    assert not (folder / "extra.bin").exists()
    assert _hidden(tmp_path) == []


def test_overwrite_refuses_a_folder_that_is_not_a_model_folder(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "precious.py").write_text("x = 1\n")
    with pytest.raises(InputError, match="not a model folder"):
        write_model_folder(tmp_path / "src", {"w": 1}, {}, "card", overwrite=True)
    assert (tmp_path / "src" / "precious.py").read_text() == "x = 1\n"


@pytest.mark.parametrize("name", [LATEST, ".hidden"], ids=["latest", "hidden"])
def test_reserved_folder_names_are_refused(tmp_path, name):
    with pytest.raises(InputError, match="not a usable model folder name"):
        write_model_folder(tmp_path / name, {"w": 1}, {}, "card")
    assert list(tmp_path.iterdir()) == []


def _failing_dump(value, fh, *args, **kwargs):
    fh.write(b"half a model")
    raise RuntimeError("disk on fire")


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-folder", "overwrite"])
def test_an_exception_midway_leaves_no_folder_no_temp_and_latest_untouched(tmp_path, monkeypatch, overwrite):
    _write(tmp_path, "v1")
    promote(tmp_path, "v1")
    target = "v1" if overwrite else "v2"
    monkeypatch.setattr(joblib, "dump", _failing_dump)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_model_folder(tmp_path / target, {"w": 2}, _metadata(target), "card", overwrite=overwrite)
    assert _visible(tmp_path) == [LATEST, "v1"]
    assert _hidden(tmp_path) == []
    assert os.readlink(tmp_path / LATEST) == "v1"
    assert read_model_folder(tmp_path / LATEST)[0]["name"] == "v1"


def test_an_interrupt_midway_also_cleans_up(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_model_folder(tmp_path / "v1", {"w": 1}, {}, "card")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_appears_during_the_write_is_not_replaced(tmp_path, monkeypatch):
    real_dump = joblib.dump

    def racing_dump(value, fh, *args, **kwargs):
        (tmp_path / "v1").mkdir()  # another run finishes first
        (tmp_path / "v1" / METADATA_FILE).write_text("theirs")
        return real_dump(value, fh, *args, **kwargs)

    monkeypatch.setattr(joblib, "dump", racing_dump)
    with pytest.raises(InputError, match="appeared while this one was being written"):
        write_model_folder(tmp_path / "v1", {"name": "mine"}, _metadata("v1"), "card")
    assert (tmp_path / "v1" / METADATA_FILE).read_text() == "theirs"
    assert _hidden(tmp_path) == []


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from skillmatch.models.folder import write_model_folder

    class SlowToSave:
        def __reduce__(self):
            time.sleep(120)  # the parent kills us long before this returns
            return (SlowToSave, ())

    big = np.arange(25_000_000, dtype=np.float64)  # 200 MB, written before the slow part
    write_model_folder(Path(sys.argv[1]), {"big": big, "slow": SlowToSave()}, {"version": "v2"}, "card")
""")


def test_a_writer_killed_midway_leaves_no_visible_folder_and_the_next_write_cleans_up(tmp_path):
    models_dir = tmp_path / "models"
    _write(models_dir, "v1")
    promote(models_dir, "v1")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(models_dir / "v2")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        partial = _wait_for_partial_model(models_dir, min_bytes=100_000_000, proc=proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _visible(models_dir) == [LATEST, "v1"]
    assert os.readlink(models_dir / LATEST) == "v1"
    assert partial.parent.exists() and partial.parent.name.startswith(".v2.tmp-")

    _write(models_dir, "v3")
    assert partial.parent.exists(), "a temp touched less than a minute ago may belong to a live writer"
    _age(partial.parent, 120)
    _write(models_dir, "v4")
    assert _hidden(models_dir) == []
    assert _visible(models_dir) == [LATEST, "v1", "v3", "v4"]
    assert os.readlink(models_dir / LATEST) == "v1"


def _wait_for_partial_model(models_dir: Path, *, min_bytes: int, proc: subprocess.Popen) -> Path:
    """The temp model file once it holds `min_bytes` (the writer is then midway through the bundle)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        assert not (models_dir / "v2").exists(), "the folder became visible before it was complete"
        for partial in models_dir.glob(f".v2.tmp-*/{MODEL_FILE}"):
            try:
                if partial.stat().st_size >= min_bytes:
                    return partial
            except FileNotFoundError:
                pass
        time.sleep(0.01)
    raise AssertionError("the writer never got midway")


def test_only_stale_temporaries_are_cleaned(tmp_path):
    fresh, stale, stale_link = tmp_path / ".v1.tmp-0a1b", tmp_path / ".v2.tmp-2c3d", tmp_path / ".latest.tmp-4e5f"
    fresh.mkdir()
    stale.mkdir()
    (stale / MODEL_FILE).write_bytes(b"partial")
    os.symlink("v2", stale_link)
    other = tmp_path / ".cache"
    other.mkdir()
    _age(stale, 120)
    _age(stale_link, 120)
    _age(other, 120)
    assert sorted(p.name for p in clean_stale_temporaries(tmp_path)) == [stale_link.name, stale.name]
    assert _hidden(tmp_path) == [".cache", fresh.name]


def test_a_temp_whose_file_is_still_being_written_is_not_stale(tmp_path):
    temp = tmp_path / ".v1.tmp-abcd"
    temp.mkdir()
    (temp / MODEL_FILE).write_bytes(b"growing")
    os.utime(temp, (time.time() - 600, time.time() - 600))  # the folder is old, its file is fresh
    assert clean_stale_temporaries(tmp_path) == []
    assert temp.exists()


# --- reading errors --------------------------------------------------------------------------------

def test_read_follows_latest_and_a_models_directory(tmp_path):
    _write(tmp_path, "v1")
    _write(tmp_path, "v2")
    promote(tmp_path, "v1")
    assert read_model_folder(tmp_path / LATEST)[0]["name"] == "v1"
    assert read_model_folder(tmp_path)[0]["name"] == "v1"
    assert resolve(tmp_path) == (tmp_path / "v1").resolve()
    assert resolve(tmp_path / "v2") == (tmp_path / "v2").resolve()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda f: None, None, id="fine"),
        pytest.param(lambda f: (f / CARD_FILE).unlink(), "missing MODEL_CARD.md", id="no-card"),
        pytest.param(lambda f: (f / MODEL_FILE).unlink(), "missing model.joblib", id="no-model"),
        pytest.param(lambda f: (f / METADATA_FILE).write_text("{not json"), "not readable JSON", id="bad-json"),
        pytest.param(lambda f: (f / METADATA_FILE).write_text('{"format": "other/2"}'),
                     "model format 'other/2' is not supported", id="wrong-format"),
        pytest.param(lambda f: (f / METADATA_FILE).write_text("[1, 2]"), "model format None", id="not-a-dict"),
        pytest.param(lambda f: (f / MODEL_FILE).write_bytes(b"garbage"), "cannot load the model", id="bad-pickle"),
    ],
)
def test_a_damaged_folder_is_a_model_error(tmp_path, damage, message):
    folder = _write(tmp_path, "v1")
    damage(folder)
    if message is None:
        read_model_folder(folder)
        return
    with pytest.raises(ModelError, match=message):
        read_model_folder(folder)


def test_a_missing_folder_or_dangling_latest_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no model folder here"):
        read_model_folder(tmp_path / "nope")
    os.symlink("gone", tmp_path / LATEST)
    with pytest.raises(ModelError, match="points at gone, which does not exist"):
        read_model_folder(tmp_path / LATEST)


# --- listing and promoting -------------------------------------------------------------------------

def test_list_is_oldest_first_with_latest_and_metrics(tmp_path):
    _write(tmp_path, "b-newest", T0 + timedelta(days=2), auc=0.81)
    _write(tmp_path, "c-oldest", T0, auc=0.7, handle_mae_s=120.5)
    _write(tmp_path, "a-middle", T0 + timedelta(days=1))
    promote(tmp_path, "a-middle")
    (tmp_path / ".b.tmp-0000").mkdir()
    (tmp_path / "incomplete").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    infos = list_models(tmp_path)
    assert [i.name for i in infos] == ["c-oldest", "a-middle", "b-newest"]
    assert [i.is_latest for i in infos] == [False, True, False]
    assert infos[0].metrics == {"auc": 0.7, "handle_mae_s": 120.5} and infos[1].metrics == {}
    assert infos[0].version == "v-c-oldest" and infos[0].created_at == T0
    assert infos[0].path == tmp_path / "c-oldest"


def test_list_of_a_missing_directory_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="models directory not found"):
        list_models(tmp_path / "nope")


def test_promote_points_latest_at_the_folder_by_a_relative_link(tmp_path):
    _write(tmp_path, "v1")
    _write(tmp_path, "v2")
    assert promote(tmp_path, "v1") == tmp_path / "v1"
    assert os.readlink(tmp_path / LATEST) == "v1"
    promote(tmp_path, "v2")
    assert os.readlink(tmp_path / LATEST) == "v2"
    assert _hidden(tmp_path) == []
    moved = tmp_path.parent / "moved"
    tmp_path.rename(moved)  # a relative link survives moving the models directory
    assert read_model_folder(moved / LATEST)[0]["name"] == "v2"


@pytest.mark.parametrize(
    ("name", "prepare", "message"),
    [
        pytest.param("v9", lambda d: None, "no model folder here", id="missing"),
        pytest.param("half", lambda d: (d / "half").mkdir(), "missing model.joblib", id="incomplete"),
        pytest.param("../v1", lambda d: None, "not a model folder name", id="path"),
        pytest.param(".v1", lambda d: None, "not a model folder name", id="hidden"),
        pytest.param(LATEST, lambda d: None, "not a model folder name", id="latest"),
        pytest.param("", lambda d: None, "not a model folder name", id="empty"),
        pytest.param("alias", lambda d: os.symlink("v1", d / "alias"), "symbolic link", id="symlink"),
        pytest.param("old", lambda d: (_write(d, "old") / METADATA_FILE).write_text('{"format": "x"}'),
                     "format 'x' is not supported", id="wrong-format"),
    ],
)
def test_promote_refuses_what_is_not_a_complete_model_folder(tmp_path, name, prepare, message):
    _write(tmp_path, "v1")
    promote(tmp_path, "v1")
    prepare(tmp_path)
    with pytest.raises(InputError, match=message):
        promote(tmp_path, name)
    assert os.readlink(tmp_path / LATEST) == "v1"
    assert _hidden(tmp_path) == []


def test_promote_refuses_to_replace_a_real_latest_folder(tmp_path):
    _write(tmp_path, "v1")
    (tmp_path / LATEST).mkdir()
    with pytest.raises(InputError, match="not a link"):
        promote(tmp_path, "v1")
    assert (tmp_path / LATEST).is_dir() and not (tmp_path / LATEST).is_symlink()


READER = textwrap.dedent("""
    import sys, time
    path, stop = sys.argv[1], time.monotonic() + float(sys.argv[2])
    reads = misses = 0
    print("ready", flush=True)
    while time.monotonic() < stop:
        reads += 1
        try:
            with open(path) as fh:
                fh.read()
        except (FileNotFoundError, NotADirectoryError):
            misses += 1
    print(reads, misses)
""")


def _while_reading(path: Path, action, seconds: float = 2.5) -> tuple[int, int, int]:
    """Repeat `action` for `seconds` while another process keeps reading `path`: (actions, reads, misses)."""
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(seconds + 0.5)],
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    deadline, actions = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        action()
        actions += 1
    reads, misses = map(int, reader.communicate()[0].split())
    return actions, reads, misses


def test_latest_never_disappears_while_promotions_go_back_and_forth(tmp_path):
    _write(tmp_path, "v1")
    _write(tmp_path, "v2")
    promote(tmp_path, "v1")

    def back_and_forth() -> None:
        promote(tmp_path, "v2")
        promote(tmp_path, "v1")

    actions, reads, misses = _while_reading(tmp_path / LATEST / METADATA_FILE, back_and_forth)
    assert actions > 50 and reads > 1000 and misses == 0


def test_overwriting_the_promoted_version_never_leaves_latest_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    if not folder_module._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("no atomic exchange of folders here (renameat2); overwrite renames the old folder aside")
    _write(tmp_path, "v1")
    promote(tmp_path, "v1")

    def overwrite() -> None:
        write_model_folder(tmp_path / "v1", {"w": 1}, _metadata("v1"), "card", overwrite=True)

    actions, reads, misses = _while_reading(tmp_path / LATEST / METADATA_FILE, overwrite)
    assert actions > 10 and reads > 1000 and misses == 0


# --- naming ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(T0, "2026-11-23T09-00-00Z-ab12", id="utc"),
        pytest.param(datetime(2026, 11, 23, 9, 0, 0), "2026-11-23T09-00-00Z-ab12", id="naive-is-utc"),
        pytest.param(datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone(timedelta(hours=1))),
                     "2026-11-23T09-00-00Z-ab12", id="converted-to-utc"),
    ],
)
def test_new_version(now, expected):
    assert new_version(now, "ab12cd34") == expected


def test_new_version_refuses_a_fingerprint_that_is_not_hex():
    with pytest.raises(ValueError, match="hex"):
        new_version(T0, "xyz!")


def test_fingerprint_is_sha256_over_the_bytes_and_sees_every_change(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(b"ticket_id\nT1\n")
    b.write_bytes(os.urandom(3_000_000))
    one = fingerprint_files([a])
    expected = hashlib.sha256(len(a.read_bytes()).to_bytes(8, "big") + a.read_bytes()).hexdigest()
    assert one == expected and len(one) == 64
    both = fingerprint_files([a, b])
    assert both == fingerprint_files([str(a), str(b)])
    assert both != fingerprint_files([b, a])
    a.write_bytes(b"ticket_id\nT2\n")
    assert fingerprint_files([a]) != one


def test_fingerprint_tells_apart_the_same_bytes_split_differently(tmp_path):
    for name, text in [("x1", "ab"), ("x2", "c"), ("y1", "a"), ("y2", "bc")]:
        (tmp_path / name).write_text(text)
    x, y = [tmp_path / "x1", tmp_path / "x2"], [tmp_path / "y1", tmp_path / "y2"]
    assert fingerprint_files(x) != fingerprint_files(y)
