"""Map a scene (or an area of it) with a segmenter: blended sliding windows -> COG + areas.

A U-Net is fully convolutional, so we run it on large tiles (512 px) rather than 64 px patches,
overlapping by ``overlap`` px and blending the softmax of overlapping tiles with a raised-cosine
weight, so no seams show. A whole scene is processed in blocks (read with a margin of context on
every side, cropped after prediction) that are streamed into the output GeoTIFF, so memory stays
about the same however large the scene. Pixels without data in any band are written as nodata (255).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lulc_core.artifacts import ModelCard
from lulc_core.classes import NODATA_INDEX, hex_to_rgb
from lulc_core.errors import AOIError, ModelMismatchError
from lulc_core.files import atomic_write_text, cog_writer
from lulc_core.geo import AOI, aoi_window, raised_cosine

PIXEL_KM2 = 1e-4  # one 10 m pixel
MAX_SINGLE_WINDOW = 1536  # px; larger areas are split into blended windows (memory stays ~2 GB)


@dataclass
class AreaPrediction:
    """Prediction for an area held in memory (what the dashboard shows).

    Attributes:
        rgb: uint8 (H, W, 3) true-colour quick-look of the input.
        truth: uint8 (H, W) Urban Atlas index, or None if the scene has no labels.
        prediction: uint8 (H, W) predicted index, 255 = no data.
        confidence: float32 (H, W) max softmax probability (NaN = no data).
        crs, transform: grid of the arrays.
        bounds_wgs84: (W, S, E, N) of the area.
        area_table: per-class km2 and % for truth and prediction.
        seconds: inference time.
    """

    rgb: np.ndarray
    truth: np.ndarray | None
    prediction: np.ndarray
    confidence: np.ndarray
    crs: str
    transform: object
    bounds_wgs84: tuple[float, float, float, float]
    area_table: pd.DataFrame
    seconds: float

    def to_geotiff_bytes(self, card: ModelCard) -> bytes:
        """The prediction (+ confidence band) as COG bytes, for download buttons."""
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "prediction.tif"
            h, w = self.prediction.shape
            with PredictionWriter(path, card, self.crs, self.transform, w, h, True) as writer:
                writer.write((0, 0, h, w), self.prediction, self.confidence)
            return path.read_bytes()


def normalise(card: ModelCard, reflectance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalised float32 (C, H, W) with NaN -> 0, bool (H, W) nodata mask)."""
    mean = np.asarray(card.normalization["mean"], np.float32)[:, None, None]
    std = np.asarray(card.normalization["std"], np.float32)[:, None, None]
    nodata = np.isnan(reflectance).any(axis=0)
    x = (np.nan_to_num(reflectance, nan=0.0) - mean) / std
    x[:, nodata] = 0.0
    return x.astype(np.float32), nodata


