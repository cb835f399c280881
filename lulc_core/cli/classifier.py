"""CLI: ``lulc train classifier`` (EuroSAT)."""

from __future__ import annotations

from pathlib import Path

import typer

from lulc_core.cli import train_app


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
    resume: bool = typer.Option(True, help="continue an interrupted run of the same name"),
) -> None:
    """Fine-tune a classifier on EuroSAT (80/20 stratified split) and save it with its card."""
    import shutil

    from lulc_core.config import artifacts_dir, eurosat_dir, safe_name
    from lulc_core.models import CLASSIFIERS, check_name
    from lulc_core.train import ClassifierTrainConfig, train_classifier as run

    check_name(model, CLASSIFIERS, "model")
    config = ClassifierTrainConfig(  # refused values reach the user as one line (cli.main)
        model=model, weights=weights, name=name, epochs=epochs, batch_size=batch_size, lr=lr,
        input_size=input_size, device=device, seed=seed, limit_per_class=limit_per_class,
    )
    run_dir = artifacts_dir() / "runs" / safe_name(config.name or model, "model name")
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)
    card = run(config, data or eurosat_dir())
    typer.echo(
        f"{card.name}: test accuracy {card.metrics['accuracy']:.4f} on {card.metrics['test_images']} "
        f"held-out images (best epoch {card.metrics['best_epoch']}, {card.training_seconds:.0f} s "
        f"on {card.device})"
    )
