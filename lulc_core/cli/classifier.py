"""CLI: ``lulc train classifier`` (EuroSAT)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lulc_core.cli import OVERWRITE_OPTION, PHOTOMETRIC_OPTION, RESUME_OPTION, train_app

if TYPE_CHECKING:
    from lulc_core.artifacts import ModelCard


@train_app.command("classifier")
def train_classifier(
    model: str = typer.Option("efficientnet_lite0", help="architecture: efficientnet_lite0, resnet50, efficientnet_b0, resnet18"),
    data: Path = typer.Option(None, help="EuroSAT folder (default $LULC_EUROSAT_DIR)"),
    weights: str = typer.Option("imagenet", help="initialisation: imagenet or none"),
    name: str = typer.Option(None, help="model folder name under artifacts/models (default: the architecture)"),
    epochs: int = typer.Option(20),
    batch_size: int = typer.Option(128),
    lr: float = typer.Option(0.05, help="peak learning rate (SGD, nesterov, cosine)"),
    input_size: int = typer.Option(128, help="network input side (64 px images are upsampled)"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    seed: int = typer.Option(0),
    limit_per_class: int = typer.Option(None, help="smoke runs: train images per class"),
    photometric: bool = PHOTOMETRIC_OPTION,
    init_model: str = typer.Option(None, help="fine-tune: start from this classifier's weights "
                                   "(name or folder) instead of --weights"),
    epoch_images: int = typer.Option(None, help="training images per epoch, a new random subset "
                                     "each epoch (default: all)"),
    resume: bool = RESUME_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """Fine-tune a classifier on EuroSAT (80/20 stratified train/test split, 10 % of train
    held out for validation) and save it with its card."""
    from lulc_core.config import eurosat_dir
    from lulc_core.models import CLASSIFIERS, check_name
    from lulc_core.train import ClassifierTrainConfig, train_classifier as run

    check_name(model, CLASSIFIERS, "model")
    config = ClassifierTrainConfig(  # refused values reach the user as one line (cli.main)
        model=model, weights=weights, name=name, epochs=epochs, batch_size=batch_size, lr=lr,
        input_size=input_size, device=device, seed=seed, limit_per_class=limit_per_class,
        init_model=init_model, epoch_images=epoch_images,
        **({} if photometric else {"photometric": None}),
    )
    typer.echo(summary(run(config, data or eurosat_dir(), resume=resume, overwrite=overwrite)))


def summary(card: ModelCard) -> str:
    """The line a finished classifier training prints."""
    v = card.val_metrics
    return (f"{card.name}: test accuracy {card.metrics['accuracy']:.4f} on "
            f"{card.metrics['test_images']} held-out images, validation {v['accuracy']:.4f} on "
            f"{v['val_images']} (best epoch {card.metrics['best_epoch']}, "
            f"{card.training_seconds:.0f} s on {card.device})")
