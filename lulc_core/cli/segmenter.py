"""CLI: ``lulc train segmenter``, ``lulc cross-city`` and ``lulc predict``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lulc_core.cli import OVERWRITE_OPTION, PHOTOMETRIC_OPTION, RESUME_OPTION, app, train_app

if TYPE_CHECKING:
    from lulc_core.artifacts import ModelCard


@train_app.command("segmenter")
def train_segmenter(
    city: str = typer.Option(..., help="patch store to train on (lulc prepare --city ...)"),
    name: str = typer.Option(None, help="model folder name (default unet-<city>)"),
    encoder: str = typer.Option("tf_efficientnet_lite0", help="tf_efficientnet_lite0 or efficientnet-b0"),
    encoder_weights: str = typer.Option("eurosat", help="none, imagenet, eurosat or lite0-imagenet"),
    eurosat_model: str = typer.Option(None, help="EuroSAT classifier folder for --encoder-weights eurosat"),
    epochs: int = typer.Option(15),
    batch_size: int = typer.Option(64),
    lr: float = typer.Option(2e-3),
    class_weights: bool = typer.Option(False, help="class-balanced loss weights"),
    ignore_background: bool = typer.Option(False, help="background does not count in the loss"),
    patience: int = typer.Option(5, help="early stopping patience on validation mIoU"),
    device: str = typer.Option("auto"),
    limit: int = typer.Option(None, help="smoke runs: training patches to use"),
    photometric: bool = PHOTOMETRIC_OPTION,
    init_model: str = typer.Option(None, help="fine-tune: start from this segmenter's weights "
                                   "(name or folder) instead of --encoder-weights"),
    resume: bool = RESUME_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """Train a U-Net (EfficientNet encoder) on a city's patches and save it with its card."""
    from lulc_core.segmentation import SegmenterTrainConfig, train_segmenter as run

    config = SegmenterTrainConfig(
        city=city, name=name, encoder=encoder, encoder_weights=encoder_weights,
        eurosat_model=eurosat_model, epochs=epochs, batch_size=batch_size, lr=lr,
        class_weights=class_weights, ignore_background=ignore_background, patience=patience,
        device=device, limit=limit, init_model=init_model,
        **({} if photometric else {"photometric": None}),
    )
    typer.echo(summary(run(config, resume=resume, overwrite=overwrite)))


def summary(card: ModelCard) -> str:
    """The line a finished segmenter training prints."""
    m, v = card.metrics, card.val_metrics
    return (f"{card.name}: test mIoU {m['miou']:.4f}, pixel accuracy {m['pixel_accuracy']:.4f}; "
            f"validation mIoU {v['miou']:.4f} (best epoch {m['best_epoch']}, "
            f"{card.training_seconds:.0f} s)")


@app.command("cross-city")
def cross_city(
    models: list[str] = typer.Option(["unet-paris", "unet-ankara"], "--model"),
    cities: list[str] = typer.Option(["paris", "ankara"], "--city"),
) -> None:
    """Score every segmenter on every city's test split (the transfer matrix)."""
    from lulc_core.segmentation import cross_city as run

    for model, row in run(models, cities).items():
        cells = "  ".join(f"{c}: mIoU {v['miou']:.3f} acc {v['pixel_accuracy']:.3f}" for c, v in row.items())
        typer.echo(f"{model}  {cells}")


@app.command("predict")
def predict(
    model: str = typer.Option("unet-paris", help="segmenter name or folder"),
    scene: str = typer.Option(..., help="scene folder name (e.g. paris) or path"),
    out: Path = typer.Option(..., help="output Cloud-Optimized GeoTIFF"),
    aoi: str = typer.Option(None, help="W,S,E,N in degrees (default: the whole scene)"),
    confidence: bool = typer.Option(False, help="add a confidence band (max softmax, %)"),
    vector: bool = typer.Option(False, help="also write a GeoPackage of the prediction"),
    max_km2: float = typer.Option(50_000, min=1, max=1_000_000, help="refuse larger areas, km2"),
    dask: bool = typer.Option(False, "--dask", help="compute strips on a dask.distributed cluster"),
    scheduler: str = typer.Option(None, help="dask scheduler address (default: a LocalCluster)"),
    workers: int = typer.Option(2, min=1, max=64, help="LocalCluster workers"),
) -> None:
    """Map a scene with a segmenter: blended sliding windows -> COG + per-class areas CSV."""
    from lulc_core.config import check_output_path
    from lulc_core.data.scene import read_manifest, scene_dir
    from lulc_core.data.sentinel2 import check_grid
    from lulc_core.geo import parse_bbox
    from lulc_core.predict import predict_scene, predict_scene_dask

    folder = Path(scene) if Path(scene).is_dir() else scene_dir(scene)
    area = parse_bbox(aoi) if aoi else None
    check_output_path(out, (".tif", ".tiff"))
    check_grid(folder, tuple(read_manifest(folder).bands))
    if scheduler:
        _check_scheduler(scheduler)
    if dask or scheduler:
        s = predict_scene_dask(model, folder, out, area, scheduler=scheduler, n_workers=workers,
                               confidence=confidence, vector=vector, max_km2=max_km2)
    else:
        s = predict_scene(model, folder, out, area, confidence=confidence, vector=vector,
                          max_km2=max_km2)
    typer.echo(f"wrote {s.out} ({s.width}x{s.height} px, {s.km2:.0f} km2 in {s.seconds:.1f} s = "
               f"{s.km2_per_second:.1f} km2/s); areas in {s.area_csv}")


def _check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Shake hands with a Dask scheduler before any work: otherwise a wrong address fails only
    after Dask's 30 s connect timeout with a traceback, and a port where something else listens
    hangs for good.

    Raises:
        ClusterError: nothing listens there, or it does not answer as Dask does within ``timeout``.
    """
    import asyncio
    import socket

    from distributed.comm import connect, parse_address, parse_host_port

    from lulc_core.errors import ClusterError

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        await comm.close()

    fix = "start it ('dask scheduler') or fix --scheduler (e.g. tcp://host:8786)"
    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":  # tls, ucx, ...: the handshake needs the cluster's own settings
            return
        with socket.create_connection(parse_host_port(location), timeout=timeout):
            pass  # refused or unroutable fails here at once, not after Dask's retries
        asyncio.run(asyncio.wait_for(handshake(), timeout))
    except TimeoutError:
        raise ClusterError(f"no Dask scheduler answered at {address!r} within {timeout:g} s: "
                           f"{fix}") from None
    except (OSError, ValueError, TypeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ClusterError(
            f"cannot reach a Dask scheduler at {address!r} ({reason}): {fix}"
        ) from None
