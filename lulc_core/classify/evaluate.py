"""Score a classifier on a folder in EuroSAT layout, leaving out its training images."""

from __future__ import annotations

import filecmp
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from lulc_core.classify.infer import Model, eval_transform, load_classifier
from lulc_core.classify.read import read_rgb
from lulc_core.config import eurosat_dir
from lulc_core.data.eurosat import class_folders, class_images
from lulc_core.errors import DataNotFoundError, InvalidDataError, ModelMismatchError
from lulc_core.inference import forward
from lulc_core.metrics import ConfusionAccumulator, MetricsReport


@dataclass
class EvaluationResult:
    """Scores of a classifier on a folder in EuroSAT layout.

    Attributes:
        model: model name.
        data: folder evaluated.
        report: accuracy, per-class table and confusion matrix.
        images: images scored.
        seconds: wall time of reading + inference.
        notes: things the reader should know (excluded training images, absent classes).
        predictions: one row per scored image (:func:`lulc_core.heldout.prediction_table`).
        test_split: the scored images are exactly the held-out test split in the model's
            ``split.json``, so ``predictions`` may be saved with the model
            (:func:`lulc_core.heldout.save_test_predictions`).
    """

    model: str
    data: str
    report: MetricsReport
    images: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    predictions: pd.DataFrame | None = None
    test_split: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready summary (per-class scores included, NaN as null)."""
        per_class = json.loads(self.report.per_class.to_json(orient="index"))
        return {
            "model": self.model,
            "data": self.data,
            "images": self.images,
            **self.report.summary(),
            "seconds": round(self.seconds, 2),
            "images_per_second": round(self.images / self.seconds, 1) if self.seconds else None,
            "per_class": per_class,
            "notes": self.notes,
        }


def scan_class_folder(folder: Path) -> dict[str, list[Path]]:
    """Image files per class of a folder in EuroSAT layout (``<folder>/<Class>/<image>``).

    Hidden files and folders are skipped; files at the top level are ignored
    (:func:`lulc_core.data.eurosat.class_folders`, :func:`~lulc_core.data.eurosat.class_images`).

    Raises:
        DataNotFoundError: the folder does not exist.
        InvalidDataError: no class folders, an empty class folder, or a non-image file.
    """
    classes = {d.name: class_images(d) for d in class_folders(folder)}
    if not classes:
        raise InvalidDataError(
            f"{folder} has no class folders: expected {folder}/<Class>/<image> (EuroSAT layout)"
        )
    return classes


def _split_files(model_folder: Path | None, *keys: str) -> set[str]:
    """Relative paths (``<Class>/<file>``) listed under ``keys`` (e.g. "train", "val") in the
    ``split.json`` the model's trainer saved (empty when there is none)."""
    if model_folder is None or not (model_folder / "split.json").is_file():
        return set()
    split = json.loads((model_folder / "split.json").read_text(encoding="utf-8"))
    return {str(p) for key in keys for p in split.get(key, [])}


def _seen_in_training(path: Path, relative: str, trained_on: set[str], train_root: Path) -> bool:
    """Whether ``path`` is one of the model's training images.

    The name must be in the split's train/val list and, when the training folder is here,
    the bytes must match its copy: an independent image that happens to share an official
    file name is still scored.
    """
    if relative not in trained_on:
        return False
    if not train_root.is_dir():
        return True
    twin = train_root / relative
    return twin.is_file() and (
        path.resolve() == twin.resolve() or filecmp.cmp(path, twin, shallow=False)
    )


class _FolderDataset(torch.utils.data.Dataset):
    """(image (3, S, S), label, error message or "") per file; errors travel as strings so the
    main process raises one clean message instead of a worker traceback."""

    def __init__(self, items: list[tuple[Path, int]], transform: Callable) -> None:
        self.items = items
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        path, label = self.items[i]
        try:
            return self.transform(read_rgb(path)), label, ""
        except (InvalidDataError, DataNotFoundError) as e:
            return torch.zeros(0), label, str(e)


def _collate(batch: list[tuple[torch.Tensor, int, str]]) -> tuple[list, torch.Tensor, list[str]]:
    images, labels, errors = zip(*batch, strict=True)
    return list(images), torch.tensor(labels), list(errors)


def _workers(requested: int | None) -> int:
    return requested if requested is not None else (2 if (os.cpu_count() or 1) >= 8 else 0)


