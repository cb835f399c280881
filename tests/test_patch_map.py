"""Patch-classification maps: grid, no data, transform, COG output, real imagery, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from lulc_cli import assert_one_line_error, run_lulc
from rasterio.transform import from_origin

from lulc_core.artifacts import ClassInfo, ModelCard
from lulc_core.classes import EUROSAT_CLASSES, EUROSAT_COLORS, NODATA_INDEX
from lulc_core.data.scene import MANIFEST, SceneManifest
from lulc_core.errors import AOIError, InvalidDataError
from lulc_core.data.samples import shared_sample_dir
from lulc_core.patch_map import patch_map, patch_map_array

SITE = shared_sample_dir()
ORIGIN = (448000.0, 5420000.0)
H, W = 192, 256  # px: 3 x 4 patches at stride 64, 6 x 8 cells at stride 32


class MeanColour(torch.nn.Module):
    """Stand-in classifier: logits 10 x (mean R, mean G, mean B, 0, ...): the dominant
    channel wins (R -> AnnualCrop, G -> Forest, B -> HerbaceousVegetation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], len(EUROSAT_CLASSES))
        logits[:, :3] = 10 * x.mean(dim=(2, 3))
        return logits


def _stub() -> tuple[torch.nn.Module, ModelCard]:
    card = ModelCard(
        name="mean-colour", task="classification", architecture="stub", bands=["B04", "B03", "B02"],
        classes=[ClassInfo(index=i, name=n) for i, n in enumerate(EUROSAT_CLASSES)],
        normalization={"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}, input_size=64,
    )
    return MeanColour().eval(), card


def _reflectance() -> np.ndarray:
    """float32 (3, H, W): green-dominant left half, red-dominant right half; no data in the
    top-left 64 x 64 px and along the bottom row (a 1 px border, as real crops have)."""
    refl = np.empty((3, H, W), np.float32)
    refl[:, :, :128] = np.array([0.03, 0.08, 0.03])[:, None, None]
    refl[:, :, 128:] = np.array([0.15, 0.06, 0.04])[:, None, None]
    refl[:, :64, :64] = np.nan
    refl[:, -1, :] = np.nan
    return refl


def _write_scene(folder: Path, refl: np.ndarray) -> Path:
    """A scene folder in the real layout (uint16 DN, nodata 0, UTM 31N) from reflectance."""
    folder.mkdir()
    transform = from_origin(*ORIGIN, 10, 10)
    profile = dict(driver="GTiff", width=W, height=H, count=1, crs="EPSG:32631",
                   transform=transform, nodata=0)
    for i, band in enumerate(("B04", "B03", "B02")):
        dn = np.where(np.isnan(refl[i]), 0, np.round(refl[i] * 10000)).astype(np.uint16)
        with rasterio.open(folder / f"{band}.tif", "w", dtype="uint16", **profile) as dst:
            dst.write(dn, 1)
            dst.scales, dst.offsets = (1e-4,), (0.0,)
    with rasterio.open(folder / "SCL.tif", "w", dtype="uint8", **profile) as dst:
        dst.write(np.full((H, W), 4, np.uint8), 1)
    manifest = SceneManifest(name=folder.name, bounds_wgs84=(2.3, 48.9, 2.34, 48.92),
                             crs="EPSG:32631", bands=["B02", "B03", "B04"], synthetic=True,
                             source="test")
    (folder / MANIFEST).write_text(manifest.model_dump_json())
    return folder


def test_grid_nodata_and_transform_at_both_strides() -> None:
    refl = _reflectance()
    transform = from_origin(*ORIGIN, 10, 10)
    coarse = patch_map_array(_stub(), refl, "L1C", "EPSG:32631", transform, stride=64)
    assert coarse.shape == (3, 4) and coarse.classes.dtype == np.uint8
    assert coarse.transform == from_origin(*ORIGIN, 640, 640)
    assert coarse.classes[0, 0] == NODATA_INDEX and np.isnan(coarse.confidence[0, 0])
    assert (coarse.classes[:, :2][1:] == 1).all() and (coarse.classes[:, 2:] == 0).all()
    assert coarse.shares()["Forest"] == pytest.approx(5 / 11)  # 11 mapped cells, 5 green
    assert coarse.colors == list(EUROSAT_COLORS) and coarse.class_names == list(EUROSAT_CLASSES)
    west, south, east, north = coarse.bounds_wgs84
    assert 2.2 < west < east < 2.4 and 48.8 < south < north < 49.0
    assert (east - west) * 73.2 == pytest.approx(4 * 0.64, rel=0.02)  # km per degree at 48.9 N

    fine = patch_map_array(_stub(), refl, "L1C", "EPSG:32631", transform, stride=32)
    assert fine.shape == (6, 8) and fine.transform == from_origin(*ORIGIN, 320, 320)
    # Only the top-left 2 x 2 cells lie wholly in the skipped window; others have a neighbour.
    assert (fine.classes[:2, :2] == NODATA_INDEX).all()
    assert (fine.classes != NODATA_INDEX).sum() == 6 * 8 - 4
    # A green cell by the green/red edge (x = 96..128 px) averages a green window and a
    # mixed one: still Forest, less sure than a cell inside the green half.
    assert fine.probabilities.shape == (10, 6, 8)
    mapped = fine.classes != NODATA_INDEX
    assert np.allclose(fine.probabilities[:, mapped].sum(axis=0), 1.0, atol=1e-5)
    assert fine.classes[3, 3] == 1 and fine.confidence[3, 3] < fine.confidence[3, 1]


def test_patch_map_reads_a_scene_folder_and_writes_a_cog(tmp_path: Path) -> None:
    scene = _write_scene(tmp_path / "tiny", _reflectance())
    result = patch_map(_stub(), scene, stride=64)
    assert result.level == "L2A" and result.harmonisation == "toa"
    assert result.classes[0, 0] == NODATA_INDEX and set(np.unique(result.classes)) == {0, 1, 255}
    out = result.to_geotiff(tmp_path / "out" / "map.tif")
    with rasterio.open(out) as src:
        assert src.count == 2 and src.crs.to_epsg() == 32631
        assert src.transform == result.transform and src.nodata == NODATA_INDEX
        assert np.array_equal(src.read(1), result.classes)
        assert src.colormap(1)[7][:3] == (0xdc, 0x28, 0x28)  # Residential red
        assert src.tags()["CLASS_1"] == "Forest" and src.tags()["LEVEL"] == "L2A"
        assert src.read(2)[0, 0] == NODATA_INDEX and src.read(2)[1, 0] <= 100
    assert [p.name for p in out.parent.iterdir()] == ["map.tif"]  # no temporary left behind


def test_bad_inputs_are_clean_errors() -> None:
    refl = _reflectance()
    transform = from_origin(*ORIGIN, 10, 10)
    with pytest.raises(InvalidDataError, match="stride"):
        patch_map_array(_stub(), refl, "L1C", "EPSG:32631", transform, stride=48)
    with pytest.raises(InvalidDataError, match="harmonisation"):
        patch_map_array(_stub(), refl, "L1C", "EPSG:32631", transform, harmonisation="magic")
    with pytest.raises(AOIError, match="smaller than one"):
        patch_map_array(_stub(), refl[:, :40], "L1C", "EPSG:32631", transform)


@pytest.fixture(scope="module")
def versailles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real Versailles 2019-07-08 scenes imported as users import them: L2A from the
    package's sample, L1C of the same date from the shared data (when beside the clone)."""
    from lulc_core.data.samples import SAMPLE_DATE, SAMPLE_DIR
    from lulc_core.data.sentinel2 import import_band_folder

    root = tmp_path_factory.mktemp("scenes")
    scenes = {"L2A": import_band_folder(SAMPLE_DIR, root / "l2a", acquired=SAMPLE_DATE)}
    if SITE is not None:
        scenes["L1C"] = import_band_folder(SITE / "L1C", root / "l1c", acquired=SAMPLE_DATE)
    return scenes


def test_real_versailles_l2a_map(versailles: dict[str, Path]) -> None:
    result = patch_map("efficientnet_lite0", versailles["L2A"], stride=64)
    assert result.level == "L2A" and result.shape == (7, 7)
    assert (result.classes != NODATA_INDEX).all()  # the scene's 1 px no-data border is tolerated
    assert sum(v > 0 for v in result.shares().values()) >= 4


@pytest.mark.skipif(SITE is None, reason="shared real Sentinel-2 sample (L1C) absent")
def test_real_versailles_l2a_agrees_with_same_date_l1c(versailles: dict[str, Path]) -> None:
    from lulc_core.classify import load_classifier

    model = load_classifier("efficientnet_lite0")
    maps = {level: patch_map(model, folder, stride=64) for level, folder in versailles.items()}
    assert maps["L1C"].level == "L1C"
    agreement = (maps["L2A"].classes == maps["L1C"].classes).mean()
    assert agreement >= 0.85, agreement
    # Without harmonisation the L2A map is another map: the TOA conversion is what agrees.
    raw = patch_map(model, versailles["L2A"], stride=64, harmonisation="none")
    assert (raw.classes == maps["L1C"].classes).mean() < agreement


def test_cli_writes_the_map_and_prints_shares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = _write_scene(tmp_path / "tiny", _reflectance())
    out = tmp_path / "map.tif"
    code, stdout, err = run_lulc(["patch-map", "--scene", str(scene), "--out", str(out)],
                                 capsys, monkeypatch)
    assert code == 0, err
    assert out.is_file() and "4x3 cells of 640 m" in stdout and " %" in stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--stride", "48"], ["stride"]),
        (["--harmonisation", "magic"], ["harmonisation"]),
        (["--out", "map.png"], [".tif"]),
        (["--scene", "nowhere"], ["scene"]),
        (["--model", "unet-paris"], ["classifier"]),
        (["--aoi", "1,2,3"], ["bbox"]),
    ],
)
def test_cli_bad_inputs_exit_2(
    args: list[str], words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = _write_scene(tmp_path / "tiny", _reflectance())
    monkeypatch.setenv("LULC_DATA_DIR", str(tmp_path / "data"))
    base = {"--scene": str(scene), "--out": str(tmp_path / "map.tif")}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    code, _, err = run_lulc(["patch-map", *[x for kv in base.items() for x in kv]], capsys,
                            monkeypatch)
    assert_one_line_error(code, err, *words)
    assert not (tmp_path / "map.tif").exists()
