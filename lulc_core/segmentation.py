"""Per-city U-Net segmentation: training on a patch store, evaluation, cross-city transfer.

The study trained with plain pixel-wise cross-entropy and overfit (test loss rose while train
loss fell). We keep cross-entropy (weight 1 per pixel by default) but add joint image/mask
augmentation (flips, 90-degree rotations: land use has no preferred orientation from above),
photometric augmentation (brightness, contrast, gamma, per-band gain, haze), AdamW with weight
decay, a cosine schedule, early stopping on validation mIoU, and an encoder pretrained on
EuroSAT, which together keep the held-out loss falling with the training loss.

Validation is carved from the store's training patches (whole spatial blocks for a spatial
store, :func:`lulc_core.data.patches.carve_validation`); the store's test patches are scored
once, after training, with the weights of the best validation epoch. Training runs the
engine's :func:`lulc_core.engine.fit`, as the classifier recipe (:mod:`lulc_core.train`) does.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import torch
from pydantic import Field
from torch import nn

from lulc_core.artifacts import CROSS_CITY_FILE
from lulc_core.augment import PhotometricConfig, haze_weights, photometric
from lulc_core.config import StrictModel, artifacts_dir, patches_dir
from lulc_core.engine import PROTOCOL, Batch, fit, init_provenance, shuffled_batches
from lulc_core.errors import InvalidDataError, ModelMismatchError
from lulc_core.inference import bf16_supported, forward, pick_device
from lulc_core.render import true_colour


class SegmenterTrainConfig(StrictModel):
    """How a per-city U-Net is trained (saved in its model card)."""

    city: str = Field(description="patch store name, e.g. paris")
    name: str | None = Field(None, description="model folder name (default unet-<city>)")
    encoder: str = Field("tf_efficientnet_lite0", description="tf_efficientnet_lite0 or efficientnet-b0")
    encoder_weights: str = Field("eurosat", description="none, imagenet, eurosat or lite0-imagenet")
    eurosat_model: str | None = Field(None, description="classifier folder/name for eurosat init")
    epochs: int = Field(15, ge=1, le=1000)
    batch_size: int = Field(64, ge=1, le=1024)
    lr: float = Field(2e-3, gt=0, le=1, description="peak AdamW learning rate, cosine schedule")
    weight_decay: float = Field(1e-4, ge=0, le=1)
    class_weights: bool = Field(False, description="inverse-sqrt-frequency class weights")
    ignore_background: bool = Field(False, description="background pixels do not count in the loss")
    patience: int | None = Field(5, ge=1, le=1000, description="early stopping on validation mIoU (epochs)")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    device: str = "auto"
    bf16: bool | None = None
    limit: int | None = Field(None, ge=2, le=10_000_000, description="smoke runs: training patches to use")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the training patches "
                                "held out for validation (whole blocks in a spatial store)")
    photometric: PhotometricConfig | None = Field(
        default_factory=PhotometricConfig, description="photometric augmentation (None: off)")
    init_model: str | None = Field(None, description="start from this segmenter's weights "
                                   "(name or folder) instead of --encoder-weights")


def joint_augment():
    """Per-sample joint flips and 90-degree rotations of image and mask (torchvision v2)."""
    from torchvision.transforms import v2

    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        v2.RandomChoice([v2.RandomRotation((a, a)) for a in (0, 90, 180, 270)]),
    ])


def _tensors(ds, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised patches (N, C, S, S) float32 and masks (N, S, S) int64 of store rows ``idx``."""
    mean = np.asarray(ds.stats["mean"], np.float32)[None, :, None, None]
    std = np.asarray(ds.stats["std"], np.float32)[None, :, None, None]
    x = torch.from_numpy((ds.images[idx].astype(np.float32) - mean) / std)
    return x, torch.from_numpy(ds.masks[idx].astype(np.int64))


def _load_split(store: Path, split: str, stats: dict | None = None, limit: int | None = None):
    from lulc_core.data.patches import PatchDataset

    ds = PatchDataset(store, split, stats=stats)
    return (*_tensors(ds, ds.indices[:limit] if limit else ds.indices), ds)


def _train_val_indices(ds, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Store rows of the training and validation patches, carved from the store's train split,
    and the store's split method."""
    from lulc_core.data.patches import SPATIAL_BLOCK, carve_validation

    meta = json.loads((ds.root / "patches.json").read_text())
    pos = np.asarray([ds.positions[i] for i in ds.indices]).reshape(-1, 2)
    is_val = carve_validation(pos[:, 0], pos[:, 1], meta["split_method"], val_fraction, seed,
                              meta.get("block_patches") or SPATIAL_BLOCK)
    return ds.indices[~is_val], ds.indices[is_val], meta["split_method"]


def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, bf16: bool,
          loss_fn=None):
    """(mean loss, MetricsReport) of a model (on its device) on normalised patches on the CPU."""
    from lulc_core.classes import urban_atlas_legend
    from lulc_core.metrics import ConfusionAccumulator

    acc = ConfusionAccumulator(num_classes)
    losses = []
    for i in range(0, len(x), 256):
        logits = forward(model, x[i : i + 256], bf16=bf16, batch_size=128)
        if loss_fn is not None:
            losses.append(float(loss_fn(logits, y[i : i + 256])) * len(logits))
        acc.update(logits.argmax(1), y[i : i + 256])
    names = [c.name for c in urban_atlas_legend()][:num_classes]
    return (sum(losses) / len(x) if losses else float("nan")), acc.report(names)


