"""What the City comparison page shows beyond the cached loaders (:mod:`dashboard.services`):
the built-in cities, their models' names, and the tables and pictures made from their scores."""

from __future__ import annotations

import numpy as np

from lulc_core.comparison import composition, iou_table, transfer_summary
from lulc_core.geo import CITIES
from lulc_core.render import colorize, image_grid
from lulc_core.runs import city_model_name

__all__ = ["CITY_NAMES", "city_model_name", "class_picture", "composition", "gallery_grid",
           "iou_table", "transfer_summary"]

CITY_NAMES: tuple[str, ...] = tuple(CITIES)


def class_picture(classes: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) picture of an Urban Atlas class raster (H, W) in the legend's colours."""
    return colorize(classes)


def gallery_grid(samples: dict[str, np.ndarray], n: int = 4) -> np.ndarray:
    """uint8 picture of ``n`` sample patches of :func:`dashboard.services.gallery`: rows
    satellite, truth (Urban Atlas) and prediction, in the legend's colours."""
    return image_grid([list(samples["rgb"][:n]), [colorize(t) for t in samples["truth"][:n]],
                       [colorize(p) for p in samples["prediction"][:n]]])
