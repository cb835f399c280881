"""Sentinel-2 readers: SAFE products, folders of band GeoTIFFs, and local scene folders.

Every source is turned into the local scene layout (:mod:`lulc_core.data.scene`) by
:func:`write_scene`; :func:`load_scene` reads a scene folder (optionally clipped to an AOI) into
reflectance arrays on the 10 m grid, with SCL (when the scene has one) resampled by nearest
neighbour.

We keep the DN as delivered and store the scale/offset, decided once per product by
:mod:`lulc_core.data.reflectance`, in each band's GDAL metadata and in the manifest, so nothing
is lost and readers apply it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lulc_core.data.reflectance import (
    DN_SCALE,
    ProductInfo,
    band_files_product,
    safe_product,
)
from lulc_core.data.scene import (
    BAND_FILES,
    LABELS_RASTER,
    MANIFEST,
    RGB_BANDS,
    SceneManifest,
    read_manifest,
)
from lulc_core.errors import DataNotFoundError, InvalidDataError
from lulc_core.geo import AOI, aoi_window

OPTICAL_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")  # 10 m bands a scene may hold


@dataclass
class Scene:
    """A scene (or an AOI of it) in memory on the 10 m grid.

    Attributes:
        image: float32 (C, H, W) reflectance (surface for L2A, top of atmosphere for L1C),
            NaN where there is no data.
        scl: uint8 (H, W) Scene Classification Layer (0 = no data), or None when the scene has
            no cloud mask (``manifest.cloud_mask`` False).
        labels: uint8 (H, W) Urban Atlas index (0 background) or None when not imported.
        bands: band names in channel order.
        crs: CRS as a string (``EPSG:32631``).
        transform: affine transform of pixel (0, 0).
        manifest: provenance of the scene folder.
    """

    image: np.ndarray
    scl: np.ndarray | None
    labels: np.ndarray | None
    bands: tuple[str, ...]
    crs: str
    transform: object
    manifest: SceneManifest


def open_raster(path: Path | str):
    """``rasterio.open`` with unreadable files as :class:`InvalidDataError`."""
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

    with open_raster(scl_path) as src, WarpedVRT(
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
    scale = src.scales[0] if src.scales and src.scales[0] else DN_SCALE
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
        with open_raster(folder / name) as src:
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
        A :class:`Scene` with float32 reflectance (NaN = no data); ``scl`` is None when the
        scene has no cloud mask.

    Raises:
        DataNotFoundError: the folder, a band or the SCL file its manifest promises is missing.
        InvalidDataError: a file is unreadable, or the bands and labels differ in grid.
        AOIError: the AOI does not overlap the scene.
    """
    manifest = read_manifest(folder)
    for band in (*bands, *(("SCL",) if manifest.cloud_mask else ())):
        if not (folder / BAND_FILES[band]).is_file():
            what = "the Scene Classification Layer (SCL)" if band == "SCL" else f"band {band}"
            raise DataNotFoundError(
                f"{folder} has no {BAND_FILES[band]} ({what}): fetch the scene again with "
                "'lulc fetch sentinel2' or rebuild it with 'lulc demo-data'"
            )
    check_grid(folder, bands)
    channels = []
    with open_raster(folder / BAND_FILES[bands[0]]) as ref:
        window = aoi_window(ref, aoi)
        transform = ref.window_transform(window)
        crs = ref.crs
        height, width = int(window.height), int(window.width)
    for band in bands:
        with open_raster(folder / BAND_FILES[band]) as src:
            channels.append(read_reflectance(src, window))
    scl = (_read_scl_on_grid(folder / BAND_FILES["SCL"], crs, transform, width, height)
           if manifest.cloud_mask else None)
    labels = None
    if (folder / LABELS_RASTER).is_file():
        with open_raster(folder / LABELS_RASTER) as src:
            labels = src.read(1, window=window)
    return Scene(np.stack(channels), scl, labels, tuple(bands), crs.to_string(), transform, manifest)


# --------------------------------------------------------------------------- writing scenes


