"""The synthetic demo scene builder writes the real formats, deterministically, without seams."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import write_fake_eurosat
import rasterio

from lulc_core.classes import code_to_index
from lulc_core.data.demo import build_demo_scene
from lulc_core.geo import AOI

SMALL = AOI("testville", 2.30, 48.80, 2.36, 48.84)  # ~440 x 450 px at 10 m


@pytest.fixture(scope="module")
def eurosat_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny EuroSAT-layout folder: 3 noisy JPEGs per class."""
    return write_fake_eurosat(tmp_path_factory.mktemp("eurosat"), per_class=3, noise=20)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, eurosat_like: Path) -> Path:
    out = tmp_path_factory.mktemp("scenes") / "testville"
    build_demo_scene(SMALL, out, seed=3, source_dir=eurosat_like)
    return out


def test_bands_are_utm_cogs_with_l2a_offset(scene: Path) -> None:
    for band in ("B02", "B03", "B04"):
        with rasterio.open(scene / f"{band}.tif") as src:
            assert src.crs.to_epsg() == SMALL.utm_epsg()
            assert src.res == (10.0, 10.0) and src.dtypes[0] == "uint16" and src.nodata == 0
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.offsets == (-0.1,) and src.scales == (1e-4,)
            assert src.tags()["SYNTHETIC"] == "yes"
            data = src.read(1)
            assert (data > 0).mean() > 0.9  # only a thin no-data wedge


def test_scl_is_20m_on_the_same_grid_with_clouds(scene: Path) -> None:
    with rasterio.open(scene / "B02.tif") as b, rasterio.open(scene / "SCL.tif") as s:
        assert s.res == (20.0, 20.0) and s.crs == b.crs
        assert s.bounds.left == b.bounds.left and s.bounds.top == b.bounds.top
        values = set(np.unique(s.read(1)).tolist())
    assert values <= set(range(12)) and {4, 5} <= values


def test_labels_raster_and_urban_atlas_vector(scene: Path) -> None:
    with rasterio.open(scene / "labels.tif") as lab, rasterio.open(scene / "B02.tif") as b:
        assert lab.transform == b.transform and lab.shape == b.shape
        values = np.unique(lab.read(1))
    assert values.max() <= 27 and len(values) > 5
    gdf = gpd.read_file(scene / "labels.gpkg")
    assert gdf.crs.to_epsg() == 3035
    assert {"code_2018", "class_2018"} <= set(gdf.columns)
    assert set(gdf["code_2018"]) <= set(code_to_index())


def test_manifest_says_synthetic(scene: Path) -> None:
    manifest = json.loads((scene / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["source"] == "synthetic-demo"
    assert "SYNTHETIC" in manifest["notes"]


def test_same_seed_same_scene(tmp_path: Path, scene: Path, eurosat_like: Path) -> None:
    again = tmp_path / "testville"
    build_demo_scene(SMALL, again, seed=3, source_dir=eurosat_like)
    for name in ("B04.tif", "labels.tif", "SCL.tif"):
        with rasterio.open(scene / name) as a, rasterio.open(again / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))


def test_no_patch_grid_seams(scene: Path) -> None:
    """Texture edges every 64 px would show as stronger gradients on those columns."""
    with rasterio.open(scene / "B03.tif") as src:
        img = src.read(1).astype(np.float32)
    grad = np.abs(np.diff(img, axis=1)).mean(axis=0)
    usable = len(grad) // 64 * 64
    by_phase = grad[:usable].reshape(-1, 64).mean(axis=0)  # mean gradient per column phase
    assert by_phase.max() < 1.3 * np.median(by_phase)


def test_same_seed_same_scene_across_processes(tmp_path: Path, eurosat_like: Path) -> None:
    """String hashing differs between processes; the scene must not depend on it."""
    import os
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from lulc_core.data.demo import build_demo_scene; "
            "from lulc_core.geo import AOI; build_demo_scene(AOI('testville', 2.30, 48.80, 2.36, 48.84), "
            "Path(sys.argv[1]), seed=3, source_dir=Path(sys.argv[2]))")
    for h in ("1", "2"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / h), str(eurosat_like)],
                       check=True, env=os.environ | {"PYTHONHASHSEED": h})
    with rasterio.open(tmp_path / "1" / "B04.tif") as a, rasterio.open(tmp_path / "2" / "B04.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
