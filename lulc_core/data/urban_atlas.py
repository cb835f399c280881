"""European Urban Atlas land-use polygons: read (zip, GeoPackage or FileGDB), reproject, rasterize.

Files come per functional urban area as a zip, in EPSG:3035, as delivered: UA2018 / UA2021 hold
a GeoPackage with the class code in ``code_2018`` / ``code_2021`` (UA2021's 14110/14120/14130
map to 14100); UA2012 holds an ESRI File Geodatabase (``.gdb`` folder) with several layers, the
code as text in ``CODE2012``, change layers (``CODE2006`` and ``CODE2012``) and a boundary layer
without codes. The land-use layer is the one with exactly one such code column. Polygons with
no code or a code outside the legend are left out and counted; rasterizing burns the legend
index (1..27, 0 = background) onto the scene's exact 10 m grid, so labels and imagery align
pixel for pixel.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lulc_core.classes import index_for_code, urban_atlas_classes
from lulc_core.data.scene import BAND_FILES, LABELS_RASTER, LABELS_VECTOR
from lulc_core.errors import DataNotFoundError, InvalidDataError

if TYPE_CHECKING:
    import geopandas as gpd

# code_2018, CODE_2021, CODE2012, ...: the edition is the year. A layer with two such columns
# (CODE2006 and CODE2012) is a change layer, not a land-use status layer.
CODE_COLUMN = re.compile(r"code_?(\d{4})", re.IGNORECASE)
EDITIONS = (2012, 2018, 2021)  # nomenclature of our legend (see lulc_core.classes)
COLUMNS_HINT = "code_2018, code_2021 or CODE2012"


@dataclass(frozen=True)
class UrbanAtlasLayer:
    """The land-use layer read from an Urban Atlas file.

    Attributes:
        name: layer name, e.g. ``DK001L2_KOBENHAVN_UA2012``.
        column: its code column, e.g. ``CODE2012``.
        polygons: GeoDataFrame (EPSG:3035) with ``code`` (int, 2018 legend code), ``index``
            (1..27) and valid geometries: only the polygons with a usable code.
        null_codes: polygons left out because their code is empty.
        unknown_codes: polygons left out because their code is not in the legend, per code.
    """

    name: str
    column: str
    polygons: gpd.GeoDataFrame
    null_codes: int
    unknown_codes: dict[str, int]

    def left_out(self) -> str:
        """The polygons left out, in words ("" when none was)."""
        parts = [f"{self.null_codes} without a code"] if self.null_codes else []
        if self.unknown_codes:
            codes = ", ".join(f"{code} x{n}" for code, n in self.unknown_codes.items())
            parts.append(f"{sum(self.unknown_codes.values())} with codes not in the Urban Atlas "
                         f"legend ({codes})")
        return " and ".join(parts)


@dataclass(frozen=True)
class UrbanAtlasImport:
    """What :func:`import_urban_atlas` wrote: the ``layer`` it read and the ``coverage``
    (share of scene pixels with a class, 0..1)."""

    layer: UrbanAtlasLayer
    coverage: float

    def summary(self) -> str:
        """One line for the user, e.g. "19 polygons from layer X (CODE2012), 30.2% of ..."."""
        layer = self.layer
        line = (f"{len(layer.polygons)} polygons from layer {layer.name} ({layer.column}), "
                f"{self.coverage:.1%} of the scene labelled")
        left_out = layer.left_out()
        return f"{line}; left out: {left_out}" if left_out else line


def _datasets(path: Path) -> list[str]:
    """Paths GDAL can open: the file or ``.gdb`` folder itself, or each GeoPackage and File
    Geodatabase inside a zip (read in place through ``/vsizip/``).

    Raises:
        DataNotFoundError: no such file.
        InvalidDataError: the zip is unreadable, corrupted or holds neither.
    """
    if not path.exists():
        raise DataNotFoundError(f"{path} does not exist: download the Urban Atlas zip for the city")
    if path.suffix.lower() != ".zip":
        return [str(path)]
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        raise InvalidDataError(f"{path} is not a readable zip: download it again") from None
    if bad is not None:
        raise InvalidDataError(f"{path} is corrupted ({bad} fails its CRC): download it again")
    inner = {n for n in names if n.lower().endswith(".gpkg")}
    for name in names:  # a FileGDB is a folder: "<x>.gdb/a00000001.gdbtable", ...
        parts = name.split("/")
        ends = [i for i, part in enumerate(parts[:-1]) if part.lower().endswith(".gdb")]
        inner |= {"/".join(parts[: ends[0] + 1])} if ends else set()
    if not inner:
        raise InvalidDataError(
            f"{path} holds no .gpkg or .gdb: pass the official Urban Atlas zip"
        )
    return [f"/vsizip/{path.absolute()}/{name}" for name in sorted(inner)]


def _land_use_layer(path: Path) -> tuple[str, str, str]:
    """Find the land-use layer: the newest edition's layer with exactly one code column.

    Returns:
        (dataset, layer, code column).

    Raises:
        InvalidDataError: unreadable file, or no layer has a code column.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    candidates, seen = [], []
    try:
        for dataset in _datasets(path):
            for name, geometry in pyogrio.list_layers(dataset):
                seen.append(str(name))
                fields = pyogrio.read_info(dataset, layer=name)["fields"] if geometry else []
                codes = [(int(m[1]), f) for f in fields if (m := CODE_COLUMN.fullmatch(f))]
                if len(codes) == 1 and codes[0][0] in EDITIONS:
                    edition, column = codes[0]
                    candidates.append((edition, -len(candidates), dataset, str(name), column))
    except (DataSourceError, DataLayerError):
        raise InvalidDataError(
            f"{path} is not a readable GeoPackage or File Geodatabase: download it again"
        ) from None
    if not candidates:
        raise InvalidDataError(
            f"{path} has no {COLUMNS_HINT} column in any land-use layer (layers: "
            f"{', '.join(seen) or 'none'}): pass an official Urban Atlas 2012, 2018 or 2021 file"
        )
    _, _, dataset, name, column = max(candidates)  # newest edition, then first in the file
    return dataset, name, column


