"""Map a whole scene (or an AOI of it) to a Cloud-Optimized GeoTIFF, plus area CSV and GeoPackage.

The scene is processed in blocks (read with a margin of context on every side, cropped after
prediction) that are streamed into the output GeoTIFF, so memory stays about the same however
large the scene. Pixels without data in any band are written as nodata (255). The per-class
areas live here too: the writer counts classes block by block for the area CSV.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lulc_core.artifacts import ModelCard
from lulc_core.classes import NODATA_INDEX, hex_to_rgb
from lulc_core.errors import AOIError, ModelMismatchError
from lulc_core.files import atomic_write_text, cog_writer
from lulc_core.geo import AOI, aoi_window
from lulc_core.predict.window import predict_array

PIXEL_KM2 = 1e-4  # one 10 m pixel


def _check_model(card: ModelCard, scene_bands: list[str]) -> None:
    if card.task != "segmentation":
        raise ModelMismatchError(
            f"model {card.name!r} is a {card.task} model: pass a segmenter (e.g. unet-paris)"
        )
    from lulc_core.classes import urban_atlas_legend

    if [c.code or 0 for c in card.classes] != [c.code for c in urban_atlas_legend()]:
        raise ModelMismatchError(
            f"model {card.name!r} predicts {card.num_classes} classes that are not the "
            "background + 27 Urban Atlas classes of the scene labels: use a model trained with "
            "'lulc train segmenter'"
        )
    missing = [b for b in card.bands if b not in scene_bands]
    if missing:
        raise ModelMismatchError(
            f"model {card.name!r} needs bands {card.bands} but the scene lacks {missing}: "
            "fetch those bands or use a model trained on the scene's bands"
        )


def class_counts(card: ModelCard, classes: np.ndarray) -> np.ndarray:
    """Pixels per class (nodata excluded): int64 (K,)."""
    return np.bincount(classes[classes != NODATA_INDEX].ravel(), minlength=card.num_classes)[: card.num_classes]


def area_table(card: ModelCard, prediction: np.ndarray | None, truth: np.ndarray | None = None,
               pred_counts: np.ndarray | None = None) -> pd.DataFrame:
    """Per-class area (km2 and % of the mapped area) of prediction (or its counts) and truth."""
    k = card.num_classes
    if pred_counts is None:
        pred_counts = class_counts(card, prediction)
    rows = {"class": [c.name for c in card.classes], "code": [c.code for c in card.classes],
            "color": [c.color for c in card.classes],
            "predicted_km2": pred_counts * PIXEL_KM2,
            "predicted_pct": 100 * pred_counts / max(pred_counts.sum(), 1)}
    if truth is not None:
        valid = prediction != NODATA_INDEX
        t_counts = np.bincount(truth[valid].ravel(), minlength=k)[:k]
        rows["truth_km2"] = t_counts * PIXEL_KM2
        rows["truth_pct"] = 100 * t_counts / max(t_counts.sum(), 1)
    return pd.DataFrame(rows)


def _colormap(card: ModelCard) -> dict[int, tuple[int, int, int, int]]:
    cmap = {i: (0, 0, 0, 0) for i in range(256)}
    for c in card.classes:
        cmap[c.index] = (*hex_to_rgb(c.color or "#000000"), 255)
    return cmap


@dataclass
class PredictionSummary:
    """Result of :func:`predict_scene`."""

    out: Path
    width: int
    height: int
    km2: float
    seconds: float
    area_csv: Path | None
    vector: Path | None

    @property
    def km2_per_second(self) -> float:
        return self.km2 / self.seconds if self.seconds else float("nan")


def predict_scene(
    model, scene_folder: Path, out_path: Path, aoi: AOI | None = None, confidence: bool = False,
    area_csv: bool = True, vector: bool = False, strip: int = 1024, margin: int = 64,
    tile: int = 512, overlap: int = 64, batch_size: int = 4, max_km2: float | None = None,
) -> PredictionSummary:
    """Map a scene folder (or its AOI) to a Cloud-Optimized GeoTIFF.

    Args:
        model: model name/folder, or a loaded ``(module, card)``.
        scene_folder: scene folder (see :mod:`lulc_core.data.scene`).
        out_path: COG to write (atomically); ``<out>.csv`` gets the per-class areas.
        aoi: optional WGS84 area.
        confidence: add a second band with the max softmax probability (percent).
        area_csv: write per-class km2 / % next to the COG.
        vector: also write a GeoPackage of the prediction polygons.
        strip, margin: block size (``strip`` rows x ``2 * strip`` columns) and context pixels
            read around each block.
        tile, overlap, batch_size: sliding-window settings (see :func:`predict_array`).
        max_km2: refuse larger areas (configured limit).

    Raises:
        ModelMismatchError: the model is not a segmenter or needs bands the scene lacks.
        AOIError: AOI outside the scene or larger than ``max_km2``.
    """
    from lulc_core.models import load_model

    t0 = time.perf_counter()
    module, card = model if isinstance(model, tuple) else load_model(model, fused=True)
    window, crs, transform = _scene_window(card, scene_folder, aoi, max_km2)
    height, width = int(window.height), int(window.width)
    blocks = scene_blocks(height, width, strip)
    with PredictionWriter(out_path, card, crs, transform, width, height, confidence) as writer, \
            ThreadPoolExecutor(1) as reader:
        # the next block is read (GDAL decodes without the GIL) while this one is predicted
        pending = reader.submit(read_block, card, scene_folder, window, blocks[0], margin)
        for i, block in enumerate(blocks):
            refl, keep = pending.result()
            if i + 1 < len(blocks):
                pending = reader.submit(read_block, card, scene_folder, window, blocks[i + 1], margin)
            writer.write(block, *_crop(predict_array(module, card, refl, tile, overlap, batch_size,
                                                     confidence=confidence), keep))
    csv_path, vec = _write_extras(out_path, writer.counts, crs, transform, card, area_csv, vector)
    return PredictionSummary(out_path, width, height, height * width * PIXEL_KM2,
                             time.perf_counter() - t0, csv_path, vec)


def scene_blocks(height: int, width: int, size: int) -> list[tuple[int, int, int, int]]:
    """(top, left, rows, cols) blocks of at most ``size`` x ``2 * size`` pixels covering the
    window: both sides bounded, so memory does not grow with the scene."""
    return [(top, left, min(size, height - top), min(2 * size, width - left))
            for top in range(0, height, size) for left in range(0, width, 2 * size)]


class PredictionWriter:
    """Streams predicted blocks into a COG (:func:`lulc_core.files.cog_writer`: it appears
    only once complete) and counts the classes."""

    def __init__(self, out_path: Path, card: ModelCard, crs, transform, width: int, height: int,
                 confidence: bool) -> None:
        self.out_path, self.card, self.confidence = out_path, card, confidence
        self.raster = dict(width=width, height=height, count=2 if confidence else 1,
                           dtype="uint8", crs=crs, transform=transform, nodata=NODATA_INDEX)
        self.counts = np.zeros(card.num_classes, np.int64)

    def __enter__(self) -> "PredictionWriter":
        self.stack = ExitStack()
        self.dst = self.stack.enter_context(
            cog_writer(self.out_path, categorical=True, **self.raster))
        # the palette must be set before any pixel is written (TIFF photometric tag)
        self.dst.write_colormap(1, _colormap(self.card))
        self.dst.set_band_description(1, "urban_atlas_index")
        if self.confidence:
            self.dst.set_band_description(2, "confidence_pct")
        self.dst.update_tags(MODEL=self.card.name,
                             SYNTHETIC_TRAINING="yes" if self.card.synthetic else "no")
        return self

    def write(self, block: tuple[int, int, int, int], classes: np.ndarray,
              confidence: np.ndarray | None) -> None:
        from rasterio.windows import Window

        top, left, rows, cols = block
        win = Window(left, top, cols, rows)
        self.dst.write(classes, 1, window=win)
        if self.confidence:
            self.dst.write(np.where(np.isnan(confidence), NODATA_INDEX,
                                    np.round(confidence * 100)).astype(np.uint8), 2, window=win)
        self.counts += class_counts(self.card, classes)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stack.__exit__(exc_type, exc, tb)


def _scene_window(card: ModelCard, scene_folder: Path, aoi: AOI | None, max_km2: float | None):
    """(pixel window of the AOI, crs, transform), after checking model and area."""
    import rasterio

    from lulc_core.data.scene import BAND_FILES, read_manifest, require_surface_reflectance

    _check_model(card, require_surface_reflectance(read_manifest(scene_folder)).bands)
    with rasterio.open(scene_folder / BAND_FILES[card.bands[0]]) as src:
        window = aoi_window(src, aoi)
        km2 = int(window.height) * int(window.width) * PIXEL_KM2
        if max_km2 is not None and km2 > max_km2:
            raise AOIError(f"area of {km2:.0f} km2 is over the limit of {max_km2:.0f} km2: "
                           "choose a smaller area")
        return window, src.crs, src.window_transform(window)


def read_block(card: ModelCard, scene_folder: Path, window, block: tuple[int, int, int, int],
               margin: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The reflectance of one (top, left, rows, cols) block of a window with ``margin`` px of
    context on every side, and the slices that crop the block back out of it.

    Returns:
        (float32 (C, rows + margins, cols + margins), (row slice, column slice)).
    """
    import rasterio

    from lulc_core.data.scene import BAND_FILES
    from lulc_core.data.sentinel2 import read_reflectance

    top, left, rows, cols = block
    height, width = int(window.height), int(window.width)
    r0, r1 = max(top - margin, 0), min(top + rows + margin, height)
    c0, c1 = max(left - margin, 0), min(left + cols + margin, width)
    win = rasterio.windows.Window(window.col_off + c0, window.row_off + r0, c1 - c0, r1 - r0)
    refl = []
    for band in card.bands:
        with rasterio.open(scene_folder / BAND_FILES[band]) as src:
            refl.append(read_reflectance(src, win))
    return np.stack(refl), (slice(top - r0, top - r0 + rows), slice(left - c0, left - c0 + cols))


