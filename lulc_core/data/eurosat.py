"""EuroSAT RGB in its official folder layout (``<root>/<Class>/<Class>_<n>.jpg``).

Training decodes every image once into a uint8 tensor (24k x 3 x 64 x 64 = 300 MB) and
augments batches on the device: decoding JPEGs every epoch would starve a GPU and waste the
two CPU cores we usually have.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.errors import DataNotFoundError, InvalidDataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


class EuroSAT:
    """EuroSAT RGB folder (Helber et al., 2019), map-style dataset.

    Args:
        root: folder holding one sub-folder per class.
        files: optional subset of relative paths (``<Class>/<file>``), e.g. one split.

    A sample is ``{"image": float32 (3, 64, 64) in [0, 1], "label": int}``.
    """

    classes = EUROSAT_CLASSES
    url = "https://zenodo.org/records/7711810/files/EuroSAT_RGB.zip?download=1"
    filename = "EuroSAT_RGB.zip"

    def __init__(self, root: Path, files: list[str] | None = None) -> None:
        self.root = Path(root)
        self.files = files if files is not None else scan_eurosat(self.root)[0]
        self.labels = [self.classes.index(f.split("/")[0]) for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        image = read_image(self.root / self.files[i])
        return {"image": torch.from_numpy(image).permute(2, 0, 1).float() / 255.0,
                "label": self.labels[i]}


def class_folders(root: Path) -> list[Path]:
    """The class folders of a folder in EuroSAT layout (``<root>/<Class>/<image>``), sorted;
    hidden folders and files at the top level are skipped.

    Raises:
        DataNotFoundError: the folder is missing.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataNotFoundError(
            f"no data folder at {root}: pass --data FOLDER holding <Class>/<image> (EuroSAT "
            "layout), set LULC_EUROSAT_DIR, or run `lulc fetch eurosat`"
        )
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_images(class_dir: Path) -> list[Path]:
    """The images of one class folder, sorted.

    Hidden files (.DS_Store) are ignored; anything else that is not an image is an error, so a
    half-copied or mixed-up folder is noticed instead of silently shrinking a class.

    Raises:
        InvalidDataError: a non-image entry, or no images at all.
    """
    entries = sorted(p for p in class_dir.iterdir() if not p.name.startswith("."))
    for entry in entries:
        if not entry.is_file() or entry.suffix.lower() not in IMAGE_SUFFIXES:
            raise InvalidDataError(
                f"{entry} is not an image ({'/'.join(IMAGE_SUFFIXES)}): move it out of the "
                "class folder"
            )
    if not entries:
        raise InvalidDataError(
            f"class folder {class_dir} is empty (no images): restore its images or remove it"
        )
    return entries


def scan_eurosat(root: Path, classes: tuple[str, ...] = EUROSAT_CLASSES) -> tuple[list[str], list[int]]:
    """Relative image paths and labels of a EuroSAT-layout folder, sorted.

    Raises:
        DataNotFoundError: the folder is missing.
        InvalidDataError: unknown or missing class folders, an empty class folder, or a
            non-image entry in a class folder.
    """
    root = Path(root)
    found = [p.name for p in class_folders(root)]
    unknown = sorted(set(found) - set(classes))
    missing = sorted(set(classes) - set(found))
    if unknown or missing:
        raise InvalidDataError(
            f"{root} has class folders that differ from EuroSAT's: unknown {unknown}, missing "
            f"{missing}: use the official layout with the 10 EuroSAT classes"
        )
    files, labels = [], []
    for k, name in enumerate(classes):
        images = class_images(root / name)
        files += [f"{name}/{p.name}" for p in images]
        labels += [k] * len(images)
    return files, labels


def read_image(path: Path, size: int = 64) -> np.ndarray:
    """An RGB uint8 (size, size, 3) image.

    Raises:
        InvalidDataError: the file is not a readable image (names the file).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.array(im, dtype=np.uint8)  # a writable copy: torch.from_numpy needs one
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidDataError(f"{path} is not a readable image: delete or replace it") from None


def load_uint8(root: Path, files: list[str], threads: int = 4) -> torch.Tensor:
    """Decode images once into a uint8 tensor (N, 3, 64, 64), in a thread pool."""
    with ThreadPoolExecutor(threads) as ex:
        arrays = list(ex.map(lambda f: read_image(root / f), files))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def stratified_split(labels: list[int], test_fraction: float, seed: int, at_least: int = 0
                     ) -> tuple[list[int], list[int]]:
    """Indices (train, test): ``test_fraction`` of every class to test, seeded; at least
    ``at_least`` images of every class that has more than that."""
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    train, test = [], []
    for k in np.unique(labels_arr):
        idx = rng.permutation(np.nonzero(labels_arr == k)[0])
        n_test = int(round(len(idx) * test_fraction))
        if len(idx) > at_least:
            n_test = max(n_test, at_least)
        test += idx[:n_test].tolist()
        train += idx[n_test:].tolist()
    return sorted(train), sorted(test)


def train_val_test_split(labels: list[int], test_fraction: float, val_fraction: float, seed: int
                         ) -> tuple[list[int], list[int], list[int]]:
    """Indices (train, val, test), stratified and seeded.

    Test is exactly :func:`stratified_split`'s (so test scores stay comparable across
    protocols); val is ``val_fraction`` of every class's remaining training part, at least one
    image of every class that has two.

    Raises:
        InvalidDataError: no class has two training images, so there is nothing to validate on.
    """
    rest, test = stratified_split(labels, test_fraction, seed)
    # Another stream than the test draw's, so the validation share does not mirror it.
    train_pos, val_pos = stratified_split([labels[i] for i in rest], val_fraction, seed + 1,
                                          at_least=1)
    if not val_pos:
        raise InvalidDataError("too few images for a validation split: every class needs at "
                               "least 2 training images (use more images per class)")
    return [rest[i] for i in train_pos], [rest[i] for i in val_pos], test


def fingerprint(root: Path, files: list[str]) -> str:
    """SHA-256 over sorted relative paths and file sizes: identifies a copy of the data."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f"{f}:{(root / f).stat().st_size}\n".encode())
    return h.hexdigest()
