"""Reading classifier inputs: images, GeoTIFFs rendered as EuroSAT RGB, dashboard uploads.

Multi-band GeoTIFFs are rendered the way EuroSAT RGB was made (:mod:`lulc_core.harmonise`:
bands B04/B03/B02, L2A surface reflectance turned into L1C top-of-atmosphere, then EuroSAT's
linear 8-bit stretch), so a model trained on the JPEGs sees the same brightness and colour from
a raw Sentinel-2 crop.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lulc_core.data.scene import RGB_BANDS
from lulc_core.errors import DataNotFoundError, InvalidDataError

# EuroSAT-MS GeoTIFFs hold 13 bands B01..B12 with B8A after B08: B04, B03, B02 are 3, 2, 1.
EUROSAT_MS_RGB_INDEXES = (3, 2, 1)
GEOTIFF_SUFFIXES = frozenset({".tif", ".tiff"})

ImageInput = str | Path | Image.Image | np.ndarray


def read_rgb(source: ImageInput) -> np.ndarray:
    """Read an image as RGB uint8 (H, W, 3).

    Args:
        source: JPG/PNG path, GeoTIFF path (see :func:`read_geotiff_rgb`), a PIL image, or a
            numpy array (H, W, 3) uint8, or float in [0, 1].

    Raises:
        DataNotFoundError: the path does not exist.
        InvalidDataError: not an image, corrupted, or an array of the wrong shape.
    """
    if isinstance(source, Image.Image):
        return np.asarray(source.convert("RGB"))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    path = Path(source)
    if not path.is_file():
        raise DataNotFoundError(f"no image at {path}: check the path")
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        return read_geotiff_rgb(path)
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except Image.DecompressionBombError:  # PIL refuses > 2 x Image.MAX_IMAGE_PIXELS unread
        raise InvalidDataError(
            f"{path} is over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, too large to decode: crop "
            "a tile (EuroSAT tiles are 64 x 64 px)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise InvalidDataError(
            f"{path} is not a readable image ({type(e).__name__}): remove it or replace it "
            "with a JPG, PNG or GeoTIFF"
        ) from None


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim != 3 or array.shape[2] != 3:
        raise InvalidDataError(
            f"image array has shape {array.shape}: pass an RGB array of shape (H, W, 3)"
        )
    if array.dtype == np.uint8:
        return array
    return (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def read_geotiff_rgb(path: Path) -> np.ndarray:
    """Render a GeoTIFF as EuroSAT RGB: (H, W, 3) uint8.

    Bands are chosen by description (B04, B03, B02); a 13-band file without descriptions is
    taken as EuroSAT-MS order; a 3-band file without descriptions as R, G, B. Bands with a
    GDAL scale/offset (how our scenes store reflectance) are converted to reflectance with
    it; otherwise uint8 data is taken as already rendered and other data as DN = reflectance
    x 10000 (float data <= 1.5 as reflectance 0..1). The level (:func:`geotiff_level`) decides
    whether L2A -> TOA comes before EuroSAT's stretch (:func:`lulc_core.harmonise.to_eurosat_rgb`).
    Nodata pixels become 0.

    Raises:
        InvalidDataError: unreadable file, or no way to find the red, green and blue bands.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    from lulc_core.harmonise import to_eurosat_rgb

    try:
        with rasterio.open(path) as src:
            names = [(d or "").upper() for d in src.descriptions]
            if all(b in names for b in RGB_BANDS):
                indexes = [names.index(b) + 1 for b in RGB_BANDS]
            elif src.count == 13:
                indexes = [i + 1 for i in EUROSAT_MS_RGB_INDEXES]
            elif src.count == 3:
                indexes = [1, 2, 3]
            else:
                raise InvalidDataError(
                    f"{path} has {src.count} bands without B04/B03/B02 descriptions: give it "
                    "3 bands in R,G,B order, 13 EuroSAT-MS bands, or band descriptions"
                )
            data = src.read(indexes, masked=True)
            scales = np.array([src.scales[i - 1] for i in indexes], np.float32).reshape(3, 1, 1)
            offsets = np.array([src.offsets[i - 1] for i in indexes], np.float32).reshape(3, 1, 1)
            tags, count = src.tags(), src.count
    except RasterioIOError as e:
        raise InvalidDataError(
            f"{path} is not a readable GeoTIFF ({str(e).splitlines()[0]}): replace it"
        ) from None
    values = data.filled(0)
    declared = bool(np.any(scales != 1.0) or np.any(offsets != 0.0))
    if values.dtype == np.uint8 and not declared:
        return np.ascontiguousarray(values.transpose(1, 2, 0))
    reflectance = values.astype(np.float32)
    if declared:  # e.g. L2A baseline 04.00: reflectance = DN * 1e-4 - 0.1
        reflectance = reflectance * scales + offsets
    elif not (np.issubdtype(values.dtype, np.floating)
              and np.nanmax(reflectance, initial=0.0) <= 1.5):
        reflectance /= 10000.0  # DN -> reflectance
    reflectance[np.ma.getmaskarray(data)] = np.nan
    return to_eurosat_rgb(reflectance, geotiff_level(tags, path, count, declared))


