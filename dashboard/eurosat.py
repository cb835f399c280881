"""The EuroSAT classifier page's library calls: classify an uploaded image, find and order the
test images (the cached model and test predictions come from :mod:`dashboard.services`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lulc_core.config import eurosat_dir
from lulc_core.heldout import browse_order

if TYPE_CHECKING:
    from PIL import Image

    from lulc_core.classify import ImagePrediction

__all__ = ["browse_order", "classify", "images_dir", "read_upload"]


def images_dir() -> Path:
    """The EuroSAT folder whose images the test predictions name (``$LULC_EUROSAT_DIR``)."""
    return eurosat_dir()


def read_upload(data: bytes) -> Image.Image:
    """An uploaded JPG/PNG as an RGB image (:func:`lulc_core.classify.read_upload`).

    Raises:
        InvalidDataError: a file the classifier could not judge (the message says why).
    """
    from lulc_core.classify import read_upload as read  # torch: on the first upload only

    return read(data)


def classify(model, image: Image.Image, top_k: int = 3) -> ImagePrediction:
    """The ``top_k`` classes of one image by a loaded classifier (``services.model(name)``)."""
    from lulc_core.classify import predict_images

    (prediction,) = predict_images(model, [image], top_k=top_k)
    return prediction
