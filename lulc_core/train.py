"""The EuroSAT classifier recipe: data, augmentation, optimiser and schedule, model card.

:func:`train_classifier` runs the engine's :func:`~lulc_core.engine.fit` on EuroSAT held in
memory as uint8 and augmented on the device (crop + flips, photometric changes), with nesterov
SGD and a warm-up + cosine schedule; the test split is scored once, after fitting.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from lulc_core.augment import PhotometricConfig, haze_weights, photometric
from lulc_core.config import StrictModel
from lulc_core.engine import PROTOCOL, Batch, fit, init_provenance, shuffled_batches
from lulc_core.errors import ModelMismatchError
from lulc_core.inference import bf16_supported, forward, pick_device


class ClassifierTrainConfig(StrictModel):
    """How a EuroSAT classifier is trained (saved in its model card)."""

    model: str = Field("efficientnet_lite0", description="registry architecture")
    weights: Literal["imagenet", "none"] = Field("imagenet", description="initialisation")
    name: str | None = Field(None, description="model folder name (default: the architecture)")
    epochs: int = Field(20, ge=1, le=1000, description="training epochs")
    batch_size: int = Field(128, ge=1, le=1024, description="training images per SGD step")
    lr: float = Field(0.05, gt=0, le=10, description="peak SGD learning rate (cosine schedule)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (nesterov)")
    weight_decay: float = Field(5e-4, ge=0, le=1, description="L2 on weights (not on biases/norms)")
    warmup_epochs: float = Field(1.0, ge=0, le=1000, description="linear LR warm-up")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="cross-entropy label smoothing")
    # 512 px bounds memory (a batch of 128 at 512 px is already 0.4 GB of input alone) and is
    # 8x the 64 px EuroSAT images: larger only blows up the same pixels
    input_size: int = Field(128, ge=32, le=512, description="network input side; 64 px images are upsampled")
    crop_scale: tuple[float, float] = Field((0.6, 1.0), description="RandomResizedCrop area range")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="held-out share of every class")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the training part of "
                                "every class held out for validation (epoch choice)")
    photometric: PhotometricConfig | None = Field(
        default_factory=PhotometricConfig, description="photometric augmentation (None: off)")
    init_model: str | None = Field(None, description="start from this model's weights (name or "
                                   "folder) and normalisation instead of --weights")
    epoch_images: int | None = Field(None, ge=1, le=10_000_000, description="training images drawn per epoch "
                                     "(a new random subset each epoch; None: all)")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seeds the split, initialisation, order and augmentation")
    device: str = Field("auto", description="auto, cpu or cuda")
    bf16: bool | None = Field(None, description="bf16 autocast; None = when supported")
    limit_per_class: int | None = Field(None, ge=2, le=100_000, description="smoke runs: images per class")
    eval_batch_size: int = Field(256, ge=1, le=4096, description="images per forward pass when testing")


def random_resized_crop_flip(
    x: torch.Tensor, size: int, scale: tuple[float, float], generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-sample RandomResizedCrop + horizontal/vertical flips on a batch, on its device.

    Args:
        x: float (N, C, H, W) batch.
        size: output side.
        scale: range of the crop's share of the image area; aspect ratio in [3/4, 4/3].

    Returns:
        float (N, C, size, size).
    """
    n = x.shape[0]
    dev = x.device
    area = torch.empty(n, device=dev).uniform_(*scale, generator=generator)
    log_ratio = torch.empty(n, device=dev).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)  # crop width / image width
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (torch.rand(n, device=dev, generator=generator) * 2 - 1) * (1 - sx)
    ty = (torch.rand(n, device=dev, generator=generator) * 2 - 1) * (1 - sy)
    fx = torch.where(torch.rand(n, device=dev, generator=generator) < 0.5, -1.0, 1.0)
    fy = torch.where(torch.rand(n, device=dev, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 0, 2] = sx * fx, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy * fy, ty
    grid = torch.nn.functional.affine_grid(theta, (n, x.shape[1], size, size), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                                           align_corners=False)


def augment_batch(
    images: torch.Tensor,
    size: int,
    scale: tuple[float, float],
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator | None = None,
    colour: PhotometricConfig | None = None,
    haze_per_band: torch.Tensor | None = None,
) -> torch.Tensor:
    """Training inputs from a uint8 batch: photometric changes, crop + flips, normalisation,
    channels_last.

    Args:
        images: uint8 (N, C, H, W) batch, on the training device.
        size: network input side.
        scale: RandomResizedCrop area range.
        mean, std: per-channel normalisation, (1, C, 1, 1).
        generator: seeds the augmentation.
        colour: photometric strengths (None: no photometric change).
        haze_per_band: (C,) relative haze per band, needed with ``colour``.

    Returns:
        float32 (N, C, size, size), channels_last.
    """
    x = images.float() / 255.0
    if colour is not None:
        # At 64 px, before the upsampling crop: 12x fewer pixels than at 224 px.
        x = photometric(x, colour, haze_per_band, generator)
    x = random_resized_crop_flip(x, size, scale, generator)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def sgd_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float
                  ) -> torch.optim.SGD:
    """The recipe's SGD: nesterov momentum, weight decay on weights only (not biases or norms).

    The fused kernel updates all parameters in one pass instead of one Python-level step per
    tensor; it needs every parameter on one CPU or CUDA device.
    """
    params = list(model.parameters())
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    fused = len({p.device for p in params}) == 1 and params[0].device.type in ("cpu", "cuda")
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, momentum=momentum, nesterov=True, fused=fused or None,
    )


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int
                  ) -> torch.optim.lr_scheduler.LambdaLR:
    """The recipe's schedule, stepped per batch: linear warm-up to the peak LR, then cosine to 0."""
    warm = max(1, warmup_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm
        else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total_steps - warm)))
    )


