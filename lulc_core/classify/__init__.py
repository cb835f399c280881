"""Classify images with a EuroSAT classifier and score it on folders.

:mod:`~lulc_core.classify.read` turns files, arrays and uploads into RGB uint8,
:mod:`~lulc_core.classify.infer` runs the classifier on them, and
:mod:`~lulc_core.classify.evaluate` scores it on a folder in EuroSAT layout.
"""

from lulc_core.classify.evaluate import EvaluationResult, evaluate_folder, scan_class_folder
from lulc_core.classify.infer import (
    ImagePrediction, classify_images, eval_transform, load_classifier, predict_images,
)
from lulc_core.classify.read import geotiff_level, read_geotiff_rgb, read_rgb, read_upload

__all__ = [
    "EvaluationResult", "ImagePrediction", "classify_images", "eval_transform", "evaluate_folder",
    "geotiff_level", "load_classifier", "predict_images", "read_geotiff_rgb", "read_rgb",
    "read_upload", "scan_class_folder",
]
