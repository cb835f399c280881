"""Model registry, the fit loop (resume after SIGKILL) and the classifier CLI on tiny images."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.errors import ModelMismatchError, UnknownNameError
from lulc_core.models import CLASSIFIERS, build_classifier, build_segmenter, load_model
from lulc_core.train import random_resized_crop_flip


@pytest.fixture(scope="module")
def tiny_eurosat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 classes x 10 generated 64x64 JPEGs, each class its own colour (learnable)."""
    root = tmp_path_factory.mktemp("eurosat")
    rng = np.random.default_rng(0)
    for k, name in enumerate(EUROSAT_CLASSES):
        (root / name).mkdir()
        colour = np.array([25 * k, 255 - 25 * k, (80 * k) % 255], np.float32)
        for n in range(10):
            img = np.clip(colour + rng.normal(0, 15, (64, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{name}_{n + 1}.jpg")
    return root


@pytest.mark.parametrize("arch", sorted(CLASSIFIERS))
def test_classifier_forward_backward(arch: str) -> None:
    model = build_classifier(arch, 10, weights=None)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.sum().backward()


def test_lite0_imagenet_weights_load_offline_by_position() -> None:
    model = build_classifier("efficientnet_lite0", 10, weights="imagenet")
    stem = model.conv_stem.weight
    assert stem.abs().sum() > 0 and stem.std() > 0.05  # real weights, not a fresh init


@pytest.mark.parametrize("encoder", ["efficientnet-b0", "tf_efficientnet_lite0"])
def test_segmenter_forward_backward(encoder: str) -> None:
    model = build_segmenter(encoder, 4, 28, None)
    out = model(torch.randn(1, 4, 64, 64))
    assert out.shape == (1, 28, 64, 64)
    out.mean().backward()


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="efficientnet_lite0"):
        build_classifier("vgg99", 10)
    with pytest.raises(UnknownNameError, match="efficientnet-b0"):
        build_segmenter("nope", 3, 28)


def test_crop_flip_shapes_and_content() -> None:
    x = torch.rand(4, 3, 64, 64)
    y = random_resized_crop_flip(x, 96, (0.6, 1.0))
    assert y.shape == (4, 3, 96, 96) and 0 <= float(y.min()) and float(y.max()) <= 1


def _train_cmd(data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lulc_core", "train", "classifier", "--data", str(data),
            "--model", "resnet18", "--weights", "none", "--input-size", "64", "--batch-size", "16",
            "--device", "cpu", "--name", "smoke", *extra]


def test_cli_trains_one_epoch_end_to_end(tiny_eurosat: Path, isolated_dirs: dict[str, Path]) -> None:
    proc = subprocess.run(_train_cmd(tiny_eurosat, "--epochs", "1"), capture_output=True, text=True,
                          env=os.environ | {"LULC_PROGRESS_FILE": str(isolated_dirs["data"] / "p.json")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = isolated_dirs["artifacts"] / "models" / "smoke"
    card = json.loads((folder / "card.json").read_text())
    assert card["metrics"]["test_images"] == 20 and 0 <= card["metrics"]["accuracy"] <= 1
    assert {"history.csv", "split.json", "confusion.csv", "model.safetensors"} <= {p.name for p in folder.iterdir()}
    split = json.loads((folder / "split.json").read_text())
    assert not set(split["train"]) & set(split["test"])
    model, loaded = load_model(folder)
    assert loaded.name == "smoke" and not model.training
    progress = json.loads((isolated_dirs["data"] / "p.json").read_text())
    assert progress["epoch"] == 1


def test_resume_after_sigkill(tiny_eurosat: Path, isolated_dirs: dict[str, Path]) -> None:
    run_dir = isolated_dirs["artifacts"] / "runs" / "smoke"
    proc = subprocess.Popen(_train_cmd(tiny_eurosat, "--epochs", "40"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run_dir / "last.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = torch.load(run_dir / "last.pt", weights_only=True)["epoch"]
    assert 1 <= done < 40
    resumed = subprocess.run(_train_cmd(tiny_eurosat, "--epochs", str(done + 1)), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = (isolated_dirs["artifacts"] / "models" / "smoke" / "history.csv").read_text().splitlines()
    epochs = [int(line.split(",")[0]) for line in history[1:]]
    assert epochs == list(range(1, done + 2))  # continued at done+1, nothing repeated


def test_checkpoint_that_does_not_match_its_card(tiny_eurosat: Path, isolated_dirs: dict[str, Path]) -> None:
    subprocess.run(_train_cmd(tiny_eurosat, "--epochs", "1"), check=True, capture_output=True)
    folder = isolated_dirs["artifacts"] / "models" / "smoke"
    card = json.loads((folder / "card.json").read_text())
    card["architecture"] = "resnet50"
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelMismatchError, match="do not match its card"):
        load_model(folder)
    proc = subprocess.run([sys.executable, "-m", "lulc_core", "train", "classifier", "--data",
                           str(tiny_eurosat / "Forest"), "--device", "cpu"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
