"""Input harmonisation: Sentinel-2 reflectance -> the 8-bit RGB a EuroSAT classifier was trained on.

EuroSAT RGB (Helber et al. 2019) is Level-1C top-of-atmosphere (TOA) reflectance, bands
B04/B03/B02, as digital numbers (DN = reflectance x 10000) stretched linearly to 8 bit:
``value = DN / EUROSAT_DN_AT_255 * 255``, clipped at 255, no offset. Measured (see
:func:`fit_eurosat_stretch` and docs/real-imagery.md): the mean DN of each band in EuroSAT-MS
(published with torchgeo's ``EuroSATDataModule``) divided by the mean 8-bit value of the
same band in the RGB JPEGs is the same for all three bands to +-0.3 % although the bands'
means differ by 18 %; fits that allow an offset give a few levels of either sign.

Scenes are usually Level-2A bottom-of-atmosphere (BOA) surface reflectance: darker and less
blue than TOA (no path radiance, no haze). A classifier that only ever saw TOA colours reads
BOA patches as something else, so L2A input is first mapped to TOA with a per-band linear
model ``L1C = slope * L2A + intercept`` fitted on co-registered real L2A/L1C pairs of the
same acquisitions (:func:`fit_l2a_to_l1c`). The atmosphere differs from day to day, so this is
an average correction (the per-date slopes spread by about +-0.05), not an atmospheric model.

Re-derive every constant below with ``python -m lulc_core.harmonise`` (it prints them; the
tests check that the shared data still gives them within tolerance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from lulc_core.data.scene import RGB_BANDS
from lulc_core.errors import DataNotFoundError, InvalidDataError

Level = Literal["L2A", "L1C"]
LEVELS: tuple[str, ...] = ("L2A", "L1C")

# TOA DN that EuroSAT RGB shows as 255 (mean of the three bands' mean-ratio fits, rounded).
EUROSAT_DN_AT_255 = 2754.0
# EuroSAT RGB JPEG pixel statistics (R, G, B) in 8-bit levels: used to match a scene's
# per-band statistics to EuroSAT's (:func:`match_eurosat_statistics`).
EUROSAT_RGB_MEAN: tuple[float, float, float] = (87.5, 96.6, 103.9)
EUROSAT_RGB_STD: tuple[float, float, float] = (51.9, 35.2, 29.6)
# EuroSAT-MS band means in DN, as published with torchgeo's EuroSATDataModule (B04, B03, B02).
EUROSAT_MS_MEAN_DN: tuple[float, float, float] = (947.63, 1042.93, 1118.24)
# L1C TOA reflectance ~= slope * L2A BOA reflectance + intercept, per band (B04, B03, B02);
# fitted on the three Versailles dates pooled (2019-07-03/08/10, baseline 02.1x).
L2A_TO_L1C: dict[str, tuple[float, float]] = {
    "B04": (0.758, 0.0303),
    "B03": (0.660, 0.0488),
    "B02": (0.616, 0.0732),
}
# DN at or above this are saturated or defective (65535 = saturated, 65534 occurs in L2A):
# reflectance above 1 does not occur on land outside specular glints.
MAX_VALID_DN = 10000
EUROSAT_SAMPLE_EVERY = 8  # every 8th EuroSAT JPEG (3,031 images) gives the means to 0.1 level


def check_level(level: str) -> Level:
    """The processing level, checked.

    Raises:
        InvalidDataError: not "L2A" or "L1C".
    """
    if level not in LEVELS:
        raise InvalidDataError(
            f"unknown processing level {level!r}: use 'L2A' (surface reflectance) or 'L1C' "
            "(top of atmosphere)"
        )
    return level  # type: ignore[return-value]


def to_toa(reflectance: np.ndarray, level: str,
           coefficients: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """L2A BOA reflectance -> approximate L1C TOA reflectance (L1C passes through).

    Args:
        reflectance: float32 (3, H, W) in B04, B03, B02 order; NaN = no data.
        level: "L2A" or "L1C".
        coefficients: ``{band: (slope, intercept)}`` (default :data:`L2A_TO_L1C`; another
            fit, e.g. of one date, to check how well the default transfers).

    Returns:
        float32 (3, H, W) TOA reflectance, NaN kept.
    """
    _check_rgb(reflectance)
    if check_level(level) == "L1C":
        return reflectance.astype(np.float32, copy=False)
    coefficients = coefficients or L2A_TO_L1C
    slope = np.array([coefficients[b][0] for b in RGB_BANDS], np.float32).reshape(3, 1, 1)
    intercept = np.array([coefficients[b][1] for b in RGB_BANDS], np.float32).reshape(3, 1, 1)
    return reflectance.astype(np.float32, copy=False) * slope + intercept


def to_eurosat_rgb(reflectance: np.ndarray, level: str) -> np.ndarray:
    """Render reflectance as EuroSAT RGB.

    Args:
        reflectance: float32 (3, H, W) in B04, B03, B02 order (reflectance 0..1, no offset
            left to apply); NaN = no data.
        level: "L2A" (converted to TOA with :data:`L2A_TO_L1C` first) or "L1C".

    Returns:
        uint8 (H, W, 3), R G B; no-data pixels are 0.
    """
    return toa_to_eurosat_rgb(to_toa(reflectance, level))


def toa_to_eurosat_rgb(toa: np.ndarray) -> np.ndarray:
    """float (3, H, W) TOA reflectance (NaN = no data) -> uint8 (H, W, 3) EuroSAT stretch."""
    levels = np.nan_to_num(toa, nan=0.0) * (10000.0 * 255.0 / EUROSAT_DN_AT_255) + 0.5
    return np.ascontiguousarray(np.clip(levels, 0, 255).astype(np.uint8).transpose(1, 2, 0))


def match_eurosat_statistics(rgb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Shift and scale each channel so its mean and std over ``valid`` equal EuroSAT's.

    A blunt scene-wide correction for an unknown atmosphere or sensor: it assumes the scene
    holds a EuroSAT-like mix of land cover, so it suits large, mixed areas, not a lake.

    Args:
        rgb: uint8 (H, W, 3).
        valid: bool (H, W) pixels with data (default all).

    Returns:
        uint8 (H, W, 3).
    """
    x = rgb.astype(np.float32)
    valid = np.ones(rgb.shape[:2], bool) if valid is None else valid
    if not valid.any():
        return rgb
    mean, std = x[valid].mean(axis=0), x[valid].std(axis=0)
    target_mean, target_std = np.array(EUROSAT_RGB_MEAN), np.array(EUROSAT_RGB_STD)
    out = (x - mean) / np.maximum(std, 1e-3) * target_std + target_mean
    out[~valid] = 0
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _check_rgb(reflectance: np.ndarray) -> None:
    if reflectance.ndim != 3 or reflectance.shape[0] != 3:
        raise InvalidDataError(
            f"reflectance has shape {reflectance.shape}: pass (3, H, W) in B04, B03, B02 order"
        )


