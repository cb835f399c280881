"""The fit loop (best checkpoint, early stopping, resume after SIGKILL), the augmentations,
the train/val/test split, the run-name policy and the classifier CLI end to end on tiny
generated images."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_fake_eurosat
from lulc_cli import assert_one_line_error, run_lulc
import torch

from lulc_core.data.eurosat import stratified_split, train_val_test_split
from lulc_core.errors import ModelMismatchError
from lulc_core.models import load_model
from lulc_core.augment import RELATIVE_HAZE, PhotometricConfig, haze_weights, photometric
from lulc_core.engine import fit, train_step
from lulc_core.train import augment_batch, random_resized_crop_flip, sgd_optimizer, warmup_cosine


@pytest.fixture(scope="module")
def tiny_eurosat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 classes x 10 generated JPEGs, each class its own colour (learnable)."""
    return write_fake_eurosat(tmp_path_factory.mktemp("eurosat"), per_class=10, noise=15)


def _ramps(n: int, side: int = 64) -> torch.Tensor:
    """(n, 3, side, side): channel 0 rises left to right, channel 1 top to bottom, 2 is flat."""
    ramp = (torch.arange(side, dtype=torch.float32) + 0.5) / side
    x = torch.stack([ramp.expand(side, side), ramp[:, None].expand(side, side),
                     torch.full((side, side), 0.5)])
    return x.expand(n, -1, -1, -1).clone()


def test_crop_flip_shapes_and_content() -> None:
    """Every output is a crop (a sub-range of the ramps, resized) and flips happen both ways."""
    y = random_resized_crop_flip(_ramps(64), 96, (0.3, 0.3), torch.Generator().manual_seed(0))
    assert y.shape == (64, 3, 96, 96) and 0 <= float(y.min()) and float(y.max()) <= 1
    dx = y[:, 0, :, 1:] - y[:, 0, :, :-1]  # along the width
    dy = y[:, 1, 1:, :] - y[:, 1, :-1, :]  # along the height
    rising_x = (dx > 0).flatten(1).all(1)
    rising_y = (dy > 0).flatten(1).all(1)
    # Each sample's ramps are strictly monotonic (no rotation, no shuffle): rising or flipped.
    assert (rising_x | (dx < 0).flatten(1).all(1)).all()
    assert (rising_y | (dy < 0).flatten(1).all(1)).all()
    assert 0 < int(rising_x.sum()) < 64 and 0 < int(rising_y.sum()) < 64  # both flips occur
    # Channel 0 does not vary down a column, channel 1 not along a row: axes are not swapped.
    assert float((y[:, 0] - y[:, 0, :1]).abs().max()) < 1e-5
    assert float((y[:, 1] - y[:, 1, :, :1]).abs().max()) < 1e-5
    # A crop of 30 % of the area with aspect ratio in [3/4, 4/3] spans sqrt(0.3 * r) of each
    # axis: 0.47 to 0.63 of the image, never all of it.
    span_x = y[:, 0].amax((1, 2)) - y[:, 0].amin((1, 2))
    span_y = y[:, 1].amax((1, 2)) - y[:, 1].amin((1, 2))
    assert float(span_x.min()) > 0.4 and float(span_x.max()) < 0.7
    assert float(span_y.min()) > 0.4 and float(span_y.max()) < 0.7
    assert torch.allclose(y[:, 2], torch.tensor(0.5))  # values come from the image


def _only(**strengths: float) -> PhotometricConfig:
    """A photometric config with every operation off except ``strengths``."""
    return PhotometricConfig(**{"brightness": 0, "contrast": 0, "gamma": 0, "band_gain": 0,
                                "haze": 0, **strengths})


RGB = ["B04", "B03", "B02"]  # the classifier's channel order: red, green, blue


def test_photometric_haze_adds_most_to_blue() -> None:
    x = torch.full((256, 3, 8, 8), 0.2)
    out = photometric(x, _only(haze=0.06), haze_weights(RGB), torch.Generator().manual_seed(0))
    added = (out - x)[:, :, 0, 0]  # (N, [red, green, blue])
    assert ((out - x) == added[:, :, None, None]).all()  # one offset per image and band
    red, green, blue = added.T
    assert (blue >= 0).all() and float(blue.max()) <= 0.06 + 1e-6 and float(blue.max()) > 0.05
    assert (blue > green).all() and (green > red).all() and (red > 0).all()
    assert torch.allclose(red / blue, torch.tensor(RELATIVE_HAZE["B04"]), atol=1e-4)