def _crop(prediction: tuple[np.ndarray, np.ndarray | None],
          keep: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray | None]:
    classes, confidence = prediction
    return classes[keep], None if confidence is None else confidence[keep]


def predict_block(module, card: ModelCard, scene_folder: Path, window,
                  block: tuple[int, int, int, int], margin: int, tile: int, overlap: int,
                  batch_size: int, confidence: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Predict one (top, left, rows, cols) block of a window, read with ``margin`` px of context
    on every side (cropped after prediction).

    Returns:
        (uint8 classes (rows, cols), float32 confidence (rows, cols) or None).
    """
    refl, keep = read_block(card, scene_folder, window, block, margin)
    return _crop(predict_array(module, card, refl, tile, overlap, batch_size,
                               confidence=confidence), keep)


def _write_extras(out_path: Path, counts: np.ndarray, crs, transform, card: ModelCard,
                  area_csv: bool, vector: bool) -> tuple[Path | None, Path | None]:
    """The optional area CSV (from the class counts) and GeoPackage (from the written COG)."""
    csv_path = vec = None
    if area_csv:
        csv_path = out_path.with_suffix(".csv")
        atomic_write_text(csv_path, area_table(card, None, pred_counts=counts).to_csv(
            index=False, float_format="%.4f"))
    if vector:
        import rasterio

        with rasterio.open(out_path) as src:
            classes = src.read(1)
        vec = out_path.with_suffix(".gpkg")
        _write_vector(vec, classes, crs, transform, card)
    return csv_path, vec


def _write_vector(path: Path, classes: np.ndarray, crs, transform, card: ModelCard) -> None:
    import geopandas as gpd
    from rasterio.features import shapes
    from shapely.geometry import shape

    from lulc_core.files import atomic_path

    names = {c.index: (c.name, c.code) for c in card.classes}
    geoms, idx = [], []
    for geom, value in shapes(classes, mask=classes != NODATA_INDEX, transform=transform):
        geoms.append(shape(geom))
        idx.append(int(value))
    gdf = gpd.GeoDataFrame({"index": idx, "class": [names[i][0] for i in idx],
                            "code": [names[i][1] for i in idx]}, geometry=geoms, crs=crs)
    with atomic_path(path) as tmp:
        gdf.to_file(tmp, driver="GPKG", layer="prediction")