def resize_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """Test-time resize, identical to ``lulc_core.classify.eval_transform`` (bilinear, antialiased)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                                           align_corners=False)


def _limit_per_class(idx: list[int], labels: list[int], per_class: int, rng: torch.Generator
                     ) -> list[int]:
    """Smoke runs: at most ``per_class`` random indices of ``idx`` per class, sorted."""
    per: dict[int, list[int]] = {}
    for i in idx:
        per.setdefault(labels[i], []).append(i)
    return sorted(v[k] for v in per.values() for k in torch.randperm(len(v), generator=rng)[:per_class])


def train_classifier(config: ClassifierTrainConfig, data_root: Path, progress: bool = True,
                     resume: bool = False, overwrite: bool = False):
    """Train a EuroSAT classifier and write its model folder atomically.

    Best epoch and early stopping read the validation split (``val_fraction`` of the training
    part of every class); the test split (identical to the earlier 80/20 protocol) is scored
    once, after training, with the chosen weights: that is the card's ``metrics``.

    Args:
        config: the recipe.
        data_root: EuroSAT folder.
        progress: show progress bars.
        resume, overwrite: re-use policy of the run name (:func:`lulc_core.runs.open_run`).

    Returns:
        The written :class:`~lulc_core.artifacts.ModelCard`.
    """
    import platform

    from lulc_core import __version__
    from lulc_core.artifacts import ClassInfo, ModelCard, model_dir, save_model
    from lulc_core.classes import EUROSAT_CLASSES
    from lulc_core.data.eurosat import fingerprint, load_uint8, scan_eurosat, train_val_test_split
    from lulc_core.heldout import TEST_PREDICTIONS_FILE, prediction_table, predictions_csv
    from lulc_core.metrics import ConfusionAccumulator, confusion_csv
    from lulc_core.models import build_classifier
    from lulc_core.runs import open_run

    name = config.name or config.model
    folder = model_dir(name)
    files, labels = scan_eurosat(data_root)
    device = pick_device(config.device)
    init = _init_classifier(config) if config.init_model else None
    run_dir = open_run(name, config.model_dump(), resume=resume, overwrite=overwrite)
    torch.manual_seed(config.seed)
    train_idx, val_idx, test_idx = train_val_test_split(
        labels, config.test_fraction, config.val_fraction, config.seed)
    if config.limit_per_class:
        rng = torch.Generator().manual_seed(config.seed)
        small = max(1, config.limit_per_class // 4)
        train_idx, val_idx, test_idx = (
            _limit_per_class(idx, labels, share, rng)
            for idx, share in ((train_idx, config.limit_per_class), (val_idx, small), (test_idx, small)))
    bf16 = bf16_supported(device) if config.bf16 is None else config.bf16
    all_idx = train_idx + val_idx + test_idx
    images = load_uint8(data_root, [files[i] for i in all_idx]).to(device)
    y = torch.tensor([labels[i] for i in all_idx], device=device)
    n_train, n_val = len(train_idx), len(val_idx)
    train_x, train_y = images[:n_train], y[:n_train]
    val_x, val_y = images[n_train : n_train + n_val], y[n_train : n_train + n_val]
    test_x, test_y = images[n_train + n_val :], y[n_train + n_val :]
    if init is not None:
        model, init_card = init
        model.to(device)
        # The start weights expect their own normalisation.
        mean = torch.tensor(init_card.normalization["mean"], device=device)
        std = torch.tensor(init_card.normalization["std"], device=device)
    else:
        model = build_classifier(config.model, len(EUROSAT_CLASSES), config.weights).to(device)
        as_float = train_x.float() / 255.0
        mean = as_float.mean(dim=(0, 2, 3))
        std = as_float.std(dim=(0, 2, 3))
        del as_float
    mean_v, std_v = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)
    bands = ["B04", "B03", "B02"]
    haze = haze_weights(bands).to(device)

    optimizer = sgd_optimizer(model, config.lr, config.momentum, config.weight_decay)
    steps = math.ceil(min(n_train, config.epoch_images or n_train) / config.batch_size)
    scheduler = warmup_cosine(optimizer, steps * config.epochs, int(steps * config.warmup_epochs))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    aug_gen = torch.Generator(device=device).manual_seed(config.seed)

    def prepare(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x = augment_batch(batch["image"], config.input_size, config.crop_scale, mean_v, std_v,
                          aug_gen, config.photometric, haze)
        return x, batch["label"]

    def normalised(x_u8: torch.Tensor) -> torch.Tensor:
        return (resize_batch(x_u8.float() / 255.0, config.input_size) - mean_v) / std_v

    def predict(model: nn.Module, x_u8: torch.Tensor) -> torch.Tensor:
        return forward(model, x_u8, bf16=bf16, batch_size=config.eval_batch_size,
                       prepare=normalised, on_device=True)

    def evaluate(model: nn.Module) -> dict[str, float]:
        logits = predict(model, val_x)
        return {"loss": float(nn.functional.cross_entropy(logits, val_y)),
                "accuracy": float((logits.argmax(1) == val_y).float().mean())}

    result = fit(
        model, lambda epoch: shuffled_batches({"image": train_x, "label": train_y}, config.batch_size,
                                              config.seed * 1000 + epoch, config.epoch_images),
        evaluate, epochs=config.epochs, optimizer=optimizer, scheduler=scheduler, loss_fn=loss_fn,
        prepare=prepare, run_dir=run_dir, monitor="accuracy", device=device, bf16=bf16,
        steps_per_epoch=steps, progress=progress,
    )
    model.load_state_dict(result.best_state)
    model.eval()
    # The one and only look at the test split.
    test_probs = predict(model, test_x).softmax(1).cpu()
    acc = ConfusionAccumulator(len(EUROSAT_CLASSES))
    acc.update(test_probs.argmax(1), test_y.cpu())
    report = acc.report(EUROSAT_CLASSES)
    best = result.history[result.best_epoch - 1]
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    card = ModelCard(
        name=name, task="classification", architecture=config.model, bands=bands,
        classes=[ClassInfo(index=i, name=c) for i, c in enumerate(EUROSAT_CLASSES)],
        normalization={"mean": mean.tolist(), "std": std.tolist()}, input_size=config.input_size,
        patch_size=64, train_config=config.model_dump(),
        split={"method": "stratified random", "test_fraction": config.test_fraction,
               "val_fraction": config.val_fraction, "seed": config.seed, "train": n_train,
               "val": n_val, "test": len(test_idx), "file": "split.json"},
        data={"source": "EuroSAT RGB (Helber et al. 2019)", "synthetic": False,
              "root": str(data_root), "fingerprint": fingerprint(data_root, files),
              "images": len(files), **({"init": init_provenance(init[1])} if init else {})},
        metrics={**report.summary(), "best_epoch": result.best_epoch,
                 "test_images": len(test_idx), "protocol": PROTOCOL},
        val_metrics={"accuracy": best["val_accuracy"], "loss": best["val_loss"],
                     "val_images": n_val, "epoch": result.best_epoch},
        training_seconds=round(result.seconds, 1), device=f"{device.type}: {device_name}",
        code_version=__version__,
    )
    split = {"train": [files[i] for i in train_idx], "val": [files[i] for i in val_idx],
             "test": [files[i] for i in test_idx]}
    return save_model(folder, result.best_state, card, extra_files={
        "history.csv": (run_dir / "history.csv").read_text(),
        "split.json": json.dumps(split),
        "confusion.csv": confusion_csv(report.confusion, EUROSAT_CLASSES),
        "per_class.csv": report.per_class.to_csv(float_format="%.6f"),
        TEST_PREDICTIONS_FILE: predictions_csv(prediction_table(
            split["test"], test_probs, test_y.cpu(), EUROSAT_CLASSES)),
    })


def _init_classifier(config: ClassifierTrainConfig):
    """(network in float32, card) of ``config.init_model``, checked to be this architecture.

    Raises:
        ModelMismatchError: the start model is not a classifier of ``config.model``.
    """
    from lulc_core.models import load_model

    model, card = load_model(config.init_model)
    if card.task != "classification" or card.architecture != config.model:
        raise ModelMismatchError(
            f"--init-model {config.init_model} is a {card.task} model ({card.architecture}), "
            f"not a {config.model} classifier: pick a model of the same architecture")
    return model.float(), card
