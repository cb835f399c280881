"""Urban Atlas import on a real delivery: the 2012 Copenhagen clip (zipped FileGDB, five layers,
text codes in CODE2012, change layers and a boundary layer), imported into a generated scene
whose 10 m grid covers it; plus the files a user may get wrong, through the real CLI."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from lulc_cli import assert_one_line_error, run_lulc
from rasterio.transform import from_origin

from lulc_core.classes import code_to_index, urban_atlas_classes
from lulc_core.config import REPO_ROOT
from lulc_core.data.scene import LABELS_RASTER, LABELS_VECTOR
from lulc_core.data.sentinel2 import import_cogs
from lulc_core.data.urban_atlas import import_urban_atlas, read_urban_atlas
from lulc_core.errors import InvalidDataError

# ../shared beside the clone (CI); LULC_SHARED_DIR where the checkout lives elsewhere.
SHARED = Path(os.environ.get("LULC_SHARED_DIR", REPO_ROOT.parent / "shared"))
SAMPLE = SHARED / "data" / "urban_atlas_samples" / "DK001L2_KOBENHAVN_clip.gdb.zip"
GDB = f"/vsizip/{SAMPLE}/DK001L2_KOBENHAVN_clip.gdb"
UA2012 = "DK001L2_KOBENHAVN_UA2012"
BOUNDARY = "Boundary2012_DK001L2_KOBENHAVN"
CHANGE = "DK001L2_KOBENHAVN_UA2006_2012"
# The clip spans x 315,825-317,930 m, y 6,179,239-6,181,496 m in UTM 33N: a 2.4 km square covers it.
CRS, LEFT, TOP, SIZE = "EPSG:32633", 315700.0, 6181600.0, 240
# CODE2012 values present in the clip (19 polygons): arable, pasture, grassland, wetland, water.
CODES = {21000, 23000, 32000, 40000, 50000}

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"{SAMPLE} (shared data) is absent")


def _layer(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(GDB, layer=name)


def _zip(path: Path, *files: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.write(f, f"DK001L2_KOBENHAVN/Data/{f.name}")
    return path


def _gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Layers written in the given order (GDAL lists them in that order)."""
    for name, gdf in layers.items():
        gdf.to_file(path, driver="GPKG", layer=name)
    return path


def _write_band(path: Path, data: np.ndarray, res: float) -> None:
    profile = dict(driver="COG", width=data.shape[1], height=data.shape[0], count=1,
                   dtype=data.dtype.name, crs=CRS, transform=from_origin(LEFT, TOP, res, res))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


