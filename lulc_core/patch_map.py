"""Patch-classification maps: a EuroSAT classifier run over a scene on a regular grid.

A EuroSAT classifier judges 64 x 64 px patches (640 m at 10 m). Walking a scene (or an AOI of
it) with that window gives a coarse land-cover map: one class per grid cell. With ``stride``
smaller than the patch (32 or 16 px), windows overlap and each ``stride`` x ``stride`` cell gets
the mean class probabilities of every window covering it: a finer, smoother map for 4x (16x)
the work. Windows with more than :data:`MAX_NODATA_SHARE` of no-data pixels are skipped (smaller
gaps, such as the 1 px no-data border many Sentinel-2 crops have, are filled with the window's
mean colour: EuroSAT has no black borders); a cell no usable window covers is no data (255).
Before the network, the reflectance is rendered the way EuroSAT RGB was made
(:mod:`lulc_core.harmonise`), L2A turned into TOA first.

The grid starts at the area's top-left pixel; its pixel size is ``stride`` x 10 m. Rows and
columns at the bottom/right edge that no full window reaches (less than ``stride`` px) are
left out of the grid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lulc_core.artifacts import ModelCard
from lulc_core.classes import EUROSAT_CLASSES, EUROSAT_COLORS, NODATA_INDEX, hex_to_rgb
from lulc_core.errors import AOIError, InvalidDataError
from lulc_core.files import cog_writer
from lulc_core.geo import AOI
from lulc_core.harmonise import match_eurosat_statistics, to_eurosat_rgb, to_toa, toa_to_eurosat_rgb

# How reflectance becomes the classifier's 8-bit RGB (see lulc_core.harmonise):
# "none": reflectance stretched as if it were TOA (what GeoTIFF input did before);
# "toa": L2A -> TOA per band, then EuroSAT's stretch (the default);
# "toa+stats": then each channel's scene mean/std matched to EuroSAT's.
HARMONISATIONS: tuple[str, ...] = ("none", "toa", "toa+stats")
STRIDES: tuple[int, ...] = (64, 32, 16)
PATCH_KM2_LIMIT = 400.0  # interactive limit, as for the segmenters' predict_area
MAX_NODATA_SHARE = 0.05  # of a window's pixels; above it the window is skipped


@dataclass
class PatchMap:
    """A classifier's map of an area on a grid of ``stride`` px cells.

    Attributes:
        classes: uint8 (rows, cols) class index, 255 = no data.
        probabilities: float32 (K, rows, cols) mean class probabilities (NaN = no data).
        confidence: float32 (rows, cols) probability of the chosen class (NaN = no data).
        class_names: K class names, index order.
        colors: K display colours (#rrggbb).
        crs: CRS of the grid (``EPSG:32631``).
        transform: affine transform of the grid (pixel size ``stride`` x 10 m).
        bounds_wgs84: (W, S, E, N) of the grid.
        stride: cell side in scene pixels.
        model: classifier name.
        level: processing level of the input ("L2A" or "L1C").
        harmonisation: one of :data:`HARMONISATIONS`.
        seconds: reading + inference time.
    """

    classes: np.ndarray
    probabilities: np.ndarray
    confidence: np.ndarray
    class_names: list[str]
    colors: list[str]
    crs: str
    transform: object
    bounds_wgs84: tuple[float, float, float, float]
    stride: int
    model: str
    level: str
    harmonisation: str
    seconds: float

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.classes.shape

    @property
    def mapped_cells(self) -> int:
        """Cells that were classified (not left out for missing data)."""
        return int((self.classes != NODATA_INDEX).sum())

    def shares(self) -> dict[str, float]:
        """Share of the mapped cells (no data excluded) per class, every class listed."""
        valid = self.classes[self.classes != NODATA_INDEX]
        counts = np.bincount(valid, minlength=len(self.class_names))
        total = max(int(counts.sum()), 1)
        return {name: float(counts[i]) / total for i, name in enumerate(self.class_names)}

    def palette(self) -> np.ndarray:
        """uint8 (256, 3): class index -> colour, no data white."""
        pal = np.full((256, 3), 255, np.uint8)
        for i, color in enumerate(self.colors):
            pal[i] = hex_to_rgb(color)
        return pal

    def rgb(self) -> np.ndarray:
        """uint8 (rows, cols, 3) picture of the classes in :attr:`colors` (no data white)."""
        return self.palette()[self.classes]

    def to_geotiff(self, path: Path) -> Path:
        """Write the map as a Cloud-Optimized GeoTIFF, atomically.

        Band 1: class index with a colour table (nodata 255); band 2: confidence in percent
        (255 = no data). Tags name the classes (``CLASS_<i>``), model, level and harmonisation.
        """
        rows, cols = self.shape
        confidence = np.where(np.isnan(self.confidence), NODATA_INDEX,
                              np.round(self.confidence * 100)).astype(np.uint8)
        pal = self.palette()
        with cog_writer(path, width=cols, height=rows, count=2, dtype="uint8", crs=self.crs,
                        transform=self.transform, nodata=NODATA_INDEX, categorical=True) as dst:
            dst.write_colormap(1, {i: (*map(int, pal[i]), 0 if i == NODATA_INDEX else 255)
                                   for i in range(256)})
            dst.write(self.classes, 1)
            dst.write(confidence, 2)
            dst.set_band_description(1, "eurosat_class")
            dst.set_band_description(2, "confidence_pct")
            dst.update_tags(MODEL=self.model, LEVEL=self.level,
                            HARMONISATION=self.harmonisation, STRIDE_PX=str(self.stride),
                            **{f"CLASS_{i}": n for i, n in enumerate(self.class_names)})
        return path


def check_stride(stride: int, patch: int = 64) -> int:
    """The stride, checked: it must divide the patch side so windows tile the cells exactly.

    Raises:
        InvalidDataError: not one of :data:`STRIDES` (for 64 px patches).
    """
    if stride <= 0 or patch % stride or stride not in STRIDES:
        raise InvalidDataError(
            f"stride {stride} px: use {', '.join(map(str, STRIDES))} (64 = one patch per "
            "cell, 32 or 16 = overlapping patches, probabilities averaged per cell)"
        )
    return stride


def check_harmonisation(name: str) -> str:
    """The harmonisation name, checked.

    Raises:
        InvalidDataError: not one of :data:`HARMONISATIONS`.
    """
    if name not in HARMONISATIONS:
        raise InvalidDataError(
            f"unknown harmonisation {name!r}: use one of {', '.join(HARMONISATIONS)}"
        )
    return name


def eurosat_input(reflectance: np.ndarray, level: str, harmonisation: str = "toa") -> np.ndarray:
    """Reflectance (3, H, W) B04/B03/B02 (NaN = no data) -> the classifier's uint8 (H, W, 3).

    See :data:`HARMONISATIONS` for the variants.
    """
    check_harmonisation(harmonisation)
    if harmonisation == "none":
        return toa_to_eurosat_rgb(to_toa(reflectance, "L1C"))
    rgb = to_eurosat_rgb(reflectance, level)
    if harmonisation == "toa+stats":
        rgb = match_eurosat_statistics(rgb, ~np.isnan(reflectance).any(axis=0))
    return rgb


def _classifier_names(card: ModelCard) -> tuple[list[str], list[str]]:
    """(class names, colours) of a classifier: the card's colours, else the EuroSAT palette."""
    classes = sorted(card.classes, key=lambda c: c.index)
    names = [c.name for c in classes]
    colors = [c.color or (EUROSAT_COLORS[EUROSAT_CLASSES.index(c.name)]
                          if c.name in EUROSAT_CLASSES else "#000000") for c in classes]
    return names, colors


def patch_map_array(
    model: tuple[torch.nn.Module, ModelCard], reflectance: np.ndarray, level: str, crs: str,
    transform, stride: int = 64, harmonisation: str = "toa", batch_size: int = 64,
    bf16: bool = False,
) -> PatchMap:
    """Classify an in-memory area on a ``stride`` px grid.

    Args:
        model: a loaded classifier ``(module, card)``
            (:func:`lulc_core.classify.load_classifier`).
        reflectance: float32 (3, H, W) B04, B03, B02 reflectance, NaN = no data.
        level: "L2A" or "L1C".
        crs, transform: grid of ``reflectance``.
        stride: cell side in px (64, 32 or 16).
        harmonisation: see :data:`HARMONISATIONS`.
        batch_size: windows per forward pass.
        bf16: bf16 autocast on the model's device (on a CPU about 2x faster where the CPU has native bf16; may
            flip a near-tie, so exact fp32 is the default).

    Raises:
        AOIError: the area is smaller than one patch.
        InvalidDataError: bad stride, level or harmonisation.
    """
    from rasterio.transform import Affine, array_bounds
    from rasterio.warp import transform_bounds

    from lulc_core.classify import eval_transform
    from lulc_core.inference import forward

    t0 = time.perf_counter()
    module, card = model
    patch = card.patch_size
    check_stride(stride, patch)
    _, h, w = reflectance.shape
    if h < patch or w < patch:
        raise AOIError(f"the area is {w} x {h} px, smaller than one {patch} x {patch} px patch: "
                       "choose a larger area")
    rgb = eurosat_input(reflectance, level, harmonisation)
    nodata = np.isnan(reflectance).any(axis=0)
    per_patch = patch // stride
    n_y, n_x = (h - patch) // stride + 1, (w - patch) // stride + 1
    rows, cols = n_y - 1 + per_patch, n_x - 1 + per_patch
    # No-data pixels per window from an integral image instead of slicing every window.
    integral = np.pad(nodata.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys, xs = np.arange(n_y) * stride, np.arange(n_x) * stride
    top, left = ys[:, None], xs[None, :]
    bad = (integral[top + patch, left + patch] - integral[top, left + patch]
           - integral[top + patch, left] + integral[top, left])
    windows = [(i, j) for i in range(n_y) for j in range(n_x)
               if bad[i, j] <= MAX_NODATA_SHARE * patch * patch]
    k = card.num_classes
    total = np.zeros((k, rows, cols), np.float32)
    count = np.zeros((rows, cols), np.float32)
    transform_rgb = eval_transform(card)
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        batch = torch.stack([transform_rgb(_window(rgb, nodata, i * stride, j * stride, patch))
                             for i, j in chunk])
        probs = forward(module, batch, bf16=bf16).softmax(1).numpy()
        for (i, j), p in zip(chunk, probs, strict=True):
            total[:, i : i + per_patch, j : j + per_patch] += p[:, None, None]
            count[i : i + per_patch, j : j + per_patch] += 1
    mapped = count > 0
    probabilities = np.full((k, rows, cols), np.nan, np.float32)
    probabilities[:, mapped] = total[:, mapped] / count[mapped]
    classes = np.full((rows, cols), NODATA_INDEX, np.uint8)
    confidence = np.full((rows, cols), np.nan, np.float32)
    if mapped.any():
        classes[mapped] = probabilities[:, mapped].argmax(axis=0)
        confidence[mapped] = probabilities[:, mapped].max(axis=0)
    grid = transform @ Affine.scale(stride)
    bounds = transform_bounds(crs, "EPSG:4326", *array_bounds(rows, cols, grid))
    names, colors = _classifier_names(card)
    return PatchMap(classes, probabilities, confidence, names, colors, str(crs), grid,
                    tuple(bounds), stride, card.name, level, harmonisation,
                    time.perf_counter() - t0)


def _window(rgb: np.ndarray, nodata: np.ndarray, top: int, left: int, patch: int) -> np.ndarray:
    """uint8 (patch, patch, 3) window of ``rgb``, no-data pixels set to the window's mean colour."""
    window = rgb[top : top + patch, left : left + patch]
    missing = nodata[top : top + patch, left : left + patch]
    if not missing.any():
        return window
    window = window.copy()
    window[missing] = window[~missing].mean(axis=0).round().astype(np.uint8)
    return window


def patch_map(
    model, scene_folder: Path, aoi: AOI | None = None, stride: int = 64,
    harmonisation: str = "toa", max_km2: float | None = None, bf16: bool = False,
) -> PatchMap:
    """Classify a scene folder (or its AOI) on a ``stride`` px grid.

    Args:
        model: classifier name, folder, or a loaded ``(module, card)``.
        scene_folder: a scene folder (:mod:`lulc_core.data.scene`); its manifest's ``level``
            (L2A or L1C) decides the harmonisation.
        aoi: optional WGS84 area.
        stride: 64 (one patch per cell), 32 or 16 (overlapping patches).
        harmonisation: see :data:`HARMONISATIONS`.
        max_km2: refuse larger areas.
        bf16: see :func:`patch_map_array`.

    Raises:
        ModelMismatchError: the model is not a classifier.
        AOIError: AOI outside the scene, larger than ``max_km2``, or without data.
        DataNotFoundError: not a scene folder, or a band missing.
    """
    from lulc_core.classify import load_classifier
    from lulc_core.data.sentinel2 import load_scene

    loaded = load_classifier(model)
    check_stride(stride, loaded[1].patch_size)
    check_harmonisation(harmonisation)
    t0 = time.perf_counter()
    scene = load_scene(scene_folder, aoi)
    km2 = scene.image.shape[1] * scene.image.shape[2] * 1e-4
    if max_km2 is not None and km2 > max_km2:
        raise AOIError(f"the area covers {km2:.0f} km2, over the {max_km2:.0f} km2 limit: draw "
                       "a smaller rectangle or use 'lulc patch-map'")
    if np.isnan(scene.image).all():
        raise AOIError("the area has no image data (outside the scene's footprint): pick another")
    result = patch_map_array(loaded, scene.image, scene.manifest.level, scene.crs,
                             scene.transform, stride, harmonisation, bf16=bf16)
    result.seconds = time.perf_counter() - t0
    return result


def patch_map_area(model, scene_folder: Path, aoi: AOI, stride: int = 64,
                   max_km2: float = PATCH_KM2_LIMIT) -> PatchMap:
    """:func:`patch_map` of a drawn area for the dashboard (refused above ``max_km2``), in
    bf16 where the CPU supports it natively: people wait for this one."""
    from lulc_core.inference import bf16_supported

    return patch_map(model, scene_folder, aoi, stride, max_km2=max_km2,
                     bf16=bf16_supported(torch.device("cpu")))
