"""Sentinel-2 L2A readers: SAFE products, per-band COGs, and local scene folders.

Every source is turned into the local scene layout (:mod:`lulc_core.data.scene`) by
:func:`write_scene`; :func:`load_scene` reads a scene folder (optionally clipped to an AOI) into
reflectance arrays on the 10 m grid with SCL resampled by nearest neighbour.

Reflectance = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE. Products of processing baseline
04.00 and later declare ``BOA_ADD_OFFSET = -1000`` (STAC: ``raster:bands`` ``offset = -0.1``,
``scale = 0.0001``); older ones have no offset. We keep the DN as delivered and store the
scale/offset in each band's GDAL metadata, so nothing is lost and readers apply it once.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lulc_core.data.scene import (
    BAND_FILES,
    LABELS_RASTER,
    MANIFEST,
    RGB_BANDS,
    SceneManifest,
    read_manifest,
)
from lulc_core.errors import AOIError, DataNotFoundError, InvalidDataError
from lulc_core.geo import AOI

L2A_SCALE = 1e-4
BASELINE_04_OFFSET = -0.1  # BOA_ADD_OFFSET -1000 / QUANTIFICATION_VALUE 10000


@dataclass
class Scene:
    """A scene (or an AOI of it) in memory on the 10 m grid.

    Attributes:
        image: float32 (C, H, W) surface reflectance, NaN where there is no data.
        scl: uint8 (H, W) Scene Classification Layer (0 = no data).
        labels: uint8 (H, W) Urban Atlas index (0 background) or None when not imported.
        bands: band names in channel order.
        crs: CRS as a string (``EPSG:32631``).
        transform: affine transform of pixel (0, 0).
        manifest: provenance of the scene folder.
    """

    image: np.ndarray
    scl: np.ndarray
    labels: np.ndarray | None
    bands: tuple[str, ...]
    crs: str
    transform: object
    manifest: SceneManifest

    def to_dataarray(self):
        """The image as an ``xarray.DataArray`` (band, y, x) with CRS and coordinates."""
        import rioxarray  # noqa: F401  (registers the .rio accessor)
        import xarray as xr

        h, w = self.image.shape[1:]
        t = self.transform
        xs = t.c + t.a * (np.arange(w) + 0.5)
        ys = t.f + t.e * (np.arange(h) + 0.5)
        da = xr.DataArray(self.image, dims=("band", "y", "x"),
                          coords={"band": list(self.bands), "y": ys, "x": xs})
        return da.rio.write_crs(self.crs).rio.write_transform(t)


def aoi_window(src, aoi: AOI | None):
    """The pixel window of ``src`` covering ``aoi`` (whole raster when None).

    Raises:
        AOIError: the AOI does not overlap the raster.
    """
    from rasterio.errors import WindowError
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    full = Window(0, 0, src.width, src.height)
    if aoi is None:
        return full
    left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *aoi.bounds)
    win = from_bounds(left, bottom, right, top, src.transform).round_offsets().round_lengths()
    try:
        win = win.intersection(full)
    except WindowError:  # no overlap at all
        win = None
    if win is None or win.width <= 0 or win.height <= 0:
        raise AOIError(
            f"AOI {aoi.bounds} does not overlap the scene (scene bounds in WGS84: "
            f"{tuple(round(v, 3) for v in transform_bounds(src.crs, 'EPSG:4326', *src.bounds))}): "
            "pick an area inside it"
        )
    return win


def _open(path: Path | str):
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        return rasterio.open(path)
    except RasterioIOError as e:
        raise InvalidDataError(
            f"cannot read raster {path} ({str(e).splitlines()[0]}): re-download or rebuild it"
        ) from None


def _read_scl_on_grid(scl_path: Path | str, crs, transform, width: int, height: int) -> np.ndarray:
    """Read SCL (any resolution) onto the given 10 m grid with nearest neighbour."""
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with _open(scl_path) as src, WarpedVRT(
        src, crs=crs, transform=transform, width=width, height=height,
        resampling=Resampling.nearest, nodata=0,
    ) as vrt:
        return vrt.read(1)


def read_reflectance(src, window=None, **read_options) -> np.ndarray:
    """float32 (H, W) reflectance of band 1 in ``window``: DN * scale + offset, NaN at nodata.

    ``read_options`` go to ``src.read`` (e.g. ``out_shape`` and ``resampling`` for a decimated
    read from the overviews); ``src`` may be a dataset or a ``WarpedVRT`` over one.
    """
    dn = src.read(1, window=window, **read_options)
    scale = src.scales[0] if src.scales and src.scales[0] else L2A_SCALE
    offset = src.offsets[0] if src.offsets else 0.0
    refl = dn.astype(np.float32) * np.float32(scale) + np.float32(offset)
    refl[dn == (src.nodata if src.nodata is not None else 0)] = np.nan
    return refl


def check_grid(folder: Path, bands: tuple[str, ...]) -> None:
    """Check that the ``bands`` of a scene folder and its ``labels.tif`` (if any) are readable
    and share one pixel grid (CRS, transform, width and height); SCL may be coarser.

    Raises:
        InvalidDataError: a file is unreadable, or not on the grid of the first band.
    """
    files = [BAND_FILES[b] for b in bands]
    if (folder / LABELS_RASTER).is_file():
        files.append(LABELS_RASTER)
    grids, shown = {}, {}
    for name in files:
        with _open(folder / name) as src:
            t = src.transform
            grids[name] = (src.crs, t, src.width, src.height)
            shown[name] = f"{src.width}x{src.height} px of {t.a:g} m from ({t.c:.0f}, {t.f:.0f})"
    first = next(iter(grids), None)
    for name, grid in grids.items():
        if grid != grids[first]:
            raise InvalidDataError(
                f"{name} of {folder} ({shown[name]}, {grid[0]}) is not on the grid of {first} "
                f"({shown[first]}, {grids[first][0]}): rebuild the scene"
            )


def load_scene(folder: Path, aoi: AOI | None = None, bands: tuple[str, ...] = RGB_BANDS) -> Scene:
    """Read a scene folder (or its AOI part) into memory.

    Args:
        folder: a scene folder (see :mod:`lulc_core.data.scene`).
        aoi: optional WGS84 area to clip to.
        bands: bands in the channel order wanted (default B04, B03, B02).

    Returns:
        A :class:`Scene` with float32 reflectance (NaN = no data).

    Raises:
        DataNotFoundError: the folder, a band or the SCL file is missing.
        InvalidDataError: a file is unreadable, or the bands and labels differ in grid.
        AOIError: the AOI does not overlap the scene.
    """
    manifest = read_manifest(folder)
    for band in (*bands, "SCL"):
        if not (folder / BAND_FILES[band]).is_file():
            what = "the Scene Classification Layer (SCL)" if band == "SCL" else f"band {band}"
            raise DataNotFoundError(
                f"{folder} has no {BAND_FILES[band]} ({what}): fetch the scene again with "
                "'lulc fetch sentinel2' or rebuild it with 'lulc demo-data'"
            )
    check_grid(folder, bands)
    channels = []
    with _open(folder / BAND_FILES[bands[0]]) as ref:
        window = aoi_window(ref, aoi)
        transform = ref.window_transform(window)
        crs = ref.crs
        height, width = int(window.height), int(window.width)
    for band in bands:
        with _open(folder / BAND_FILES[band]) as src:
            channels.append(read_reflectance(src, window))
    scl = _read_scl_on_grid(folder / BAND_FILES["SCL"], crs, transform, width, height)
    labels = None
    if (folder / LABELS_RASTER).is_file():
        with _open(folder / LABELS_RASTER) as src:
            labels = src.read(1, window=window)
    return Scene(np.stack(channels), scl, labels, tuple(bands), crs.to_string(), transform, manifest)


# --------------------------------------------------------------------------- writing scenes


def _write_band(path: Path, data: np.ndarray, crs, transform, nodata: int, name: str,
                scale: float | None, offset: float | None) -> None:
    import rasterio

    with rasterio.open(
        path, "w", driver="COG", width=data.shape[1], height=data.shape[0], count=1,
        dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata, compress="deflate",
        predictor=2, blocksize=512, BIGTIFF="IF_SAFER",
        overview_resampling="nearest" if name == "SCL" else "average",
    ) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, name)
        if scale is not None:
            dst.scales, dst.offsets = (scale,), (offset or 0.0,)


def write_scene(
    sources: dict[str, str | Path],
    out: Path,
    aoi: AOI | None,
    manifest: SceneManifest,
    offset: float = 0.0,
    scale: float = L2A_SCALE,
) -> Path:
    """Clip per-band rasters to an AOI and write them as a scene folder (atomically).

    Args:
        sources: band name -> path or GDAL URL (``B02``, ``B03``, ``B04`` ... and ``SCL``).
        out: scene folder to write (replaced atomically).
        aoi: WGS84 area to keep (None = everything).
        manifest: provenance; ``bands`` and ``crs`` are filled in here.
        offset, scale: reflectance = DN * scale + offset for the optical bands.

    Raises:
        DataNotFoundError: no SCL among the sources.
        AOIError: the AOI misses the rasters.
    """
    from lulc_core.artifacts import atomic_dir

    if "SCL" not in sources:
        raise DataNotFoundError(
            "the product has no Scene Classification Layer (SCL): use an L2A product, not L1C"
        )
    optical = sorted(b for b in sources if b != "SCL")
    with _open(sources[optical[0]]) as ref:
        window = aoi_window(ref, aoi)
        crs, transform = ref.crs, ref.window_transform(window)
        height, width = int(window.height), int(window.width)
    with atomic_dir(out) as tmp:
        for band in optical:
            with _open(sources[band]) as src:
                if src.res != ref.res or src.crs != crs:
                    raise InvalidDataError(
                        f"{band} is not on the 10 m grid of {optical[0]}: give 10 m bands only"
                    )
                dn = src.read(1, window=aoi_window(src, aoi))
            _write_band(tmp / BAND_FILES[band], dn.astype(np.uint16), crs, transform, 0, band,
                        scale, offset)
        with _open(sources["SCL"]) as scl_src:
            scl_window = aoi_window(scl_src, aoi)
            scl = scl_src.read(1, window=scl_window)
            scl_transform = scl_src.window_transform(scl_window)
            if scl_src.crs != crs:
                raise InvalidDataError("SCL and the bands are in different CRSs: use one product")
        _write_band(tmp / BAND_FILES["SCL"], scl.astype(np.uint8), crs, scl_transform, 0, "SCL",
                    None, None)
        from rasterio.warp import transform_bounds

        bounds = transform_bounds(crs, "EPSG:4326", *rasterio_bounds(transform, width, height))
        manifest = manifest.model_copy(update={
            "bands": optical, "crs": crs.to_string(), "bounds_wgs84": tuple(bounds),
            "created": manifest.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
    return out


def rasterio_bounds(transform, width: int, height: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a north-up grid."""
    return (transform.c, transform.f + transform.e * height, transform.c + transform.a * width,
            transform.f)


