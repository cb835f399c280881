"""Web-map overlays: scene layers and predictions warped to Web Mercator as RGBA pictures.

Leaflet stretches an image overlay linearly between its corner coordinates in Web Mercator
(EPSG:3857), so a UTM raster shown as-is would sit slightly rotated and stretched. Each layer
is therefore warped to EPSG:3857 first (nearest neighbour for classes, bilinear for imagery),
read at reduced resolution from the COG overviews so a whole city takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from lulc_core.classes import NODATA_INDEX
from lulc_core.errors import DataNotFoundError
from lulc_core.render import colorize, legend_palette, thumbnail_shape, true_colour

WEB_MERCATOR = "EPSG:3857"
Layer = Literal["rgb", "truth"]


@dataclass
class Overlay:
    """An RGBA picture and where it goes on the map.

    Attributes:
        image: uint8 (H, W, 4); alpha 0 where there is no data.
        bounds: ((south, west), (north, east)) in degrees, the order Leaflet wants.
    """

    image: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]


def _bounds_latlon(transform, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    from rasterio.transform import array_bounds
    from rasterio.warp import transform_bounds

    w, s, e, n = transform_bounds(WEB_MERCATOR, "EPSG:4326", *array_bounds(height, width, transform))
    return ((s, w), (n, e))


def scene_overlay(folder: Path, layer: Layer, max_side: int = 1024) -> Overlay:
    """A whole scene layer (true colour or Urban Atlas truth) as a Web-Mercator overlay.

    Args:
        folder: scene folder (see :mod:`lulc_core.data.scene`).
        layer: ``rgb`` (B04/B03/B02 true colour) or ``truth`` (labels.tif in legend colours).
        max_side: longest side of the picture in pixels.

    Raises:
        DataNotFoundError: the layer's file is not in the scene folder.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    from lulc_core.data.scene import BAND_FILES, LABELS_RASTER, RGB_BANDS
    from lulc_core.data.sentinel2 import read_reflectance

    files = [BAND_FILES[b] for b in RGB_BANDS] if layer == "rgb" else [LABELS_RASTER]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataNotFoundError(f"{folder} has no {', '.join(missing)}: "
                                + ("import Urban Atlas labels with 'lulc import urban-atlas'"
                                   if layer == "truth" else "rebuild or re-fetch the scene"))
    resampling = Resampling.bilinear if layer == "rgb" else Resampling.nearest
    planes, bounds = [], None
    for name in files:
        with rasterio.open(folder / name) as src, WarpedVRT(src, crs=WEB_MERCATOR,
                                                            resampling=resampling) as vrt:
            out_h, out_w = thumbnail_shape(vrt.height, vrt.width, max_side)
            # a decimated read: GDAL picks the COG overview closest to this size
            window_transform = vrt.transform @ vrt.transform.scale(vrt.width / out_w, vrt.height / out_h)
            if layer == "rgb":
                planes.append(read_reflectance(vrt, out_shape=(out_h, out_w), resampling=resampling))
            else:
                planes.append(vrt.read(1, out_shape=(out_h, out_w), resampling=resampling))
            bounds = _bounds_latlon(window_transform, out_w, out_h)
    if layer == "rgb":
        refl = np.stack(planes)
        rgb, alpha = true_colour(refl), ~np.isnan(refl).any(axis=0)
    else:
        labels = planes[0]
        rgb, alpha = colorize(labels), labels != 0  # 0 = no Urban Atlas polygon (or outside)
    return Overlay(np.dstack([rgb, np.where(alpha, 255, 0).astype(np.uint8)]), bounds)


def classes_overlay(classes: np.ndarray, crs: str, transform, palette: np.ndarray | None = None,
                    max_side: int = 2048, min_side: int = 512) -> Overlay:
    """A class map on its grid as an overlay.

    Args:
        classes: uint8 (H, W) class indices, 255 = no data (transparent).
        crs, transform: grid of ``classes``.
        palette: uint8 (256, 3) colour of each index (default: the Urban Atlas legend).
        max_side, min_side: see :func:`picture_overlay`.
    """
    colours = legend_palette() if palette is None else palette
    return picture_overlay(colours[classes], classes != NODATA_INDEX, crs, transform, max_side,
                           min_side)


def picture_overlay(picture: np.ndarray, valid: np.ndarray, crs: str, transform,
                    max_side: int = 2048, min_side: int = 512) -> Overlay:
    """A picture of an area on its grid, warped to Web Mercator with nearest neighbour (10 m
    pixels and class colours stay exact).

    Args:
        picture: uint8 (H, W, 3).
        valid: bool (H, W); False = no data (transparent).
        crs, transform: grid of the picture.
        max_side: longest side of the warped picture in pixels.
        min_side: coarse grids (a patch map has one cell per 640 m) are drawn on a finer
            picture of at least this side, so cell edges stay straight after the warp.
    """
    from rasterio.enums import Resampling
    from rasterio.transform import array_bounds
    from rasterio.warp import calculate_default_transform, reproject

    h, w = valid.shape
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, w, h, *array_bounds(h, w, transform))
    finer = -(-min_side // max(dst_h, dst_w))  # ceil; 1 for 10 m maps of a few km and more
    out_h, out_w = thumbnail_shape(dst_h * finer, dst_w * finer, max_side)
    dst_transform = dst_transform @ dst_transform.scale(dst_w / out_w, dst_h / out_h)
    rgba = np.dstack([picture, np.where(valid, 255, 0).astype(np.uint8)]).transpose(2, 0, 1)
    warped = np.zeros((4, out_h, out_w), np.uint8)  # alpha 0 outside the area
    reproject(np.ascontiguousarray(rgba), warped, src_transform=transform, src_crs=crs,
              dst_transform=dst_transform, dst_crs=WEB_MERCATOR, resampling=Resampling.nearest)
    return Overlay(warped.transpose(1, 2, 0).copy(), _bounds_latlon(dst_transform, out_w, out_h))
