"""Synthetic offline demo scenes for Paris and Ankara, written in the real formats.

No real Sentinel-2 scene or Urban Atlas file can be downloaded offline, yet the app must work
out of the box. :func:`build_demo_scene` writes, for a city AOI at 10 m, a scene folder in the
layout of :mod:`lulc_core.data.scene`:

- ``B02/B03/B04.tif``: uint16 L2A digital numbers (COG, UTM), offset -0.1 / scale 1e-4 stored
  like processing baseline 04.00;
- ``SCL.tif``: uint8 Scene Classification Layer at 20 m with cloud and shadow blobs;
- ``labels.gpkg``: Urban-Atlas-schema polygons (``code_2018``, ``class_2018``) in EPSG:3035;
- ``labels.tif``: the same land use on the 10 m grid;
- ``manifest.json``: ``synthetic: true``.

Everything is **synthetic**: the land-use layout is procedural (dense core, urban rings,
industry, roads, railways, a river, parks, forests, farmland; Ankara drier), and the imagery is
textured from *real* EuroSAT patches of the matching class (:data:`UA_TO_EUROSAT`), quilted with
feathered overlaps so no 64 px grid shows. Deterministic from a seed.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy import ndimage

from lulc_core.classes import EUROSAT_CLASSES, code_to_index, urban_atlas_classes
from lulc_core.config import eurosat_dir
from lulc_core.data.scene import LABELS_RASTER, LABELS_VECTOR, MANIFEST, SceneManifest
from lulc_core.geo import AOI, raised_cosine

PIXEL = 10.0  # metres, the 10 m grid of B02/B03/B04
COARSE = 2  # the layout is drawn at 20 m and upsampled: land use has no 10 m detail anyway
# EuroSAT RGB is reflectance DN 0..~2750 stretched to 0..255; L2A baseline 04.00 adds 1000.
EUROSAT_DN_PER_LEVEL = 2750.0 / 255.0
BOA_ADD_OFFSET = 1000
PATCHES_PER_CLASS = 120
QUILT_STRIDE = 40  # 64 px patches every 40 px: 24 px feathered overlap hides the grid
SYNTHETIC_NOTE = (
    "SYNTHETIC demo scene: procedural land-use layout, imagery textured from real EuroSAT "
    "patches. Not a real Sentinel-2 acquisition or Urban Atlas product."
)

# Urban Atlas 2018 code -> EuroSAT class whose real patches texture it (this table is the
# record; README.md "Data sources" describes the demo scenes). Urban fabric looks like EuroSAT Residential; roads and railways like
# Highway; bare and sparsely vegetated land like HerbaceousVegetation; standing water SeaLake.
UA_TO_EUROSAT: dict[int, str] = {
    11100: "Industrial", 11210: "Residential", 11220: "Residential", 11230: "Residential",
    11240: "Residential", 11300: "Residential", 12100: "Industrial", 12210: "Highway",
    12220: "Highway", 12230: "Highway", 12300: "Industrial", 12400: "Highway",
    13100: "HerbaceousVegetation", 13300: "Industrial", 13400: "HerbaceousVegetation",
    14100: "Forest", 14200: "Pasture", 21000: "AnnualCrop", 22000: "PermanentCrop",
    23000: "Pasture", 24000: "AnnualCrop", 25000: "PermanentCrop", 31000: "Forest",
    32000: "HerbaceousVegetation", 33000: "HerbaceousVegetation", 40000: "River",
    50000: "SeaLake",
}
# Codes whose texture is brightened/desaturated to read as bare ground (dry, mineral, building).
BARE_CODES = {13100: 1.3, 13300: 1.1, 13400: 1.05, 33000: 1.3}
VEGETATED = {14100, 14200, 21000, 22000, 23000, 24000, 25000, 31000, 32000, 40000}


@dataclass(frozen=True)
class CityStyle:
    """Knobs that make one synthetic city look like itself (radii in km)."""

    core_km: float
    ring_km: tuple[float, float, float, float]  # outer radius of 11210, 11220, 11230, 11240
    rural_mix: dict[int, float]  # Urban Atlas code -> share of rural fields
    forest_share: float
    river_width_m: float
    satellites: int  # small towns outside the main city
    radial_roads: int
    cloud_fraction: float


STYLES: dict[str, CityStyle] = {
    "paris": CityStyle(
        core_km=4.5, ring_km=(7.5, 11.0, 15.0, 19.0),
        rural_mix={21000: 0.62, 23000: 0.1, 24000: 0.1, 22000: 0.04, 25000: 0.03,
                   32000: 0.08, 33000: 0.03},
        forest_share=0.22, river_width_m=140, satellites=9, radial_roads=8, cloud_fraction=0.03,
    ),
    "ankara": CityStyle(
        core_km=3.0, ring_km=(5.0, 7.5, 10.0, 12.5),
        rural_mix={21000: 0.32, 23000: 0.08, 22000: 0.03, 24000: 0.05, 32000: 0.32,
                   33000: 0.18, 13100: 0.02},
        forest_share=0.05, river_width_m=40, satellites=4, radial_roads=6, cloud_fraction=0.02,
    ),
}
DEFAULT_STYLE = STYLES["paris"]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo_scene` wrote."""

    folder: Path
    width: int
    height: int
    crs: str
    seconds: float
    eurosat_textures: bool


