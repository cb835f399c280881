"""EuroSAT folder scanning, split, fingerprint, in-memory loading, and the bad inputs of
``lulc train classifier`` (each one line on stderr, exit code 2, no model folder written)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.data.eurosat import (
    EuroSAT,
    fingerprint,
    load_uint8,
    read_image,
    scan_eurosat,
    stratified_split,
)
from lulc_core.errors import DataNotFoundError, InvalidDataError
from lulc_cli import assert_one_line_error, run_lulc


@pytest.fixture(scope="module")
def eurosat_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 classes x 3 generated 64x64 JPEGs, plus one 32x32 PNG in Forest."""
    root = tmp_path_factory.mktemp("eurosat")
    rng = np.random.default_rng(0)
    for name in EUROSAT_CLASSES:
        (root / name).mkdir()
        for n in range(3):
            img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / name / f"{name}_{n + 1}.jpg")
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / "Forest" / "Forest_9.png")
    (root / "Forest" / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    return root


@pytest.fixture
def broken_copy(eurosat_root: Path, tmp_path: Path) -> Path:
    """A writable copy of the generated folder, for tests that break it."""
    return Path(shutil.copytree(eurosat_root, tmp_path / "copy"))


def test_scan_lists_every_image_with_its_class(eurosat_root: Path) -> None:
    files, labels = scan_eurosat(eurosat_root)
    assert len(files) == 31
    assert Counter(labels) == {k: 3 for k in range(10)} | {EUROSAT_CLASSES.index("Forest"): 4}
    assert all(EUROSAT_CLASSES[k] == f.split("/")[0] for f, k in zip(files, labels))


def test_sample_is_a_float_chw_image_and_an_int_label(eurosat_root: Path) -> None:
    ds = EuroSAT(eurosat_root)
    png = ds.files.index("Forest/Forest_9.png")
    for i in (0, png):
        sample = ds[i]
        assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, 64, 64)
        assert 0 <= float(sample["image"].min()) and float(sample["image"].max()) <= 1
        assert sample["label"] == EUROSAT_CLASSES.index(ds.files[i].split("/")[0])


def test_in_memory_tensor_matches_per_image_decoding(eurosat_root: Path) -> None:
    files = scan_eurosat(eurosat_root)[0][:5]
    images = load_uint8(eurosat_root, files, threads=2)
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 64, 64)
    assert torch.equal(images[3], torch.from_numpy(read_image(eurosat_root / files[3])).permute(2, 0, 1))


def test_split_is_stratified_disjoint_and_seeded() -> None:
    labels = [k for k in range(10) for _ in range(10)]
    train, test = stratified_split(labels, 0.2, seed=0)
    assert sorted(train + test) == list(range(100)) and not set(train) & set(test)
    assert Counter(labels[i] for i in test) == {k: 2 for k in range(10)}
    assert stratified_split(labels, 0.2, seed=0) == (train, test)
    assert stratified_split(labels, 0.2, seed=1)[1] != test


def test_fingerprint_follows_content_not_order(broken_copy: Path) -> None:
    files = scan_eurosat(broken_copy)[0]
    before = fingerprint(broken_copy, files)
    assert fingerprint(broken_copy, files[::-1]) == before
    with open(broken_copy / files[0], "ab") as f:
        f.write(b"\0")
    assert fingerprint(broken_copy, files) != before


def test_library_errors(tmp_path: Path, broken_copy: Path) -> None:
    with pytest.raises(DataNotFoundError, match="lulc fetch eurosat"):
        scan_eurosat(tmp_path / "nowhere")
    (broken_copy / "Forest" / "notes.txt").write_text("hi")
    with pytest.raises(InvalidDataError, match="notes.txt is not an image"):
        scan_eurosat(broken_copy)


def _break_empty_class(root: Path) -> None:
    for p in (root / "River").iterdir():
        p.unlink()


def _break_unknown_class(root: Path) -> None:
    (root / "Glacier").mkdir()


def _break_missing_class(root: Path) -> None:
    shutil.rmtree(root / "SeaLake")


def _break_corrupt_image(root: Path) -> None:
    (root / "Highway" / "Highway_2.jpg").write_bytes(b"not a jpeg")


@pytest.mark.parametrize(("breaker", "words"), [
    (_break_empty_class, ["River", "no images"]),
    (_break_unknown_class, ["Glacier"]),
    (_break_missing_class, ["SeaLake", "missing"]),
    (_break_corrupt_image, ["Highway_2.jpg", "not a readable image"]),
])
def test_cli_bad_data_is_one_line(breaker, words: list[str], broken_copy: Path,
                                  isolated_dirs: dict[str, Path], capsys, monkeypatch) -> None:
    breaker(broken_copy)
    code, _, err = run_lulc(["train", "classifier", "--data", str(broken_copy), "--model", "resnet18",
                             "--weights", "none", "--device", "cpu", "--name", "bad"], capsys, monkeypatch)
    assert_one_line_error(code, err, *words)
    assert not (isolated_dirs["artifacts"] / "models" / "bad").exists()


@pytest.mark.parametrize(("args", "words"), [
    (["--data", "/nonexistent/eurosat"], ["lulc fetch eurosat"]),
    (["--model", "vgg99"], ["vgg99", "efficientnet_lite0"]),
    (["--epochs", "0"], ["--epochs"]),
    (["--weights", "places365"], ["--weights"]),
    (["--device", "tpu"], ["tpu"]),
    (["--name", "../escape"], ["model name"]),
])
def test_cli_bad_options_are_one_line(args: list[str], words: list[str], eurosat_root: Path,
                                      isolated_dirs: dict[str, Path], capsys, monkeypatch) -> None:
    code, _, err = run_lulc(["train", "classifier", "--data", str(eurosat_root), "--device", "cpu",
                             *args], capsys, monkeypatch)
    assert_one_line_error(code, err, *words)
