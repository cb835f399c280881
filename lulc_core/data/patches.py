"""Cut a scene into 64x64 patches, filter NaN and cloudy ones, split, store, and serve them.

Patch store layout (``<data>/patches/<city>/``)::

    images.npy    float16 (N, C, S, S) surface reflectance
    masks.npy     uint8   (N, S, S) Urban Atlas index (0 = background)
    patches.json  per patch: row, col (patch grid), split; plus the split method and block size
    stats.json    per-band mean / std over the *training* patches only
    summary.json  kept and dropped counts per reason, cloud rule, scene provenance

The whole scene is cut with one reshape into (rows, S, cols, S) blocks: no per-patch Python
loop, so the Paris AOI (~28 M pixels) prepares in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lulc_core.classes import scl_cloud_values
from lulc_core.data.scene import RGB_BANDS, read_manifest, require_surface_reflectance
from lulc_core.errors import DataNotFoundError, InvalidDataError

SPATIAL_BLOCK = 8  # patches per side of a spatial-split block: 8 x 64 px x 10 m = 5.1 km
# A U-Net with an EfficientNet encoder halves its input five times, so a patch side must be a
# multiple of 32; above 1024 px a patch covers 10 km and a scene yields too few to split.
PATCH_MULTIPLE, MAX_PATCH_SIZE = 32, 1024
SPLITS = ("spatial", "random")


@dataclass(frozen=True)
class PatchSummary:
    """Outcome of :func:`build_patches`."""

    kept: int
    dropped_nan: int
    dropped_cloud: int
    train: int
    test: int
    folder: Path


def _blocks(a: np.ndarray, size: int) -> np.ndarray:
    """(..., H, W) -> (rows, cols, ..., size, size) without copying more than once."""
    *lead, h, w = a.shape
    rows, cols = h // size, w // size
    a = a[..., : rows * size, : cols * size].reshape(*lead, rows, size, cols, size)
    n = len(lead)
    return np.moveaxis(a, (n, n + 2), (0, 1))  # (rows, cols, ..., size, size)


def cloud_fraction(scl_blocks: np.ndarray) -> np.ndarray:
    """Share of cloud pixels (SCL 3, 8, 9, 10) per patch: (rows, cols, S, S) -> (rows, cols)."""
    return np.isin(scl_blocks, scl_cloud_values()).mean(axis=(-2, -1))


def _pick(rows: np.ndarray, cols: np.ndarray, method: str, fraction: float,
          rng: np.random.Generator, block: int, what: str, at_least: int = 0) -> np.ndarray:
    """Bool mask of about ``fraction`` of the patches (``at_least`` random ones, if there are
    more): random ones, or whole blocks (always at least one)."""
    n = len(rows)
    if method == "random":
        chosen = np.zeros(n, bool)
        k = int(round(n * fraction))
        chosen[rng.permutation(n)[: max(k, at_least) if n > at_least else k]] = True
        return chosen
    if method == "spatial":
        cell = (rows // block) * 100_000 + cols // block
        ids, counts = np.unique(cell, return_counts=True)
        if len(ids) < 2:
            raise InvalidDataError(
                f"the {what} fits in one {block}x{block}-patch block, too small for a spatial "
                "split: use --split random or a larger area"
            )
        order = rng.permutation(len(ids))
        picked = order[: int(np.searchsorted(np.cumsum(counts[order]), n * fraction) + 1)]
        return np.isin(cell, ids[picked])
    raise InvalidDataError(f"unknown split {method!r}: use 'spatial' or 'random'")


def assign_split(
    rows: np.ndarray, cols: np.ndarray, method: str, test_fraction: float, seed: int,
    block: int = SPATIAL_BLOCK,
) -> np.ndarray:
    """``"train"``/``"test"`` per patch.

    ``random``: the study's 80/20 over patches. ``spatial``: whole blocks of
    ``block`` x ``block`` patches go to test, so test patches are not the neighbours of
    training patches (neighbouring patches share fields and buildings, which inflates scores).
    """
    test = _pick(rows, cols, method, test_fraction, np.random.default_rng(seed), block, "scene")
    return np.where(test, "test", "train")


def _check_options(size: int, max_cloud: float, split: str, test_fraction: float) -> None:
    if not (PATCH_MULTIPLE <= size <= MAX_PATCH_SIZE and size % PATCH_MULTIPLE == 0):
        raise InvalidDataError(
            f"patch size {size}: use a multiple of {PATCH_MULTIPLE} from {PATCH_MULTIPLE} to "
            f"{MAX_PATCH_SIZE} px (64 is the default)"
        )
    if not 0.0 <= max_cloud <= 1.0:  # also refuses NaN, which would keep every cloudy patch
        raise InvalidDataError(f"max cloud share {max_cloud}: use a number from 0 to 1")
    if not 0.0 < test_fraction < 1.0:
        raise InvalidDataError(f"test fraction {test_fraction}: use a number between 0 and 1")
    if split not in SPLITS:
        raise InvalidDataError(f"unknown split {split!r}: use 'spatial' or 'random'")


def carve_validation(
    rows: np.ndarray, cols: np.ndarray, method: str, val_fraction: float, seed: int,
    block: int = SPATIAL_BLOCK,
) -> np.ndarray:
    """Which training patches to hold out for validation (epoch choice, early stopping).

    Same method as the store's test split, so with ``spatial`` whole blocks of training
    patches become validation blocks (a spatial store's train patches fill whole blocks, so
    validation never shares a block with training or test). Seeded apart from the test draw.

    Args:
        rows, cols: patch-grid positions of the TRAINING patches.
        method: the store's ``split_method`` (``spatial`` or ``random``).
        val_fraction: share of the training patches to hold out.
        seed: the training seed.
        block: the store's block side in patches.

    Returns:
        bool (len(rows),): True for validation.
    """
    return _pick(rows, cols, method, val_fraction, np.random.default_rng([seed, 1]), block,
                 "training part", at_least=1)


def build_patches(
    scene_folder: Path,
    out: Path,
    size: int = 64,
    max_cloud: float = 0.15,
    split: str = "spatial",
    seed: int = 0,
    test_fraction: float = 0.2,
    bands: tuple[str, ...] = RGB_BANDS,
    block: int = SPATIAL_BLOCK,
    cloud_filter: bool = True,
) -> PatchSummary:
    """Cut, filter, split and store patches of an L2A scene that has Urban Atlas labels.

    A patch is dropped if any pixel of any band is NaN (no data) or, with ``cloud_filter``, if
    more than ``max_cloud`` of its pixels are cloud or cloud shadow in SCL (exactly 15 % is
    kept). A scene without SCL needs ``cloud_filter=False``, said explicitly, because its
    cloudy patches would otherwise train the model silently.

    Raises:
        DataNotFoundError: the scene has no labels (run ``lulc import urban-atlas``).
        InvalidDataError: an option out of range (checked before the scene is read), an L1C
            scene, no SCL with ``cloud_filter``, or every patch dropped.
    """
    from lulc_core.files import atomic_dir
    from lulc_core.data.sentinel2 import load_scene

    _check_options(size, max_cloud, split, test_fraction)
    require_surface_reflectance(read_manifest(scene_folder))
    scene = load_scene(scene_folder, bands=bands)
    if scene.labels is None:
        raise DataNotFoundError(
            f"{scene_folder} has no labels.tif: run 'lulc import urban-atlas FILE --scene "
            f"{scene_folder.name}' first"
        )
    if cloud_filter and scene.scl is None:
        raise InvalidDataError(
            f"scene {scene_folder.name!r} has no SCL cloud mask, so cloudy patches cannot be "
            f"dropped: pass --no-cloud-filter to keep them all, or import the product with its SCL"
        )
    img = _blocks(scene.image, size)  # (rows, cols, C, S, S)
    has_nan = np.isnan(img).any(axis=(2, 3, 4))
    cloudy = np.zeros_like(has_nan)
    if cloud_filter:
        cloudy = (cloud_fraction(_blocks(scene.scl, size)) > max_cloud + 1e-9) & ~has_nan
    keep = ~has_nan & ~cloudy
    if not keep.any():
        raise InvalidDataError(
            f"0 patches left: {int(cloudy.sum())} dropped for cloud, {int(has_nan.sum())} for "
            "NaN: pick a less cloudy scene (lulc fetch sentinel2 --max-cloud) or raise --max-cloud"
        )
    rows, cols = np.nonzero(keep)
    splits = assign_split(rows, cols, split, test_fraction, seed, block)
    images = img[rows, cols].astype(np.float16)
    masks = _blocks(scene.labels, size)[rows, cols]
    train = images[splits == "train"].astype(np.float32)
    stats = {
        "bands": list(bands),
        "mean": train.mean(axis=(0, 2, 3)).tolist() if len(train) else [0.0] * len(bands),
        "std": (train.std(axis=(0, 2, 3)) + 1e-6).tolist() if len(train) else [1.0] * len(bands),
    }
    summary = {
        "scene": scene_folder.name, "synthetic": scene.manifest.synthetic,
        "patch_size": size, "cloud_filter": cloud_filter,
        "max_cloud": max_cloud if cloud_filter else None,
        "cloud_scl_values": list(scl_cloud_values()) if cloud_filter else [],
        "total": int(keep.size), "kept": int(keep.sum()), "dropped_nan": int(has_nan.sum()),
        "dropped_cloud": int(cloudy.sum()), "train": int((splits == "train").sum()),
        "test": int((splits == "test").sum()), "crs": scene.crs,
        "transform": list(scene.transform)[:6],
    }
    index = {
        "split_method": split, "seed": seed, "test_fraction": test_fraction,
        "block_patches": block if split == "spatial" else None,
        "patches": [{"row": int(r), "col": int(c), "split": str(s)}
                    for r, c, s in zip(rows, cols, splits)],
    }
    with atomic_dir(out) as tmp:
        np.save(tmp / "images.npy", images)
        np.save(tmp / "masks.npy", masks)
        for name, obj in (("patches.json", index), ("stats.json", stats), ("summary.json", summary)):
            (tmp / name).write_text(json.dumps(obj, indent=1) + "\n")
    return PatchSummary(summary["kept"], summary["dropped_nan"], summary["dropped_cloud"],
                        summary["train"], summary["test"], out)


class PatchDataset:
    """A patch store as a PyTorch map-style dataset, read lazily (memory-mapped).

    Args:
        root: patch store folder.
        split: ``"train"``, ``"test"`` or ``"all"``.
        transform: optional callable on the sample dict (joint image/mask augmentation).
        stats: normalisation {"mean", "std"}; default the store's own training statistics
            (pass a model's to evaluate it on another city's patches).

    A sample is ``{"image": float32 (C, S, S) normalised, "mask": int64 (S, S)}``.
    """

    def __init__(self, root: Path, split: str = "train", transform=None,
                 stats: dict | None = None) -> None:
        if not (root / "images.npy").is_file():
            raise DataNotFoundError(
                f"no patch store at {root}: run 'lulc prepare --city {root.name}' first"
            )
        self.root = root
        try:
            self.images = np.load(root / "images.npy", mmap_mode="r")
            self.masks = np.load(root / "masks.npy", mmap_mode="r")
            meta = json.loads((root / "patches.json").read_text())
            self.stats = stats or json.loads((root / "stats.json").read_text())
            self.summary = json.loads((root / "summary.json").read_text())
            splits = np.array([p["split"] for p in meta["patches"]])
            self.positions = [(p["row"], p["col"]) for p in meta["patches"]]
            if not len(self.images) == len(self.masks) == len(splits):
                raise ValueError("images, masks and patches.json differ in length")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidDataError(
                f"patch store {root} is corrupted ({str(e).splitlines()[0][:100]}): rebuild it "
                f"with 'lulc prepare --city {root.name}'"
            ) from None
        self.indices = np.arange(len(splits)) if split == "all" else np.nonzero(splits == split)[0]
        self.transform = transform
        self._mean = np.asarray(self.stats["mean"], np.float32)[:, None, None]
        self._std = np.asarray(self.stats["std"], np.float32)[:, None, None]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        import torch

        k = self.indices[i]
        image = (self.images[k].astype(np.float32) - self._mean) / self._std
        sample = {"image": torch.from_numpy(image), "mask": torch.from_numpy(self.masks[k].astype(np.int64))}
        return self.transform(sample) if self.transform else sample
