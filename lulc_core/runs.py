"""Run folders ``<artifacts>/runs/<name>``: start, resume or overwrite, and the default model
names, decided here only.

A run folder holds the fit loop's checkpoints (``last.pt``, ``best.pt``), ``history.csv`` and
``config.json``, the training config the run was started with. Re-using a name is explicit:
``resume`` continues a run only when its config is the same, ``overwrite`` deletes the run
folder and starts over (the published model folder is replaced atomically when the new run
ends, so a failed retrain leaves the old model in place). The CLIs never delete run folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lulc_core.artifacts import model_dir
from lulc_core.config import artifacts_dir, safe_name
from lulc_core.errors import DataNotFoundError, InvalidDataError
from lulc_core.files import atomic_write_json

CONFIG_FILE = "config.json"
# Where a run continues does not change what it computes.
RESUME_IGNORED = frozenset({"device"})


def city_model_name(city: str) -> str:
    """Name of a city's own segmenter, ``unet-<city>`` (the default of ``lulc train segmenter``)."""
    return f"unet-{city}"


def run_dir(name: str) -> Path:
    """``<artifacts>/runs/<name>`` (the name is checked to be one path component)."""
    return artifacts_dir() / "runs" / safe_name(name, "model name")


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``"field old -> new"`` for every field (but :data:`RESUME_IGNORED`) that differs."""
    keys = sorted((set(old) | set(new)) - RESUME_IGNORED)
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def open_run(name: str, config: dict[str, Any], *, resume: bool = False,
             overwrite: bool = False) -> Path:
    """The run folder for a training run named ``name``, after applying the re-use policy.

    Args:
        name: run and model folder name.
        config: the run's training config (JSON-serialisable; saved as ``config.json``).
        resume: continue the existing run; its saved config must equal ``config``.
        overwrite: delete an existing run folder and start over.

    Returns:
        The run folder (exists; holds ``config.json``).

    Raises:
        InvalidDataError: both flags; the name exists and neither flag is given; or the run to
            resume was started with another config (the message lists the differing fields).
        DataNotFoundError: ``resume`` but there is no run of that name.
    """
    if resume and overwrite:
        raise InvalidDataError("--resume and --overwrite exclude each other: pass only one")
    folder = run_dir(name)
    config = json.loads(json.dumps(config))  # tuples -> lists, as read back from the file
    saved = folder / CONFIG_FILE
    if resume:
        if not saved.is_file():
            raise DataNotFoundError(f"no run {name!r} to resume ({saved} is missing): drop "
                                    "--resume to start it, or --overwrite to replace an old one")
        diff = config_diff(json.loads(saved.read_text(encoding="utf-8")), config)
        if diff:
            raise InvalidDataError(f"run {name!r} was started with other settings ("
                                   f"{'; '.join(diff)}): resume with those, or pass "
                                   "--overwrite to start over")
        return folder
    published = model_dir(name)
    if folder.exists() or published.exists():
        if not overwrite:
            where = folder if folder.exists() else published
            raise InvalidDataError(f"a run or model named {name!r} exists ({where}): pass "
                                   "--resume to continue that run with the same settings, or "
                                   "--overwrite to train it again from the start")
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(saved, config)
    return folder
