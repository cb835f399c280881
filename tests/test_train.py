"""The fit loop (best checkpoint, early stopping, resume after SIGKILL) and the classifier
CLI end to end on tiny generated images."""

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
from conftest import write_fake_eurosat
import torch

from lulc_core.errors import ModelMismatchError
from lulc_core.models import load_model
from lulc_core.train import (
    augment_batch, fit, random_resized_crop_flip, sgd_optimizer, train_step, warmup_cosine,
)


@pytest.fixture(scope="module")
def tiny_eurosat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 classes x 10 generated JPEGs, each class its own colour (learnable)."""
    return write_fake_eurosat(tmp_path_factory.mktemp("eurosat"), per_class=10, noise=15)


def test_crop_flip_shapes_and_content() -> None:
    x = torch.rand(4, 3, 64, 64)
    y = random_resized_crop_flip(x, 96, (0.6, 1.0))
    assert y.shape == (4, 3, 96, 96) and 0 <= float(y.min()) and float(y.max()) <= 1


def test_augment_batch_normalises_into_channels_last() -> None:
    images = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)
    mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.25)
    x = augment_batch(images, 32, (0.6, 1.0), mean, std, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    # uint8 0..255 -> [0, 1] -> (v - .5) / .25 in [-2, 2]
    assert -2.0 - 1e-6 <= float(x.min()) and float(x.max()) <= 2.0 + 1e-6


def _tiny_convnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 3))


def test_sgd_optimizer_decays_weights_only_and_matches_the_unfused_update() -> None:
    """The fused kernel takes the same step as PyTorch's per-tensor SGD with the recipe's groups."""
    model, reference = _tiny_convnet(), _tiny_convnet()
    optimizer = sgd_optimizer(model, lr=0.1, momentum=0.9, weight_decay=0.01)
    decay, no_decay = optimizer.param_groups
    assert decay["fused"] and decay["nesterov"] and decay["weight_decay"] == 0.01
    assert no_decay["weight_decay"] == 0 and all(p.ndim == 1 for p in no_decay["params"])
    assert {id(p) for p in decay["params"]} == {id(p) for p in model.parameters() if p.ndim > 1}
    ref_params = list(reference.parameters())
    ref_opt = torch.optim.SGD(
        [{"params": [p for p in ref_params if p.ndim > 1], "weight_decay": 0.01},
         {"params": [p for p in ref_params if p.ndim <= 1], "weight_decay": 0.0}],
        lr=0.1, momentum=0.9, nesterov=True, foreach=False,
    )
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 3, (8,))
    for _ in range(3):
        for net, opt in ((model, optimizer), (reference, ref_opt)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_warmup_cosine_schedule() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = warmup_cosine(optimizer, total_steps=10, warmup_steps=4)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])  # linear warm-up
    assert lrs[4] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))  # cosine decay
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_train_step_is_a_plain_sgd_step_without_bf16() -> None:
    model, reference = _tiny_convnet(), _tiny_convnet()
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 3, (8,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = train_step(model, x, y, optimizer, torch.nn.functional.cross_entropy,
                      torch.device("cpu"), False)
    expected = torch.nn.functional.cross_entropy(reference(x), y)
    expected.backward()
    with torch.no_grad():
        for p in reference.parameters():
            p -= 0.1 * p.grad
    assert not loss.requires_grad and torch.allclose(loss, expected.detach())
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_train_step_with_bf16_autocast_learns() -> None:
    model = _tiny_convnet().to(memory_format=torch.channels_last)
    x = torch.rand(16, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 3, (16,))
    optimizer = sgd_optimizer(model, lr=0.1, momentum=0.9, weight_decay=0.0)
    losses = [float(train_step(model, x, y, optimizer, torch.nn.functional.cross_entropy,
                               torch.device("cpu"), True)) for _ in range(20)]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
    assert losses[-1] < losses[0]


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


def _fit_linear(run_dir: Path, scores: list[float], epochs: int, patience: int | None = None,
                width: int = 4):
    """fit() on a linear layer over random data; ``evaluate`` returns ``scores`` in turn."""
    torch.manual_seed(0)
    model = torch.nn.Linear(width, 3)
    x, y = torch.randn(32, width), torch.randint(0, 3, (32,))
    given = iter(scores)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return fit(
        model, lambda epoch: [{"image": x[i : i + 8], "label": y[i : i + 8]} for i in range(0, 32, 8)],
        lambda m: {"loss": 1.0, "accuracy": next(given)}, epochs=epochs, optimizer=optimizer,
        scheduler=None, loss_fn=torch.nn.functional.cross_entropy,
        prepare=lambda b: (b["image"], b["label"]), run_dir=run_dir, monitor="accuracy",
        device=torch.device("cpu"), bf16=False, patience=patience, progress=False,
    )


def test_fit_keeps_the_best_epoch_and_stops_early(tmp_path: Path) -> None:
    result = _fit_linear(tmp_path / "run", [0.5, 0.9, 0.8, 0.7, 0.95], epochs=5, patience=2)
    assert result.stopped_early and result.best_epoch == 2 and result.best_metric == 0.9
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(best[k], result.best_state[k]) for k in best)
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 5  # header + 4 epochs


def test_fit_refuses_to_resume_another_model(tmp_path: Path) -> None:
    _fit_linear(tmp_path / "run", [0.5], epochs=1)
    with pytest.raises(ModelMismatchError, match="--no-resume"):
        _fit_linear(tmp_path / "run", [0.5, 0.6], epochs=2, width=5)
