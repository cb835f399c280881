"""The ``lulc`` command line: a thin typer face over the library.

Command groups are defined here once; each area registers its commands in its own module
(``cli/classifier.py``, ``cli/scenes.py``, ``cli/demo.py``, ``cli/segmenter.py``). Any
:class:`~lulc_core.errors.LulcError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer

from lulc_core.errors import LulcError

app = typer.Typer(
    name="lulc",
    help="Land-use / land-cover mapping: fetch Sentinel-2 and Urban Atlas, train, evaluate, map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
fetch_app = typer.Typer(help="Download data (EuroSAT, Sentinel-2 L2A via STAC).", no_args_is_help=True)
train_app = typer.Typer(help="Train a classifier (EuroSAT) or a per-city segmenter.", no_args_is_help=True)
import_app = typer.Typer(help="Import external data (Urban Atlas).", no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")
app.add_typer(train_app, name="train")
app.add_typer(import_app, name="import")


@app.command("models")
def models_command(
    task: str = typer.Option(None, help="only 'classification' or 'segmentation' models"),
) -> None:
    """List trained models under the artifacts folder with their headline metric; a model that
    cannot be loaded (corrupt card, missing or damaged weights) is listed as broken, with why."""
    from lulc_core.artifacts import model_entries

    for entry in model_entries(task, weights="checksum"):
        card = entry.card
        if entry.problem or card is None:
            typer.echo(f"{entry.name}\tBROKEN\t{entry.problem}")
            continue
        metric = card.metrics.get("accuracy", card.metrics.get("miou"))
        shown = f"{metric:.4f}" if isinstance(metric, float) else "-"
        synthetic = " (synthetic data)" if card.synthetic else ""
        typer.echo(f"{card.name}\t{card.task}\t{card.architecture}\t{shown}{synthetic}")


def main() -> None:
    """Console entry point: run the app, turning user errors into one line and exit code 2."""
    try:
        app()
    except LulcError as e:
        typer.secho(f"error: {e}", err=True, fg=typer.colors.RED)
        sys.exit(2)


# Registration: importing these modules adds their commands to the groups above.
from lulc_core.cli import classifier, demo, evaluate, jobs, patchmap, scenes, segmenter  # noqa: E402,F401
