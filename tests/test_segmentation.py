"""Segmenter training smoke run and scene prediction on a tiny synthetic scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from lulc_core.classes import NODATA_INDEX
from lulc_core.data.demo import build_demo_scene
from lulc_core.data.patches import PatchDataset, assign_split, build_patches, carve_validation
from lulc_core.errors import AOIError, InvalidDataError, ModelMismatchError
from lulc_core.geo import AOI
from lulc_core.models import load_model
from lulc_core.predict import predict_area, predict_array, predict_scene
from lulc_core.segmentation import SegmenterTrainConfig, evaluate_segmenter, train_segmenter

TOWN = AOI("town", 2.30, 48.80, 2.345, 48.83)  # ~330 x 340 px


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seg")
    mp = pytest.MonkeyPatch()
    mp.setenv("LULC_DATA_DIR", str(root / "data"))
    mp.setenv("LULC_ARTIFACTS_DIR", str(root / "artifacts"))
    scene = root / "data" / "scenes" / "town"
    build_demo_scene(TOWN, scene, seed=1, source_dir=root / "no-eurosat")  # procedural textures
    build_patches(scene, root / "data" / "patches" / "town", split="random")
    card = train_segmenter(SegmenterTrainConfig(city="town", encoder_weights="none", epochs=1,
                                                batch_size=8, limit=16, patience=None, device="cpu"),
                           progress=False)
    yield {"scene": scene, "model": root / "artifacts" / "models" / card.name, "root": root}
    mp.undo()


def test_training_writes_a_complete_model_folder(trained: dict[str, Path]) -> None:
    folder = trained["model"]
    card = json.loads((folder / "card.json").read_text())
    assert card["task"] == "segmentation" and card["data"]["synthetic"] is True
    assert 0 <= card["metrics"]["miou"] <= 1 and len(card["classes"]) == 28
    assert {"history.csv", "confusion.csv", "per_class.csv", "gallery.npz"} <= {p.name for p in folder.iterdir()}
    report = evaluate_segmenter(str(folder), "town", device="cpu")
    test = PatchDataset(trained["root"] / "data" / "patches" / "town", "test")
    truth = np.bincount(np.asarray(test.masks[test.indices]).ravel(), minlength=256)
    names = [c["name"] for c in card["classes"]]
    absent = [n for n, k in zip(names, truth[: len(names)]) if k == 0]  # never in the test truth
    assert report.absent_classes == absent and 0 < len(absent) < len(names)
    assert report.per_class.loc[absent, "iou"].isna().all()  # absent, not scored 0
    # Epoch chosen on validation patches carved from the store's training patches; test once.
    split, store = card["split"], card["data"]["patches"]
    assert split["val"] >= 1 and split["train"] + split["val"] == store["train"]  # under limit=16
    assert split["test"] == min(4, store["test"])
    assert 0 <= card["val_metrics"]["miou"] <= 1 and card["val_metrics"]["epoch"] == 1
    assert card["train_config"]["photometric"]["haze"] > 0
    header = (folder / "history.csv").read_text().splitlines()[0].split(",")
    assert "val_miou" in header and not any(c.startswith("test_") for c in header)


def test_default_encoder_starts_from_the_eurosat_classifier_and_says_so(
        trained: dict[str, Path]) -> None:
    """The defaults (Lite0 encoder, ``eurosat`` start weights) need only the default classifier,
    which a fresh clone has; the card names the exact weights the encoder started from."""
    from lulc_core.artifacts import ClassInfo, ModelCard, load_card, model_dir, save_model
    from lulc_core.classes import EUROSAT_CLASSES
    from lulc_core.models import build_classifier

    classes = [ClassInfo(index=i, name=c) for i, c in enumerate(EUROSAT_CLASSES)]
    source = save_model(
        model_dir("efficientnet_lite0"), build_classifier("efficientnet_lite0", 10, None).state_dict(),
        ModelCard(name="efficientnet_lite0", task="classification", architecture="efficientnet_lite0",
                  bands=["B04", "B03", "B02"], classes=classes, input_size=64,
                  normalization={"mean": [0.5] * 3, "std": [0.2] * 3}))
    card = train_segmenter(SegmenterTrainConfig(city="town", name="unet-town-eurosat", epochs=1,
                                                batch_size=8, limit=16, patience=None, device="cpu"),
                           progress=False)
    assert card.encoder == "tf_efficientnet_lite0" and card.encoder_weights == "eurosat"
    start = card.data["encoder_init"]
    assert start["model"] == "efficientnet_lite0"
    assert start["weights_sha256"] == source.weights_sha256 == load_card(
        model_dir("efficientnet_lite0")).weights_sha256
    assert start["protocol"].startswith("legacy")  # a card without validation scores says so
    assert "init" not in card.data  # not a fine-tune of another segmenter


def test_same_name_is_refused_without_resume_or_overwrite(trained: dict[str, Path]) -> None:
    config = SegmenterTrainConfig(city="town", encoder_weights="none", epochs=2, batch_size=8,
                                  limit=16, patience=None, device="cpu")
    with pytest.raises(InvalidDataError, match="--overwrite"):
        train_segmenter(config, progress=False)
    with pytest.raises(InvalidDataError, match="epochs 1 -> 2"):
        train_segmenter(config, progress=False, resume=True)


def test_validation_takes_whole_training_blocks() -> None:
    rows, cols = (a.ravel() for a in np.mgrid[0:40, 0:40])  # 40 x 40 patches = 25 blocks of 8 x 8
    train = assign_split(rows, cols, "spatial", 0.2, 0) == "train"
    val = carve_validation(rows[train], cols[train], "spatial", 0.1, 0)

    def blocks(mask: np.ndarray, r: np.ndarray, c: np.ndarray) -> set[int]:
        return set(((r[mask] // 8) * 100 + c[mask] // 8).tolist())

    val_blocks = blocks(val, rows[train], cols[train])
    fit_blocks = blocks(~val, rows[train], cols[train])
    test_blocks = blocks(~train, rows, cols)
    assert val_blocks and not val_blocks & fit_blocks and not val_blocks & test_blocks
    assert 0.05 <= val.mean() <= 0.25
    assert len(val_blocks) * 64 == val.sum()  # whole blocks only
    random_val = carve_validation(rows, cols, "random", 0.1, 0)
    assert random_val.sum() == 160 and not np.array_equal(random_val, carve_validation(rows, cols, "random", 0.1, 1))


def test_predict_scene_cog_with_colours_nodata_and_areas(trained: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pred.tif"
    summary = predict_scene(str(trained["model"]), trained["scene"], out, confidence=True, strip=128)
    with rasterio.open(out) as pred, rasterio.open(trained["scene"] / "B02.tif") as band:
        assert pred.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert pred.crs == band.crs and pred.transform == band.transform and pred.count == 2
        assert pred.colormap(1)[1][:3] == (128, 0, 0)  # 11100, official colour
        classes, dn = pred.read(1), band.read(1)
    assert (classes[dn == 0] == NODATA_INDEX).all() and (classes[dn > 0] != NODATA_INDEX).all()
    areas = summary.area_csv.read_text()
    assert "predicted_km2" in areas


def test_area_prediction_and_bad_areas(trained: dict[str, Path]) -> None:
    area = predict_area(str(trained["model"]), trained["scene"], AOI("a", 2.31, 48.81, 2.33, 48.82))
    assert area.prediction.shape == area.truth.shape == area.rgb.shape[:2]
    assert area.area_table["predicted_pct"].sum() == pytest.approx(100)
    with pytest.raises(AOIError, match="does not overlap"):
        predict_area(str(trained["model"]), trained["scene"], AOI("far", 10, 10, 10.1, 10.1))
    with pytest.raises(AOIError, match="limit"):
        predict_area(str(trained["model"]), trained["scene"], TOWN, max_km2=1)


def test_classifier_is_not_a_segmenter(trained: dict[str, Path], tmp_path: Path) -> None:
    module, card = load_model(trained["model"])
    bad = card.model_copy(update={"task": "classification"})
    with pytest.raises(ModelMismatchError, match="segmenter"):
        predict_scene((module, bad), trained["scene"], tmp_path / "x.tif")
    assert not (tmp_path / "x.tif").exists()
    classes, conf = predict_array(module, card, np.full((3, 40, 40), np.nan, np.float32))
    assert (classes == NODATA_INDEX).all() and np.isnan(conf).all()


def test_dask_path_gives_the_same_map(trained: dict[str, Path], tmp_path: Path) -> None:
    from lulc_core.predict import predict_scene_dask

    local, dist = tmp_path / "local.tif", tmp_path / "dask.tif"
    # one thread, as in each Dask worker: how oneDNN splits a convolution over threads changes
    # its bf16 rounding, and an untrained model has near ties everywhere
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        predict_scene(str(trained["model"]), trained["scene"], local, strip=128, confidence=True)
    finally:
        torch.set_num_threads(threads)
    predict_scene_dask(str(trained["model"]), trained["scene"], dist, strip=128, n_workers=2,
                       confidence=True)
    with rasterio.open(local) as a, rasterio.open(dist) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.transform == b.transform


def test_predict_cli_bad_inputs_exit_2(trained: dict[str, Path], tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = os.environ | {"LULC_DATA_DIR": str(trained["root"] / "data"),
                        "LULC_ARTIFACTS_DIR": str(trained["root"] / "artifacts")}
    base = [sys.executable, "-m", "lulc_core", "predict", "--scene", "town", "--out", str(tmp_path / "p.tif")]
    for extra in (["--model", "no-such-model"], ["--model", "unet-town", "--aoi", "30,10,30.1,10.1"],
                  ["--model", "unet-town", "--max-km2", "1"]):
        proc = subprocess.run(base + extra, capture_output=True, text=True, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "p.tif").exists()
