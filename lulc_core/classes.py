"""Class nomenclatures: EuroSAT, Urban Atlas 2018 (codes, names, official colours), Sentinel-2 SCL.

Urban Atlas rasters use index 0 for background (no polygon) and 1..N for the legend rows in
order, so ``URBAN_ATLAS[i - 1]`` describes raster value ``i``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


EUROSAT_CLASSES: tuple[str, ...] = (
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
)
# Display colours of the EuroSAT classes (#rrggbb, same order), chosen to echo the Urban Atlas
# legend where the meaning overlaps: built-up reds/purples/greys, greens, yellows, blues.
EUROSAT_COLORS: tuple[str, ...] = (
    "#e6c84b",  # AnnualCrop: arable yellow
    "#1e6e2d",  # Forest: dark green
    "#8cc85a",  # HerbaceousVegetation: light green
    "#9a9a9a",  # Highway: grey
    "#a03cc8",  # Industrial: purple (UA industrial/commercial)
    "#c8e696",  # Pasture: pale green
    "#e68c28",  # PermanentCrop: orange
    "#dc2828",  # Residential: red (UA urban fabric)
    "#3c8cdc",  # River: blue
    "#143c96",  # SeaLake: dark blue
)

BACKGROUND_NAME = "Background (no Urban Atlas polygon)"
BACKGROUND_COLOR = "#000000"
NODATA_INDEX = 255  # prediction value where the scene has no data (uint8 rasters)

# Urban Atlas 2021 splits green urban areas; we read it with the 2018 nomenclature. UA2012
# uses the 2018 codes for the same 27 classes (one nomenclature for 2012 and 2018 in the UA
# Mapping Guide v6.3; the real 2012 Copenhagen delivery's ITEM2012 names match our legend's),
# so its codes need no mapping; any other code (e.g. the 2006 aggregate 20000) is not in the
# legend and counts as unknown.
UA2021_TO_UA2018 = {14110: 14100, 14120: 14100, 14130: 14100}


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` (the legends' colour notation) -> (R, G, B) ints in 0..255."""
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class LandUseClass:
    """One row of a legend: raster ``index``, official ``code``, ``name`` and ``color`` (#rrggbb)."""

    index: int
    code: int
    name: str
    color: str

    @property
    def rgb(self) -> tuple[int, int, int]:
        """Colour as an (R, G, B) tuple of 0..255 ints."""
        return hex_to_rgb(self.color)


def _read_csv(name: str) -> list[dict[str, str]]:
    with resources.files("lulc_core.resources").joinpath(name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def urban_atlas_classes() -> tuple[LandUseClass, ...]:
    """The 27 Urban Atlas 2018 classes with raster indices 1..27 (background excluded)."""
    rows = _read_csv("urban_atlas_2018_legend.csv")
    return tuple(
        LandUseClass(i + 1, int(r["code"]), r["name"], r["color"]) for i, r in enumerate(rows)
    )


@cache
def urban_atlas_legend() -> tuple[LandUseClass, ...]:
    """Background (index 0) followed by the Urban Atlas classes: one entry per raster value."""
    return (LandUseClass(0, 0, BACKGROUND_NAME, BACKGROUND_COLOR), *urban_atlas_classes())


@cache
def code_to_index() -> dict[int, int]:
    """Urban Atlas code (2018, or 2021 sub-codes) -> raster index 1..27."""
    mapping = {c.code: c.index for c in urban_atlas_classes()}
    for code_2021, code_2018 in UA2021_TO_UA2018.items():
        mapping[code_2021] = mapping[code_2018]
    return mapping


def index_for_code(value: object) -> int | None:
    """Raster index 1..27 of one Urban Atlas code as stored in a file.

    Args:
        value: the code as an int, a float (``11100.0``) or text (``"50000"``, UA2012 stores
            codes as text); UA2021 sub-codes 14110/14120/14130 give the index of 14100.

    Returns:
        The legend index, or None for a value that is not a code of the legend (null values
        included): the caller counts those and leaves their polygons out.
    """
    text = str(value).strip().removesuffix(".0")
    return code_to_index().get(int(text)) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class SCLClass:
    """A Sentinel-2 Scene Classification Layer value."""

    value: int
    name: str
    color: str
    is_cloud: bool


@cache
def scl_classes() -> tuple[SCLClass, ...]:
    """The 12 SCL values (0..11) with names, display colours and cloud flag."""
    return tuple(
        SCLClass(int(r["value"]), r["name"], r["color"], r["counts_as_cloud"] == "yes")
        for r in _read_csv("sentinel2_scl_codes.csv")
    )


@cache
def scl_cloud_values() -> tuple[int, ...]:
    """SCL values counted as cloud for patch filtering: (3, 8, 9, 10)."""
    return tuple(c.value for c in scl_classes() if c.is_cloud)
