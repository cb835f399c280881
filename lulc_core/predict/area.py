"""Predict an area in memory for the dashboard: classes, confidence, quick-look and areas."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lulc_core.artifacts import ModelCard
from lulc_core.errors import AOIError
from lulc_core.geo import AOI
from lulc_core.predict.scene import PIXEL_KM2, PredictionWriter, _check_model, area_table
from lulc_core.predict.window import _ceil32, predict_array

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