# --------------------------------------------------------------------------- SAFE


def safe_band_paths(safe: Path) -> dict[str, Path]:
    """Find B02/B03/B04 (R10m) and SCL (R20m) JP2 files in a SAFE product folder.

    Raises:
        DataNotFoundError: the folder is not an L2A SAFE product or a file is missing.
    """
    granules = sorted(safe.glob("GRANULE/*/IMG_DATA"))
    if not granules:
        raise DataNotFoundError(
            f"{safe} is not a Sentinel-2 SAFE folder (no GRANULE/*/IMG_DATA): unzip the .SAFE "
            "product and pass its folder"
        )
    img = granules[0]
    paths: dict[str, Path] = {}
    for band in ("B02", "B03", "B04"):
        found = sorted(img.glob(f"R10m/*_{band}_10m.jp2"))
        if not found:
            raise DataNotFoundError(f"{img}/R10m has no *_{band}_10m.jp2: the product is incomplete")
        paths[band] = found[0]
    scl = sorted(img.glob("R20m/*_SCL_20m.jp2"))
    if scl:
        paths["SCL"] = scl[0]
    return paths


def safe_offset(safe: Path) -> tuple[float, float]:
    """(offset, scale) for reflectance from ``MTD_MSIL2A.xml`` (baseline >= 04.00 offset)."""
    mtd = next(iter(sorted(safe.glob("MTD_MSIL2A.xml"))), None)
    if mtd is None:
        return 0.0, L2A_SCALE
    try:
        text = mtd.read_text(encoding="utf-8")
        root = ET.fromstring(text)
    except (ET.ParseError, UnicodeDecodeError):
        raise InvalidDataError(f"{mtd} is not valid XML: re-download the product") from None
    quant = next((float(e.text) for e in root.iter() if e.tag.endswith("BOA_QUANTIFICATION_VALUE")
                  and e.text), 10000.0)
    offsets = [float(e.text) for e in root.iter() if e.tag.endswith("BOA_ADD_OFFSET") and e.text]
    return (offsets[0] / quant if offsets else 0.0), 1.0 / quant


