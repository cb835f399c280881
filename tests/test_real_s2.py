"""Real Sentinel-2 end to end: reflectance decided from each product's own metadata, band-folder
import, scenes without SCL, L1C, the committed Versailles sample, and the STAC fetch against the
real Earth Search v1 item served on 127.0.0.1.

The Versailles files are real L2A / L1C products of processing baseline 02.1x: reflectance =
DN / 10000, no offset. Red median of the 2019-07-08 L2A scene: DN 724 -> 0.0724; the
baseline-04.00 offset applied by mistake would give -0.028.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from lulc_cli import assert_one_line_error, run_lulc
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds
from shapely.geometry import box
from stac_server import stac_server

from lulc_core.config import REPO_ROOT
from lulc_core.data.reflectance import (
    band_files_product,
    safe_product,
    stac_item_product,
)
from lulc_core.data.samples import (
    ATTRIBUTION,
    SAMPLE_DATE,
    SAMPLE_DIR,
    ensure_sample_scenes,
    shared_sample_dir,
)
from lulc_core.data.scene import read_manifest
from lulc_core.data.sentinel2 import import_band_folder, import_safe, load_scene
from lulc_core.errors import InvalidDataError
from lulc_core.geo import AOI

SHARED = shared_sample_dir()  # ../shared/data/real_s2/versailles or $LULC_REAL_S2_DIR
ITEM_JSON = ((SHARED.parents[2] if SHARED else REPO_ROOT.parent / "shared") / "reference"
             / "earth_search_v1_item_S2A_39QTA_20230628.json")
needs_shared = pytest.mark.skipif(SHARED is None, reason="no ../shared/data/real_s2")
needs_item = pytest.mark.skipif(not ITEM_JSON.is_file(), reason="no ../shared/reference")
RED_MEDIAN = 0.0724  # DN median 724 of B04, 2019-07-08 L2A, no offset
# Urban Atlas codes of vegetated land: green urban areas, agricultural, forests and
# semi-natural areas, wetlands
VEGETATED = (14100, 21000, 22000, 23000, 24000, 25000, 31000, 32000, 33000, 40000)


def _sample_band(band: str, folder: Path = SAMPLE_DIR, day: str = SAMPLE_DATE) -> Path:
    return next(folder.glob(f"{day}_*_band_{band}.tif"))


def _red_median(scene: Path) -> float:
    return float(np.nanmedian(load_scene(scene, bands=("B04",)).image[0]))


@pytest.fixture
def real_models(isolated_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Fresh data folder, but the committed models."""
    monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(REPO_ROOT / "artifacts"))
    return isolated_dirs


# --------------------------------------------------------------------------- band GeoTIFFs


def test_committed_sample_imports_with_the_right_reflectance(
    isolated_dirs: dict[str, Path],
) -> None:
    scene = import_band_folder(SAMPLE_DIR, isolated_dirs["data"] / "scenes" / "v",
                               site="versailles")
    m = read_manifest(scene)
    assert (m.level, m.processing_baseline, m.acquired) == ("L2A", "02.13", "2019-07-08")
    assert m.reflectance.offset == 0.0 and m.reflectance.scale == pytest.approx(1e-4)
    assert "N0213" in m.reflectance.source and "no offset" in m.reflectance.source
    assert m.cloud_mask is False and m.site == "versailles" and not m.synthetic
    assert m.bands == ["B02", "B03", "B04"] and m.crs == "EPSG:32631"
    s = load_scene(scene)
    assert s.scl is None and s.image.shape == (3, 504, 498)
    medians = np.nanmedian(s.image, axis=(1, 2))  # B04, B03, B02
    assert medians[0] == pytest.approx(RED_MEDIAN, abs=2e-4)
    assert 0.03 < medians[2] < medians[1] < 0.1  # blue < green: vegetated summer scene


def test_the_explicit_offset_wins_and_is_recorded(isolated_dirs: dict[str, Path]) -> None:
    scene = import_band_folder(SAMPLE_DIR, isolated_dirs["data"] / "scenes" / "v", offset=-0.1)
    assert read_manifest(scene).reflectance.source == "--offset -0.1 given"
    assert _red_median(scene) == pytest.approx(RED_MEDIAN - 0.1, abs=2e-4)  # the bug


