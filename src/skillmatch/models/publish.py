"""Train from validated logs and publish a complete model folder (whole or not at all)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from skillmatch.config import TrainConfig
from skillmatch.logs import Logs
from skillmatch.models.card import build_metadata, render_card
from skillmatch.models.folder import CARD_FILE, check_new_folder, fingerprint_files, new_version, write_model_folder
from skillmatch.models.training import Progress, TrainingResult, train_models


def train_to_folder(logs: Logs, config: TrainConfig, out: Path, *, truth: Any | None = None,
                    progress: Progress | None = None, overwrite: bool = False) -> tuple[Path, TrainingResult, dict]:
    """Fit, evaluate and write `out` (models, metadata.json, model card); returns the folder, result, metadata."""
    check_new_folder(Path(out), overwrite=overwrite)  # refuse a taken --out before minutes of training
    fingerprint = fingerprint_files([p for p in logs.sources.values() if p is not None])
    now = datetime.now(timezone.utc)
    result = train_models(logs, config, truth=truth, progress=progress)
    metadata = build_metadata(result, config, new_version(now, fingerprint), fingerprint, logs.sources, now)
    card = render_card(metadata, result)
    folder = write_model_folder(Path(out), result.model, metadata, card, overwrite=overwrite)
    return folder, result, metadata


__all__ = ["CARD_FILE", "train_to_folder"]
