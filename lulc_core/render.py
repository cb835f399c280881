"""Pictures of rasters for people: label colouring with the official legend, confidence ramps."""

from __future__ import annotations

import numpy as np

from lulc_core.classes import NODATA_INDEX, urban_atlas_legend


def thumbnail_shape(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(rows, cols) of a picture of a (height, width) raster whose longer side is at most
    ``max_side`` (never enlarged); a read with this ``out_shape`` uses the COG overviews."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def legend_palette() -> np.ndarray:
    """uint8 (256, 3) lookup table: Urban Atlas index -> official colour; nodata white."""
    pal = np.full((256, 3), 255, np.uint8)
    for c in urban_atlas_legend():
        pal[c.index] = c.rgb
    pal[NODATA_INDEX] = (255, 255, 255)
    return pal


def colorize(labels: np.ndarray) -> np.ndarray:
    """uint8 (H, W) Urban Atlas indices -> uint8 (H, W, 3) RGB in the official colours."""
    return legend_palette()[labels]


def true_colour(reflectance: np.ndarray, white: float = 0.3) -> np.ndarray:
    """float (3, H, W) B04/B03/B02 reflectance (NaN = no data) -> uint8 (H, W, 3) picture.

    Reflectance ``white`` and above shows as full brightness (0.3 suits cities and fields).
    """
    scaled = np.nan_to_num(reflectance, nan=0.0) / white * 255
    return np.clip(scaled, 0, 255).astype(np.uint8).transpose(1, 2, 0)


def confidence_image(confidence: np.ndarray) -> np.ndarray:
    """float (H, W) probabilities in [0, 1] (NaN = no data) -> uint8 (H, W, 3), dark = unsure."""
    c = np.nan_to_num(confidence, nan=1.0)
    grey = (255 * np.clip(c, 0, 1)).astype(np.uint8)
    return np.stack([grey, grey, grey], axis=-1)


def image_grid(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Equal-sized uint8 (H, W, 3) pictures laid out in rows, ``gap`` white pixels apart.

    One picture instead of many small ones: a browser fetches and lays out one image.
    """
    h, w = rows[0][0].shape[:2]
    ncols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + gap) - gap, ncols * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, picture in enumerate(row):
            out[i * (h + gap): i * (h + gap) + h, j * (w + gap): j * (w + gap) + w] = picture
    return out

