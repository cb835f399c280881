"""CLI: ``lulc fetch eurosat``, ``lulc evaluate`` and ``lulc classify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lulc_core.cli import app, fetch_app

if TYPE_CHECKING:
    from lulc_core.classify import EvaluationResult

MODEL_HELP = "model name under artifacts/models or a model folder (default: the default classifier)"


def _default_classifier() -> str:
    from lulc_core.models import DEFAULT_CLASSIFIER

    return DEFAULT_CLASSIFIER


@fetch_app.command("eurosat")
def fetch_eurosat_command(
    dest: Path = typer.Option(None, help="target folder (default $LULC_EUROSAT_DIR)"),
    url: str = typer.Option(None, help="zip address (default: Zenodo record 7711810)"),
    sha256: str = typer.Option(None, help="expected SHA-256 of the zip"),
    md5: str = typer.Option(None, help="expected MD5 of the zip (as listed on Zenodo)"),
) -> None:
    """Download EuroSAT RGB (official zip) and extract it to DEST/<Class>/<image>.jpg."""
    from lulc_core.download import EUROSAT_URL, FETCHED_FILE, fetch_eurosat

    folder = fetch_eurosat(dest, url or EUROSAT_URL, sha256=sha256, md5=md5)
    record = json.loads((folder / FETCHED_FILE).read_text(encoding="utf-8"))
    typer.echo(
        f"EuroSAT RGB at {folder} ({record['files']} files, zip sha256 {record['sha256']}); "
        f"use it with LULC_EUROSAT_DIR={folder}"
    )


def _default_out(model: str, data: Path) -> Path:
    from lulc_core.config import artifacts_dir, safe_name

    folder_name = safe_name(data.resolve().name, "data folder name")
    return artifacts_dir() / "evaluations" / safe_name(Path(model).name, "model name") / folder_name


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Option(None, help=MODEL_HELP),
    data: Path = typer.Option(
        None, help="folder in EuroSAT layout <Class>/<image> (default $LULC_EUROSAT_DIR)"
    ),
    out: Path = typer.Option(
        None, help="where to save the results (default artifacts/evaluations/<model>/<data name>)"
    ),
    batch_size: int = typer.Option(128, min=1, max=4096, help="images per forward pass"),
    workers: int = typer.Option(
        None, min=0, max=64, help="image-decoding processes (default: 2 with 8+ CPU cores, else 0)"
    ),
    bf16: bool = typer.Option(
        False, "--bf16/--fp32",
        help="bf16 autocast: ~2x faster on CPUs with native bf16, may flip a rare prediction",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Score a classifier on labelled images (EuroSAT layout): accuracy, per-class table,
    confusion matrix.

    Saves confusion.csv, per_class.csv and metrics.json together under --out. When the images
    scored are exactly the model's held-out test split (split.json), the per-image predictions
    are also saved as test_predictions.csv in the model folder (the dashboard browses them).
    """
    from lulc_core.artifacts import load_card, model_dir
    from lulc_core.classify import evaluate_folder
    from lulc_core.config import check_output_path, eurosat_dir
    from lulc_core.heldout import save_test_predictions

    if out is not None:
        check_output_path(out)
    model = model or _default_classifier()
    folder = Path(model) if Path(model).is_dir() else model_dir(model)
    if (folder / "card.json").is_file() and load_card(folder).task == "segmentation":
        _evaluate_segmenter(model, as_json)
        return
    data = data or eurosat_dir()
    result = evaluate_folder(
        model, data, batch_size=batch_size, num_workers=workers, bf16=bf16, progress=not as_json
    )
    out = out or _default_out(result.model, data)
    _save_evaluation(result, out)
    predictions = None
    if result.test_split and result.predictions is not None:
        predictions = save_test_predictions(folder, result.predictions)
    if as_json:
        typer.echo(json.dumps({**result.to_json(), "saved_to": str(out),
                               "test_predictions": predictions and str(predictions)}, indent=2))
    else:
        _print_evaluation(result, out)
        if predictions:
            typer.echo(f"saved the test split's per-image predictions to {predictions}")


def _save_evaluation(result: EvaluationResult, out: Path) -> None:
    """Write confusion.csv, per_class.csv and metrics.json together (all or nothing)."""
    from lulc_core.files import atomic_dir
    from lulc_core.metrics import save_confusion_csv, save_per_class_csv

    with atomic_dir(out) as tmp:
        report = result.report
        save_confusion_csv(tmp / "confusion.csv", report.confusion, report.class_names)
        save_per_class_csv(tmp / "per_class.csv", report)
        (tmp / "metrics.json").write_text(
            json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8"
        )


def _print_evaluation(result: EvaluationResult, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    report = result.report
    table = Table(title=f"{result.model} on {result.data}")
    for column in ("class", "precision", "recall", "F1", "IoU", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in report.per_class.iterrows():
        scores = [
            f"{row[c]:.3f}" if row["present"] else "absent"
            for c in ("precision", "recall", "f1", "iou")
        ]
        table.add_row(str(name), *scores, str(int(row["support"])))
    console = Console()
    console.print(table)
    console.print(
        f"accuracy {report.accuracy:.4f}  macro F1 {report.macro_f1:.4f}  mIoU {report.miou:.4f}  "
        f"({result.images} images, {result.seconds:.1f} s, "
        f"{result.images / max(result.seconds, 1e-9):.0f} images/s)"
    )
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"saved confusion.csv, per_class.csv, metrics.json to {out}")


def _evaluate_segmenter(model: str, as_json: bool) -> None:
    """Segmenters are scored on their city's held-out patches (pixel-level)."""
    from lulc_core.segmentation import evaluate_segmenter

    report = evaluate_segmenter(model)
    if as_json:
        typer.echo(json.dumps({**report.summary(), "per_class": json.loads(
            report.per_class.to_json(orient="index"))}, indent=2))
        return
    typer.echo(report.per_class.to_string(float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"{model}: mIoU {report.miou:.4f}, pixel accuracy {report.accuracy:.4f}, "
               f"absent classes: {', '.join(report.absent_classes) or 'none'}")


@app.command("classify")
def classify_command(
    files: list[Path] = typer.Argument(..., help="JPG, PNG or GeoTIFF images"),
    model: str = typer.Option(None, help=MODEL_HELP),
    top_k: int = typer.Option(3, "--top-k", min=1, max=100, help="classes to show per image"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Classify images with a EuroSAT classifier: top-k classes with probabilities."""
    from lulc_core.classify import predict_images

    predictions = predict_images(model or _default_classifier(), files, top_k=top_k)
    if as_json:
        rows = [
            {
                "file": p.source,
                "top": [{"class": c, "probability": round(v, 6)} for c, v in p.top],
                "note": p.note,
            }
            for p in predictions
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for p in predictions:
        shown = ", ".join(f"{c} {v:.3f}" for c, v in p.top)
        typer.echo(f"{p.source}: {shown}" + (f"  ({p.note})" if p.note else ""))
