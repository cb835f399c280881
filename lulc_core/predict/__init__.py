"""Map a scene (or an area of it) with a segmenter: blended sliding windows -> COG + areas.

:mod:`~lulc_core.predict.window` predicts an in-memory array with blended sliding windows,
:mod:`~lulc_core.predict.scene` streams a whole scene into a COG (+ area CSV, GeoPackage),
:mod:`~lulc_core.predict.cluster` computes those blocks as tasks on a ``dask.distributed`` cluster,
:mod:`~lulc_core.predict.area` predicts a small area in memory for the dashboard.
"""

from lulc_core.predict.area import MAX_SINGLE_WINDOW, AreaPrediction, predict_area
from lulc_core.predict.cluster import predict_scene_dask
from lulc_core.predict.scene import (
    PIXEL_KM2, PredictionSummary, PredictionWriter, area_table, class_counts, predict_block,
    predict_scene, read_block, scene_blocks,
)
from lulc_core.predict.window import normalise, predict_array

__all__ = [
    "MAX_SINGLE_WINDOW", "PIXEL_KM2", "AreaPrediction", "PredictionSummary", "PredictionWriter",
    "area_table", "class_counts", "normalise", "predict_area", "predict_array", "predict_block",
    "predict_scene", "predict_scene_dask", "read_block", "scene_blocks",
]