def geotiff_level(tags: dict[str, str], path: Path, count: int, declared: bool) -> str:
    """Processing level of a GeoTIFF: "L2A" or "L1C".

    What the file says (a level or product name such as ``MSIL2A`` in its tags or file name)
    wins; otherwise a 13-band file is EuroSAT-MS (L1C), a file declaring a scale/offset is
    L2A (how our scenes and Earth Search's L2A COGs store reflectance), and anything else is
    taken as L1C, EuroSAT's own level, rendered without conversion.
    """
    from lulc_core.data.reflectance import level_in

    said = next((lv for lv in map(level_in, [*tags.values(), path.stem]) if lv), None)
    if said:
        return said
    return "L2A" if declared and count != 13 else "L1C"


# Limits for images uploaded in the dashboard. EuroSAT tiles are 64 x 64 px (640 m at 10 m);
# other sizes are resized to the model's square input, so a small, roughly square tile is
# what the classifier can judge. Below 32 px there is too little to see; above 1024 px the
# image covers far more than one land-cover patch; beyond 2:1 the squeeze into a square
# distorts shapes (roads, fields) the model relies on.
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
UPLOAD_MIN_SIDE = 32
UPLOAD_MAX_SIDE = 1024
UPLOAD_MAX_ASPECT = 2.0
UPLOAD_FORMATS = frozenset({"JPEG", "PNG"})


def read_upload(data: bytes) -> Image.Image:
    """An uploaded JPG/PNG as an RGB image, refused with a plain-words message when the
    classifier could not judge it (see the ``UPLOAD_*`` limits).

    The pixel size is checked from the header before the image is decoded, so a huge image
    in a small file is refused without decoding it.

    Raises:
        InvalidDataError: empty, larger than 2 MB, not a JPG/PNG, unreadable, smaller than
            32 px or larger than 1024 px on a side, or more than twice as long as wide.
    """
    megabytes = UPLOAD_MAX_BYTES // (1024 * 1024)
    if not data:
        raise InvalidDataError("That file is empty: upload a JPG or PNG image.")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidDataError(
            f"That file is {len(data) / 1024 / 1024:.1f} MB; the limit is {megabytes} MB. "
            "Upload a small image tile (a 64 x 64 px EuroSAT tile is a few KB)."
        )
    unreadable = "That file is not a readable image: upload a JPG or PNG."
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise InvalidDataError(unreadable) from None
    if image.format not in UPLOAD_FORMATS:
        raise InvalidDataError(f"That file is a {image.format} image: upload a JPG or PNG.")
    width, height = image.size
    size = f"The image is {width} x {height} px"
    if min(width, height) < UPLOAD_MIN_SIDE:
        raise InvalidDataError(
            f"{size}: too small to recognise anything. Upload a tile of at least "
            f"{UPLOAD_MIN_SIDE} x {UPLOAD_MIN_SIDE} px (EuroSAT tiles are 64 x 64 px)."
        )
    if max(width, height) > UPLOAD_MAX_SIDE:
        raise InvalidDataError(
            f"{size}: too large. Crop a tile of at most {UPLOAD_MAX_SIDE} px a side; the "
            "classifier judges small tiles (EuroSAT tiles are 64 x 64 px, 640 m across)."
        )
    if max(width, height) > UPLOAD_MAX_ASPECT * min(width, height):
        raise InvalidDataError(
            f"{size}, far from square: crop a roughly square tile (at most "
            f"{UPLOAD_MAX_ASPECT:g} times as long as wide). The classifier squeezes every "
            "image into a square, which would distort it."
        )
    try:
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError):  # truncated or corrupted pixel data
        raise InvalidDataError(unreadable) from None