def import_safe(safe: Path, out: Path, aoi: AOI | None = None, city: str | None = None) -> Path:
    """Turn a SAFE L2A product (folder) into a scene folder clipped to ``aoi``."""
    paths = safe_band_paths(safe)
    offset, scale = safe_offset(safe)
    baseline = re.search(r"_N(\d{4})_", safe.name)
    manifest = SceneManifest(
        name=out.name, city=city, bounds_wgs84=(0, 0, 0, 0), crs="",
        bands=[], synthetic=False, source="safe",
        items=[{"id": safe.name.removesuffix(".SAFE"),
                "processing_baseline": baseline.group(1) if baseline else None}],
    )
    return write_scene({k: str(v) for k, v in paths.items()}, out, aoi, manifest, offset, scale)


def import_cogs(bands: dict[str, str | Path], out: Path, aoi: AOI | None = None,
                offset: float = BASELINE_04_OFFSET, city: str | None = None) -> Path:
    """Turn per-band GeoTIFF/COG files (as STAC catalogues serve them) into a scene folder."""
    manifest = SceneManifest(
        name=out.name, city=city, bounds_wgs84=(0, 0, 0, 0), crs="",
        bands=[], synthetic=False, source="cog",
        items=[{"id": Path(str(p)).name, "band": b} for b, p in bands.items()],
    )
    return write_scene({k: str(v) for k, v in bands.items()}, out, aoi, manifest, offset)
