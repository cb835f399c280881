"""Areas of interest (AOIs) in WGS84, the built-in cities, an AOI's window of a raster, and the
blending weight of overlapping windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lulc_core.errors import AOIError, UnknownNameError


@dataclass(frozen=True)
class AOI:
    """A lon/lat bounding box in WGS84 (EPSG:4326).

    Attributes:
        name: short identifier, also used as a folder name (``paris``).
        west, south, east, north: bounds in degrees.
    """

    name: str
    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        if not (-180 <= self.west < self.east <= 180 and -90 <= self.south < self.north <= 90):
            raise AOIError(
                f"invalid AOI {self.bounds}: give west,south,east,north in degrees "
                "with west < east and south < north"
            )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        return (self.west, self.south, self.east, self.north)

    @property
    def center(self) -> tuple[float, float]:
        """(lat, lon) of the centre, the order Leaflet wants."""
        return ((self.south + self.north) / 2, (self.west + self.east) / 2)

    def utm_epsg(self) -> int:
        """EPSG code of the WGS84 / UTM zone holding the AOI centre (326xx north, 327xx south)."""
        lat, lon = self.center
        zone = int((lon + 180) // 6) + 1
        return (32600 if lat >= 0 else 32700) + zone


CITIES: dict[str, AOI] = {
    "paris": AOI("paris", west=1.90, south=48.67, east=2.84, north=49.04),
    "ankara": AOI("ankara", west=32.53, south=39.83, east=33.03, north=40.01),
}


# Ready-made areas of each city for quick looks (about 10 x 10 km: the interactive size).
PRESET_AREAS: dict[str, dict[str, AOI]] = {
    "paris": {
        "Centre (10 x 10 km)": AOI("paris-centre", 2.28, 48.81, 2.42, 48.90),
        "West: Bois de Boulogne": AOI("paris-west", 2.18, 48.82, 2.32, 48.91),
    },
    "ankara": {
        "Centre (10 x 10 km)": AOI("ankara-centre", 32.79, 39.88, 32.91, 39.97),
    },
    # the real 5 x 5 km Sentinel-2 sample (lulc_core.data.samples); a site, not a city
    "versailles": {
        "Château and park (3.5 x 3 km)": AOI("versailles-chateau", 2.080, 48.795, 2.128, 48.822),
    },
}


def city_aoi(name: str) -> AOI:
    """The built-in AOI of a city.

    Raises:
        UnknownNameError: listing the known cities.
    """
    try:
        return CITIES[name.lower()]
    except KeyError:
        raise UnknownNameError(
            f"unknown city {name!r}: choose one of {sorted(CITIES)} or pass --bbox W,S,E,N"
        ) from None


def parse_bbox(text: str, name: str = "custom") -> AOI:
    """Parse ``"W,S,E,N"`` (degrees, WGS84) into an AOI.

    Raises:
        AOIError: if the text is not four numbers in the right order.
    """
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise AOIError(
            f"invalid bbox {text!r}: write it as W,S,E,N in degrees, e.g. 2.25,48.80,2.42,48.90"
        ) from None
    return AOI(name, west, south, east, north)


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


def raised_cosine(size: int) -> np.ndarray:
    """float32 (size,) blending weight: ~0 at the window edges, 1 in the middle, never 0.

    The outer product of two is the 2-D weight of overlapping windows (the network's tiles in
    :mod:`lulc_core.predict`, the texture patches in :mod:`lulc_core.data.demo`)."""
    return (np.sin(np.linspace(0, np.pi, size + 2)[1:-1]) ** 2 + 1e-3).astype(np.float32)