# --------------------------------------------------------------------------- grid


def scene_grid(aoi: AOI) -> tuple[str, tuple[float, float], int, int]:
    """The 10 m UTM grid covering an AOI: (crs, (left, top), width, height)."""
    from pyproj import Transformer

    crs = f"EPSG:{aoi.utm_epsg()}"
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = tr.transform(
        [aoi.west, aoi.east, aoi.west, aoi.east], [aoi.south, aoi.south, aoi.north, aoi.north]
    )
    step = PIXEL * COARSE  # snap to 20 m so the SCL grid nests exactly in the 10 m grid
    left, top = np.floor(min(xs) / step) * step, np.ceil(max(ys) / step) * step
    right, bottom = np.ceil(max(xs) / step) * step, np.floor(min(ys) / step) * step
    return crs, (float(left), float(top)), int((right - left) / PIXEL), int((top - bottom) / PIXEL)


# --------------------------------------------------------------------------- layout


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth noise (float32) with a feature size of ~sigma pixels."""
    small = (max(2, int(shape[0] / sigma * 4)), max(2, int(shape[1] / sigma * 4)))
    base = ndimage.gaussian_filter(rng.standard_normal(small).astype(np.float32), 2.0)
    zoom = (shape[0] / small[0], shape[1] / small[1])
    out = ndimage.zoom(base, zoom, order=1)[: shape[0], : shape[1]]
    out = np.pad(out, ((0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])), mode="edge")
    return ((out - out.mean()) / (out.std() + 1e-6)).astype(np.float32)


def _voronoi_cells(rng: np.random.Generator, shape: tuple[int, int], spacing: float) -> np.ndarray:
    """Field parcels: id of the nearest random seed point for every pixel (int32)."""
    from scipy.spatial import cKDTree

    n = max(4, int(shape[0] * shape[1] / spacing**2))
    seeds = rng.uniform((0, 0), shape, size=(n, 2))
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    # Stretched space gives elongated, field-like parcels rather than a crazy-paving mosaic.
    stretch = np.array([1.8, 0.6], np.float32)
    _, ids = cKDTree(seeds * stretch).query(np.stack([yy.ravel(), xx.ravel()], 1) * stretch, workers=2)
    return ids.reshape(shape).astype(np.int32)


def make_layout(shape: tuple[int, int], style: CityStyle, rng: np.random.Generator) -> np.ndarray:
    """Procedural Urban Atlas land-use codes on a 20 m grid.

    Args:
        shape: (rows, cols) of the coarse grid.
        style: the city's knobs.
        rng: seeded generator.

    Returns:
        int32 (rows, cols) array of Urban Atlas 2018 codes.
    """
    h, w = shape
    px_km = PIXEL * COARSE / 1000.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h * rng.uniform(0.45, 0.55), w * rng.uniform(0.45, 0.55)
    warp = 1 + 0.22 * _smooth_noise(rng, shape, 120)
    r_km = np.hypot(yy - cy, xx - cx) * px_km * warp

    # Rural background: field parcels with a crop per parcel; forests as large blobs.
    cells = _voronoi_cells(rng, shape, spacing=30)
    codes = np.array(list(style.rural_mix), dtype=np.int32)
    probs = np.array(list(style.rural_mix.values()), dtype=np.float64)
    land = codes[rng.choice(len(codes), size=cells.max() + 1, p=probs / probs.sum())][cells]
    forest_noise = _smooth_noise(rng, shape, 90)
    land[forest_noise > np.quantile(forest_noise, 1 - style.forest_share)] = 31000

    # Urban area: main city plus satellite towns, each with rings of decreasing density.
    urban_r = r_km.copy()
    for _ in range(style.satellites):
        sy, sx = rng.uniform(0.05, 0.95) * h, rng.uniform(0.05, 0.95) * w
        scale = style.ring_km[3] / rng.uniform(0.9, 1.8)  # a town ~1-2 km across
        town = np.hypot(yy - sy, xx - sx) * px_km * warp * (style.ring_km[3] / scale) * 3.0
        urban_r = np.minimum(urban_r, town)
    mix = _smooth_noise(rng, shape, 25)
    rings = [(style.core_km, 11100), *zip(style.ring_km, (11210, 11220, 11230, 11240))]
    urban = np.zeros(shape, dtype=np.int32)
    for radius, code in reversed(rings):
        urban[urban_r < radius + 0.8 * mix] = code
    # Very-low-density fabric is scattered, not solid.
    scattered = (urban == 11240) & (mix < -0.2)
    urban[scattered] = 0
    is_urban = urban > 0
    land[is_urban] = urban[is_urban]
    land[(~is_urban) & (urban_r < style.ring_km[3] * 1.6) & (mix > 1.6)] = 11300

    # Industry in sectors of the suburbs, parks and sports grounds inside the city.
    sector = _smooth_noise(rng, shape, 60)
    suburb = (r_km > style.ring_km[0]) & (urban_r < style.ring_km[3] * 1.1)
    land[suburb & (sector > 1.0)] = 12100
    blobs = _smooth_noise(rng, shape, 12)
    inner = urban_r < style.ring_km[2]
    land[inner & (blobs > 1.9)] = 14100
    land[inner & (blobs < -2.3)] = 14200
    land[suburb & (sector < -2.0)] = 13300
    land[(~is_urban) & (blobs > 2.6)] = 13400
    # A large park / forest in the west of the city (Bois de Boulogne-like).
    land[np.hypot(yy - cy, xx - (cx - 0.8 * style.ring_km[0] / px_km)) * px_km * warp < 1.2] = 14100

    # Airport: a rectangle of runways and aprons in the countryside.
    ay, ax = rng.uniform(0.2, 0.8) * h, cx + rng.choice([-1, 1]) * style.ring_km[3] * 0.9 / px_km
    ax = float(np.clip(ax, 0.1 * w, 0.9 * w))
    land[(np.abs(yy - ay) < 1.2 / px_km) & (np.abs(xx - ax) < 1.8 / px_km)] = 12400

    # Roads: radial fast-transit roads, a ring road, railways, a street grid in the city.
    angles = rng.uniform(0, 2 * np.pi) + np.arange(style.radial_roads) * 2 * np.pi / style.radial_roads
    ang = np.arctan2(yy - cy, xx - cx)
    road_warp = 0.05 * _smooth_noise(rng, shape, 200)
    for a in angles:
        dist_px = np.abs(np.sin(ang - a + road_warp)) * np.hypot(yy - cy, xx - cx)
        land[(dist_px < 2.0) & (np.cos(ang - a) > 0)] = 12210
    ring = np.abs(r_km - style.ring_km[1]) < 0.05 + 0.02 * COARSE
    land[ring] = 12210
    for a in angles[::3] + np.pi / style.radial_roads:
        dist_px = np.abs(np.sin(ang - a + road_warp)) * np.hypot(yy - cy, xx - cx)
        land[(dist_px < 1.3) & (np.cos(ang - a) > 0)] = 12230
    grid_m = 450 / (PIXEL * COARSE)
    streets = ((xx + 7 * mix) % grid_m < 1.0) | ((yy + 7 * mix) % grid_m < 1.0)
    land[streets & (urban_r < style.ring_km[2]) & (land != 14100)] = 12220

    # River: a meander through the city centre, industry and ports along it.
    x0 = np.linspace(0, w, 64)
    phase = rng.uniform(0, 2 * np.pi)
    y_path = cy + h * 0.12 * np.sin(x0 / w * 3 * np.pi + phase) + h * 0.05 * np.sin(x0 / w * 9 * np.pi)
    y_path += cy - np.interp(cx, x0, y_path)  # through the centre
    river_y = np.interp(xx[0], x0, y_path)[None, :]
    half = style.river_width_m / 2 / (PIXEL * COARSE)
    river_d = np.abs(yy - river_y)
    land[(river_d < half + 12) & (river_d >= half) & (sector > 0.3) & is_urban] = 12300
    land[river_d < max(half, 1.0)] = 50000
    # A few lakes in the countryside and wetlands beside them.
    lakes = _smooth_noise(rng, shape, 20)
    land[(~is_urban) & (lakes > 3.0)] = 50000
    land[(~is_urban) & (lakes > 2.7) & (lakes <= 3.0)] = 40000
    return land


# --------------------------------------------------------------------------- imagery


def _load_patch_pool(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """Real EuroSAT patches per class: {class: uint8 (N, 64, 64, 3)}, or None if unavailable."""
    from PIL import Image

    if not all((root / c).is_dir() for c in EUROSAT_CLASSES):
        return None

    def read(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB").resize((64, 64)), dtype=np.uint8)

    pool = {}
    with ThreadPoolExecutor(4) as ex:
        for name in EUROSAT_CLASSES:
            files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in (".jpg", ".png"))
            if not files:
                return None
            pick = rng.choice(len(files), size=min(PATCHES_PER_CLASS, len(files)), replace=False)
            patches = np.stack(list(ex.map(read, [files[i] for i in sorted(pick)])))
            # Flips and rotations quadruple the variety without more decoding.
            pool[name] = np.concatenate([patches, np.rot90(patches, 1, (1, 2)),
                                         patches[:, ::-1], patches[:, :, ::-1]])
    return pool


def _procedural_pool(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fallback textures when EuroSAT is missing: per-class mean colour plus noise."""
    colours = {
        "AnnualCrop": (120, 115, 90), "Forest": (45, 70, 50), "HerbaceousVegetation": (110, 115, 85),
        "Highway": (120, 118, 115), "Industrial": (140, 135, 135), "Pasture": (85, 110, 70),
        "PermanentCrop": (115, 110, 85), "Residential": (125, 115, 110), "River": (60, 75, 80),
        "SeaLake": (30, 55, 75),
    }
    return {
        name: np.clip(np.array(rgb, np.float32) + rng.normal(0, 12, (32, 64, 64, 3)), 0, 255).astype(np.uint8)
        for name, rgb in colours.items()
    }