# --------------------------------------------------------------------------- re-deriving


@dataclass(frozen=True)
class LinearFit:
    """``y = slope * x + intercept`` with its R^2, residual RMSE and pixel count."""

    slope: float
    intercept: float
    r2: float
    rmse: float
    pixels: int


def fit_line(x: np.ndarray, y: np.ndarray) -> LinearFit:
    """Least-squares line through (x, y) (float arrays of the same shape)."""
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    r2 = 1.0 - residual.var() / y.var()
    return LinearFit(float(slope), float(intercept), float(r2), float(residual.std()), int(x.size))


def real_s2_files(folder: Path, level: str) -> dict[tuple[str, str], Path]:
    """``{(date, band): path}`` of a folder of per-band GeoTIFFs named
    ``<date>_<satellite>_orbit_<n>_tile_<tile>_<level>_band_<band>.tif`` (the shared sample)."""
    pattern = re.compile(rf"^(\d{{4}}-\d{{2}}-\d{{2}})_.*_{level}_band_(B\d\d)\.tif$")
    found = {}
    for path in sorted(folder.glob("*.tif")):
        if m := pattern.match(path.name):
            found[(m.group(1), m.group(2))] = path
    if not found:
        raise DataNotFoundError(
            f"no <date>_..._{level}_band_<band>.tif files in {folder}: point at the "
            f"{level} folder of the real Sentinel-2 sample"
        )
    return found


def read_real_s2(site: Path, level: str, date: str) -> tuple[np.ndarray, str, object]:
    """One date of the shared sample as float32 (3, H, W) B04/B03/B02 reflectance (DN / 10000,
    baseline < 04.00; NaN at DN 0; saturated pixels kept: they render white), CRS, transform."""
    import rasterio

    files = real_s2_files(site / level, level)
    channels = []
    for band in RGB_BANDS:
        with rasterio.open(files[(date, band)]) as src:
            dn = src.read(1)
            crs, transform = src.crs.to_string(), src.transform
        refl = dn.astype(np.float32) / 10000.0
        refl[dn == 0] = np.nan
        channels.append(refl)
    return np.stack(channels), crs, transform


