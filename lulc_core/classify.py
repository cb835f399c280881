"""Classify single images and score a classifier on a folder in EuroSAT layout.

Inputs are turned into what the network saw at test time during training, using only the
model card: RGB uint8 -> float in [0, 1] -> resize to ``card.input_size`` -> normalise with
``card.normalization``. Multi-band GeoTIFFs are first rendered the way EuroSAT RGB was made
(:mod:`lulc_core.harmonise`: bands B04/B03/B02, L2A surface reflectance turned into L1C
top-of-atmosphere, then EuroSAT's linear 8-bit stretch), so a model trained on the JPEGs sees
the same brightness and colour from a raw Sentinel-2 crop.
"""

from __future__ import annotations

import filecmp
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError

from lulc_core.artifacts import ModelCard
from lulc_core.config import eurosat_dir
from lulc_core.data.eurosat import IMAGE_SUFFIXES
from lulc_core.data.scene import RGB_BANDS
from lulc_core.errors import DataNotFoundError, InvalidDataError, ModelMismatchError
from lulc_core.inference import forward
from lulc_core.metrics import ConfusionAccumulator, MetricsReport

# EuroSAT-MS GeoTIFFs hold 13 bands B01..B12 with B8A after B08: B04, B03, B02 are 3, 2, 1.
EUROSAT_MS_RGB_INDEXES = (3, 2, 1)
GEOTIFF_SUFFIXES = frozenset({".tif", ".tiff"})

ImageInput = str | Path | Image.Image | np.ndarray
Model = str | Path | tuple[torch.nn.Module, ModelCard]