def train_segmenter(config: SegmenterTrainConfig, progress: bool = True, resume: bool = False,
                    overwrite: bool = False):
    """Train a U-Net on a city's patch store and write its model folder atomically.

    Args:
        config: the recipe.
        progress: show progress bars.
        resume, overwrite: re-use policy of the run name (:func:`lulc_core.runs.open_run`).

    Returns:
        The written ModelCard (``metrics``: test split, scored once; ``val_metrics``: the
        validation split at the chosen epoch).
    """
    import platform

    from torchvision import tv_tensors

    from lulc_core.artifacts import ClassInfo, ModelCard, model_dir, save_model
    from lulc_core.classes import urban_atlas_legend
    from lulc_core.config import safe_name
    from lulc_core.data.patches import PatchDataset
    from lulc_core.metrics import confusion_csv
    from lulc_core.artifacts import load_card
    from lulc_core.models import build_segmenter, eurosat_source, load_model, resolve_model_folder
    from lulc_core.runs import city_model_name, open_run

    name = config.name or city_model_name(config.city)
    store = patches_dir() / safe_name(config.city, "city")
    legend = urban_atlas_legend()
    num_classes = len(legend)
    ds = PatchDataset(store, "train")
    device = pick_device(config.device)
    init = load_model(config.init_model) if config.init_model else None
    if init is not None and (init[1].task != "segmentation" or init[1].encoder != config.encoder):
        raise ModelMismatchError(
            f"--init-model {config.init_model} is not a U-Net with encoder {config.encoder}: "
            "pick a segmenter with the same encoder")
    # the model is built before the run folder exists, so a bad encoder or weights choice
    # leaves nothing behind
    torch.manual_seed(config.seed)
    if init is not None:
        model = init[0].float().to(device)
    else:
        model = build_segmenter(config.encoder, len(ds.stats["bands"]), num_classes,
                                config.encoder_weights, config.eurosat_model).to(device)
    run_dir = open_run(name, config.model_dump(), resume=resume, overwrite=overwrite)
    train_idx, val_idx, split_method = _train_val_indices(ds, config.val_fraction, config.seed)
    if not len(val_idx):
        raise InvalidDataError(f"patch store {store} has too few training patches for a "
                               "validation split: prepare a larger area")
    small = config.limit and max(2, config.limit // 4)
    train_x, train_y = _tensors(ds, train_idx[: config.limit])
    val_x, val_y = _tensors(ds, val_idx[:small])
    test_x, test_y, _ = _load_split(store, "test", limit=small)
    bf16 = bf16_supported(device) if config.bf16 is None else config.bf16
    weight = None
    if config.class_weights:
        counts = torch.bincount(train_y.reshape(-1), minlength=num_classes).float()
        weight = torch.where(counts > 0, (counts.sum() / counts.clamp(min=1)).sqrt(), 0.0)
        weight = (weight / weight[counts > 0].mean()).to(device)
    loss_fn = nn.CrossEntropyLoss(weight=weight, ignore_index=0 if config.ignore_background else -100)
    eval_loss = nn.CrossEntropyLoss(ignore_index=0 if config.ignore_background else -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = math.ceil(len(train_x) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=steps * config.epochs, pct_start=0.1)
    augment = joint_augment()
    # Photometric changes act on reflectance, so batches are de-normalised around them.
    mean = torch.tensor(ds.stats["mean"], device=device).view(1, -1, 1, 1)
    std = torch.tensor(ds.stats["std"], device=device).view(1, -1, 1, 1)
    haze = haze_weights(list(ds.stats["bands"])).to(device) if config.photometric else None
    colour_gen = torch.Generator(device=device).manual_seed(config.seed)

    def prepare(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [augment(tv_tensors.Image(img), tv_tensors.Mask(m))
                 for img, m in zip(batch["image"], batch["mask"])]
        x = torch.stack([p[0] for p in pairs]).to(device)
        if config.photometric is not None:
            x = (photometric(x * std + mean, config.photometric, haze, colour_gen) - mean) / std
        return (x.contiguous(memory_format=torch.channels_last),
                torch.stack([p[1] for p in pairs]).to(device))

    def evaluate(m: nn.Module) -> dict[str, float]:
        loss, report = score(m, val_x, val_y, num_classes, bf16, eval_loss)
        return {"loss": loss, "miou": report.miou, "accuracy": report.accuracy}

    def batches(epoch: int):
        return shuffled_batches({"image": train_x, "mask": train_y}, config.batch_size,
                                config.seed * 1000 + epoch)

    result = fit(model, batches, evaluate, epochs=config.epochs, optimizer=optimizer,
                 scheduler=scheduler, loss_fn=loss_fn, prepare=prepare, run_dir=run_dir,
                 monitor="miou", device=device, bf16=bf16, patience=config.patience,
                 steps_per_epoch=steps, progress=progress)
    model.load_state_dict(result.best_state)
    model.eval()
    # The one and only look at the test split.
    test_loss, report = score(model, test_x, test_y, num_classes, bf16, eval_loss)
    best = result.history[result.best_epoch - 1]
    train_loss, train_report = score(model, train_x[:2000], train_y[:2000], num_classes, bf16, eval_loss)
    gallery = _gallery(model, test_x, test_y, ds.stats, bf16)
    summary = ds.summary
    card = ModelCard(
        name=name, task="segmentation", architecture="unet", encoder=config.encoder,
        encoder_weights=config.encoder_weights, bands=list(ds.stats["bands"]),
        classes=[ClassInfo(index=c.index, name=c.name, code=c.code or None, color=c.color) for c in legend],
        normalization={"mean": ds.stats["mean"], "std": ds.stats["std"]}, input_size=64,
        patch_size=64, city=config.city, train_config=config.model_dump(),
        split=json.loads((store / "patches.json").read_text()) | {
            "patches": None, "train": len(train_x), "val": len(val_x), "test": len(test_x),
            "val_fraction": config.val_fraction,
            "val_method": f"{split_method} over the store's training patches (carve_validation)"},
        data={"source": f"patch store {config.city} from scene {summary['scene']}",
              "synthetic": bool(summary["synthetic"]),
              "note": "trained on the SYNTHETIC offline demo scene" if summary["synthetic"] else "real data",
              "patches": summary, **({"init": init_provenance(init[1])} if init else {}),
              **({"encoder_init": init_provenance(load_card(resolve_model_folder(
                  eurosat_source(config.encoder, config.eurosat_model))))}
                 if init is None and config.encoder_weights == "eurosat" else {})},
        metrics={**report.summary(), "pixel_accuracy": report.accuracy, "test_loss": test_loss,
                 "train_loss_at_best": train_loss, "train_miou_at_best": train_report.miou,
                 "best_epoch": result.best_epoch, "stopped_early": result.stopped_early,
                 "protocol": PROTOCOL},
        val_metrics={"miou": best["val_miou"], "pixel_accuracy": best["val_accuracy"],
                     "loss": best["val_loss"], "val_patches": len(val_x), "epoch": result.best_epoch},
        training_seconds=round(result.seconds, 1),
        device=f"{device.type}: {torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'}",
    )
    buf = io.BytesIO()
    np.savez_compressed(buf, **gallery)
    return save_model(model_dir(name), result.best_state, card, extra_files={
        "history.csv": (run_dir / "history.csv").read_text(),
        "confusion.csv": confusion_csv(report.confusion, [c.name for c in legend]),
        "per_class.csv": report.per_class.to_csv(float_format="%.6f"),
        "gallery.npz": buf.getvalue(),
    })


def _gallery(model, x, y, stats, bf16, n: int = 8) -> dict[str, np.ndarray]:
    """Input RGB (uint8, stretched), truth and prediction for ``n`` test patches."""
    idx = np.linspace(0, len(x) - 1, min(n, len(x))).astype(int)
    pred = forward(model, x[idx], bf16=bf16, batch_size=128).argmax(1).numpy().astype(np.uint8)
    mean = np.asarray(stats["mean"], np.float32)[None, :, None, None]
    std = np.asarray(stats["std"], np.float32)[None, :, None, None]
    refl = x[idx].numpy() * std + mean
    rgb = np.stack([true_colour(r) for r in refl])
    return {"rgb": rgb, "truth": y[idx].numpy().astype(np.uint8), "prediction": pred}


def evaluate_segmenter(model_name: str, city: str | None = None, device: str = "auto"):
    """Score a segmenter on a city's held-out patches (default: its own city).

    Returns:
        MetricsReport (absent classes marked, not scored as 0).
    """
    from lulc_core.config import safe_name
    from lulc_core.models import load_model

    model, card = load_model(model_name)
    dev = pick_device(device)
    model.to(dev)
    x, y, _ = _load_split(patches_dir() / safe_name(city or card.city or "", "city"), "test",
                          stats=card.normalization)
    _, report = score(model, x, y, card.num_classes, bf16_supported(dev))
    return report


def cross_city(models: list[str], cities: list[str]) -> dict:
    """mIoU and pixel accuracy of every model on every city's test split; saved as JSON."""
    from lulc_core.files import atomic_write_json

    table = {}
    for m in models:
        table[m] = {}
        for c in cities:
            r = evaluate_segmenter(m, c)
            table[m][c] = {"miou": r.miou, "pixel_accuracy": r.accuracy,
                           "absent_classes": r.absent_classes}
    atomic_write_json(artifacts_dir() / CROSS_CITY_FILE, table)
    return table
