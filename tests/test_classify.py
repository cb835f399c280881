"""Classifying images and evaluating folders, through the library and the `lulc` CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from lulc_cli import assert_one_line_error, run_lulc
from PIL import Image
from rasterio.transform import from_origin

from lulc_core.artifacts import ClassInfo, ModelCard, load_card, save_model
from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.classify import (
    classify_images,
    evaluate_folder,
    predict_images,
    read_rgb,
    read_upload,
)
from lulc_core.config import models_dir
from lulc_core.errors import DataNotFoundError, InvalidDataError
from lulc_core.harmonise import EUROSAT_DN_AT_255, L2A_TO_L1C
from lulc_core.heldout import (
    TEST_PREDICTIONS_FILE,
    browse_order,
    load_test_predictions,
    prediction_table,
)
from lulc_core.metrics import confusion_matrix, load_confusion_csv
from lulc_core.models import build_classifier

MODEL = "tiny"


def _card(train_root: Path) -> ModelCard:
    return ModelCard(
        name=MODEL,
        task="classification",
        architecture="efficientnet_lite0",
        bands=["B04", "B03", "B02"],
        classes=[ClassInfo(index=i, name=c) for i, c in enumerate(EUROSAT_CLASSES)],
        normalization={"mean": [0.35, 0.38, 0.41], "std": [0.2, 0.14, 0.12]},
        input_size=64,
        patch_size=64,
        data={"root": str(train_root), "source": "random test images", "synthetic": True},
    )


@pytest.fixture
def model(isolated_dirs: dict[str, Path], eurosat_folder: Path) -> Path:
    """A randomly initialised classifier saved like a trained one, with a split.json that says
    it was trained on Forest/Forest_0.jpg of ``eurosat_folder``."""
    torch.manual_seed(0)
    net = build_classifier("efficientnet_lite0", len(EUROSAT_CLASSES), weights=None)
    split = {"train": ["Forest/Forest_0.jpg"], "val": [], "test": ["Forest/Forest_1.jpg"]}
    folder = models_dir() / MODEL
    save_model(folder, net.state_dict(), _card(eurosat_folder), extra_files={"split.json": json.dumps(split)})
    return folder


@pytest.fixture
def eurosat_folder(tmp_path: Path) -> Path:
    """Three random 64x64 JPEGs per class in the official layout."""
    rng = np.random.default_rng(0)
    root = tmp_path / "heldout"
    for c, name in enumerate(EUROSAT_CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels // (c + 1)).save(root / name / f"{name}_{i}.jpg", quality=95)
    return root


def _geotiff(
    path: Path, bands: np.ndarray, descriptions: list[str] | None, dtype: str,
    scale_offset: tuple[float, float] | None = None,
) -> Path:
    profile = {
        "driver": "GTiff", "width": bands.shape[2], "height": bands.shape[1],
        "count": bands.shape[0], "dtype": dtype, "crs": "EPSG:32631",
        "transform": from_origin(448000, 5420000, 10, 10),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands.astype(dtype))
        for i, d in enumerate(descriptions or []):
            dst.set_band_description(i + 1, d)
        if scale_offset:
            dst.scales = (scale_offset[0],) * bands.shape[0]
            dst.offsets = (scale_offset[1],) * bands.shape[0]
    return path


def test_geotiff_bands_are_found_and_rendered_like_eurosat(tmp_path: Path) -> None:
    dn = {"B02": 500, "B03": 1000, "B04": 2000, "B08": 3000}
    order = ["B08", "B02", "B04", "B03"]  # descriptions, not position, decide
    stack = np.stack([np.full((8, 8), dn[b]) for b in order])
    rgb = read_rgb(_geotiff(tmp_path / "named.tif", stack, order, "uint16"))
    expected = [round(dn[b] / EUROSAT_DN_AT_255 * 255) for b in ("B04", "B03", "B02")]
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == expected
    ms = np.stack([np.full((8, 8), 100 * (i + 1)) for i in range(13)])  # EuroSAT-MS: B01..B12
    ms_rgb = read_rgb(_geotiff(tmp_path / "ms.tif", ms, None, "uint16"))
    assert ms_rgb[0, 0].tolist() == [round(v / EUROSAT_DN_AT_255 * 255) for v in (400, 300, 200)]
    l2a = np.full((3, 4, 4), 3000)  # baseline 04.00: reflectance = 3000 * 1e-4 - 0.1 = 0.2
    l2a_rgb = read_rgb(_geotiff(tmp_path / "l2a.tif", l2a, None, "uint16", (1e-4, -0.1)))
    # a declared offset means an L2A scene file: turned into TOA before the stretch
    toa = [0.2 * L2A_TO_L1C[b][0] + L2A_TO_L1C[b][1] for b in ("B04", "B03", "B02")]
    assert l2a_rgb[0, 0].tolist() == [round(v * 10000 / EUROSAT_DN_AT_255 * 255) for v in toa]
    bright = np.full((3, 4, 4), 9000)
    assert read_rgb(_geotiff(tmp_path / "bright.tif", bright, None, "uint16")).max() == 255


def test_classify_every_input_kind_gives_sorted_top_k(
    model: Path, eurosat_folder: Path, tmp_path: Path
) -> None:
    jpg = eurosat_folder / "River" / "River_0.jpg"
    pixels = read_rgb(jpg)
    png = tmp_path / "river.png"
    Image.fromarray(pixels).save(png)
    tif = _geotiff(tmp_path / "rgb.tif", np.transpose(pixels, (2, 0, 1)), None, "uint8")
    inputs = [jpg, png, tif, Image.fromarray(pixels), pixels, pixels.astype(np.float32) / 255]
    results = classify_images(MODEL, inputs, top_k=4)
    assert len(results) == len(inputs)
    for top in results:
        probs = [p for _, p in top]
        assert len(top) == 4 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-5
        assert {c for c, _ in top} <= set(EUROSAT_CLASSES)
    # PNG, uint8 GeoTIFF, PIL and numpy hold the same pixels: same answer.
    for top in results[1:5]:
        assert [c for c, _ in top] == [c for c, _ in results[1]]
        np.testing.assert_allclose([p for _, p in top], [p for _, p in results[1]], atol=1e-4)


def test_other_sizes_are_resized_with_a_note(model: Path) -> None:
    small = np.zeros((32, 48, 3), np.uint8)
    (prediction,) = predict_images(MODEL, [small], top_k=1)
    assert prediction.note and "48x32" in prediction.note and len(prediction.top) == 1


def test_evaluation_agrees_with_single_image_classification(
    model: Path, eurosat_folder: Path
) -> None:
    result = evaluate_folder(MODEL, eurosat_folder, batch_size=7, num_workers=0)
    report = result.report
    # split.json lists Forest_0 as a training image: left out, and said so.
    assert result.images == 29 and report.total == 29
    assert any("trained" in n for n in result.notes)
    files = [
        p for c in EUROSAT_CLASSES for p in sorted((eurosat_folder / c).iterdir())
        if p.name != "Forest_0.jpg"
    ]
    truth = [EUROSAT_CLASSES.index(p.parent.name) for p in files]
    predicted = [EUROSAT_CLASSES.index(top[0][0]) for top in classify_images(MODEL, files, 1)]
    np.testing.assert_array_equal(report.confusion, confusion_matrix(
        np.array(predicted), np.array(truth), len(EUROSAT_CLASSES)
    ))
    assert report.accuracy == pytest.approx(np.mean(np.array(predicted) == np.array(truth)))


def test_independent_image_sharing_a_training_name_is_scored(
    model: Path, eurosat_folder: Path, tmp_path: Path
) -> None:
    other = tmp_path / "independent" / "Forest"
    other.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(other / "Forest_0.jpg")
    result = evaluate_folder(MODEL, other.parent, num_workers=0)
    assert result.images == 1 and not any("trained" in n for n in result.notes)


def test_evaluate_cli_saves_results_and_prints_table(
    model: Path,
    eurosat_folder: Path,
    isolated_dirs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (eurosat_folder / "SeaLake").rename(eurosat_folder.parent / "elsewhere")  # a missing class
    args = ["evaluate", "--model", MODEL, "--data", str(eurosat_folder), "--fp32"]
    code, out, err = run_lulc([*args, "--json"], capsys, monkeypatch)
    assert code == 0, err
    summary = json.loads(out)
    saved = Path(summary["saved_to"])
    assert saved == isolated_dirs["artifacts"] / "evaluations" / MODEL / "heldout"
    assert summary["absent_classes"] == ["SeaLake"]
    assert summary["per_class"]["SeaLake"]["f1"] is None
    cm, names = load_confusion_csv(saved / "confusion.csv")
    assert names == list(EUROSAT_CLASSES) and cm.sum() == summary["images"] == 26
    assert json.loads((saved / "metrics.json").read_text())["accuracy"] == summary["accuracy"]
    # Not the model's test split (that is Forest_1.jpg alone): nothing saved with the model.
    assert summary["test_predictions"] is None and not (model / TEST_PREDICTIONS_FILE).exists()
    code, out, err = run_lulc(args, capsys, monkeypatch)
    assert code == 0, err
    assert "accuracy" in out and "absent" in out and "Forest" in out


def test_classify_cli_json(
    model: Path, eurosat_folder: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jpg = eurosat_folder / "Highway" / "Highway_1.jpg"
    code, out, err = run_lulc(
        ["classify", str(jpg), "--model", MODEL, "--top-k", "2", "--json"], capsys, monkeypatch
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["file"] == str(jpg) and len(row["top"]) == 2 and row["note"] is None


def _break_empty_class(root: Path) -> list[str]:
    for f in (root / "Pasture").iterdir():
        f.unlink()
    return ["Pasture", "empty"]


def _break_unknown_class(root: Path) -> list[str]:
    (root / "Forest").rename(root / "Airport")
    return ["Airport", "not classes of model"]


def _break_non_image(root: Path) -> list[str]:
    (root / "River" / "notes.txt").write_text("hello")
    return ["notes.txt", "not an image"]


def _break_corrupted_image(root: Path) -> list[str]:
    (root / "River" / "River_1.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return ["River_1.jpg", "not a readable image"]


def _break_no_classes(root: Path) -> list[str]:
    for d in list(root.iterdir()):
        d.rename(root.parent / f"moved-{d.name}")
    return ["no class folders"]


@pytest.mark.parametrize(
    "break_data",
    [_break_empty_class, _break_unknown_class, _break_non_image, _break_corrupted_image,
     _break_no_classes],
)
def test_evaluate_bad_data_is_one_line_and_writes_nothing(
    model: Path,
    eurosat_folder: Path,
    isolated_dirs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    break_data,  # noqa: ANN001
) -> None:
    words = break_data(eurosat_folder)
    code, _, err = run_lulc(
        ["evaluate", "--model", MODEL, "--data", str(eurosat_folder), "--workers", "2",
         "--batch-size", "4"],
        capsys, monkeypatch,
    )
    assert_one_line_error(code, err, *words)
    assert not (isolated_dirs["artifacts"] / "evaluations").exists()


def test_missing_data_folder_and_unknown_model(
    model: Path, tmp_path: Path, eurosat_folder: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_lulc(
        ["evaluate", "--model", MODEL, "--data", str(tmp_path / "nope")], capsys, monkeypatch
    )
    assert_one_line_error(code, err, "no data folder", "--data")
    code, _, err = run_lulc(
        ["evaluate", "--model", "no-such-model", "--data", str(eurosat_folder)], capsys, monkeypatch
    )
    assert_one_line_error(code, err, "no-such-model")
    code, _, err = run_lulc(["classify", str(tmp_path / "missing.jpg"), "--model", MODEL],
                            capsys, monkeypatch)
    assert_one_line_error(code, err, "missing.jpg")


def test_checkpoint_not_matching_its_card(
    model: Path, eurosat_folder: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jpg = str(eurosat_folder / "River" / "River_0.jpg")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)  # tampered: checksum differs
    code, _, err = run_lulc(["classify", jpg, "--model", MODEL], capsys, monkeypatch)
    assert_one_line_error(code, err, "do not match")
    # A card that promises 5 classes for a 10-class checkpoint (checksum made consistent).
    card = load_card(model)
    net = build_classifier("efficientnet_lite0", len(EUROSAT_CLASSES), weights=None)
    save_model(model, net.state_dict(), card.model_copy(update={"classes": card.classes[:5]}))
    code, _, err = run_lulc(["classify", jpg, "--model", MODEL], capsys, monkeypatch)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_evaluating_the_own_test_split_saves_its_predictions_with_the_model(
    model: Path, eurosat_folder: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    test = sorted(f"{p.parent.name}/{p.name}" for p in eurosat_folder.glob("*/*.jpg"))
    test.remove("Forest/Forest_0.jpg")
    (model / "split.json").write_text(json.dumps({"train": ["Forest/Forest_0.jpg"], "test": test}))
    code, out, err = run_lulc(
        ["evaluate", "--model", MODEL, "--data", str(eurosat_folder), "--json"], capsys, monkeypatch
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["test_predictions"] == str(model / TEST_PREDICTIONS_FILE)
    table = load_test_predictions(model)
    assert table["path"].tolist() == test  # relative paths, sorted
    assert (table["path"].str.split("/").str[0] == table["true"]).all()
    assert table["correct"].mean() == pytest.approx(summary["accuracy"])
    assert ((table["p_predicted"] >= table["p_true"]) & (table["p_true"] >= 0)).all()
    assert table.loc[table["correct"], "p_true"].equals(table.loc[table["correct"], "p_predicted"])
    first_row = (model / TEST_PREDICTIONS_FILE).read_text().splitlines()[1]
    assert all(len(v.split(".")[1]) == 4 for v in first_row.split(",")[3:])  # 4 decimals
    (eurosat_folder / "River" / "River_2.jpg").unlink()  # part of the split only: kept as is
    before = (model / TEST_PREDICTIONS_FILE).stat().st_mtime_ns
    code, out, err = run_lulc(
        ["evaluate", "--model", MODEL, "--data", str(eurosat_folder), "--json"], capsys, monkeypatch
    )
    assert code == 0 and json.loads(out)["test_predictions"] is None, err
    assert (model / TEST_PREDICTIONS_FILE).stat().st_mtime_ns == before


def test_training_saves_the_test_predictions_it_scored(
    isolated_dirs: dict[str, Path], tmp_path: Path
) -> None:
    from conftest import write_fake_eurosat

    from lulc_core.train import ClassifierTrainConfig, train_classifier

    root = write_fake_eurosat(tmp_path / "eurosat", per_class=5)
    # bf16=False: the first bf16 step on a CPU costs seconds of kernel set-up, nothing tested here
    config = ClassifierTrainConfig(model="efficientnet_lite0", weights="none", name="smoke",
                                   epochs=1, batch_size=16, input_size=32, device="cpu",
                                   bf16=False)
    card = train_classifier(config, root, progress=False)
    folder = models_dir() / "smoke"
    table = load_test_predictions(folder)
    split = json.loads((folder / "split.json").read_text())
    assert sorted(table["path"]) == sorted(split["test"]) and len(table) == 10
    assert table["correct"].mean() == pytest.approx(card.metrics["accuracy"])


def test_browse_order_puts_confident_mistakes_first() -> None:
    probs = np.array([[0.6, 0.4], [0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.55, 0.45]])
    paths = ["a/1", "a/2", "a/3", "b/1", "b/2"]
    table = prediction_table(paths, probs, np.array([0, 1, 0, 1, 1]), ["a", "b"])
    table = table.assign(correct=table["true"] == table["predicted"])
    # mistakes by how sure the wrong answer was, then correct images least sure first
    assert browse_order(table)["path"].tolist() == ["a/2", "a/3", "b/2", "a/1", "b/1"]
    assert browse_order(table, true_class="b")["path"].tolist() == ["a/2", "b/2", "b/1"]
    assert browse_order(table, mistakes_only=True)["path"].tolist() == ["a/2", "a/3", "b/2"]
    assert browse_order(table, "a", mistakes_only=True)["path"].tolist() == ["a/3"]
    assert table.loc[1, "p_true"] == pytest.approx(0.1)


def test_missing_or_broken_test_predictions_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="lulc evaluate --model"):
        load_test_predictions(tmp_path)
    (tmp_path / TEST_PREDICTIONS_FILE).write_text("path,true\nForest/Forest_1.jpg,Forest\n")
    with pytest.raises(InvalidDataError, match="lacks columns"):
        load_test_predictions(tmp_path)


def _encoded(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 120, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\xff" * (2 * 1024 * 1024 + 1), "limit is 2 MB"),
        (b"hello, not an image", "not a readable image"),
        (_encoded((64, 64), "GIF"), "GIF image"),
        (_encoded((64, 64))[:-40], "not a readable image"),  # truncated pixel data
        (_encoded((16, 16)), "too small"),
        (_encoded((1100, 600)), "too large"),
        (_encoded((200, 64)), "far from square"),
    ],
)
def test_uploads_the_classifier_cannot_judge_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(InvalidDataError, match=words):
        read_upload(data)


def test_uploads_of_other_sizes_are_accepted_and_resized(model: Path) -> None:
    image = read_upload(_encoded((100, 80), "JPEG"))
    assert image.size == (100, 80) and image.mode == "RGB"
    (prediction,) = predict_images(MODEL, [image], top_k=3)
    assert prediction.note and "100x80" in prediction.note and len(prediction.top) == 3
