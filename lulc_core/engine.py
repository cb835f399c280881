"""The training engine both recipes run: one fit loop, checkpoints, resume, early stopping.

:func:`fit` runs epochs of SGD on batches given as sample dicts, evaluates on the VALIDATION
split after each epoch, keeps the best weights by a monitored validation metric, optionally
stops early, and checkpoints every finished epoch to ``<run_dir>/last.pt`` so a killed process
(even SIGKILL) resumes from the last finished epoch. Checkpoints hold only tensors, numbers and
strings and are read back with ``torch.load(weights_only=True)``: nothing is unpickled. The
test split never takes part in fitting: the recipes (:mod:`lulc_core.train` for the EuroSAT
classifier, :mod:`lulc_core.segmentation` for the U-Net) score it once, with the chosen
weights, after :func:`fit` returns. Whether a run folder may be resumed or replaced is decided
by :mod:`lulc_core.runs`; devices and the evaluation forward pass are :mod:`lulc_core.inference`.

Speed: bf16 autocast + channels_last where the CPU (or GPU) supports bf16, in-memory data
augmented on the device, and the fused SGD kernel. Every batch is one :func:`train_step`, which
``bench/train_speed.py`` times against a plain fp32 loop (numbers in ``docs/classifier.md``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lulc_core.files import atomic_write_bytes, atomic_write_json
from lulc_core.errors import ModelMismatchError
from lulc_core.inference import autocast

Batch = dict[str, torch.Tensor]


# --------------------------------------------------------------------------- progress


class Progress:
    """Writes ``$LULC_PROGRESS_FILE`` (JSON) for the dashboard's job watcher, at most every 2 s."""

    def __init__(self, epochs: int) -> None:
        self.path = os.environ.get("LULC_PROGRESS_FILE")
        self.epochs = epochs
        self.last = 0.0
        self.t0 = time.monotonic()

    def update(self, force: bool = False, **state: Any) -> None:
        now = time.monotonic()
        if not self.path or (not force and now - self.last < 2.0):
            return
        self.last = now
        atomic_write_json(Path(self.path), {"epochs": self.epochs, "elapsed_seconds": now - self.t0, **state})


# --------------------------------------------------------------------------- fit


@dataclass
class FitResult:
    """What :func:`fit` did: per-epoch history, best epoch and metric, seconds spent."""

    history: list[dict[str, float]]
    best_epoch: int
    best_metric: float
    seconds: float
    best_state: dict[str, torch.Tensor] = field(repr=False)
    stopped_early: bool = False


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def write_history_csv(path: Path, history: list[dict[str, float]]) -> str:
    """History rows as CSV text (also returned, for model folders)."""
    out = io.StringIO()
    if history:
        writer = csv.DictWriter(out, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, out.getvalue().encode())
    return out.getvalue()