def read_urban_atlas(
    path: Path, bbox_3035: tuple[float, float, float, float] | None = None
) -> UrbanAtlasLayer:
    """Read the land-use layer of an Urban Atlas file, its codes mapped to the 2018 legend.

    Args:
        path: the official zip, a GeoPackage or a ``.gdb`` folder.
        bbox_3035: optional (minx, miny, maxx, maxy) in EPSG:3035 to read only part; the
            counts of left-out polygons are then for that part.

    Returns:
        The layer with its usable polygons and the counts of those left out.

    Raises:
        InvalidDataError: no code column, no polygon (in the box) or none with a usable code,
            no CRS, unreadable file.
    """
    import geopandas as gpd
    from pyogrio.errors import DataLayerError, DataSourceError
    from shapely.geometry import box

    dataset, layer, column = _land_use_layer(path)
    # A GeoSeries bbox is reprojected to the file's own CRS by geopandas: a tuple would be taken
    # in the file's CRS, and a GeoPackage that is not in EPSG:3035 would then miss the scene.
    bbox = None if bbox_3035 is None else gpd.GeoSeries([box(*bbox_3035)], crs="EPSG:3035")
    try:
        gdf = gpd.read_file(dataset, layer=layer, columns=[column], bbox=bbox)
    except (DataSourceError, DataLayerError):
        raise InvalidDataError(f"cannot read layer {layer} of {path}: download it again") from None
    if gdf.crs is None:
        raise InvalidDataError(f"{path} has no CRS: Urban Atlas files are in EPSG:3035")
    where = " over the scene" if bbox_3035 else ""
    if gdf.empty:
        raise InvalidDataError(
            f"layer {layer} of {path} has no polygons{where}: check that file and scene cover "
            "the same city"
        )
    index = gdf[column].map(index_for_code)
    usable = index.notna()
    rejected = gdf.loc[~usable, column].astype("string").str.strip()
    null = rejected.isna() | (rejected == "")
    unknown = {str(code): int(n) for code, n in rejected[~null].value_counts().items()}
    if not usable.any():
        raise InvalidDataError(
            f"none of the {len(gdf)} polygons{where} in layer {layer} of {path} has an Urban "
            f"Atlas code in {column} ({int(null.sum())} empty, unknown: "
            f"{', '.join(unknown) or 'none'}): pass an official Urban Atlas 2012, 2018 or 2021 file"
        )
    codes = [c.code for c in urban_atlas_classes()]
    index = index[usable].astype("int64")
    polygons = gpd.GeoDataFrame(
        {"code": [codes[i - 1] for i in index], "index": index},
        geometry=gdf.geometry[usable], crs=gdf.crs,
    )
    invalid = ~polygons.geometry.is_valid
    if invalid.any():  # Urban Atlas ships self-intersections now and then; repair, don't drop
        polygons.loc[invalid, "geometry"] = polygons.geometry[invalid].make_valid()
    polygons = polygons[~polygons.geometry.is_empty & polygons.geometry.notna()]
    return UrbanAtlasLayer(layer, column, polygons, int(null.sum()), unknown)


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


def import_urban_atlas(path: Path, scene: Path) -> UrbanAtlasImport:
    """Import Urban Atlas polygons into a scene folder: ``labels.gpkg`` and ``labels.tif``.

    Nothing is written unless the import succeeds (both files are replaced atomically).

    Returns:
        The layer read (with the counts of polygons left out) and the share of scene pixels
        labelled.
    """
    import rasterio
    from rasterio.warp import transform_bounds

    from lulc_core.files import atomic_path, write_cog

    band = scene / BAND_FILES["B02"]
    if not band.is_file():
        raise DataNotFoundError(f"{scene} has no B02.tif: fetch or build the scene first")
    with rasterio.open(band) as ref:
        crs, transform, shape = ref.crs, ref.transform, ref.shape
        bbox = transform_bounds(crs, "EPSG:3035", *ref.bounds)
    layer = read_urban_atlas(path, bbox)
    labels = rasterize_labels(layer.polygons, crs, transform, shape)
    with atomic_path(scene / LABELS_VECTOR) as tmp:
        layer.polygons.rename(columns={"code": "code_2018"}).to_file(
            tmp, driver="GPKG", layer="urban_atlas")
    write_cog(scene / LABELS_RASTER, labels, crs, transform,
              description="urban_atlas_index", categorical=True)
    return UrbanAtlasImport(layer, float((labels > 0).mean()))
