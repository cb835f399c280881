"""A local scene folder: the one on-disk form that every imagery source is turned into.

Layout (``<data>/scenes/<name>/``)::

    B02.tif B03.tif B04.tif   COG, uint16 digital numbers as delivered, nodata 0, 10 m, scene CRS
                              (UTM). reflectance = DN * scale + offset; scale/offset are decided
                              once at import (lulc_core.data.reflectance) and stored in each
                              band's GDAL metadata (rasterio ``scales`` / ``offsets``) and in the
                              manifest with how they were decided.
    SCL.tif                   optional (L2A only): COG, uint8 Scene Classification Layer at 20 m,
                              same CRS; read onto the 10 m grid with nearest-neighbour
                              resampling. Without it the scene maps but has no cloud mask.
    labels.gpkg               optional: Urban Atlas polygons as imported (EPSG:3035).
    labels.tif                optional: those polygons rasterized on the exact grid of B02
                              (uint8: 0 background, 1..27 Urban Atlas index, see lulc_core.classes).
    manifest.json             :class:`SceneManifest`: where the data came from, synthetic or not.

Fetchers (STAC), readers (SAFE, COGs) and the demo builder all write this layout; the patch
builder, scene prediction and the dashboard all read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from lulc_core.config import StrictModel, safe_name, scenes_dir
from lulc_core.errors import DataNotFoundError, InvalidDataError

RGB_BANDS: tuple[str, ...] = ("B04", "B03", "B02")  # channel order of every RGB model input
BAND_FILES: dict[str, str] = {b: f"{b}.tif" for b in ("B02", "B03", "B04", "B08", "SCL")}
LABELS_VECTOR = "labels.gpkg"
LABELS_RASTER = "labels.tif"
MANIFEST = "manifest.json"


class Reflectance(StrictModel):
    """How digital numbers become reflectance: ``DN * scale + offset``, and why."""

    scale: float = Field(description="e.g. 0.0001 (1 / QUANTIFICATION_VALUE)")
    offset: float = Field(
        description="e.g. -0.1 (BOA_ADD_OFFSET -1000 from baseline 04.00 on) or 0")
    source: str = Field(description="how it was decided, e.g. 'title tag N0213: baseline 02.13 "
                                    "< 04.00, no offset'")


class SceneManifest(StrictModel):
    """Provenance of a scene folder (``manifest.json``)."""

    name: str = Field(description="folder name, e.g. 'paris'")
    city: str | None = Field(None, description="built-in city this scene covers, if any")
    bounds_wgs84: tuple[float, float, float, float] = Field(description="AOI W,S,E,N (deg)")
    crs: str = Field(description="scene CRS, e.g. 'EPSG:32631'")
    bands: list[str] = Field(description="band files present, e.g. ['B02','B03','B04']")
    synthetic: bool = Field(description="True for the procedural offline demo scene")
    source: str = Field(description="'synthetic-demo', 'earth-search', 'safe', 'cog', ...")
    items: list[dict[str, Any]] = Field(default_factory=list, description="STAC items / products")
    labels_source: str | None = Field(None, description="Urban Atlas file or 'synthetic-demo'")
    created: str | None = None
    notes: str | None = None
    level: Literal["L2A", "L1C"] = Field(
        "L2A", description="processing level: L2A surface or L1C top-of-atmosphere reflectance")
    processing_baseline: str | None = Field(None, description="e.g. '02.13', '05.09'")
    acquired: str | None = Field(None, description="acquisition date YYYY-MM-DD")
    reflectance: Reflectance | None = Field(
        None, description="scale/offset of the bands and how they were decided (None: not "
                          "recorded by older versions)")
    cloud_mask: bool = Field(True, description="an SCL cloud mask is present (SCL.tif)")
    site: str | None = Field(None, description="place the scene belongs to across dates, e.g. "
                                               "'versailles' (scenes of one site differ by date)")
    attribution: str | None = Field(None, description="credit line the data's licence asks for")


def require_surface_reflectance(manifest: SceneManifest) -> SceneManifest:
    """The manifest, if the scene can feed a segmenter (L2A surface reflectance).

    Raises:
        InvalidDataError: an L1C (top-of-atmosphere) scene.
    """
    if manifest.level != "L2A":
        raise InvalidDataError(
            f"scene {manifest.name!r} is {manifest.level} (top-of-atmosphere) but the segmenters "
            "are trained on L2A surface reflectance: import the L2A product of that date "
            "(L1C image patches can be classified with 'lulc classify')"
        )
    return manifest


def scene_dir(name: str) -> Path:
    """``<data>/scenes/<name>`` for a user-given scene name (checked to be a safe name)."""
    return scenes_dir() / safe_name(name, "scene name")


def read_manifest(folder: Path) -> SceneManifest:
    """Read a scene's manifest.

    Raises:
        DataNotFoundError: no manifest (not a scene folder).
        InvalidDataError: the manifest is corrupted.
    """
    path = folder / MANIFEST
    if not path.is_file():
        raise DataNotFoundError(
            f"{folder} is not a scene folder (no {MANIFEST}): run 'lulc demo-data' for the "
            "offline demo scenes or 'lulc fetch sentinel2 --city NAME' for real ones"
        )
    try:
        return SceneManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise InvalidDataError(f"corrupted {path} ({str(e).splitlines()[0]}): rebuild the scene") from None


def list_scenes(root: Path | None = None) -> list[SceneManifest]:
    """Manifests of every scene folder under ``<data>/scenes``, sorted by name."""
    root = root or scenes_dir()
    out = []
    for folder in sorted(p for p in root.glob("*") if (p / MANIFEST).is_file()):
        try:
            out.append(read_manifest(folder))
        except InvalidDataError:
            continue
    return out