def train_step(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device,
    bf16: bool,
) -> torch.Tensor:
    """One SGD step, the one :func:`fit` takes for every batch (and ``bench/train_speed.py`` times).

    The forward pass runs under bf16 autocast when ``bf16`` (float32 master weights, cast per
    step); the loss is computed on float32 logits.

    Args:
        model: network in train mode, on ``device``.
        x: inputs on ``device`` (channels_last for conv nets).
        y: targets on ``device``.
        optimizer: updated once.
        loss_fn: ``(logits float32, targets) -> loss``.
        device: torch device (selects the autocast backend).
        bf16: use bf16 autocast.

    Returns:
        The loss, detached (0-d float32 tensor).
    """
    with autocast(device, bf16):
        logits = model(x)
    loss = loss_fn(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def fit(
    model: nn.Module,
    train_batches: Callable[[int], Iterable[Batch]],
    evaluate: Callable[[nn.Module], dict[str, float]],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    prepare: Callable[[Batch], tuple[torch.Tensor, torch.Tensor]],
    run_dir: Path,
    monitor: str,
    device: torch.device,
    bf16: bool,
    patience: int | None = None,
    resume: bool = True,
    steps_per_epoch: int | None = None,
    progress: bool = True,
) -> FitResult:
    """Train with per-epoch validation, best-checkpoint keeping, early stopping and resume.

    Args:
        model: network already on ``device`` (channels_last is applied here).
        train_batches: ``epoch -> iterable of sample dicts`` (reshuffled per epoch, seeded).
        evaluate: ``model -> {"loss": ..., monitor: ...}`` on the validation split (model in
            eval); history columns are ``val_<key>``. Never pass the test split here.
        epochs: total epochs (a resumed run continues to this number).
        optimizer, scheduler: the scheduler is stepped once per batch.
        loss_fn: ``(logits float32, targets) -> loss``.
        prepare: ``batch -> (inputs on device, targets on device)``, with training augmentation.
        run_dir: where ``last.pt``, ``best.pt`` and ``history.csv`` live.
        monitor: metric name from ``evaluate`` to maximise (``accuracy``, ``miou``).
        device: torch device.
        bf16: use bf16 autocast.
        patience: stop after this many epochs without improvement (None: never).
        resume: continue from ``run_dir/last.pt`` if it exists.
        steps_per_epoch: batches per epoch, for the progress bar and ETA.
        progress: show a tqdm bar.

    Returns:
        A :class:`FitResult` whose ``best_state`` holds the best weights (on CPU).

    Raises:
        ModelMismatchError: ``run_dir/last.pt`` belongs to another network or optimizer.
    """
    from tqdm import tqdm

    run_dir.mkdir(parents=True, exist_ok=True)
    model.to(memory_format=torch.channels_last)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    history: list[dict[str, float]] = []
    start, best_metric, best_epoch, stale = 0, -math.inf, -1, 0
    if resume and last_path.is_file():
        ckpt = torch.load(last_path, map_location=device, weights_only=True)
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError):
            raise ModelMismatchError(
                f"{last_path} is a checkpoint of another model or recipe: pass --overwrite to "
                "start over, or another --name"
            ) from None
        if scheduler is not None and "scheduler" in ckpt:
            scheduler.load_state_dict(ckpt["scheduler"])
        history = json.loads(ckpt["history"])
        start, best_metric, best_epoch, stale = (
            int(ckpt["epoch"]), float(ckpt["best_metric"]), int(ckpt["best_epoch"]), int(ckpt["stale"])
        )
    tracker = Progress(epochs)
    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    stopped = False
    for epoch in range(start, epochs):
        model.train()
        total, count = 0.0, 0
        bar = tqdm(train_batches(epoch), total=steps_per_epoch, disable=not progress,
                   desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False)
        epoch_t0 = time.perf_counter()
        for i, batch in enumerate(bar):
            x, y = prepare(batch)
            loss = train_step(model, x, y, optimizer, loss_fn, device, bf16)
            if scheduler is not None:
                scheduler.step()
            total += float(loss) * len(y)
            count += len(y)
            bar.set_postfix(loss=f"{total / count:.4f}")
            if steps_per_epoch:
                per_batch = (time.perf_counter() - epoch_t0) / (i + 1)
                remaining = (steps_per_epoch - i - 1) + steps_per_epoch * (epochs - epoch - 1)
                tracker.update(status="training", epoch=epoch + 1, batch=i + 1,
                               batches=steps_per_epoch, loss=total / count,
                               eta_seconds=per_batch * remaining, message=f"epoch {epoch + 1}")
        model.eval()
        scores = evaluate(model)
        row = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
               **{f"val_{k}": float(v) for k, v in scores.items()},
               "lr": float(optimizer.param_groups[0]["lr"]),
               "seconds": time.perf_counter() - t0}
        history.append(row)
        improved = scores[monitor] > best_metric
        if improved:
            best_metric, best_epoch, stale = float(scores[monitor]), epoch + 1, 0
            _save_checkpoint(best_path, {"model": _cpu_state(model)})
        else:
            stale += 1
        stopped = patience is not None and stale >= patience
        _save_checkpoint(last_path, {
            "model": _cpu_state(model), "optimizer": optimizer.state_dict(),
            **({"scheduler": scheduler.state_dict()} if scheduler is not None else {}),
            "epoch": epoch + 1 if not stopped else epochs, "history": json.dumps(history),
            "best_metric": best_metric, "best_epoch": best_epoch, "stale": stale,
        })
        write_history_csv(run_dir / "history.csv", history)
        if progress:
            shown = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
            tqdm.write(f"epoch {epoch + 1}/{epochs}: {shown} ({row['seconds']:.0f} s)")
        tracker.update(force=True, status="training", epoch=epoch + 1, batch=0, batches=steps_per_epoch,
                       loss=row["train_loss"], eta_seconds=row["seconds"] / (epoch + 1 - start or 1)
                       * (epochs - epoch - 1), message=f"{monitor} {scores[monitor]:.4f}")
        if stopped:
            break
    best_state = torch.load(best_path, map_location="cpu", weights_only=True)["model"]
    return FitResult(history, best_epoch, best_metric, time.perf_counter() - t0, best_state, stopped)


def shuffled_batches(samples: Batch, batch_size: int, seed: int, limit: int | None = None
                     ) -> Iterator[Batch]:
    """Sample dicts of ``batch_size`` rows of every tensor in ``samples``, in a seeded random
    order (the first ``limit`` rows of it: a new random subset per seed).

    Args:
        samples: tensors with the same first dimension N, e.g. ``{"image": ..., "label": ...}``.
        batch_size: rows per batch (the last batch may be smaller).
        seed: seeds the order (recipes pass ``seed * 1000 + epoch``).
        limit: rows per pass (None: all N).
    """
    n = len(next(iter(samples.values())))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit]
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        yield {key: value[idx] for key, value in samples.items()}


PROTOCOL = "best epoch chosen on the validation split; test scored once with those weights"


def init_provenance(card) -> dict[str, Any]:
    """Where a fine-tuned model's start weights came from, and how they had been chosen."""
    legacy = not card.val_metrics
    return {"model": card.name, "weights_sha256": card.weights_sha256, "created": card.created,
            "protocol": ("legacy: the start weights' epoch had been chosen on the test split"
                         if legacy else card.metrics.get("protocol", PROTOCOL))}