@pytest.fixture
def scene(isolated_dirs: dict[str, Path], tmp_path: Path) -> Path:
    """``<data>/scenes/kobenhavn``: B02/B03/B04 uint16 COGs at 10 m and SCL at 20 m."""
    rng = np.random.default_rng(0)
    cogs = tmp_path / "cogs"
    cogs.mkdir()
    for band in ("B02", "B03", "B04"):
        _write_band(cogs / f"{band}.tif", rng.integers(1100, 3000, (SIZE, SIZE), np.uint16), 10.0)
    _write_band(cogs / "SCL.tif", np.full((SIZE // 2, SIZE // 2), 4, np.uint8), 20.0)
    out = isolated_dirs["data"] / "scenes" / "kobenhavn"
    return import_cogs({b: cogs / f"{b}.tif" for b in ("B02", "B03", "B04", "SCL")}, out, offset=0.0)


def _labels(scene: Path) -> np.ndarray:
    with rasterio.open(scene / LABELS_RASTER) as src:
        return src.read(1)


def _no_labels(scene: Path) -> bool:
    return not any((scene / name).exists() for name in (LABELS_RASTER, LABELS_VECTOR)) and not [
        p for p in scene.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("source", ["zip", "gdb folder"])
def test_real_2012_filegdb_imports_its_land_use_layer(scene: Path, tmp_path: Path,
                                                      source: str) -> None:
    path = SAMPLE
    if source == "gdb folder":
        with zipfile.ZipFile(SAMPLE) as zf:
            zf.extractall(tmp_path)
        path = tmp_path / "DK001L2_KOBENHAVN_clip.gdb"
    result = import_urban_atlas(path, scene)
    layer = result.layer
    assert (layer.name, layer.column) == (UA2012, "CODE2012")  # not the change or boundary layer
    assert len(layer.polygons) == 19 and layer.null_codes == 0 and layer.unknown_codes == {}
    written = gpd.read_file(scene / LABELS_VECTOR)
    assert len(written) == 19 and set(written["code_2018"]) == CODES
    # Pixel shares follow the polygons' areas (pasture 56%, wetland 17%, grassland 17%, water
    # 8%, arable 3% of the 1.46 km2 clip).
    labels = _labels(scene)
    truth = _layer(UA2012)
    area = truth.geometry.area.groupby(truth["CODE2012"].astype(int)).sum()
    index = code_to_index()
    labelled = labels[labels > 0]
    assert set(np.unique(labelled)) == {index[c] for c in CODES}
    for code, share in (area / area.sum()).items():
        assert np.mean(labelled == index[code]) == pytest.approx(share, abs=0.01), code
    assert np.bincount(labelled).argmax() == index[23000]  # pastures
    # The labelled pixels cover the clip (the boundary layer's polygon), the rest is background.
    boundary_area = _layer(BOUNDARY).geometry.area.sum()
    assert result.coverage == pytest.approx(boundary_area / (SIZE * 10) ** 2, abs=0.005)


def test_ua2012_item_names_match_the_2018_legend() -> None:
    """UA2012 codes are taken as 2018 codes: the delivery's class names agree with our legend."""
    truth = _layer(UA2012)
    names = {c.code: c.name for c in urban_atlas_classes()}
    words = lambda s: "".join(ch for ch in s.lower() if ch.isalnum())  # noqa: E731
    for code, item in set(zip(truth["CODE2012"].astype(int), truth["ITEM2012"])):
        assert words(names[code]).startswith(words(item).rstrip("…")[:30]), (code, item)


def test_layer_found_by_code_column_whatever_the_order(scene: Path, tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "ua.gpkg", {BOUNDARY: _layer(BOUNDARY), CHANGE: _layer(CHANGE),
                                        UA2012: _layer(UA2012)})
    layer = read_urban_atlas(_zip(tmp_path / "ua.zip", gpkg))
    assert layer.name == UA2012 and len(layer.polygons) == 19


@pytest.mark.parametrize("column", ["code_2018", "CODE_2018", "Code_2021", "code2012"])
def test_code_column_case_variants_and_number_types(scene: Path, tmp_path: Path,
                                                    column: str) -> None:
    truth = _layer(UA2012)
    codes = truth["CODE2012"].astype(int)
    values = codes.astype(float) if column == "CODE_2018" else codes  # int, float or text
    values = codes.astype(str) if column == "code2012" else values
    gdf = gpd.GeoDataFrame({column: values}, geometry=truth.geometry, crs=truth.crs)
    result = import_urban_atlas(_gpkg(tmp_path / "ua.gpkg", {"ua": gdf}), scene)
    assert result.layer.column == column and len(result.layer.polygons) == 19
    assert set(np.unique(_labels(scene))) == {0} | {code_to_index()[c] for c in CODES}


def test_2021_green_urban_sub_codes_map_to_14100(scene: Path, tmp_path: Path) -> None:
    truth = _layer(UA2012)
    codes = ["14130" if c == "23000" else c for c in truth["CODE2012"]]  # pastures -> 14130
    gdf = gpd.GeoDataFrame({"code_2021": codes}, geometry=truth.geometry, crs=truth.crs)
    import_urban_atlas(_gpkg(tmp_path / "ua.gpkg", {"ua": gdf}), scene)
    labels = _labels(scene)
    assert np.bincount(labels[labels > 0]).argmax() == code_to_index()[14100]
    assert set(gpd.read_file(scene / LABELS_VECTOR)["code_2018"]) == CODES - {23000} | {14100}


def test_a_file_in_another_crs_is_read_over_the_scene(scene: Path, tmp_path: Path) -> None:
    """The scene's box is given in EPSG:3035 and reprojected to the file's own CRS."""
    wgs84 = _layer(UA2012).to_crs("EPSG:4326")
    result = import_urban_atlas(_gpkg(tmp_path / "ua.gpkg", {"ua": wgs84}), scene)
    assert len(result.layer.polygons) == 19
    assert set(np.unique(_labels(scene))) == {0} | {code_to_index()[c] for c in CODES}


def _with_bad_codes(tmp_path: Path) -> Path:
    """The real UA2012 layer with two null codes, one empty and one UA2006 aggregate (20000)."""
    truth = _layer(UA2012)
    codes = list(truth["CODE2012"])
    codes[0], codes[1], codes[4], codes[8] = None, None, " ", "20000"
    gdf = truth.assign(CODE2012=codes)
    return _zip(tmp_path / "ua.zip", _gpkg(tmp_path / "ua.gpkg", {UA2012: gdf}))


def test_null_and_unknown_codes_are_left_out_and_counted(scene: Path, tmp_path: Path) -> None:
    result = import_urban_atlas(_with_bad_codes(tmp_path), scene)
    assert result.layer.null_codes == 3 and result.layer.unknown_codes == {"20000": 1}
    assert len(result.layer.polygons) == 15
    assert not (_labels(scene) == code_to_index()[21000]).any()  # the only arable polygon


def test_cli_imports_the_real_zip_and_prints_counts(scene: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_lulc(["import", "urban-atlas", str(SAMPLE), "--scene", "kobenhavn"],
                              capsys, monkeypatch)
    assert code == 0, err
    assert out.startswith(f"19 polygons from layer {UA2012} (CODE2012), 25.3% of the scene")
    assert "left out" not in out
    code, out, err = run_lulc(["import", "urban-atlas", str(_with_bad_codes(tmp_path)),
                               "--scene", "kobenhavn"], capsys, monkeypatch)
    assert code == 0, err
    assert out.strip().endswith("left out: 3 without a code and 1 with codes not in the Urban "
                                "Atlas legend (20000 x1)")


def _no_code_column(tmp_path: Path) -> Path:
    truth = _layer(UA2012).rename(columns={"CODE2012": "klasse"})
    return _zip(tmp_path / "ua.zip", _gpkg(tmp_path / "ua.gpkg", {UA2012: truth}))


def _boundary_only(tmp_path: Path) -> Path:
    return _zip(tmp_path / "ua.zip", _gpkg(tmp_path / "b.gpkg", {BOUNDARY: _layer(BOUNDARY)}))


def _truncated(tmp_path: Path) -> Path:
    data = SAMPLE.read_bytes()
    (tmp_path / "ua.zip").write_bytes(data[: len(data) // 2])  # an interrupted download
    return tmp_path / "ua.zip"


def _flipped(tmp_path: Path) -> Path:
    data = bytearray(SAMPLE.read_bytes())
    data[len(data) // 3] ^= 0xFF  # one bad byte inside a member
    (tmp_path / "ua.zip").write_bytes(bytes(data))
    return tmp_path / "ua.zip"


def _all_codes_null(tmp_path: Path) -> Path:
    truth = _layer(UA2012).assign(CODE2012=None)
    return _zip(tmp_path / "ua.zip", _gpkg(tmp_path / "ua.gpkg", {UA2012: truth}))


def _not_urban_atlas(tmp_path: Path) -> Path:
    with zipfile.ZipFile(tmp_path / "ua.zip", "w") as zf:
        zf.writestr("readme.txt", "no data here")
    return tmp_path / "ua.zip"


@pytest.mark.parametrize(("make", "words"), [
    (_no_code_column, ["no code_2018, code_2021 or CODE2012 column", UA2012]),
    (_boundary_only, ["no code_2018", BOUNDARY]),
    (_truncated, ["not a readable zip", "download it again"]),
    (_flipped, ["corrupted", "download it again"]),
    (_all_codes_null, ["none of the 19 polygons", "19 empty"]),
    (_not_urban_atlas, ["holds no .gpkg or .gdb"]),
])
def test_cli_bad_urban_atlas_files_exit_2_and_write_nothing(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, make, words: list[str],
) -> None:
    path = make(tmp_path)
    code, out, err = run_lulc(["import", "urban-atlas", str(path), "--scene", "kobenhavn"],
                              capsys, monkeypatch)
    assert_one_line_error(code, err, *words)
    assert _no_labels(scene)
    with pytest.raises(InvalidDataError):
        read_urban_atlas(path)