def evaluate_folder(
    model: Model,
    folder: Path,
    batch_size: int = 128,
    num_workers: int | None = None,
    bf16: bool = False,
    model_folder: Path | None = None,
    progress: bool = False,
) -> EvaluationResult:
    """Score a classifier on every image of a folder in EuroSAT layout.

    Class folders must be a subset of the model's classes (a missing class is reported as
    absent). Images listed as train/val in the model's ``split.json`` (and byte-identical to
    the training copy, when that folder is here) are left out, so pointing this at the
    training data scores the held-out test split only.

    Args:
        model: name, folder or loaded ``(module, card)``.
        folder: ``<folder>/<Class>/<image>``.
        batch_size: images per forward pass.
        num_workers: DataLoader processes decoding images (0 = in this process; None = 2 on
            machines with 8+ cores, else 0: decoding a 64x64 JPEG is cheap, and on 2 cores
            worker processes only steal time from the network, 1.3-1.7x slower measured).
        bf16: bf16 autocast: about 2x faster on CPUs with native bf16, but it flipped 1 of
            2,615 predictions in bench/evaluate_speed.py, so exact fp32 is the default.
        model_folder: where ``split.json`` lives when ``model`` is a loaded pair.
        progress: show a tqdm bar.

    Raises:
        DataNotFoundError, InvalidDataError: see :func:`scan_class_folder`; a corrupted image.
        ModelMismatchError: class folders the model does not know.
    """
    from tqdm import tqdm

    from lulc_core.artifacts import model_dir
    from lulc_core.heldout import prediction_table

    files = scan_class_folder(folder)
    module, card = load_classifier(model)
    if model_folder is None and not isinstance(model, tuple):
        model_folder = Path(model) if Path(model).is_dir() else model_dir(card.name)
    names = [c.name for c in sorted(card.classes, key=lambda c: c.index)]
    unknown = sorted(set(files) - set(names))
    if unknown:
        raise ModelMismatchError(
            f"class folders {unknown} in {folder} are not classes of model {card.name!r} "
            f"(it knows {names}): rename or remove them, or use a model trained on these classes"
        )
    notes = []
    missing = [n for n in names if n not in files]
    if missing:
        notes.append(f"no images for {missing}: reported as absent")
    trained_on = _split_files(model_folder, "train", "val")
    # The card's root is where it was trained (maybe another machine); else our copy.
    roots = [Path(r) for r in (card.data.get("root"), eurosat_dir()) if r]
    train_root = next((r for r in roots if r.is_dir()), roots[-1])
    items = [
        (path, names.index(cls))
        for cls, paths in files.items()
        for path in paths
        if not _seen_in_training(path, f"{cls}/{path.name}", trained_on, train_root)
    ]
    relative = [f"{path.parent.name}/{path.name}" for path, _ in items]
    excluded = sum(len(p) for p in files.values()) - len(items)
    if excluded:
        notes.append(
            f"left out {excluded} images the model was trained/validated on (split.json): "
            f"scored the {len(items)} others"
        )
    if not items:
        raise InvalidDataError(
            f"every image in {folder} was used to train {card.name!r}: evaluate on other images"
        )
    loader = torch.utils.data.DataLoader(
        _FolderDataset(items, eval_transform(card)),
        batch_size=batch_size,
        num_workers=_workers(num_workers) if len(items) > batch_size else 0,
        collate_fn=_collate,
    )
    confusion = ConfusionAccumulator(len(names))
    probabilities, truth = [], []
    start = time.perf_counter()
    for images, labels, errors in tqdm(loader, desc="evaluate", unit="batch", disable=not progress):
        if bad := next((e for e in errors if e), None):
            raise InvalidDataError(bad)
        probs = forward(module, torch.stack(images), bf16=bf16).softmax(1)
        confusion.update(probs.argmax(dim=1), labels)
        probabilities.append(probs)
        truth.append(labels)
    seconds = time.perf_counter() - start
    held_out = _split_files(model_folder, "test")
    return EvaluationResult(
        card.name, str(folder), confusion.report(names), len(items), seconds, notes,
        predictions=prediction_table(relative, torch.cat(probabilities), torch.cat(truth), names),
        test_split=bool(held_out) and set(relative) == held_out,
    )
