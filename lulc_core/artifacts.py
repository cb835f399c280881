"""Model folders under ``artifacts/models/<name>/``: model cards, saving, listing, loading.

A model folder is self-describing::

    model.safetensors   weights (fp16 by default); never a pickle
    card.json           ModelCard: everything needed to rebuild and use the model
    history.csv         one row per epoch
    confusion.csv       confusion matrix (rows = truth, columns = prediction), plus extras

A model folder is written beside its final name and swapped into place
(:func:`lulc_core.files.atomic_dir`), so a crash never leaves a half-written model and the
previous model stays usable until the new one is complete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lulc_core import __version__
from lulc_core.config import models_dir, safe_name
from lulc_core.errors import DataNotFoundError, InvalidDataError, LulcError, ModelMismatchError
from lulc_core.files import atomic_dir

CARD_FILE = "card.json"
WEIGHTS_FILE = "model.safetensors"
HISTORY_FILE = "history.csv"
CONFUSION_FILE = "confusion.csv"
CROSS_CITY_FILE = "cross_city.json"  # <artifacts>/cross_city.json, written by `lulc cross-city`


class ClassInfo(BaseModel):
    """One output class of a model: ``index`` in the output, display ``name``, optional
    Urban Atlas ``code`` and ``color`` (#rrggbb)."""

    model_config = ConfigDict(extra="forbid")
    index: int
    name: str
    code: int | None = None
    color: str | None = None


class ModelCard(BaseModel):
    """What a model is, how it was made and how well it does. Saved as ``card.json``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str
    task: Literal["classification", "segmentation"]
    architecture: str = Field(description="registry name, e.g. 'efficientnet_lite0' or 'unet'")
    encoder: str | None = Field(None, description="encoder name for segmentation models")
    encoder_weights: str | None = Field(None, description="initialisation: none/imagenet/eurosat/...")
    bands: list[str] = Field(description="input bands in channel order, e.g. ['B04','B03','B02']")
    classes: list[ClassInfo]
    normalization: dict[str, list[float]] = Field(description="{'mean': [...], 'std': [...]}")
    input_size: int = Field(description="side in pixels the network sees (after any resize)")
    patch_size: int = Field(64, description="side in pixels of the source patches")
    city: str | None = None
    train_config: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, Any] = Field(default_factory=dict, description="how train/test were split")
    data: dict[str, Any] = Field(
        default_factory=dict, description="provenance: source, fingerprint, synthetic flag"
    )
    metrics: dict[str, Any] = Field(default_factory=dict, description="test split, scored once")
    val_metrics: dict[str, Any] = Field(
        default_factory=dict, description="validation split at the chosen epoch (empty: legacy "
        "run whose epoch was chosen on the test split)")
    training_seconds: float | None = None
    device: str | None = None
    code_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    weights_sha256: str | None = None
    weights_dtype: str = "float16"

    @property
    def synthetic(self) -> bool:
        """True when the model was trained on synthetic demo data."""
        return bool(self.data.get("synthetic", False))

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_dir(name: str) -> Path:
    """``<artifacts>/models/<name>`` for a user-given model name (checked to be a safe name)."""
    return models_dir() / safe_name(name, "model name")


def save_model(
    folder: Path,
    state_dict: dict[str, Any],
    card: ModelCard,
    extra_files: dict[str, str | bytes] | None = None,
    dtype: str = "float16",
) -> ModelCard:
    """Write a complete model folder atomically.

    Args:
        folder: final folder, e.g. ``model_dir("efficientnet_lite0")``.
        state_dict: tensors of the model; floating tensors are cast to ``dtype``.
        card: the model card; ``weights_sha256`` and ``weights_dtype`` are filled in here.
        extra_files: more files to put in the folder (``history.csv``, ``split.json``, ...).
        dtype: ``"float16"`` (default, half the size) or ``"float32"``.

    Returns:
        The card as written.
    """
    import torch
    from safetensors.torch import save_file

    torch_dtype = {"float16": torch.float16, "float32": torch.float32}[dtype]
    tensors = {
        k: (v.detach().to("cpu", torch_dtype) if v.is_floating_point() else v.detach().cpu())
        .contiguous()
        for k, v in state_dict.items()
    }
    with atomic_dir(folder) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE))
        card = card.model_copy(
            update={"weights_sha256": sha256_file(tmp / WEIGHTS_FILE), "weights_dtype": dtype}
        )
        (tmp / CARD_FILE).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
        for name, content in (extra_files or {}).items():
            target = tmp / safe_name(name, "file name")
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
    return card


def load_card(folder: Path) -> ModelCard:
    """Read and validate ``card.json``.

    Raises:
        DataNotFoundError: the folder or its card is missing.
        InvalidDataError: the card is not valid JSON, misses fields, or names another model
            than its folder (a copied or renamed folder).
    """
    path = folder / CARD_FILE
    if not path.is_file():
        raise DataNotFoundError(
            f"no model card at {path}: train the model (lulc train ...) or restore artifacts/ "
            "from git (git checkout -- artifacts)"
        )
    try:
        card = ModelCard.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as e:
        first = str(e).splitlines()[0]
        raise InvalidDataError(
            f"model card {path} is corrupted ({first}): retrain the model or restore it from git"
        ) from None
    if card.name != folder.resolve().name:
        raise InvalidDataError(
            f"model card {path} is for model {card.name!r}, not {folder.resolve().name!r}: "
            f"rename the folder back to {card.name}, or retrain under the new name"
        )
    return card


def check_weights(folder: Path, card: ModelCard, checksum: bool = True) -> Path:
    """Check that ``model.safetensors`` is complete without loading it.

    Args:
        folder: the model folder.
        card: its card.
        checksum: also compare the file's SHA-256 with the card's (reads the whole file);
            without it only the safetensors header and the file size are checked (cheap).

    Returns:
        The weights path.

    Raises:
        DataNotFoundError: weights file missing.
        InvalidDataError: truncated or not a safetensors file.
        ModelMismatchError: the weights' checksum differs from the card's.
    """
    from safetensors import SafetensorError, safe_open

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise DataNotFoundError(
            f"no weights at {path}: retrain the model or restore artifacts/ from git"
        )
    try:  # the header lists every tensor's byte range: a short file fails here
        with safe_open(str(path), framework="np"):
            pass
    except (SafetensorError, OSError) as e:
        raise InvalidDataError(
            f"weights {path} are truncated or corrupted ({e}): retrain the model or restore "
            "it from git"
        ) from None
    if checksum and card.weights_sha256 and sha256_file(path) != card.weights_sha256:
        raise ModelMismatchError(
            f"weights in {folder} do not match their card (checksum differs): retrain the "
            "model or restore both files from git"
        )
    return path


def load_weights(folder: Path, card: ModelCard | None = None) -> dict[str, Any]:
    """Load ``model.safetensors`` (never unpickles) after checking it against the card.

    Raises:
        DataNotFoundError: weights file missing.
        InvalidDataError: truncated or unreadable weights.
        ModelMismatchError: the weights' checksum differs from the card's.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = check_weights(folder, card or load_card(folder))
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise InvalidDataError(
            f"cannot read {path} ({e}): retrain the model or restore it from git"
        ) from None


@dataclass(frozen=True)
class ModelEntry:
    """One folder under ``artifacts/models``: its ``card`` (None if unreadable) and the
    ``problem`` that keeps it from loading (one line, None for a usable model)."""

    folder: Path
    card: ModelCard | None
    problem: str | None

    @property
    def name(self) -> str:
        return self.folder.name


def model_entries(
    task: str | None = None, root: Path | None = None,
    weights: Literal["skip", "header", "checksum"] = "header",
) -> list[ModelEntry]:
    """Every model folder, sorted by name, broken ones included with the reason.

    Args:
        task: keep only this task ("classification" / "segmentation"); folders whose card
            cannot be read are kept, since their task is unknown.
        root: the models folder (default ``<artifacts>/models``).
        weights: how to check the weights: ``"header"`` (cheap: safetensors header and file
            size), ``"checksum"`` (also the card's SHA-256; reads every file) or ``"skip"``.
    """
    root = root or models_dir()
    entries = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith(".")):
        card, problem = None, None
        try:
            card = load_card(folder)
            if weights != "skip":
                check_weights(folder, card, checksum=weights == "checksum")
        except LulcError as e:
            problem = str(e)
        entries.append(ModelEntry(folder, card, problem))
    return [e for e in entries if task is None or e.card is None or e.card.task == task]


def list_models(task: str | None = None, root: Path | None = None) -> list[ModelCard]:
    """Cards of every model folder whose card can be read, sorted by name: what the dashboard
    offers. Weights are not checked here (loading a damaged model says why); folders whose
    card is corrupt or names another folder are left out (:func:`model_entries` lists them)."""
    return [e.card for e in model_entries(task, root, weights="skip") if e.card]