@pytest.mark.parametrize(("tags", "offset", "source"), [
    ({"title": "S2B_MSIL2A_20230705T105619_N0509_R094_T31UDQ_20230705T121500"}, -0.1,
     "baseline 05.09 >= 04.00"),
    ({"PROCESSING_BASELINE": "04.00"}, -0.1, "baseline 04.00 >= 04.00"),
    ({"date": "2022-03-01 10:56:21"}, -0.1, "acquired 2022-03-01 on or after 2022-01-25"),
    ({"date": "2021-12-30 10:56:21"}, 0.0, "before 2022-01-25"),
    ({}, None, "--baseline"),
])
def test_band_file_metadata_decides(tmp_path: Path, tags: dict, offset: float | None,
                                    source: str) -> None:
    """Plain B02/B03/B04.tif: only the tags say anything; nothing at all -> refused."""
    paths = {}
    for band in ("B02", "B03", "B04"):
        with rasterio.open(_sample_band(band)) as src:
            profile, data = src.profile, src.read(1)
        paths[band] = tmp_path / f"{band}.tif"
        with rasterio.open(paths[band], "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(**tags)
    if offset is None:
        with pytest.raises(InvalidDataError, match="pass --baseline .* or --offset"):
            band_files_product(paths)
        return
    product = band_files_product(paths)
    assert product.reflectance.offset == offset and source in product.reflectance.source


@needs_shared
def test_three_dates_and_l1c_from_one_folder(isolated_dirs: dict[str, Path]) -> None:
    scenes = isolated_dirs["data"] / "scenes"
    medians = {}
    for day in ("2019-07-03", "2019-07-08", "2019-07-10"):
        scene = import_band_folder(SHARED / "L2A", scenes / day, acquired=day)
        m = read_manifest(scene)
        assert m.acquired == day and m.level == "L2A" and m.processing_baseline < "04.00"
        medians[day] = _red_median(scene)
    assert all(0.05 < v < 0.1 for v in medians.values()), medians
    l1c = read_manifest(import_band_folder(SHARED / "L1C", scenes / "l1c", acquired="2019-07-08"))
    assert (l1c.level, l1c.processing_baseline, l1c.reflectance.offset) == ("L1C", "02.08", 0.0)
    # top of atmosphere is brighter in blue than the atmospherically corrected L2A
    l1c_blue = np.nanmedian(load_scene(scenes / "l1c", bands=("B02",)).image)
    l2a_blue = np.nanmedian(load_scene(scenes / "2019-07-08", bands=("B02",)).image)
    assert l1c_blue > l2a_blue + 0.02


# --------------------------------------------------------------------------- SAFE metadata


@pytest.mark.parametrize(("name", "mtd", "level", "offset"), [
    ("S2B_MSIL1C_20230705T105619_N0509_R094_T31UDQ_20230705T113000.SAFE",
     ("MTD_MSIL1C.xml", "<r><QUANTIFICATION_VALUE>10000</QUANTIFICATION_VALUE>"
      '<RADIO_ADD_OFFSET band_id="1">-1000</RADIO_ADD_OFFSET></r>'), "L1C", -0.1),
    ("S2A_MSIL2A_20190708T105621_N0213_R094_T31UDQ_20190708T115622.SAFE",
     ("MTD_MSIL2A.xml", "<r><BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE>"
      "<AOT_QUANTIFICATION_VALUE>1000</AOT_QUANTIFICATION_VALUE></r>"), "L2A", 0.0),
    ("S2A_MSIL2A_20190708T105621_N0213_R094_T31UDQ_20190708T115622.SAFE", None, "L2A", 0.0),
])
def test_safe_metadata(tmp_path: Path, name: str, mtd: tuple | None, level: str,
                       offset: float) -> None:
    safe = tmp_path / name
    safe.mkdir()
    if mtd:
        (safe / mtd[0]).write_text(mtd[1])
    product = safe_product(safe)
    assert product.level == level and product.reflectance.offset == pytest.approx(offset)
    assert product.reflectance.scale == pytest.approx(1e-4)


@needs_shared
def test_l1c_safe_product_imports_as_l1c(isolated_dirs: dict[str, Path]) -> None:
    """An L1C SAFE (flat IMG_DATA, MTD_MSIL1C.xml of baseline 02.08 without RADIO_ADD_OFFSET)
    made of a real 128 x 128 px L1C crop: recorded as L1C, no SCL, DN / 10000."""
    from rasterio.windows import Window

    name = "S2A_MSIL1C_20190708T105621_N0208_R094_T31UDQ_20190708T112621.SAFE"
    safe = isolated_dirs["data"] / name
    img = safe / "GRANULE" / "L1C_T31UDQ_A021112_20190708T110438" / "IMG_DATA"
    img.mkdir(parents=True)
    (safe / "MTD_MSIL1C.xml").write_text(
        "<r><PROCESSING_BASELINE>02.08</PROCESSING_BASELINE>"
        "<QUANTIFICATION_VALUE>10000</QUANTIFICATION_VALUE></r>")
    window = Window(200, 200, 128, 128)
    for band in ("B02", "B03", "B04"):
        with rasterio.open(_sample_band(band, SHARED / "L1C")) as src:
            dn, transform, crs = src.read(1, window=window), src.window_transform(window), src.crs
        with rasterio.open(img / f"T31UDQ_20190708T105621_{band}.jp2", "w", driver="JP2OpenJPEG",
                           width=128, height=128, count=1, dtype="uint16", crs=crs,
                           transform=transform, QUALITY="100", REVERSIBLE="YES") as dst:
            dst.write(dn, 1)
    scene = import_safe(safe, isolated_dirs["data"] / "scenes" / "l1c")
    m = read_manifest(scene)
    assert (m.level, m.processing_baseline, m.acquired, m.cloud_mask) == (
        "L1C", "02.08", "2019-07-08", False)
    assert m.reflectance.offset == 0.0
    assert "MTD_MSIL1C.xml has no RADIO_ADD_OFFSET" in m.reflectance.source
    np.testing.assert_allclose(load_scene(scene, bands=("B04",)).image[0], dn / 10000, atol=1e-6)


def test_safe_without_any_clue_is_refused(tmp_path: Path) -> None:
    (tmp_path / "product.SAFE").mkdir()
    with pytest.raises(InvalidDataError, match="--offset"):
        safe_product(tmp_path / "product.SAFE")


# --------------------------------------------------------------------------- STAC


def _item(applied: bool | None, baseline: str, base: str = "", cloud: float = 3.0,
          iid: str = "S2A_31UDQ_20230701_0_L2A") -> dict:
    """The real Earth Search v1 item, moved onto the Versailles tile with local assets."""
    item = json.loads(ITEM_JSON.read_text())
    props = item["properties"]
    props.update({"s2:processing_baseline": baseline, "eo:cloud_cover": cloud,
                  "grid:code": "MGRS-31UDQ", "proj:epsg": 32631,
                  "datetime": "2023-07-01T10:56:21Z"})
    if applied is None:
        props.pop("earthsearch:boa_offset_applied")
    else:
        props["earthsearch:boa_offset_applied"] = applied
    item["id"] = iid
    with rasterio.open(_sample_band("B04")) as src:
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    item["bbox"] = list(bounds)
    item["geometry"] = box(*bounds).__geo_interface__
    for key, band in (("red", "B04"), ("green", "B03"), ("blue", "B02"), ("scl", "SCL")):
        item["assets"][key]["href"] = f"{base}/{band}.tif"
    return item


@needs_item
@pytest.mark.parametrize(("applied", "baseline", "offset"), [
    (True, "05.09", 0.0),  # the recorded item: COGs already carry the offset
    (False, "05.09", -0.1),
    (None, "04.00", -0.1),
    (False, "02.13", 0.0),  # raster:bands still says -0.1: the baseline wins
    (True, "02.13", 0.0),
])
def test_stac_item_decision(applied: bool | None, baseline: str, offset: float) -> None:
    product = stac_item_product(_item(applied, baseline))
    assert product.reflectance.offset == offset and product.baseline == baseline
    assert product.level == "L2A" and product.acquired == "2023-07-01"


@needs_item
@pytest.mark.parametrize(("applied", "baseline"), [
    (True, "05.09"), (False, "05.09"), (False, "04.00"), (None, "02.13"),
])
def test_stac_fetch_of_versailles_pixels(isolated_dirs: dict[str, Path], capsys,
                                         monkeypatch: pytest.MonkeyPatch, applied: bool | None,
                                         baseline: str) -> None:
    """Serve the Versailles DN as the catalogue would for each case (DN + 1000 where the product
    carries the -1000 offset and the catalogue did not remove it); ``lulc fetch sentinel2`` must
    always write the true reflectance, and say how it decided."""
    tmp_path = isolated_dirs["data"].parent
    root = tmp_path / "stac"
    root.mkdir()
    shifted = baseline >= "04.00" and not applied
    for band in ("B02", "B03", "B04"):
        with rasterio.open(_sample_band(band)) as src:
            profile, dn = src.profile, src.read(1)
        dn = np.where(dn > 0, dn + (1000 if shifted else 0), 0).astype(np.uint16)
        profile.update(driver="COG", blocksize=256, compress="deflate")
        for key in ("blockxsize", "blockysize", "tiled", "interleave"):
            profile.pop(key, None)
        with rasterio.open(root / f"{band}.tif", "w", **profile) as dst:
            dst.write(dn, 1)
        if band == "B02":
            scl_profile = {**profile, "dtype": "uint8", "width": dn.shape[1] // 2,
                           "height": dn.shape[0] // 2,
                           "transform": profile["transform"] @ rasterio.Affine.scale(2)}
            with rasterio.open(root / "SCL.tif", "w", **scl_profile) as dst:
                dst.write(np.full((dn.shape[0] // 2, dn.shape[1] // 2), 4, np.uint8), 1)
    server, port = stac_server(root)
    base = f"http://127.0.0.1:{port}"
    landing = {"type": "Catalog", "id": "earth-search-aws", "stac_version": "1.0.0",
               "description": "local", "conformsTo": [
                   "https://api.stacspec.org/v1.0.0/core",
                   "https://api.stacspec.org/v1.0.0/item-search"],
               "links": [{"rel": "self", "href": base},
                         {"rel": "search", "href": f"{base}/search", "method": "POST",
                          "type": "application/geo+json"}]}
    (root / "index.html").write_text(json.dumps(landing))  # pystac-client GETs the root URL
    cloudy = _item(applied, baseline, base, cloud=55.0, iid="S2B_31UDQ_20230706_0_L2A")
    (root / "search.json").write_text(json.dumps({"type": "FeatureCollection", "features": [
        _item(applied, baseline, base), cloudy]}))
    try:
        code, out, err = run_lulc(
            ["fetch", "sentinel2", "--bbox", "2.075,48.79,2.13,48.828", "--start", "2023-06-01",
             "--end", "2023-08-01", "--stac-url", f"{base}/index.html", "--name", "scene"],
            capsys, monkeypatch)
    finally:
        server.kill()
    assert code == 0, err
    scene = isolated_dirs["data"] / "scenes" / "scene"
    manifest = read_manifest(scene)
    assert [i["id"] for i in manifest.items] == ["S2A_31UDQ_20230701_0_L2A"]
    assert manifest.reflectance.offset == (-0.1 if shifted else 0.0)
    assert manifest.processing_baseline == baseline and manifest.cloud_mask
    assert f"reflectance = DN x 0.0001 + {manifest.reflectance.offset:g} (" in out
    assert ("earthsearch:boa_offset_applied true" in out) == bool(applied)
    s = load_scene(scene)
    with rasterio.open(_sample_band("B04")) as src:  # the true reflectance of the same pixels
        h, w = s.image.shape[1:]
        window = from_bounds(s.transform.c, s.transform.f - 10 * h, s.transform.c + 10 * w,
                             s.transform.f, src.transform)
        truth = src.read(1, window=window).astype(np.float32) / 10000
    assert truth.shape == (h, w) and truth.min() > 0
    np.testing.assert_allclose(s.image[0], truth, atol=1e-6)
    assert s.scl.max() == 4 and not list(scene.parent.glob(".*"))  # staging cleaned up


# --------------------------------------------------------------------------- samples, mapping


def test_sample_scenes_installed_once(isolated_dirs: dict[str, Path]) -> None:
    scenes = ensure_sample_scenes()
    expected = ["versailles-2019-07-08"] if SHARED is None else [
        "versailles-2019-07-03", "versailles-2019-07-08", "versailles-2019-07-10"]
    assert [s.name for s in scenes] == expected
    manifests = [read_manifest(s) for s in scenes]
    assert all(m.site == "versailles" and m.attribution == ATTRIBUTION and m.city == "paris"
               and not m.synthetic and m.reflectance.offset == 0.0 for m in manifests)
    stamp = (scenes[0] / "manifest.json").stat().st_mtime_ns
    assert ensure_sample_scenes() == scenes
    assert (scenes[0] / "manifest.json").stat().st_mtime_ns == stamp  # kept, not re-imported


def test_demo_data_says_the_samples_are_real(isolated_dirs: dict[str, Path], capsys,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for city in ("paris", "ankara"):  # the synthetic scenes exist: only the samples are new
        (isolated_dirs["data"] / "scenes" / city).mkdir(parents=True)
        (isolated_dirs["data"] / "scenes" / city / "manifest.json").write_text("{}")
    code, out, err = run_lulc(["demo-data", "--if-missing"], capsys, monkeypatch)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("versailles-2019-07-08"))
    assert "REAL Sentinel-2 L2A scene (not synthetic)" in line and "N0213" in line


@pytest.mark.slow
def test_paris_unet_maps_the_scene_without_scl(real_models: dict[str, Path], capsys,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's check: with the right offset the Paris U-Net sees Versailles' park, forest
    and fields (>= 45 % vegetated classes); with the -0.1 offset it did not."""
    import pandas as pd

    from lulc_core.predict import predict_area

    scene = ensure_sample_scenes()[1 if SHARED else 0]
    out = real_models["data"] / "v.tif"
    code, _, err = run_lulc(["predict", "--model", "unet-paris", "--scene", scene.name,
                             "--out", str(out)], capsys, monkeypatch)
    assert code == 0, err
    areas = pd.read_csv(out.with_suffix(".csv"))
    vegetated = areas[areas["code"].isin(VEGETATED)]["predicted_pct"].sum()
    assert vegetated >= 45.0, areas
    area = predict_area("unet-paris", scene, AOI("park", 2.09, 48.80, 2.11, 48.81))
    assert area.truth is None and area.prediction.shape == area.rgb.shape[:2]
    assert (area.prediction != 255).mean() > 0.99


# --------------------------------------------------------------------------- L1C and classify


def test_classify_accepts_an_l1c_geotiff(real_models: dict[str, Path], tmp_path: Path, capsys,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """EuroSAT is L1C: a 64 x 64 RGB GeoTIFF of real L1C DN (Versailles houses, rows 320-383,
    columns 384-447) is classified as Residential."""
    if SHARED is None:
        pytest.skip("../shared/data/real_s2 not beside the clone")
    from rasterio.windows import Window

    window = Window(384, 320, 64, 64)
    data = []
    for band in ("B04", "B03", "B02"):
        with rasterio.open(_sample_band(band, SHARED / "L1C", "2019-07-08")) as src:
            data.append(src.read(1, window=window))
            transform = src.window_transform(window)
            crs = src.crs
    path = tmp_path / "l1c_houses.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint16",
                       crs=crs, transform=transform, nodata=0) as dst:
        dst.write(np.stack(data))
        dst.descriptions = ("B04", "B03", "B02")
    code, out, err = run_lulc(["classify", str(path), "--json"], capsys, monkeypatch)
    assert code == 0, err
    top = json.loads(out)[0]["top"]
    assert top[0]["class"] == "Residential" and top[0]["probability"] > 0.5, top


# --------------------------------------------------------------------------- bad inputs


def _copy_sample(dest: Path, bands=("B02", "B03", "B04")) -> Path:
    dest.mkdir(parents=True)
    for band in bands:
        shutil.copy(_sample_band(band), dest)
    return dest


def _shifted_grid(folder: Path) -> Path:
    """B03 moved by one pixel: same size, another grid."""
    folder = _copy_sample(folder)
    path = _sample_band("B03", folder)
    with rasterio.open(path, "r+") as dst:
        dst.transform = dst.transform @ dst.transform.translation(1, 0)
    return folder


def _l1c_scene(data: Path) -> str:
    folder = _copy_sample(data / "l1c-src")
    for band in ("B02", "B03", "B04"):
        with rasterio.open(_sample_band(band, folder), "r+") as dst:
            dst.update_tags(processing_level="1C",
                            title="S2A_MSIL1C_20190708T105621_N0208_R094_T31UDQ_20190708T112621")
    import_band_folder(folder, data / "scenes" / "l1c")
    return "l1c"


@pytest.mark.parametrize(("case", "words"), [
    ("two bands", ["no B04", "B02, B03 and B04"]),
    ("mismatched grids", ["B03", "not on the grid of B02"]),
    ("unknown baseline", ["unknown processing baseline", "--baseline"]),
    ("offset and baseline", ["both given", "give one"]),
    ("unknown date", ["2019-07-09", "--date", "2019-07-08"]),
    ("several dates", ["2 dates", "--date"]),
    ("nothing tells", ["--offset", "--baseline"]),
    ("not a folder", ["not a folder"]),
    ("l1c prepare", ["L1C", "L2A"]),
    ("l1c predict", ["L1C", "L2A"]),
    ("no scl prepare", ["--no-cloud-filter"]),
])
def test_cli_bad_real_inputs(isolated_dirs: dict[str, Path], capsys,
                             monkeypatch: pytest.MonkeyPatch, case: str, words: list[str]) -> None:
    data = isolated_dirs["data"]
    src = data / "src"
    args = ["import", "sentinel2", str(src), "--name", "new"]
    if case == "two bands":
        _copy_sample(src, ("B02", "B03"))
    elif case == "mismatched grids":
        _shifted_grid(src)
    elif case == "unknown baseline":
        _copy_sample(src)
        args += ["--baseline", "7x"]
    elif case == "offset and baseline":
        _copy_sample(src)
        args += ["--offset", "0", "--baseline", "02.13"]
    elif case == "unknown date":
        _copy_sample(src)
        args += ["--date", "2019-07-09"]
    elif case == "several dates":
        _copy_sample(src)
        for f in list(src.iterdir()):
            shutil.copy(f, src / f.name.replace("2019-07-08", "2019-07-09"))
    elif case == "nothing tells":
        src.mkdir()
        for band in ("B02", "B03", "B04"):
            with rasterio.open(_sample_band(band)) as s:
                profile, dn = s.profile, s.read(1)
            with rasterio.open(src / f"{band}.tif", "w", **profile) as dst:
                dst.write(dn, 1)
    elif case == "not a folder":
        args[2] = str(data / "missing")
    elif case.startswith("l1c"):
        scene = _l1c_scene(data)
        args = (["prepare", "--city", scene] if case == "l1c prepare" else
                ["predict", "--model", "unet-paris", "--scene", scene,
                 "--out", str(data / "p.tif")])
        monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(REPO_ROOT / "artifacts"))
    elif case == "no scl prepare":
        import_band_folder(SAMPLE_DIR, data / "scenes" / "v")
        _label(data / "scenes" / "v")
        args = ["prepare", "--city", "v"]
    code, _, err = run_lulc(args, capsys, monkeypatch)
    assert_one_line_error(code, err, *words)
    assert not (data / "scenes" / "new").exists()
    assert not (data / "patches").exists()
    leftovers = [p.name for p in (data / "scenes").glob(".*")] if (data / "scenes").exists() else []
    assert leftovers == []  # no temporary or staging folder either


def _label(scene: Path) -> None:
    """Urban Atlas polygons over the sample: forest west, low-density urban east (EPSG:3035)."""
    from lulc_core.data.urban_atlas import import_urban_atlas

    with rasterio.open(scene / "B02.tif") as src:
        left, bottom, right, top = src.bounds
        crs = src.crs
    mid = (left + right) / 2
    gdf = gpd.GeoDataFrame({"code_2018": [31000, 11230]},
                           geometry=[box(left, bottom, mid, top), box(mid, bottom, right, top)],
                           crs=crs).to_crs("EPSG:3035")
    gdf.to_file(scene.parent / "ua.gpkg", driver="GPKG")
    import_urban_atlas(scene.parent / "ua.gpkg", scene)


def test_prepare_without_scl_with_explicit_no_cloud_filter(isolated_dirs: dict[str, Path], capsys,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    scene = import_band_folder(SAMPLE_DIR, isolated_dirs["data"] / "scenes" / "v")
    _label(scene)
    code, out, err = run_lulc(["prepare", "--city", "v", "--no-cloud-filter", "--split", "random"],
                              capsys, monkeypatch)
    assert code == 0, err
    assert "none for cloud (--no-cloud-filter)" in out
    summary = json.loads((isolated_dirs["data"] / "patches" / "v" / "summary.json").read_text())
    assert summary["cloud_filter"] is False and summary["dropped_cloud"] == 0
    assert summary["kept"] + summary["dropped_nan"] == summary["total"] == 7 * 7
