"""Model folder I/O: written whole or not at all, read back with clear errors, listed, promoted via `latest`.

A model folder `models/<name>/` holds `model.joblib`, `metadata.json` and `MODEL_CARD.md`. It is built in a
hidden temp sibling `.<name>.tmp-<hex>` and renamed into place, so a reader never sees half a folder;
`models/latest` is a relative symlink replaced atomically by `promote`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import math
import os
import pickle
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from skillmatch.errors import InputError, ModelError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
LATEST = "latest"
MODEL_FORMAT = "skillmatch-model/1"
FOLDER_FILES = (MODEL_FILE, METADATA_FILE, CARD_FILE)
STALE_AFTER_S = 60.0
_TEMP_NAME = re.compile(r"^\..+\.tmp-[0-9a-f]+$")
_HASH_CHUNK = 1 << 20


# --- writing ---------------------------------------------------------------------------------------

def check_new_folder(out: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse (InputError) an `out` that cannot become a model folder; call before a long training run too."""
    out = Path(out)
    if out.name in ("", ".", "..") or out.name.startswith(".") or out.name == LATEST:
        raise InputError("not a usable model folder name", file=out,
                         expected=f"a visible folder name other than '{LATEST}', e.g. models/2026-11-23")
    if out.is_symlink():
        raise InputError("the model folder path is a symbolic link", file=out,
                         expected="a new folder (promote with `skillmatch models promote` instead)")
    if out.exists():
        if not out.is_dir():
            raise InputError("a file is in the way of the model folder", file=out, expected="a new folder")
        if any(out.iterdir()) and not overwrite:
            raise InputError("the model folder exists already and is not empty", file=out,
                             expected="a new or empty folder, or --overwrite to replace it")
        if overwrite and any(out.iterdir()) and not any((out / name).exists() for name in FOLDER_FILES):
            raise InputError("refusing to replace a folder that is not a model folder", file=out,
                             expected=f"a model folder (with {METADATA_FILE}) to overwrite, or a new folder")
    return out


