"""European Urban Atlas land-use polygons: read (zip or GeoPackage), reproject, rasterize.

Official files come per functional urban area as a zip holding a GeoPackage in EPSG:3035 with
the class code in ``code_2018`` (UA2018) or ``code_2021`` (UA2021, whose 14110/14120/14130 map
to 14100). Rasterizing burns the legend index (1..27, 0 = background) onto the scene's exact
10 m grid, so labels and imagery align pixel for pixel.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from lulc_core.classes import index_for_codes
from lulc_core.data.scene import BAND_FILES, LABELS_RASTER, LABELS_VECTOR
from lulc_core.errors import DataNotFoundError, InvalidDataError

CODE_COLUMNS = ("code_2018", "code_2021")


def _gpkg_source(path: Path) -> str:
    """A path GDAL can open: the GeoPackage itself, or the one inside an official zip."""
    if not path.is_file():
        raise DataNotFoundError(f"{path} does not exist: download the Urban Atlas zip for the city")
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            inner = [n for n in zf.namelist() if n.lower().endswith(".gpkg")]
    except (zipfile.BadZipFile, OSError):
        raise InvalidDataError(f"{path} is not a readable zip: download it again") from None
    if bad is not None:
        raise InvalidDataError(f"{path} is corrupted ({bad} fails its CRC): download it again")
    if not inner:
        raise InvalidDataError(f"{path} holds no .gpkg: pass the official Urban Atlas zip")
    return f"/vsizip/{path}/{inner[0]}"


def read_urban_atlas(path: Path, bbox_3035: tuple[float, float, float, float] | None = None):
    """Read Urban Atlas polygons with a ``code`` column of UA2018 codes and valid geometries.

    Args:
        path: the official zip or the GeoPackage.
        bbox_3035: optional (minx, miny, maxx, maxy) in EPSG:3035 to read only part.

    Returns:
        GeoDataFrame with columns ``code`` (int, 2018 nomenclature), ``index`` (1..27), geometry.

    Raises:
        InvalidDataError: no code column, unknown codes (all listed), unreadable file.
    """
    import geopandas as gpd
    import pyogrio
    from pyogrio.errors import DataSourceError

    src = _gpkg_source(path)
    try:
        layers = [name for name, geom in pyogrio.list_layers(src) if geom]
        gdf = gpd.read_file(src, layer=layers[0] if layers else None, bbox=bbox_3035)
    except (DataSourceError, IndexError):
        raise InvalidDataError(f"{path} is not a readable GeoPackage: download it again") from None
    column = next((c for c in CODE_COLUMNS if c in gdf.columns), None)
    if column is None:
        raise InvalidDataError(
            f"{path} has no code_2018 or code_2021 column (columns: {list(gdf.columns)}): "
            "pass an official Urban Atlas 2018 or 2021 GeoPackage"
        )
    codes = gdf[column].astype("int64").tolist()
    gdf = gdf.assign(code=codes, index=index_for_codes(codes))[["code", "index", "geometry"]]
    if gdf.crs is None:
        raise InvalidDataError(f"{path} has no CRS: Urban Atlas files are in EPSG:3035")
    invalid = ~gdf.geometry.is_valid
    if invalid.any():  # Urban Atlas ships self-intersections now and then; repair, don't drop
        gdf.loc[invalid, "geometry"] = gdf.geometry[invalid].make_valid()
    return gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]


def rasterize_labels(gdf, crs, transform, shape: tuple[int, int]) -> np.ndarray:
    """Burn legend indices onto a grid: uint8 (H, W), 0 where no polygon.

    Raises:
        InvalidDataError: the polygons do not overlap the grid at all (wrong city or CRS).
    """
    from rasterio.features import rasterize

    projected = gdf.to_crs(crs)
    labels = rasterize(
        zip(projected.geometry, projected["index"]), out_shape=shape, transform=transform,
        fill=0, dtype="uint8",
    )
    if not labels.any():
        raise InvalidDataError(
            "the Urban Atlas polygons do not overlap the scene: check that file and scene "
            "cover the same city"
        )
    return labels


def import_urban_atlas(path: Path, scene: Path) -> dict[str, float]:
    """Import Urban Atlas polygons into a scene folder: ``labels.gpkg`` and ``labels.tif``.

    Returns:
        {"polygons": n, "coverage": share of scene pixels with a class}.
    """
    import rasterio
    from rasterio.warp import transform_bounds

    from lulc_core.artifacts import atomic_path

    band = scene / BAND_FILES["B02"]
    if not band.is_file():
        raise DataNotFoundError(f"{scene} has no B02.tif: fetch or build the scene first")
    with rasterio.open(band) as ref:
        crs, transform, shape = ref.crs, ref.transform, ref.shape
        bbox = transform_bounds(crs, "EPSG:3035", *ref.bounds)
    gdf = read_urban_atlas(path, bbox)
    labels = rasterize_labels(gdf, crs, transform, shape)
    with atomic_path(scene / LABELS_VECTOR) as tmp:
        gdf.rename(columns={"code": "code_2018"}).to_file(tmp, driver="GPKG", layer="urban_atlas")
    with atomic_path(scene / LABELS_RASTER) as tmp, rasterio.open(
        tmp, "w", driver="COG", width=shape[1], height=shape[0], count=1, dtype="uint8",
        crs=crs, transform=transform, compress="deflate", blocksize=512,
        overview_resampling="nearest",
    ) as dst:
        dst.write(labels, 1)
        dst.set_band_description(1, "urban_atlas_index")
    return {"polygons": float(len(gdf)), "coverage": float((labels > 0).mean())}