def read_rgb(source: ImageInput) -> np.ndarray:
    """Read an image as RGB uint8 (H, W, 3).

    Args:
        source: JPG/PNG path, GeoTIFF path (see :func:`read_geotiff_rgb`), a PIL image, or a
            numpy array (H, W, 3) uint8, or float in [0, 1].

    Raises:
        DataNotFoundError: the path does not exist.
        InvalidDataError: not an image, corrupted, or an array of the wrong shape.
    """
    if isinstance(source, Image.Image):
        return np.asarray(source.convert("RGB"))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    path = Path(source)
    if not path.is_file():
        raise DataNotFoundError(f"no image at {path}: check the path")
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        return read_geotiff_rgb(path)
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except Image.DecompressionBombError:  # PIL refuses > 2 x Image.MAX_IMAGE_PIXELS unread
        raise InvalidDataError(
            f"{path} is over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, too large to decode: crop "
            "a tile (EuroSAT tiles are 64 x 64 px)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise InvalidDataError(
            f"{path} is not a readable image ({type(e).__name__}): remove it or replace it "
            "with a JPG, PNG or GeoTIFF"
        ) from None


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim != 3 or array.shape[2] != 3:
        raise InvalidDataError(
            f"image array has shape {array.shape}: pass an RGB array of shape (H, W, 3)"
        )
    if array.dtype == np.uint8:
        return array
    return (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def read_geotiff_rgb(path: Path) -> np.ndarray:
    """Render a GeoTIFF as EuroSAT RGB: (H, W, 3) uint8.

    Bands are chosen by description (B04, B03, B02); a 13-band file without descriptions is
    taken as EuroSAT-MS order; a 3-band file without descriptions as R, G, B. Bands with a
    GDAL scale/offset (how our scenes store reflectance) are converted to reflectance with
    it; otherwise uint8 data is taken as already rendered and other data as DN = reflectance
    x 10000 (float data <= 1.5 as reflectance 0..1). The level (:func:`geotiff_level`) decides
    whether L2A -> TOA comes before EuroSAT's stretch (:func:`lulc_core.harmonise.to_eurosat_rgb`).
    Nodata pixels become 0.

    Raises:
        InvalidDataError: unreadable file, or no way to find the red, green and blue bands.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    from lulc_core.harmonise import to_eurosat_rgb

    try:
        with rasterio.open(path) as src:
            names = [(d or "").upper() for d in src.descriptions]
            if all(b in names for b in RGB_BANDS):
                indexes = [names.index(b) + 1 for b in RGB_BANDS]
            elif src.count == 13:
                indexes = [i + 1 for i in EUROSAT_MS_RGB_INDEXES]
            elif src.count == 3:
                indexes = [1, 2, 3]
            else:
                raise InvalidDataError(
                    f"{path} has {src.count} bands without B04/B03/B02 descriptions: give it "
                    "3 bands in R,G,B order, 13 EuroSAT-MS bands, or band descriptions"
                )
            data = src.read(indexes, masked=True)
            scales = np.array([src.scales[i - 1] for i in indexes], np.float32).reshape(3, 1, 1)
            offsets = np.array([src.offsets[i - 1] for i in indexes], np.float32).reshape(3, 1, 1)
            tags, count = src.tags(), src.count
    except RasterioIOError as e:
        raise InvalidDataError(
            f"{path} is not a readable GeoTIFF ({str(e).splitlines()[0]}): replace it"
        ) from None
    values = data.filled(0)
    declared = bool(np.any(scales != 1.0) or np.any(offsets != 0.0))
    if values.dtype == np.uint8 and not declared:
        return np.ascontiguousarray(values.transpose(1, 2, 0))
    reflectance = values.astype(np.float32)
    if declared:  # e.g. L2A baseline 04.00: reflectance = DN * 1e-4 - 0.1
        reflectance = reflectance * scales + offsets
    elif not (np.issubdtype(values.dtype, np.floating)
              and np.nanmax(reflectance, initial=0.0) <= 1.5):
        reflectance /= 10000.0  # DN -> reflectance
    reflectance[np.ma.getmaskarray(data)] = np.nan
    return to_eurosat_rgb(reflectance, geotiff_level(tags, path, count, declared))


def geotiff_level(tags: dict[str, str], path: Path, count: int, declared: bool) -> str:
    """Processing level of a GeoTIFF: "L2A" or "L1C".

    What the file says (a level or product name such as ``MSIL2A`` in its tags or file name)
    wins; otherwise a 13-band file is EuroSAT-MS (L1C), a file declaring a scale/offset is
    L2A (how our scenes and Earth Search's L2A COGs store reflectance), and anything else is
    taken as L1C, EuroSAT's own level, rendered without conversion.
    """
    from lulc_core.data.reflectance import level_in

    said = next((lv for lv in map(level_in, [*tags.values(), path.stem]) if lv), None)
    if said:
        return said
    return "L2A" if declared and count != 13 else "L1C"


# Limits for images uploaded in the dashboard. EuroSAT tiles are 64 x 64 px (640 m at 10 m);
# other sizes are resized to the model's square input, so a small, roughly square tile is
# what the classifier can judge. Below 32 px there is too little to see; above 1024 px the
# image covers far more than one land-cover patch; beyond 2:1 the squeeze into a square
# distorts shapes (roads, fields) the model relies on.
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
UPLOAD_MIN_SIDE = 32
UPLOAD_MAX_SIDE = 1024
UPLOAD_MAX_ASPECT = 2.0
UPLOAD_FORMATS = frozenset({"JPEG", "PNG"})


def read_upload(data: bytes) -> Image.Image:
    """An uploaded JPG/PNG as an RGB image, refused with a plain-words message when the
    classifier could not judge it (see the ``UPLOAD_*`` limits).

    The pixel size is checked from the header before the image is decoded, so a huge image
    in a small file is refused without decoding it.

    Raises:
        InvalidDataError: empty, larger than 2 MB, not a JPG/PNG, unreadable, smaller than
            32 px or larger than 1024 px on a side, or more than twice as long as wide.
    """
    megabytes = UPLOAD_MAX_BYTES // (1024 * 1024)
    if not data:
        raise InvalidDataError("That file is empty: upload a JPG or PNG image.")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidDataError(
            f"That file is {len(data) / 1024 / 1024:.1f} MB; the limit is {megabytes} MB. "
            "Upload a small image tile (a 64 x 64 px EuroSAT tile is a few KB)."
        )
    unreadable = "That file is not a readable image: upload a JPG or PNG."
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise InvalidDataError(unreadable) from None
    if image.format not in UPLOAD_FORMATS:
        raise InvalidDataError(f"That file is a {image.format} image: upload a JPG or PNG.")
    width, height = image.size
    size = f"The image is {width} x {height} px"
    if min(width, height) < UPLOAD_MIN_SIDE:
        raise InvalidDataError(
            f"{size}: too small to recognise anything. Upload a tile of at least "
            f"{UPLOAD_MIN_SIDE} x {UPLOAD_MIN_SIDE} px (EuroSAT tiles are 64 x 64 px)."
        )
    if max(width, height) > UPLOAD_MAX_SIDE:
        raise InvalidDataError(
            f"{size}: too large. Crop a tile of at most {UPLOAD_MAX_SIDE} px a side; the "
            "classifier judges small tiles (EuroSAT tiles are 64 x 64 px, 640 m across)."
        )
    if max(width, height) > UPLOAD_MAX_ASPECT * min(width, height):
        raise InvalidDataError(
            f"{size}, far from square: crop a roughly square tile (at most "
            f"{UPLOAD_MAX_ASPECT:g} times as long as wide). The classifier squeezes every "
            "image into a square, which would distort it."
        )
    try:
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError):  # truncated or corrupted pixel data
        raise InvalidDataError(unreadable) from None


def eval_transform(card: ModelCard) -> Callable[[np.ndarray], torch.Tensor]:
    """The test-time transform of a classifier: RGB uint8 (H, W, 3) -> float32 (3, S, S).

    Scales to [0, 1], resizes (bilinear, antialiased) to ``card.input_size`` when the image
    is another size, and normalises with the card's mean and std.
    """
    size = card.input_size
    mean = torch.tensor(card.normalization["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(card.normalization["std"], dtype=torch.float32).view(-1, 1, 1)

    def transform(rgb: np.ndarray) -> torch.Tensor:
        image = torch.tensor(rgb, dtype=torch.uint8).permute(2, 0, 1).float() / 255.0
        if image.shape[1:] != (size, size):
            image = torch.nn.functional.interpolate(
                image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )[0]
        return (image - mean) / std

    return transform


def load_classifier(model: Model) -> tuple[torch.nn.Module, ModelCard]:
    """Load a classifier by name or folder (or pass through a loaded ``(module, card)``).

    Raises:
        UnknownNameError / ModelMismatchError: from :func:`lulc_core.models.load_model`.
        ModelMismatchError: the model is a segmenter.
    """
    if isinstance(model, tuple):
        module, card = model
    else:
        from lulc_core.models import load_model

        module, card = load_model(str(model))
    if card.task != "classification":
        raise ModelMismatchError(
            f"model {card.name!r} is a {card.task} model: pass a classifier "
            "(see `lulc models --task classification`)"
        )
    return module.eval(), card


@dataclass(frozen=True)
class ImagePrediction:
    """Top classes of one image, best first, and any note (e.g. it was resized)."""

    source: str
    top: list[tuple[str, float]]
    note: str | None = None


def predict_images(
    model: Model,
    inputs: Sequence[ImageInput],
    top_k: int = 3,
    batch_size: int = 64,
    bf16: bool = False,
) -> list[ImagePrediction]:
    """Classify images; see :func:`classify_images` for the plain result."""
    module, card = load_classifier(model)
    if top_k < 1:
        raise InvalidDataError(f"top-k is {top_k}: pass a number from 1 to {card.num_classes}")
    top_k = min(top_k, card.num_classes)
    transform = eval_transform(card)
    names = [c.name for c in sorted(card.classes, key=lambda c: c.index)]
    results: list[ImagePrediction] = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        images = [read_rgb(x) for x in chunk]
        probs = forward(module, torch.stack([transform(img) for img in images]), bf16=bf16).softmax(1)
        values, indexes = probs.topk(top_k, dim=1)
        for source, img, vals, idxs in zip(chunk, images, values, indexes, strict=True):
            h, w = img.shape[:2]
            note = None
            if (h, w) != (card.patch_size, card.patch_size):
                note = (
                    f"{w}x{h} image resized to {card.input_size}x{card.input_size}; the model "
                    f"was trained on {card.patch_size}x{card.patch_size} patches"
                )
            label = str(source) if isinstance(source, (str, Path)) else f"<{type(source).__name__}>"
            top = [(names[int(i)], float(v)) for v, i in zip(vals, idxs, strict=True)]
            results.append(ImagePrediction(label, top, note))
    return results


def classify_images(
    model_name_or_folder: Model, inputs: Sequence[ImageInput], top_k: int = 3
) -> list[list[tuple[str, float]]]:
    """Top-k classes with probabilities for each input image.

    Args:
        model_name_or_folder: model name under ``artifacts/models``, its folder, or an
            already loaded ``(module, card)`` pair (the dashboard caches one).
        inputs: JPG/PNG/GeoTIFF paths, PIL images or RGB numpy arrays (H, W, 3).
        top_k: classes to return per image.

    Returns:
        For each input, ``[(class_name, probability), ...]`` best first.
    """
    return [p.top for p in predict_images(model_name_or_folder, inputs, top_k=top_k)]


# --- evaluation on a folder ---------------------------------------------------------------


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

    Hidden files and folders are skipped; files at the top level are ignored.

    Raises:
        DataNotFoundError: the folder does not exist.
        InvalidDataError: no class folders, an empty class folder, or a non-image file.
    """
    if not folder.is_dir():
        raise DataNotFoundError(
            f"no data folder at {folder}: pass --data FOLDER holding <Class>/<image> "
            "(EuroSAT layout), or run `lulc fetch eurosat`"
        )
    classes: dict[str, list[Path]] = {}
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.iterdir() if not p.name.startswith("."))
        if not files:
            raise InvalidDataError(
                f"class folder {class_dir} is empty: add its images or remove the folder"
            )
        for f in files:
            if not f.is_file() or f.suffix.lower() not in IMAGE_SUFFIXES:
                raise InvalidDataError(
                    f"{f} is not an image file (.jpg/.png/.tif): move it out of the data folder"
                )
        classes[class_dir.name] = files
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