def write_model_folder(out: str | Path, bundle: object, metadata: Mapping[str, Any], card: str, *,
                       overwrite: bool = False) -> Path:
    """Write bundle, metadata and card to `out` atomically (temp sibling, then rename); returns `out`."""
    out = check_new_folder(out, overwrite=overwrite)
    text = metadata_json(metadata)  # fails before anything touches the disk
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out.parent)
    temp = _make_temp_dir(out)
    try:
        with open(temp / MODEL_FILE, "wb") as fh:
            joblib.dump(bundle, fh)
            _flush(fh)
        _write_text(temp / METADATA_FILE, text)
        _write_text(temp / CARD_FILE, card)
        _fsync_dir(temp)
        _move_into_place(temp, out, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(out.parent)
    return out


def metadata_json(metadata: Mapping[str, Any]) -> str:
    """`metadata.json` text: numpy, pandas and datetime values made plain, NaN as null, `format` set."""
    plain = _plain(dict(metadata), "metadata")
    given = plain.setdefault("format", MODEL_FORMAT)
    if given != MODEL_FORMAT:
        raise ValueError(f"metadata['format'] is {given!r}; this code writes {MODEL_FORMAT!r}")
    return json.dumps(plain, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _plain(value: Any, where: str) -> Any:
    """A JSON-ready copy of `value`; TypeError naming the key path for anything else."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(_plain(k, where) if not isinstance(k, str) else k): _plain(v, f"{where}[{k!r}]")
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, np.ndarray):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)] if value.dtype.kind in "mMO" \
            else _plain(value.tolist(), where)
    if isinstance(value, pd.Series):
        return _plain(value.to_dict(), where)
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        return _plain(pd.Timestamp(value), where)
    if isinstance(value, np.timedelta64):
        return _plain(pd.Timedelta(value), where)
    if isinstance(value, np.generic):
        return _plain(value.item(), where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):  # pd.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):  # pydantic models, e.g. the training config
        return _plain(value.model_dump(mode="json"), where)
    raise TypeError(f"{where} has type {type(value).__name__}, which metadata.json cannot hold")


def _make_temp_dir(out: Path) -> Path:
    """A new hidden sibling `.<name>.tmp-<hex>` (plain mkdir, so the umask decides permissions)."""
    while True:
        temp = out.parent / f".{out.name}.tmp-{secrets.token_hex(6)}"
        try:
            temp.mkdir()
            return temp
        except FileExistsError:
            continue


def _move_into_place(temp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the finished temp folder to `out`; with overwrite, swap it with the old folder and delete that."""
    try:
        os.rename(temp, out)  # works when `out` is missing or an empty folder
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        if not overwrite:
            raise InputError("the model folder appeared while this one was being written", file=out,
                             expected="a new or empty folder, or --overwrite to replace it") from None
    if _exchange(temp, out):  # the old folder now sits at the temp name
        shutil.rmtree(temp, ignore_errors=True)
        return
    aside = out.parent / f".{out.name}.old-{secrets.token_hex(6)}"  # not cleaned automatically: recoverable
    os.rename(out, aside)
    try:
        os.rename(temp, out)
    except BaseException:
        os.rename(aside, out)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    try:
        renameat2 = ctypes.CDLL(libc_name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        _flush(fh)


def _flush(fh: Any) -> None:
    """Push a file's bytes to disk, so a renamed folder never holds empty files after a power cut."""
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make renames and new entries in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_temporaries(models_dir: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove `.*.tmp-*` leftovers of killed writes untouched for `older_than_s`; returns what was removed."""
    models_dir = Path(models_dir)
    removed: list[Path] = []
    if not models_dir.is_dir():
        return removed
    now = time.time()
    for entry in models_dir.iterdir():
        if not _TEMP_NAME.match(entry.name) or now - _last_touched(entry) < older_than_s:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _last_touched(path: Path) -> float:
    """Newest mtime of `path` and its direct children (a file being written keeps its folder fresh)."""
    try:
        newest = path.lstat().st_mtime
        if path.is_dir() and not path.is_symlink():
            for child in path.iterdir():
                newest = max(newest, child.lstat().st_mtime)
    except OSError:  # vanished meanwhile: another process finished or cleaned it
        return time.time()
    return newest


# --- reading ---------------------------------------------------------------------------------------

def resolve(path: str | Path) -> Path:
    """The real model folder behind `path`: follows `latest`, and a models directory to its `latest`."""
    path = Path(path)
    if not (path / METADATA_FILE).exists() and (path / LATEST).is_symlink():
        path = path / LATEST
    if path.is_symlink() and not path.exists():
        raise ModelError(f"{path} points at {os.readlink(path)}, which does not exist")
    return path.resolve()


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The checked metadata of the complete model folder at `path` (no model loaded); ModelError otherwise."""
    folder = resolve(path)
    if not folder.is_dir():
        raise ModelError(f"{path}: no model folder here (expected a folder with {', '.join(FOLDER_FILES)}, "
                         "written by `skillmatch train`)")
    missing = [name for name in FOLDER_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(f"{folder}: not a complete model folder, missing {', '.join(missing)} "
                         "(retrain, or promote another version)")
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder / METADATA_FILE}: not readable JSON ({exc})") from None
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found != MODEL_FORMAT:
        raise ModelError(f"{folder}: model format {found!r} is not supported; expected {MODEL_FORMAT!r} "
                         "(retrain with this version of skillmatch)")
    return metadata


def read_model_folder(path: str | Path) -> tuple[object, dict[str, Any]]:
    """The fitted bundle and metadata of the model folder at `path` (or behind `latest`)."""
    metadata = read_metadata(path)
    model_file = resolve(path) / MODEL_FILE
    try:
        bundle = joblib.load(model_file)
    except (ImportError, AttributeError, EOFError, ValueError, TypeError, KeyError, IndexError,
            pickle.UnpicklingError) as exc:
        raise ModelError(f"{model_file}: cannot load the model ({type(exc).__name__}: {exc}); it was written "
                         f"with {metadata.get('library_versions', 'unknown library versions')}") from None
    return bundle, metadata


# --- listing and promoting -------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelInfo:
    """One model folder as `skillmatch models list` shows it."""

    name: str
    path: Path
    version: str
    created_at: datetime
    is_latest: bool
    metrics: dict[str, float]


def list_models(models_dir: str | Path) -> list[ModelInfo]:
    """The complete model folders in `models_dir`, oldest first (hidden entries and `latest` skipped)."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise InputError("models directory not found", file=models_dir,
                         expected="a folder holding model folders (written by `skillmatch train --out DIR/NAME`)")
    latest = _latest_target(models_dir)
    infos = []
    for entry in models_dir.iterdir():
        if entry.name.startswith(".") or entry.name == LATEST or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            metadata = read_metadata(entry)
        except ModelError:
            continue
        infos.append(ModelInfo(name=entry.name, path=entry, version=str(metadata.get("version", entry.name)),
                               created_at=_created_at(metadata, entry), is_latest=entry.name == latest,
                               metrics=_summary(metadata)))
    return sorted(infos, key=lambda info: (info.created_at, info.name))


def _latest_target(models_dir: Path) -> str | None:
    link = models_dir / LATEST
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _created_at(metadata: Mapping[str, Any], folder: Path) -> datetime:
    """`created_at` from the metadata (naive taken as UTC), else the folder's mtime."""
    try:
        created = datetime.fromisoformat(str(metadata["created_at"]))
    except (KeyError, ValueError):
        created = datetime.fromtimestamp(folder.stat().st_mtime, tz=timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def _summary(metadata: Mapping[str, Any]) -> dict[str, float]:
    """The flat name -> number headline metrics (`metrics.summary`), empty when absent."""
    metrics = metadata.get("metrics")
    summary = metrics.get("summary") if isinstance(metrics, dict) else None
    if not isinstance(summary, dict):
        return {}
    return {str(k): float(v) for k, v in summary.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def promote(models_dir: str | Path, name: str) -> Path:
    """Point `models_dir/latest` at the complete model folder `name` in one atomic step; returns its path."""
    models_dir = Path(models_dir)
    if not name or name != Path(name).name or name.startswith(".") or name == LATEST:
        raise InputError("not a model folder name", file=models_dir, got=name,
                         expected=f"the name of a folder inside {models_dir}, e.g. 2026-11-23")
    target = models_dir / name
    try:
        if target.is_symlink():
            raise ModelError(f"{target} is a symbolic link, not a model folder")
        read_metadata(target)
    except ModelError as exc:
        available = ", ".join(m.name for m in list_models(models_dir)) or "none here"
        raise InputError(f"cannot promote {name}: {exc}", file=models_dir,
                         expected=f"a complete model folder ({available})") from None
    link = models_dir / LATEST
    if link.exists() and not link.is_symlink():
        raise InputError(f"{link} is a real file or folder, not a link", file=models_dir,
                         expected=f"{LATEST} to be a symbolic link (move the folder away first)")
    temp = models_dir / f".{LATEST}.tmp-{secrets.token_hex(6)}"
    os.symlink(name, temp)
    try:
        os.replace(temp, link)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(models_dir)
    return target


# --- naming --------------------------------------------------------------------------------------

def new_version(now: datetime, fingerprint: str) -> str:
    """A sortable version name such as `2026-11-23T09-00-00Z-ab12` (UTC time, then 4 hex of the data)."""
    if not re.fullmatch(r"[0-9a-f]{4,}", fingerprint):
        raise ValueError(f"fingerprint should be at least 4 lower-case hex digits, got {fingerprint!r}")
    utc = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H-%M-%S}Z-{fingerprint[:4]}"


def fingerprint_files(paths: Iterable[str | Path]) -> str:
    """sha256 (hex) over the files' bytes in the given order, streamed; lengths included so splits differ."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest.update(size.to_bytes(8, "big"))
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