def write_scene(
    sources: dict[str, str | Path],
    out: Path,
    aoi: AOI | None,
    manifest: SceneManifest,
) -> Path:
    """Clip per-band rasters to an AOI and write them as a scene folder (atomically).

    Args:
        sources: band name -> path or GDAL URL (``B02``, ``B03``, ``B04`` [``B08``] [``SCL``]).
        out: scene folder to write (replaced atomically; nothing is left on error).
        aoi: WGS84 area to keep (None = everything).
        manifest: provenance with ``reflectance`` decided; ``bands``, ``crs``, ``bounds_wgs84``
            and ``cloud_mask`` are filled in here.

    Raises:
        DataNotFoundError: B02, B03 or B04 missing.
        InvalidDataError: the bands are not on one grid, or SCL is in another CRS.
        AOIError: the AOI misses the rasters.
    """
    from rasterio.transform import array_bounds
    from rasterio.warp import transform_bounds

    from lulc_core.files import atomic_dir, write_cog

    if manifest.reflectance is None:
        raise TypeError("write_scene needs manifest.reflectance (see lulc_core.data.reflectance)")
    missing = [b for b in RGB_BANDS if b not in sources]
    if missing:
        raise DataNotFoundError(
            f"no {', '.join(sorted(missing))} among the bands given ({', '.join(sorted(sources))}):"
            " a scene needs B02, B03 and B04"
        )
    optical = [b for b in OPTICAL_BANDS if b in sources]
    with open_raster(sources[optical[0]]) as ref:
        window = aoi_window(ref, aoi)
        crs, transform = ref.crs, ref.window_transform(window)
        height, width = int(window.height), int(window.width)
        grid = (ref.crs, ref.transform, ref.width, ref.height)
        described = f"{ref.width}x{ref.height} px of {ref.res[0]:g} m at {ref.bounds.left:.0f}, "\
                    f"{ref.bounds.top:.0f} ({ref.crs})"
    for band in optical[1:]:  # before anything is written
        with open_raster(sources[band]) as src:
            if (src.crs, src.transform, src.width, src.height) != grid:
                raise InvalidDataError(
                    f"{band} ({src.width}x{src.height} px of {src.res[0]:g} m at "
                    f"{src.bounds.left:.0f}, {src.bounds.top:.0f}, {src.crs}) is not on the grid "
                    f"of {optical[0]} ({described}): give the 10 m bands of one product"
                )
    refl = manifest.reflectance
    with atomic_dir(out) as tmp:
        for band in optical:
            with open_raster(sources[band]) as src:
                dn = src.read(1, window=window)
            write_cog(tmp / BAND_FILES[band], dn.astype(np.uint16), crs, transform, nodata=0,
                      description=band, categorical=False, scale=refl.scale, offset=refl.offset)
        if "SCL" in sources:
            with open_raster(sources["SCL"]) as scl_src:
                if scl_src.crs != crs:
                    raise InvalidDataError(
                        "SCL and the bands are in different CRSs: use the SCL of the same product"
                    )
                scl_window = aoi_window(scl_src, aoi)
                scl = scl_src.read(1, window=scl_window)
                scl_transform = scl_src.window_transform(scl_window)
            write_cog(tmp / BAND_FILES["SCL"], scl.astype(np.uint8), crs, scl_transform, nodata=0,
                      description="SCL", categorical=True)
        bounds = transform_bounds(crs, "EPSG:4326", *array_bounds(height, width, transform))
        manifest = manifest.model_copy(update={
            "bands": optical, "crs": crs.to_string(), "bounds_wgs84": tuple(bounds),
            "cloud_mask": "SCL" in sources,
            "created": manifest.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
    return out


def product_manifest(out: Path, product: ProductInfo, source: str, items: list[dict],
                     city: str | None = None, site: str | None = None,
                     attribution: str | None = None) -> SceneManifest:
    """The manifest of a real product's scene before :func:`write_scene` fills in the grid."""
    return SceneManifest(
        name=out.name, city=city, bounds_wgs84=(0, 0, 0, 0), crs="", bands=[], synthetic=False,
        source=source, items=items, level=product.level,
        processing_baseline=product.baseline, acquired=product.acquired,
        reflectance=product.reflectance, site=site, attribution=attribution,
    )


# --------------------------------------------------------------------------- SAFE


def safe_band_paths(safe: Path) -> dict[str, Path]:
    """Find B02/B03/B04 (L2A ``R10m/*_B02_10m.jp2``, L1C ``*_B02.jp2``) and SCL (L2A
    ``R20m``, when present) in a SAFE product folder.

    Raises:
        DataNotFoundError: the folder is not a SAFE product or a band is missing.
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
        found = sorted(img.glob(f"R10m/*_{band}_10m.jp2")) or sorted(img.glob(f"*_{band}.jp2"))
        if not found:
            raise DataNotFoundError(
                f"{img} has no {band} (R10m/*_{band}_10m.jp2 or *_{band}.jp2): the product is "
                "incomplete"
            )
        paths[band] = found[0]
    scl = sorted(img.glob("R20m/*_SCL_20m.jp2"))
    if scl:
        paths["SCL"] = scl[0]
    return paths


def import_safe(safe: Path, out: Path, aoi: AOI | None = None, city: str | None = None,
                offset: float | None = None, baseline: str | None = None,
                site: str | None = None) -> Path:
    """Turn a SAFE product folder (L2A or L1C) into a scene folder clipped to ``aoi``.

    ``offset`` / ``baseline`` override what the product's metadata says (see
    :mod:`lulc_core.data.reflectance`).
    """
    paths = safe_band_paths(safe)
    product = safe_product(safe, offset, baseline)
    items = [{"id": safe.name.removesuffix(".SAFE"), "processing_baseline": product.baseline}]
    manifest = product_manifest(out, product, "safe", items, city, site)
    return write_scene({k: str(v) for k, v in paths.items()}, out, aoi, manifest)


# --------------------------------------------------------------------------- band GeoTIFFs

# B04.tif, T31UDQ_20190708T105621_B04_10m.tif, 2019-07-08_S2A_orbit_094_tile_31UDQ_L2A_band_B04.tif
_BAND_IN_NAME = re.compile(r"(?:^|[_.-])(B0[2348]|SCL)(?:_[126]0m)?$", re.IGNORECASE)


def band_folder_sources(folder: Path, acquired: str | None = None) -> dict[str, Path]:
    """The band GeoTIFFs of one date in a folder: B02, B03, B04, and B08 / SCL when present.

    File names are ``B04.tif`` or carry the band at the end, as delivered by download tools
    (``2019-07-08_S2A_orbit_094_tile_31UDQ_L2A_band_B04.tif``); a date in the name groups
    files by acquisition, so one folder may hold several dates.

    Args:
        folder: the folder.
        acquired: the date to take (``YYYY-MM-DD``); needed when the folder holds several.

    Raises:
        DataNotFoundError: no band files, a band missing, or no files of ``acquired``.
        InvalidDataError: several dates and none chosen, or two files for one band.
    """
    from lulc_core.data.reflectance import date_in

    if not folder.is_dir():
        raise DataNotFoundError(
            f"{folder} is not a folder: give a .SAFE product folder or a folder of band GeoTIFFs"
        )
    by_date: dict[str, dict[str, list[Path]]] = {}
    for f in sorted(folder.iterdir()):
        m = _BAND_IN_NAME.search(f.stem)
        if f.suffix.lower() in (".tif", ".tiff") and m:
            by_date.setdefault(date_in(f.stem) or "undated", {}).setdefault(
                m.group(1).upper(), []).append(f)
    if not by_date:
        raise DataNotFoundError(
            f"{folder} is neither a .SAFE folder nor holds band GeoTIFFs (B02.tif, B03.tif, "
            "B04.tif or names ending in _B04.tif): point at the folder with the band files"
        )
    dates = ", ".join(sorted(by_date))
    if acquired is not None:
        wanted = date_in(acquired)
        if wanted is None or wanted not in by_date:
            raise DataNotFoundError(
                f"no band files of {acquired!r} in {folder} (dates there: {dates}): pass one of "
                "them with --date"
            )
        bands = by_date[wanted]
    elif len(by_date) > 1:
        raise InvalidDataError(
            f"{folder} holds {len(by_date)} dates ({dates}): choose one with --date YYYY-MM-DD"
        )
    else:
        wanted, bands = next(iter(by_date.items()))
    doubled = {b: fs for b, fs in bands.items() if len(fs) > 1}
    if doubled:
        band, files = next(iter(doubled.items()))
        raise InvalidDataError(
            f"{len(files)} files for {band} of {wanted} in {folder} "
            f"({', '.join(f.name for f in files)}): keep one product per folder"
        )
    missing = [b for b in RGB_BANDS if b not in bands]
    if missing:
        raise DataNotFoundError(
            f"{folder} has {', '.join(sorted(bands))} but no {', '.join(sorted(missing))} for "
            f"{wanted}: a scene needs B02, B03 and B04"
        )
    return {b: fs[0] for b, fs in sorted(bands.items())}


def import_cogs(bands: dict[str, str | Path], out: Path, aoi: AOI | None = None,
                offset: float | None = None, baseline: str | None = None,
                city: str | None = None, site: str | None = None,
                attribution: str | None = None) -> Path:
    """Turn per-band GeoTIFF/COG files of one product into a scene folder.

    Reflectance comes from the files' metadata (:func:`~lulc_core.data.reflectance.
    band_files_product`) unless ``offset`` / ``baseline`` say it explicitly.

    Raises:
        InvalidDataError: nothing tells the reflectance offset, or the bands disagree.
    """
    product = band_files_product({b: Path(str(p)) for b, p in bands.items()}, offset, baseline)
    items = [{"id": product.product_id or Path(str(p)).name, "band": b, "file": Path(str(p)).name}
             for b, p in bands.items()]
    manifest = product_manifest(out, product, "geotiff", items, city, site, attribution)
    return write_scene({k: str(v) for k, v in bands.items()}, out, aoi, manifest)


def import_band_folder(folder: Path, out: Path, aoi: AOI | None = None,
                       acquired: str | None = None, offset: float | None = None,
                       baseline: str | None = None, city: str | None = None,
                       site: str | None = None, attribution: str | None = None) -> Path:
    """Import one date of a folder of band GeoTIFFs (:func:`band_folder_sources`) as a scene."""
    return import_cogs(band_folder_sources(folder, acquired), out, aoi, offset, baseline, city,
                       site, attribution)