def predict_array(
    module: torch.nn.Module, card: ModelCard, reflectance: np.ndarray, tile: int = 512,
    overlap: int = 64, batch_size: int = 4, bf16: bool = False, confidence: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Blended sliding-window prediction of an in-memory reflectance array.

    Args:
        module: segmenter in eval mode; :func:`lulc_core.models.load_model` with ``fused=True``
            gives the fast inference copy (its precision is its own, see
            :func:`lulc_core.models.fuse_for_inference`).
        card: its model card (normalisation, classes).
        reflectance: float32 (C, H, W), NaN = no data.
        tile: window side (multiple of 32).
        overlap: overlap between neighbouring windows in pixels.
        batch_size: windows per forward pass.
        bf16: autocast the whole network in bf16. Off by default: on the demo scenes it changes
            about 2 % of the classes and the confidence by up to 13 points against fp32.
        confidence: also return the confidence (skipped work where windows do not overlap).

    Returns:
        (uint8 (H, W) class index with 255 for no data, float32 (H, W) confidence or None).
    """
    from lulc_core.inference import forward

    x, nodata = normalise(card, reflectance)
    c, h, w = x.shape
    th, tw = min(tile, _ceil32(h)), min(tile, _ceil32(w))
    pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect" if min(h, w) > 1 else "edge")
    H, W = x.shape[1:]
    ys = _window_starts(H, th, overlap)
    xs = _window_starts(W, tw, overlap)
    windows = [(y, xx) for y in ys for xx in xs]
    classes = torch.empty((H, W), dtype=torch.uint8)
    conf = torch.empty((H, W))
    # Blending only matters where windows overlap: a pixel inside one window alone gets that
    # window's softmax, whose argmax and maximum come straight from the logits. So only the
    # overlap bands (about a quarter of the pixels with 512 px windows and 64 px overlap) are
    # accumulated; the scene-wide (K, H, W) softmax and its passes are what made blending cost
    # as much as the network.
    only_y, only_x = _single_cover(ys, th, H), _single_cover(xs, tw, W)
    weight = torch.from_numpy(np.outer(raised_cosine(th), raised_cosine(tw)))
    probs = torch.zeros((card.num_classes, H, W)) if len(windows) > 1 else None
    wsum = torch.zeros((H, W)) if len(windows) > 1 else None
    with torch.inference_mode():
        for i in range(0, len(windows), batch_size):
            chunk = windows[i : i + batch_size]
            batch = torch.from_numpy(np.stack([x[:, y : y + th, xx : xx + tw] for y, xx in chunk]))
            logits = forward(module, batch, bf16=bf16)
            for (y, xx), lg in zip(chunk, logits):
                (y0, y1), (x0, x1) = only_y[y], only_x[xx]
                top, cls = lg[:, y0 - y : y1 - y, x0 - xx : x1 - xx].max(dim=0)
                classes[y0:y1, x0:x1] = cls
                if confidence:  # max softmax = 1 / sum(exp(logit - max logit))
                    conf[y0:y1, x0:x1] = 1.0 / torch.exp(
                        lg[:, y0 - y : y1 - y, x0 - xx : x1 - xx] - top).sum(dim=0)
                if probs is None:
                    continue
                bands = _band_rects((y, y + th), (y0, y1), (xx, xx + tw), (x0, x1))
                for (a0, a1), (b0, b1) in bands:
                    wgt = weight[a0 - y : a1 - y, b0 - xx : b1 - xx]
                    probs[:, a0:a1, b0:b1] += torch.softmax(
                        lg[:, a0 - y : a1 - y, b0 - xx : b1 - xx], dim=0) * wgt
                    wsum[a0:a1, b0:b1] += wgt
        if probs is not None:
            for rows, cols in _overlap_rects(only_y, only_x, H, W):
                top, cls = probs[:, rows, cols].max(dim=0)
                classes[rows, cols], conf[rows, cols] = cls, top / wsum[rows, cols]
    classes = classes[:h, :w].numpy().copy()
    classes[nodata] = NODATA_INDEX
    if not confidence:
        return classes, None
    conf = conf[:h, :w].numpy().copy()
    conf[nodata] = np.nan
    return classes, conf


def _window_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Window offsets along one axis: every ``tile - overlap`` px, the last flush with the end."""
    return sorted({*range(0, size - tile + 1, max(tile - overlap, 1)), size - tile})


def _single_cover(starts: list[int], tile: int, size: int) -> dict[int, tuple[int, int]]:
    """For each window offset, the [start, end) it covers alone (end <= start when none):
    after the previous window's end, before the next window's start."""
    ends = [s + tile for s in starts]
    nexts = [*starts[1:], size]
    return {s: (max(s, ends[i - 1] if i else 0), min(ends[i], nexts[i])) for i, s in enumerate(starts)}


def _band_rects(rows: tuple[int, int], own_rows: tuple[int, int], cols: tuple[int, int],
                own_cols: tuple[int, int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The window minus the part it covers alone, as (rows, cols) rectangles: the top and bottom
    bands across the window, then the left and right bands between them."""
    (r0, r1), (o0, o1), (c0, c1), (p0, p1) = rows, own_rows, cols, own_cols
    o1, p1 = max(o1, o0), max(p1, p0)  # nothing alone: all of it is bands
    rects = [((r0, o0), (c0, c1)), ((o1, r1), (c0, c1)), ((o0, o1), (c0, p0)), ((o0, o1), (p1, c1))]
    return [r for r in rects if r[0][0] < r[0][1] and r[1][0] < r[1][1]]


def _overlap_rects(only_y: dict[int, tuple[int, int]], only_x: dict[int, tuple[int, int]],
                   height: int, width: int) -> list[tuple[slice, slice]]:
    """Where two or more windows overlap, as (rows, cols) slices: full-width bands over the rows
    no window covers alone, full-height bands over such columns."""
    def runs(only: dict[int, tuple[int, int]], size: int) -> list[slice]:
        shared = np.ones(size, np.int8)
        for a, b in only.values():
            shared[a:b] = 0
        edges = np.flatnonzero(np.diff(shared, prepend=0, append=0))  # run starts, run ends
        return [slice(a, b) for a, b in zip(edges[::2], edges[1::2])]

    return ([(r, slice(None)) for r in runs(only_y, height)]
            + [(slice(None), c) for c in runs(only_x, width)])


def _ceil32(n: int) -> int:
    return int(np.ceil(n / 32) * 32)


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


@lru_cache(maxsize=4)
def _worker_model(folder: str):
    """A model loaded once per Dask worker process (or thread pool)."""
    from lulc_core.models import load_model

    return load_model(folder, fused=True)


def _dask_block(folder: str, scene_folder: str, window, block, margin: int, tile: int,
                overlap: int, windows_per_batch: int, confidence: bool):
    # not "batch_size": Client.map takes that keyword for itself
    module, card = _worker_model(folder)
    return block, predict_block(module, card, Path(scene_folder), window, block, margin, tile,
                                overlap, windows_per_batch, confidence)


def predict_scene_dask(
    model: str, scene_folder: Path, out_path: Path, aoi: AOI | None = None,
    scheduler: str | None = None, n_workers: int = 2, confidence: bool = False,
    area_csv: bool = True, vector: bool = False, strip: int = 1024, margin: int = 64,
    tile: int = 512, overlap: int = 64, batch_size: int = 4, max_km2: float | None = None,
) -> PredictionSummary:
    """:func:`predict_scene` with the strips computed as tasks on a ``dask.distributed`` cluster.

    Each task reads its own strip (plus context margin) from the COGs and predicts it, so the
    output is identical to the single-process path. ``scheduler`` is a cluster address
    (``tcp://host:8786``); without one a LocalCluster with ``n_workers`` is started. The
    workers must see the scene and model folders (shared storage).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    from lulc_core.models import load_model, resolve_model_folder

    t0 = time.perf_counter()
    folder = str(resolve_model_folder(model).resolve())
    _, card = load_model(folder)
    window, crs, transform = _scene_window(card, scene_folder, aoi, max_km2)
    height, width = int(window.height), int(window.width)
    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                  processes=True, dashboard_address=None)
    blocks = scene_blocks(height, width, strip)
    try:
        with Client(scheduler or cluster) as client, PredictionWriter(
            out_path, card, crs, transform, width, height, confidence
        ) as writer:
            n = len(blocks)
            futures = client.map(_dask_block, [folder] * n, [str(scene_folder.resolve())] * n,
                                 [window] * n, blocks, margin=margin, tile=tile, overlap=overlap,
                                 windows_per_batch=batch_size, confidence=confidence, pure=False)
            for future in as_completed(futures):  # write blocks as they finish: memory stays flat
                block, (cls, cf) = future.result()
                writer.write(block, cls, cf)
                future.release()
    finally:
        if cluster is not None:
            cluster.close()
    csv_path, vec = _write_extras(out_path, writer.counts, crs, transform, card, area_csv, vector)
    return PredictionSummary(out_path, width, height, height * width * PIXEL_KM2,
                             time.perf_counter() - t0, csv_path, vec)


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


def predict_area(model, scene_folder: Path, aoi: AOI, max_km2: float = 400.0) -> AreaPrediction:
    """Predict a small area in memory (the dashboard's drawn rectangle).

    Raises:
        AOIError: outside the scene, or larger than ``max_km2``.
        ModelMismatchError: model and scene do not fit.
    """
    from lulc_core.data.scene import read_manifest, require_surface_reflectance
    from lulc_core.data.sentinel2 import load_scene
    from lulc_core.models import load_model
    from lulc_core.render import true_colour

    module, card = model if isinstance(model, tuple) else load_model(model, fused=True)
    _check_model(card, require_surface_reflectance(read_manifest(scene_folder)).bands)
    t0 = time.perf_counter()
    scene = load_scene(scene_folder, aoi, bands=tuple(card.bands))
    km2 = scene.image.shape[1] * scene.image.shape[2] * PIXEL_KM2
    if km2 > max_km2:
        raise AOIError(f"the area covers {km2:.0f} km2, over the {max_km2:.0f} km2 limit for "
                       "interactive prediction: draw a smaller rectangle or use 'lulc predict'")
    if np.isnan(scene.image).all():
        raise AOIError("the area has no image data (outside the scene's footprint): pick another")
    # One window over the whole area when it fits: overlapping 512 px windows would compute
    # about twice the pixels of a 10 x 10 km area, and blending is pointless inside one window.
    side = max(_ceil32(n) for n in scene.image.shape[1:])
    classes, conf = predict_array(module, card, scene.image, tile=min(side, MAX_SINGLE_WINDOW))
    rgb = true_colour(scene.image[:3])
    from rasterio.transform import array_bounds
    from rasterio.warp import transform_bounds

    h, w = classes.shape
    bounds = transform_bounds(scene.crs, "EPSG:4326", *array_bounds(h, w, scene.transform))
    return AreaPrediction(rgb, scene.labels, classes, conf, scene.crs, scene.transform,
                          tuple(bounds), area_table(card, classes, scene.labels),
                          time.perf_counter() - t0)