def test_photometric_gamma_keeps_black_and_white() -> None:
    x = torch.linspace(0, 1, 11).expand(64, 3, 1, 11).clone()
    out = photometric(x, _only(gamma=0.3), haze_weights(RGB), torch.Generator().manual_seed(0))
    assert (out[..., 0] == 0).all() and (out[..., -1] == 1).all()
    mid = out[:, 0, 0, 5]  # 0.5 ** gamma, gamma in [exp(-0.3), exp(0.3)]
    assert float(mid.min()) < 0.48 and float(mid.max()) > 0.52
    assert float(mid.min()) >= 0.5 ** math.exp(0.3) - 1e-6 and float(mid.max()) <= 0.5 ** math.exp(-0.3) + 1e-6
    assert (out[..., 1:] > out[..., :-1]).all()  # order of values is kept


def test_photometric_brightness_contrast_and_band_gain() -> None:
    x = torch.rand(128, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 0.5 + 0.1
    gen = torch.Generator().manual_seed(0)
    bright = photometric(x, _only(brightness=0.1), haze_weights(RGB), gen) / x
    factor = bright[:, :1, :1, :1]
    assert torch.allclose(bright, factor.expand_as(bright), atol=1e-5)  # one factor per image
    assert float(factor.min()) >= 0.9 - 1e-5 and float(factor.max()) <= 1.1 + 1e-5
    assert float(factor.std()) > 0.02
    gain = photometric(x, _only(band_gain=0.05), haze_weights(RGB), gen) / x
    per_band = gain[:, :, :1, :1]
    assert torch.allclose(gain, per_band.expand_as(gain), atol=1e-5)  # one factor per band
    assert (per_band[:, 0] != per_band[:, 2]).all() and float((per_band - 1).abs().max()) <= 0.05 + 1e-5
    out = photometric(x, _only(contrast=0.1), haze_weights(RGB), gen)
    assert torch.allclose(out.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1e-5)  # mean kept
    ratio = out.std((1, 2, 3)) / x.std((1, 2, 3))
    assert float(ratio.min()) >= 0.9 - 1e-4 and float(ratio.max()) <= 1.1 + 1e-4 and float(ratio.std()) > 0.02
    assert torch.equal(photometric(x, _only(), haze_weights(RGB), gen), x)  # all off: unchanged


def test_photometric_needs_known_bands() -> None:
    from lulc_core.errors import InvalidDataError

    with pytest.raises(InvalidDataError, match="--no-photometric"):
        haze_weights(["B08"])


def test_augment_batch_normalises_into_channels_last() -> None:
    images = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)
    mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.25)
    x = augment_batch(images, 32, (0.6, 1.0), mean, std, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    # uint8 0..255 -> [0, 1] -> (v - .5) / .25 in [-2, 2]
    assert -2.0 - 1e-6 <= float(x.min()) and float(x.max()) <= 2.0 + 1e-6
    hazy = augment_batch(images, 32, (0.6, 1.0), mean, std, torch.Generator().manual_seed(0),
                         _only(haze=0.06), haze_weights(RGB))
    assert float((hazy - x)[:, 2].mean()) > float((hazy - x)[:, 0].mean()) > 0  # blue most


def test_eurosat_split_keeps_test_and_carves_val_from_train() -> None:
    labels = [k for k in range(10) for _ in range(100 + 7 * k)]
    train, val, test = train_val_test_split(labels, 0.2, 0.1, 0)
    assert test == stratified_split(labels, 0.2, 0)[1]  # the test split of earlier protocols
    assert sorted(train + val) == stratified_split(labels, 0.2, 0)[0]
    assert not set(train) & set(val)
    for k in range(10):
        n_rest = sum(1 for i in train + val if labels[i] == k)
        assert sum(1 for i in val if labels[i] == k) == round(n_rest * 0.1)  # stratified
    tiny = [k for k in range(10) for _ in range(5)]  # 1 test, 4 rest: 10 % rounds to 0
    assert len(train_val_test_split(tiny, 0.2, 0.1, 0)[1]) == 10  # still 1 per class


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


def _train_args(data: Path, *extra: str) -> list[str]:
    return ["train", "classifier", "--data", str(data), "--model", "resnet18", "--weights", "none",
            "--input-size", "64", "--batch-size", "16", "--device", "cpu", "--name", "smoke", *extra]


def _train_cmd(data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lulc_core", *_train_args(data, *extra)]


def test_cli_trains_one_epoch_end_to_end(tiny_eurosat: Path, isolated_dirs: dict[str, Path]) -> None:
    proc = subprocess.run(_train_cmd(tiny_eurosat, "--epochs", "1"), capture_output=True, text=True,
                          env=os.environ | {"LULC_PROGRESS_FILE": str(isolated_dirs["data"] / "p.json")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = isolated_dirs["artifacts"] / "models" / "smoke"
    card = json.loads((folder / "card.json").read_text())
    assert card["metrics"]["test_images"] == 20 and 0 <= card["metrics"]["accuracy"] <= 1
    assert card["val_metrics"]["val_images"] == 10 and card["val_metrics"]["epoch"] == 1
    assert card["split"] | {"train": 70, "val": 10, "test": 20} == card["split"]
    assert {"history.csv", "split.json", "confusion.csv", "model.safetensors"} <= {p.name for p in folder.iterdir()}
    split = json.loads((folder / "split.json").read_text())
    assert [len(split[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    assert not (set(split["train"]) & set(split["test"]) or set(split["val"]) & set(split["test"])
                or set(split["train"]) & set(split["val"]))
    history = (folder / "history.csv").read_text().splitlines()[0].split(",")
    assert "val_accuracy" in history and not any(c.startswith("test_") for c in history)
    model, loaded = load_model(folder)
    assert loaded.name == "smoke" and not model.training
    progress = json.loads((isolated_dirs["data"] / "p.json").read_text())
    assert progress["epoch"] == 1


def test_resume_after_sigkill(tiny_eurosat: Path, isolated_dirs: dict[str, Path]) -> None:
    run_dir = isolated_dirs["artifacts"] / "runs" / "smoke"
    args = ("--epochs", "30", "--limit-per-class", "2")
    proc = subprocess.Popen(_train_cmd(tiny_eurosat, *args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 600  # the first epoch starts after torch imports: slow on a busy CPU
    while not (run_dir / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = torch.load(run_dir / "last.pt", weights_only=True)["epoch"]
    assert 1 <= done < 30
    before = (run_dir / "history.csv").read_text().splitlines()
    resumed = subprocess.run(_train_cmd(tiny_eurosat, *args, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = (isolated_dirs["artifacts"] / "models" / "smoke" / "history.csv").read_text().splitlines()
    epochs = [int(line.split(",")[0]) for line in history[1:]]
    assert epochs == list(range(1, 31))  # continued after the last finished epoch
    # The rows written before the kill are kept as they were (a restart would rewrite their
    # seconds and losses).
    assert history[: len(before)] == before


def test_run_names_are_reused_only_on_request(tiny_eurosat: Path, isolated_dirs: dict[str, Path],
                                              capsys, monkeypatch) -> None:
    small = ("--epochs", "1", "--limit-per-class", "2")
    assert run_lulc(_train_args(tiny_eurosat, *small), capsys, monkeypatch)[0] == 0
    card = isolated_dirs["artifacts"] / "models" / "smoke" / "card.json"
    first = json.loads(card.read_text())["created"], card.stat().st_mtime_ns
    # Same name again, no flag: refused, nothing rewritten.
    code, _, err = run_lulc(_train_args(tiny_eurosat, *small), capsys, monkeypatch)
    assert_one_line_error(code, err, "smoke", "--resume", "--overwrite")
    # Resume with other settings: refused with the differing fields.
    code, _, err = run_lulc(_train_args(tiny_eurosat, "--epochs", "2", "--limit-per-class", "2",
                                        "--lr", "0.01", "--resume"), capsys, monkeypatch)
    assert_one_line_error(code, err, "epochs 1 -> 2", "lr 0.05 -> 0.01", "--overwrite")
    code, _, err = run_lulc(_train_args(tiny_eurosat, *small, "--resume", "--overwrite"), capsys, monkeypatch)
    assert_one_line_error(code, err, "--resume", "--overwrite")
    assert card.stat().st_mtime_ns == first[1]
    # --overwrite trains again from the start and replaces the model.
    code, out, err = run_lulc(_train_args(tiny_eurosat, "--epochs", "2", "--limit-per-class", "2",
                                          "--overwrite"), capsys, monkeypatch)
    assert code == 0, err
    history = (isolated_dirs["artifacts"] / "models" / "smoke" / "history.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in history[1:]] == [1, 2]
    assert json.loads(card.read_text())["train_config"]["epochs"] == 2
    # A run that does not exist cannot be resumed.
    code, _, err = run_lulc(_train_args(tiny_eurosat, *small, "--name", "other", "--resume"), capsys, monkeypatch)
    assert_one_line_error(code, err, "no run 'other'")


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
    with pytest.raises(ModelMismatchError, match="--overwrite"):
        _fit_linear(tmp_path / "run", [0.5, 0.6], epochs=2, width=5)
