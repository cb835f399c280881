"""Sentinel-2 readers, Urban Atlas import and patches on tiny files in real formats (the STAC
fetch and the real Sentinel-2 samples are in test_real_s2.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box
from typer.testing import CliRunner

from lulc_core.cli import app
from lulc_core.data.patches import PatchDataset, build_patches, cloud_fraction
from lulc_core.data.scene import Reflectance, SceneManifest
from lulc_core.data.sentinel2 import import_cogs, import_safe, load_scene, write_scene
from lulc_core.data.urban_atlas import import_urban_atlas
from lulc_core.errors import AOIError, DataNotFoundError, InvalidDataError
from lulc_core.geo import AOI

CRS = "EPSG:32631"
LEFT, TOP = 448000.0, 5412000.0
SIZE = 256  # 10 m pixels -> 4 x 4 patches of 64
BASELINE_04 = -0.1  # the tiny files say nothing about their product: tests pass the offset


def _write(path: Path, data: np.ndarray, res: float, driver: str = "GTiff", **kw) -> Path:
    profile = dict(driver=driver, width=data.shape[1], height=data.shape[0], count=1,
                   dtype=data.dtype.name, crs=CRS, transform=from_origin(LEFT, TOP, res, res))
    with rasterio.open(path, "w", **profile, **kw) as dst:
        dst.write(data, 1)
    return path


def _bands(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {b: rng.integers(1100, 3000, (SIZE, SIZE), dtype=np.uint16) for b in ("B02", "B03", "B04")}


def _scl(cloud_pixels_in_patch0: int = 0) -> np.ndarray:
    """SCL at 20 m (128 x 128): vegetation, with some cloud pixels in the first 64 px patch."""
    scl = np.full((SIZE // 2, SIZE // 2), 4, np.uint8)
    flat = scl[:32, :32].reshape(-1)  # 32 x 32 SCL px = one 64 x 64 patch at 10 m
    flat[:cloud_pixels_in_patch0] = 9
    scl[:32, :32] = flat.reshape(32, 32)
    return scl


@pytest.fixture
def cog_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    src = tmp_path / "cogs"
    src.mkdir()
    for band, data in _bands(rng).items():
        _write(src / f"{band}.tif", data, 10.0, driver="COG")
    _write(src / "SCL.tif", _scl(), 20.0, driver="COG")
    return src


@pytest.fixture
def scene(tmp_path: Path, cog_folder: Path) -> Path:
    out = tmp_path / "scenes" / "tiny"
    import_cogs({b: cog_folder / f"{b}.tif" for b in ("B02", "B03", "B04", "SCL")}, out,
                offset=BASELINE_04)
    return out


def _urban_atlas_gpkg(path: Path, codes=(11100, 31000), column: str = "code_2018") -> Path:
    """Two polygons (left and right half of the tiny scene) in EPSG:3035."""
    mid = LEFT + SIZE * 10 / 2
    halves = [box(LEFT, TOP - SIZE * 10, mid, TOP), box(mid, TOP - SIZE * 10, LEFT + SIZE * 10, TOP)]
    gdf = gpd.GeoDataFrame({column: list(codes)}, geometry=halves, crs=CRS).to_crs("EPSG:3035")
    gdf.to_file(path, driver="GPKG", layer="ua")
    return path


def test_cog_scene_reflectance_offset_and_scl_resampling(scene: Path, cog_folder: Path) -> None:
    s = load_scene(scene)
    with rasterio.open(cog_folder / "B04.tif") as src:
        dn = src.read(1).astype(np.float32)
    np.testing.assert_allclose(s.image[0], dn * 1e-4 - 0.1, atol=1e-5)  # B04 first (RGB order)
    assert s.scl.shape == (SIZE, SIZE) and set(np.unique(s.scl)) == {4}
    assert s.crs == CRS and s.labels is None
    assert s.manifest.reflectance.source == "--offset -0.1 given" and s.manifest.cloud_mask


def test_safe_product_with_jp2_and_boa_offset(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    safe = tmp_path / "S2A_MSIL2A_20230701T105031_N0509_R051_T31UDQ_20230701T170000.SAFE"
    img = safe / "GRANULE" / "L2A_T31UDQ_A000001_20230701T105031" / "IMG_DATA"
    (img / "R10m").mkdir(parents=True)
    (img / "R20m").mkdir()
    for band, data in _bands(rng).items():
        _write(img / "R10m" / f"T31UDQ_20230701T105031_{band}_10m.jp2", data, 10.0,
               driver="JP2OpenJPEG", QUALITY="100", REVERSIBLE="YES")
    _write(img / "R20m" / "T31UDQ_20230701T105031_SCL_20m.jp2", _scl(), 20.0,
           driver="JP2OpenJPEG", QUALITY="100", REVERSIBLE="YES")
    (safe / "MTD_MSIL2A.xml").write_text(
        "<root><QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE>10000"
        "</BOA_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST><BOA_ADD_OFFSET_VALUES_LIST>"
        '<BOA_ADD_OFFSET band_id="0">-1000</BOA_ADD_OFFSET></BOA_ADD_OFFSET_VALUES_LIST></root>'
    )
    out = import_safe(safe, tmp_path / "scene", AOI("part", 2.29, 48.85, 2.305, 48.862))
    s = load_scene(out)
    assert 0 < s.image.shape[1] < SIZE  # clipped to the AOI
    assert np.nanmin(s.image) >= 0.0 - 1e-6 and np.nanmax(s.image) < 0.2  # (DN - 1000) / 10000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["processing_baseline"] == "05.09" and manifest["acquired"] == "2023-07-01"
    assert manifest["reflectance"]["source"] == "MTD_MSIL2A.xml: BOA_ADD_OFFSET -1000 / 10000"


def test_missing_band_and_outside_aoi(tmp_path: Path, cog_folder: Path, scene: Path) -> None:
    manifest = SceneManifest(name="x", bounds_wgs84=(0, 0, 1, 1), crs="", bands=[],
                             synthetic=False, source="cog",
                             reflectance=Reflectance(scale=1e-4, offset=0, source="test"))
    with pytest.raises(DataNotFoundError, match="no B03, B04 among the bands"):
        write_scene({"B02": cog_folder / "B02.tif"}, tmp_path / "x", None, manifest)
    assert not (tmp_path / "x").exists()  # nothing half-written
    with pytest.raises(AOIError, match="does not overlap"):
        load_scene(scene, AOI("far", 30.0, 10.0, 30.1, 10.1))


def test_corrupted_raster_is_a_clean_error(scene: Path) -> None:
    (scene / "B03.tif").write_bytes(b"not a tiff")
    with pytest.raises(InvalidDataError, match="cannot read raster"):
        load_scene(scene)


def test_urban_atlas_gpkg_zip_and_2021_codes(tmp_path: Path, scene: Path) -> None:
    gpkg = _urban_atlas_gpkg(tmp_path / "ua.gpkg", codes=(11100, 14120), column="code_2021")
    zpath = tmp_path / "FR999L1_TINY_UA2021.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(gpkg, "FR999L1_TINY_UA2021/Data/ua.gpkg")
    result = import_urban_atlas(zpath, scene)
    assert result.coverage == pytest.approx(1.0)
    labels = load_scene(scene).labels
    assert set(np.unique(labels[:, : SIZE // 2 - 1])) == {1}  # 11100 -> index 1
    assert set(np.unique(labels[:, SIZE // 2 + 1 :])) == {16}  # 14120 -> 14100 -> index 16


def test_urban_atlas_bad_inputs(tmp_path: Path, scene: Path) -> None:
    unknown = import_urban_atlas(_urban_atlas_gpkg(tmp_path / "a.gpkg", codes=(11100, 99999)),
                                 scene)
    assert unknown.layer.unknown_codes == {"99999": 1}  # left out and counted, the rest imported
    with pytest.raises(InvalidDataError, match="no code_2018"):
        import_urban_atlas(_urban_atlas_gpkg(tmp_path / "b.gpkg", column="klass"), scene)
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(InvalidDataError, match="zip"):
        import_urban_atlas(tmp_path / "bad.zip", scene)


def test_invalid_geometry_is_repaired(tmp_path: Path, scene: Path) -> None:
    from shapely.geometry import Polygon

    x0, y0, x1, y1 = LEFT, TOP - SIZE * 10, LEFT + SIZE * 10, TOP
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # self-intersecting
    gdf = gpd.GeoDataFrame({"code_2018": [31000]}, geometry=[bowtie], crs=CRS).to_crs("EPSG:3035")
    gdf.to_file(tmp_path / "bow.gpkg", driver="GPKG")
    assert import_urban_atlas(tmp_path / "bow.gpkg", scene).coverage > 0.3


@pytest.mark.parametrize(("cloud_px", "kept"), [(int(0.15 * 32 * 32), True), (int(0.16 * 32 * 32) + 1, False)])
def test_cloud_threshold_15_percent_kept_16_dropped(
    tmp_path: Path, cog_folder: Path, cloud_px: int, kept: bool
) -> None:
    _write(cog_folder / "SCL.tif", _scl(cloud_px), 20.0, driver="COG")
    scene = import_cogs({b: cog_folder / f"{b}.tif" for b in ("B02", "B03", "B04", "SCL")},
                        tmp_path / "s", offset=BASELINE_04)
    import_urban_atlas(_urban_atlas_gpkg(tmp_path / "ua.gpkg"), scene)
    frac = cloud_fraction(load_scene(scene).scl[:64, :64][None, None])[0, 0]
    assert frac == pytest.approx(cloud_px / 1024)
    summary = build_patches(scene, tmp_path / "p", split="random")
    assert summary.kept == (16 if kept else 15) and summary.dropped_cloud == (0 if kept else 1)


def test_patches_nan_split_stats_and_dataset(tmp_path: Path, scene: Path) -> None:
    import_urban_atlas(_urban_atlas_gpkg(tmp_path / "ua.gpkg"), scene)
    with rasterio.open(scene / "B02.tif", "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:  # 1 nodata px
        dst.write(np.zeros((1, 1), np.uint16), 1, window=((200, 201), (200, 201)))
    summary = build_patches(scene, tmp_path / "p", split="spatial", test_fraction=0.25, block=2)
    positions = PatchDataset(tmp_path / "p", "all").positions
    splits = [p["split"] for p in json.loads((tmp_path / "p" / "patches.json").read_text())["patches"]]
    blocks = {}
    for (r, c), split in zip(positions, splits):  # a 2x2 block never straddles the split
        blocks.setdefault((r // 2, c // 2), set()).add(split)
    assert all(len(v) == 1 for v in blocks.values())
    assert summary.dropped_nan == 1 and summary.kept == 15
    assert summary.train + summary.test == 15 and summary.test > 0
    ds = PatchDataset(tmp_path / "p", "train")
    sample = ds[0]
    assert sample["image"].dtype.is_floating_point and tuple(sample["image"].shape) == (3, 64, 64)
    assert sample["mask"].dtype == __import__("torch").int64
    stats = json.loads((tmp_path / "p" / "stats.json").read_text())
    train = np.stack([ds.images[k].astype(np.float32) for k in ds.indices])
    np.testing.assert_allclose(stats["mean"], train.mean(axis=(0, 2, 3)), rtol=1e-3)


def test_all_cloudy_is_a_one_line_error(tmp_path: Path, cog_folder: Path) -> None:
    _write(cog_folder / "SCL.tif", np.full((SIZE // 2, SIZE // 2), 8, np.uint8), 20.0)
    scene = import_cogs({b: cog_folder / f"{b}.tif" for b in ("B02", "B03", "B04", "SCL")},
                        tmp_path / "s", offset=BASELINE_04)
    import_urban_atlas(_urban_atlas_gpkg(tmp_path / "ua.gpkg"), scene)
    with pytest.raises(InvalidDataError, match="0 patches left: 16 dropped for cloud, 0 for NaN"):
        build_patches(scene, tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_cli_bad_inputs_exit_2(isolated_dirs: dict[str, Path]) -> None:
    runner = CliRunner()
    for args in (["prepare", "--city", "nowhere"], ["fetch", "sentinel2", "--city", "atlantis"],
                 ["import", "urban-atlas", "missing.zip", "--scene", "paris"],
                 ["prepare", "--city", "../etc"]):
        result = runner.invoke(app, args)
        assert result.exit_code != 0
    from lulc_core.cli import main  # the console entry turns LulcError into exit code 2
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "lulc_core", "prepare", "--city", "nowhere"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert main is not None