def _quilt(pool: np.ndarray, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A seamless float32 (rows, cols, 3) texture from random patches with feathered overlaps."""

    win = np.outer(raised_cosine(64), raised_cosine(64))[:, :, None]
    ny, nx = rows // QUILT_STRIDE + 2, cols // QUILT_STRIDE + 2
    acc = np.zeros((ny * QUILT_STRIDE + 64 + QUILT_STRIDE, nx * QUILT_STRIDE + 64 + QUILT_STRIDE, 3), np.float32)
    wsum = np.zeros(acc.shape[:2] + (1,), np.float32)
    choice = rng.integers(0, len(pool), size=(ny, nx))
    # Jittered positions: a regular lattice of patches would show as a faint grid.
    jitter = rng.integers(0, QUILT_STRIDE // 2, size=(ny, nx, 2))
    oy, ox = rng.integers(QUILT_STRIDE // 2, QUILT_STRIDE, 2)
    for i in range(ny):
        for j in range(nx):
            y, x = i * QUILT_STRIDE + jitter[i, j, 0], j * QUILT_STRIDE + jitter[i, j, 1]
            acc[y : y + 64, x : x + 64] += pool[choice[i, j]] * win
            wsum[y : y + 64, x : x + 64] += win
    return acc[oy : oy + rows, ox : ox + cols] / wsum[oy : oy + rows, ox : ox + cols]


def render_rgb(
    labels: np.ndarray, pool: dict[str, np.ndarray], rng: np.random.Generator, strip: int = 512
) -> np.ndarray:
    """Texture a 10 m label raster (UA codes) into 8-bit-like RGB (float32 rows, cols, 3).

    Works in strips of ``strip`` rows so memory stays flat; per-parcel brightness jitter keeps
    neighbouring fields distinguishable.
    """
    rows, cols = labels.shape
    out = np.empty((rows, cols, 3), np.float32)
    codes = np.unique(labels)
    for top in range(0, rows, strip):
        block = labels[top : top + strip]
        img = np.zeros(block.shape + (3,), np.float32)
        # sorted: set order follows string hashing, which changes between processes
        for name in sorted({UA_TO_EUROSAT.get(int(c), "HerbaceousVegetation") for c in codes}):
            mask = np.isin(block, [c for c in codes if UA_TO_EUROSAT.get(int(c)) == name])
            if mask.any():
                img[mask] = _quilt(pool[name], *block.shape, rng)[mask]
        for code, gain in BARE_CODES.items():  # bare ground: brighter, less green
            m = block == code
            img[m] = img[m].mean(axis=-1, keepdims=True) * gain * 0.85 + img[m] * 0.15
        out[top : top + strip] = img
    return out


def make_scl(
    labels_coarse: np.ndarray, style: CityStyle, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """SCL at 20 m with cloud/shadow blobs, plus a float32 cloud opacity map at 20 m."""
    shape = labels_coarse.shape
    scl = np.full(shape, 5, np.uint8)  # not vegetated
    scl[np.isin(labels_coarse, list(VEGETATED))] = 4
    scl[np.isin(labels_coarse, [50000])] = 6
    noise = _smooth_noise(rng, shape, 300)
    thresh = np.quantile(noise, 1 - style.cloud_fraction)
    cloud = noise > thresh
    core = noise > thresh + 0.5
    cirrus = (_smooth_noise(rng, shape, 60) > np.quantile(noise, 1 - style.cloud_fraction / 2)) & ~cloud
    shift = (int(rng.integers(8, 20)), int(rng.integers(8, 20)))  # sun low in the south-west
    shadow = np.roll(cloud, shift, axis=(0, 1)) & ~cloud
    scl[shadow] = 3
    scl[cirrus] = 10
    scl[cloud] = 8
    scl[core] = 9
    opacity = np.clip((noise - thresh) / 0.8, 0, 1) * cloud + 0.35 * cirrus
    opacity[shadow] = -0.4  # negative = darken
    return scl, opacity.astype(np.float32)


# --------------------------------------------------------------------------- writing


def _write_labels_vector(path: Path, labels_coarse: np.ndarray, crs: str, transform) -> int:
    """Polygonise the 20 m labels into an Urban-Atlas-schema GeoPackage in EPSG:3035."""
    import geopandas as gpd
    from rasterio.features import shapes
    from shapely.geometry import shape

    names = {c.code: c.name for c in urban_atlas_classes()}
    geoms, codes = [], []
    for geom, value in shapes(labels_coarse.astype(np.int32), transform=transform):
        if value:
            geoms.append(shape(geom))
            codes.append(int(value))
    gdf = gpd.GeoDataFrame(
        {"code_2018": codes, "class_2018": [names[c] for c in codes]}, geometry=geoms, crs=crs
    ).to_crs("EPSG:3035")
    gdf["geometry"] = gdf.geometry.simplify(5.0)
    gdf["area"] = gdf.geometry.area
    gdf["synthetic"] = "yes"
    gdf.to_file(path, driver="GPKG", layer="urban_atlas_synthetic")
    return len(gdf)


def build_demo_scene(aoi: AOI, out: Path, seed: int = 0, source_dir: Path | None = None) -> DemoSummary:
    """Build one synthetic demo scene folder atomically.

    Args:
        aoi: the area (Paris or Ankara AOI, or a small custom one for tests).
        out: the scene folder to create (replaced atomically if it exists).
        seed: random seed; the same seed gives the same files.
        source_dir: EuroSAT RGB folder for textures (default ``config.eurosat_dir()``).

    Returns:
        A :class:`DemoSummary`.
    """
    import rasterio
    from rasterio.transform import from_origin

    from lulc_core.files import atomic_dir, write_cog

    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, sum(map(ord, aoi.name))])
    style = STYLES.get(aoi.name, DEFAULT_STYLE)
    crs, (left, top), width, height = scene_grid(aoi)
    tr10 = from_origin(left, top, PIXEL, PIXEL)
    tr20 = from_origin(left, top, PIXEL * COARSE, PIXEL * COARSE)
    coarse_shape = (height // COARSE, width // COARSE)

    land20 = make_layout(coarse_shape, style, rng)
    land10 = np.repeat(np.repeat(land20, COARSE, 0), COARSE, 1)
    pool = _load_patch_pool(source_dir or eurosat_dir(), rng)
    textures_real = pool is not None
    rgb = render_rgb(land10, pool if textures_real else _procedural_pool(rng), rng)

    scl20, opacity20 = make_scl(land20, style, rng)
    opacity = ndimage.zoom(opacity20, COARSE, order=1)[:height, :width, None]
    cloud_dn = 7000.0
    dn = rgb * EUROSAT_DN_PER_LEVEL
    dn = np.where(opacity > 0, dn * (1 - opacity) + cloud_dn * opacity, dn * (1 + opacity))
    dn = np.clip(dn + BOA_ADD_OFFSET, 1, 65535).astype(np.uint16)

    # A thin no-data wedge in one corner, like the edge of a Sentinel-2 swath.
    yy, xx = np.ogrid[0:height, 0:width]
    wedge = xx < (height - yy) * 0.06 - height * 0.03
    dn[wedge] = 0
    scl20[wedge[::COARSE, ::COARSE][: coarse_shape[0], : coarse_shape[1]]] = 0
    index_lut = np.zeros(max(code_to_index()) + 1, np.uint8)
    for code, idx in code_to_index().items():
        index_lut[code] = idx
    labels_index = index_lut[land10]

    synthetic = {"SYNTHETIC": "yes", "NOTE": SYNTHETIC_NOTE}
    with atomic_dir(out) as tmp:
        for band, channel in (("B04", 0), ("B03", 1), ("B02", 2)):
            write_cog(tmp / f"{band}.tif", dn[:, :, channel], crs, tr10, nodata=0,
                      description=band, categorical=False, scale=1e-4, offset=-0.1, tags=synthetic)
        write_cog(tmp / "SCL.tif", scl20, crs, tr20, nodata=0, description="SCL",
                  categorical=True, tags=synthetic)
        write_cog(tmp / LABELS_RASTER, labels_index, crs, tr10, description="urban_atlas_index",
                  categorical=True, tags=synthetic)
        n_polygons = _write_labels_vector(tmp / LABELS_VECTOR, land20, crs, tr20)
        with rasterio.open(tmp / "B02.tif") as check:  # the layout readers rely on
            assert check.crs.to_string() == crs and check.shape == (height, width)
        manifest = SceneManifest(
            name=out.name, city=aoi.name if aoi.name in STYLES else None,
            bounds_wgs84=aoi.bounds, crs=crs, bands=["B02", "B03", "B04"], synthetic=True,
            source="synthetic-demo", labels_source="synthetic-demo",
            items=[{"id": f"synthetic-{aoi.name}-seed{seed}", "seed": seed,
                    "polygons": n_polygons, "textures": "EuroSAT RGB" if textures_real
                    else "procedural (EuroSAT folder not found)"}],
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            notes=SYNTHETIC_NOTE,
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest.model_dump(), indent=2) + "\n")
    return DemoSummary(out, width, height, crs, time.perf_counter() - t0, textures_real)