def _read_dn(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def fit_l2a_to_l1c(site: Path, dates: list[str] | None = None) -> dict[str, LinearFit]:
    """Fit ``L1C = slope * L2A + intercept`` (reflectance) per band on co-registered pairs.

    Pixels are pooled over ``dates`` (default: every date with both levels); DN 0 (no data)
    and DN >= :data:`MAX_VALID_DN` (saturated) in either level are left out.

    Args:
        site: folder holding ``L2A/`` and ``L1C/`` (e.g. ``shared/data/real_s2/versailles``).
        dates: dates to pool.

    Returns:
        ``{band: LinearFit}`` for B04, B03, B02.
    """
    l2a, l1c = real_s2_files(site / "L2A", "L2A"), real_s2_files(site / "L1C", "L1C")
    dates = dates or sorted({d for d, _ in l2a} & {d for d, _ in l1c})
    fits = {}
    for band in RGB_BANDS:
        xs, ys = [], []
        for date in dates:
            x, y = _read_dn(l2a[(date, band)]), _read_dn(l1c[(date, band)])
            if x.shape != y.shape:
                raise InvalidDataError(f"L2A and L1C {band} of {date} are on different grids")
            ok = (x > 0) & (y > 0) & (x < MAX_VALID_DN) & (y < MAX_VALID_DN)
            xs.append(x[ok] / 10000.0)
            ys.append(y[ok] / 10000.0)
        fits[band] = fit_line(np.concatenate(xs), np.concatenate(ys))
    return fits


@dataclass(frozen=True)
class EuroSATStretch:
    """What EuroSAT RGB's pixel statistics say about its 8-bit stretch (bands B04, B03, B02).

    Attributes:
        rgb_mean, rgb_std: 8-bit mean and std per channel over the sampled JPEGs.
        clipped: share of pixels at 255 per channel.
        dn_at_255: per band, 255 * (EuroSAT-MS mean DN) / (RGB mean): the no-offset stretch.
        images: JPEGs sampled.
    """

    rgb_mean: tuple[float, ...]
    rgb_std: tuple[float, ...]
    clipped: tuple[float, ...]
    dn_at_255: tuple[float, ...]
    images: int


def fit_eurosat_stretch(eurosat_root: Path, every: int = EUROSAT_SAMPLE_EVERY) -> EuroSATStretch:
    """Measure EuroSAT RGB's channel statistics on every ``every``-th JPEG (sorted paths) and
    the no-offset stretch that maps EuroSAT-MS mean DN onto them.

    Raises:
        DataNotFoundError: no JPEGs under ``eurosat_root``.
    """
    from PIL import Image

    files = sorted(eurosat_root.glob("*/*.jpg"))[::every]
    if not files:
        raise DataNotFoundError(f"no EuroSAT JPEGs under {eurosat_root}: run 'lulc fetch eurosat'")
    total = np.zeros(3)
    square = np.zeros(3)
    clipped = np.zeros(3)
    n = 0
    for path in files:
        with Image.open(path) as im:
            x = np.asarray(im.convert("RGB"), np.float64).reshape(-1, 3)
        total += x.sum(0)
        square += (x**2).sum(0)
        clipped += (x >= 255).sum(0)
        n += len(x)
    mean = total / n
    std = np.sqrt(square / n - mean**2)
    dn_at_255 = 255.0 * np.array(EUROSAT_MS_MEAN_DN) / mean
    def rounded(values: np.ndarray, digits: int) -> tuple[float, ...]:
        return tuple(round(float(v), digits) for v in values)

    return EuroSATStretch(rounded(mean, 2), rounded(std, 2), rounded(clipped / n, 5),
                          rounded(dn_at_255, 1), len(files))


def main() -> None:
    """Print the constants re-derived from the shared data (``python -m lulc_core.harmonise
    [REAL_S2_SITE] [EUROSAT_DIR]``)."""
    import sys

    from lulc_core.config import eurosat_dir
    from lulc_core.data.samples import shared_sample_dir

    site = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_sample_dir()
    if site is None:
        raise DataNotFoundError("no shared real Sentinel-2 sample beside the clone: pass its "
                                "folder (holding L2A/ and L1C/) or set LULC_REAL_S2_DIR")
    stretch = fit_eurosat_stretch(Path(sys.argv[2]) if len(sys.argv) > 2 else eurosat_dir())
    print(f"EuroSAT RGB over {stretch.images} JPEGs: mean {stretch.rgb_mean}, std "
          f"{stretch.rgb_std}, share at 255 {stretch.clipped}")
    print(f"DN at 255 per band (B04, B03, B02): {stretch.dn_at_255}; "
          f"EUROSAT_DN_AT_255 = {np.mean(stretch.dn_at_255):.0f}")
    l2a, l1c = real_s2_files(site / "L2A", "L2A"), real_s2_files(site / "L1C", "L1C")
    dates = sorted({d for d, _ in l2a} & {d for d, _ in l1c})
    for label, chosen in [("pooled", dates), *((d, [d]) for d in dates)]:
        fits = fit_l2a_to_l1c(site, chosen)
        print(f"L2A_TO_L1C {label}: " + ", ".join(
            f"{b}: ({f.slope:.3f}, {f.intercept:.4f}) R2 {f.r2:.3f} RMSE {f.rmse:.4f}"
            for b, f in fits.items()))


if __name__ == "__main__":
    main()
