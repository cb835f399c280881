"""Input harmonisation: constants re-derived from the shared real data, rendering properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from lulc_core.classify import geotiff_level
from lulc_core.config import REPO_ROOT, eurosat_dir
from lulc_core.data.samples import shared_sample_dir
from lulc_core.errors import InvalidDataError
from lulc_core.harmonise import (
    EUROSAT_DN_AT_255,
    EUROSAT_RGB_MEAN,
    EUROSAT_RGB_STD,
    L2A_TO_L1C,
    fit_eurosat_stretch,
    fit_l2a_to_l1c,
    match_eurosat_statistics,
    to_eurosat_rgb,
    to_toa,
)

SITE = shared_sample_dir()
SHARED_EUROSAT = REPO_ROOT.parent / "shared" / "data" / "eurosat_rgb"
EUROSAT = eurosat_dir() if eurosat_dir().is_dir() else SHARED_EUROSAT


@pytest.mark.skipif(SITE is None, reason="shared real Sentinel-2 sample absent")
def test_l2a_to_l1c_constants_rederive_from_the_real_pairs() -> None:
    fits = fit_l2a_to_l1c(SITE)
    for band, (slope, intercept) in L2A_TO_L1C.items():
        fit = fits[band]
        assert fit.slope == pytest.approx(slope, abs=0.005), band
        assert fit.intercept == pytest.approx(intercept, abs=0.001), band
        assert fit.r2 > 0.98 and fit.pixels > 600_000, fit  # a line explains the pairs
    # TOA is brighter in the dark and bluer (path radiance): intercepts grow from red to blue.
    assert fits["B04"].intercept < fits["B03"].intercept < fits["B02"].intercept


@pytest.mark.skipif(not EUROSAT.is_dir(), reason="EuroSAT RGB absent")
def test_eurosat_stretch_rederives_and_has_no_offset() -> None:
    stretch = fit_eurosat_stretch(EUROSAT)
    assert stretch.images > 3000
    assert np.mean(stretch.dn_at_255) == pytest.approx(EUROSAT_DN_AT_255, rel=0.005)
    # One scale for all bands (means 948..1118 DN): a stretch with an offset would spread them.
    assert max(stretch.dn_at_255) / min(stretch.dn_at_255) < 1.01
    assert stretch.rgb_mean == pytest.approx(EUROSAT_RGB_MEAN, abs=0.2)
    assert stretch.rgb_std == pytest.approx(EUROSAT_RGB_STD, abs=0.2)


def test_to_eurosat_rgb_shape_dtype_nodata_and_monotonic() -> None:
    ramp = np.linspace(0.0, 0.4, 50, dtype=np.float32)
    refl = np.broadcast_to(ramp, (3, 4, 50)).copy()
    refl[:, 0, 0] = np.nan
    for level in ("L2A", "L1C"):
        rgb = to_eurosat_rgb(refl, level)
        assert rgb.shape == (4, 50, 3) and rgb.dtype == np.uint8
        assert rgb[0, 0].tolist() == [0, 0, 0]
        assert (np.diff(rgb[1].astype(int), axis=0) >= 0).all()
        assert rgb[1, -1].tolist() == [255, 255, 255]  # 0.4 is past EuroSAT's white
    l1c = to_eurosat_rgb(refl, "L1C")
    assert l1c[1, 10, 0] == round(ramp[10] * 10000 / EUROSAT_DN_AT_255 * 255)
    # Dark L2A pixels become brighter and bluer as TOA: the atmosphere's path radiance.
    dark = np.full((3, 1, 1), 0.02, np.float32)
    as_toa, as_is = to_eurosat_rgb(dark, "L2A")[0, 0], to_eurosat_rgb(dark, "L1C")[0, 0]
    assert as_toa[2] > as_toa[1] > as_toa[0] > as_is[0]


def test_to_toa_passes_l1c_through_and_checks_inputs() -> None:
    refl = np.random.default_rng(0).uniform(0, 0.3, (3, 5, 5)).astype(np.float32)
    assert np.array_equal(to_toa(refl, "L1C"), refl)
    with pytest.raises(InvalidDataError, match="L2A"):
        to_eurosat_rgb(refl, "L2B")
    with pytest.raises(InvalidDataError, match=r"\(3, H, W\)"):
        to_eurosat_rgb(refl[:2], "L1C")


def test_match_eurosat_statistics_gives_eurosat_means() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.normal(60, 10, (64, 64, 3)).clip(0, 255).astype(np.uint8)
    valid = np.ones((64, 64), bool)
    valid[:8] = False
    out = match_eurosat_statistics(rgb, valid)
    assert out.dtype == np.uint8 and (out[~valid] == 0).all()
    assert out[valid].mean(axis=0) == pytest.approx(EUROSAT_RGB_MEAN, abs=1.5)
    assert out[valid].astype(float).std(axis=0) == pytest.approx(EUROSAT_RGB_STD, rel=0.05)


def test_geotiff_level_from_tags_then_declared_scale(tmp_path: Path) -> None:
    from lulc_core.classify import read_rgb

    path = tmp_path / "crop.tif"
    dn = np.full((3, 4, 4), 500, np.uint16)
    profile = dict(driver="GTiff", width=4, height=4, count=3, dtype="uint16", crs="EPSG:32631",
                   transform=from_origin(431640, 5409180, 10, 10))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dn)
        dst.update_tags(title="S2A_MSIL2A_20190708T105621_N0213_R094_T31UDQ_20190708T135449")
    refl = np.full((3, 1, 1), 0.05, np.float32)
    assert read_rgb(path)[0, 0].tolist() == to_eurosat_rgb(refl, "L2A")[0, 0].tolist()
    assert geotiff_level({"processing_level": "1C"}, path, 3, declared=True) == "L1C"
    assert geotiff_level({}, tmp_path / "x.tif", 3, declared=True) == "L2A"  # our scene files
    assert geotiff_level({}, tmp_path / "x.tif", 13, declared=False) == "L1C"  # EuroSAT-MS
    assert geotiff_level({}, tmp_path / "x.tif", 3, declared=False) == "L1C"
