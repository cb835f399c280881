"""Where things live on disk, and the base class of every saved configuration.

Paths come from the environment so the Makefile, CI and users can point the project at their
data without copying it: ``LULC_DATA_DIR`` (default ``./data``) and ``LULC_ARTIFACTS_DIR``
(default ``./artifacts`` next to the package). ``LULC_EUROSAT_DIR`` overrides the EuroSAT
folder alone (default ``$LULC_DATA_DIR/eurosat_rgb``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lulc_core.errors import InvalidDataError

REPO_ROOT = Path(__file__).resolve().parent.parent
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StrictModel(BaseModel):
    """Base for configs: unknown keys are an error, so a saved config says exactly what ran;
    NaN and infinity are refused in every float field (a NaN limit or rate turns checks off)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


def data_dir() -> Path:
    """Root of input data (``$LULC_DATA_DIR``, default ``<repo>/data``)."""
    return Path(os.environ.get("LULC_DATA_DIR", REPO_ROOT / "data")).expanduser()


def eurosat_dir() -> Path:
    """EuroSAT RGB folder (``$LULC_EUROSAT_DIR``, default ``<data>/eurosat_rgb``)."""
    env = os.environ.get("LULC_EUROSAT_DIR")
    return Path(env).expanduser() if env else data_dir() / "eurosat_rgb"


def artifacts_dir() -> Path:
    """Root of trained models and their outputs (``$LULC_ARTIFACTS_DIR``)."""
    return Path(os.environ.get("LULC_ARTIFACTS_DIR", REPO_ROOT / "artifacts")).expanduser()


def models_dir() -> Path:
    """``<artifacts>/models``: one self-describing folder per model."""
    return artifacts_dir() / "models"


def scenes_dir() -> Path:
    """``<data>/scenes``: one folder per city / area (see ``lulc_core.data.scene``)."""
    return data_dir() / "scenes"


def patches_dir() -> Path:
    """``<data>/patches``: one patch store per city."""
    return data_dir() / "patches"


def safe_name(name: str, what: str = "name") -> str:
    """Check that a user-given name can be used as one path component.

    Names become folder names under the data and artifacts folders, so they may hold only
    letters, digits, ``_``, ``-`` and ``.`` (not first), at most 64 characters.

    Raises:
        InvalidDataError: if the name could escape its folder or is otherwise unusable.
    """
    if not _SAFE_NAME.match(name) or ".." in name:
        raise InvalidDataError(
            f"invalid {what} {name!r}: use 1-64 letters, digits, '_', '-' or '.' (not first)"
        )
    return name


def check_output_path(path: Path, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check, before any work, that ``path`` can be written: a file ending in one of
    ``suffixes``, or with ``suffixes=None`` a folder (replaced as a whole, never a file).

    The nearest existing folder above it must take a new file (missing folders below it are
    created by the writer); the probe leaves nothing behind.

    Raises:
        InvalidDataError: wrong suffix, a folder where a file goes or the reverse, under a
            file, or not writable.
    """
    import tempfile

    if suffixes is None:
        if path.exists() and not path.is_dir():
            raise InvalidDataError(f"output {path} is a file: give a folder for the results")
    elif path.suffix.lower() not in suffixes:
        raise InvalidDataError(f"output {path} should end in {' or '.join(suffixes)}: rename it")
    elif path.is_dir():
        raise InvalidDataError(
            f"output {path} is a folder: give a file path such as {path / ('map' + suffixes[0])}"
        )
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as e:
        raise InvalidDataError(
            f"cannot write output {path} in {parent} ({e.strerror or type(e).__name__}): "
            "choose another path"
        ) from None
    return path
