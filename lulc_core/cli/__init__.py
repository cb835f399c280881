"""The ``lulc`` command line: a thin typer face over the library.

Command groups are defined here once; each area registers its commands in its own module
(``cli/classifier.py``, ``cli/demo.py``, ``cli/evaluate.py``, ``cli/jobs.py``,
``cli/patchmap.py``, ``cli/scenes.py``, ``cli/segmenter.py``). Every
error a user can cause (a :class:`~lulc_core.errors.LulcError`, an option value outside its
bounds, a config that pydantic refuses, an unknown option or command) becomes one line on stderr
and exit code 2; only bugs end in a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal

import typer

from lulc_core.errors import LulcError

if TYPE_CHECKING:
    from pydantic import ValidationError

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
# Options both training commands take, declared once (typer reads them as parameter defaults).
PHOTOMETRIC_OPTION = typer.Option(
    True, help="photometric augmentation (brightness, contrast, gamma, band gain, haze)")
RESUME_OPTION = typer.Option(
    False, "--resume", help="continue the run of this name (same settings only)")
OVERWRITE_OPTION = typer.Option(False, "--overwrite", help="replace a run or model of this name")

app.add_typer(fetch_app, name="fetch")
app.add_typer(train_app, name="train")
app.add_typer(import_app, name="import")


@app.command("models")
def models_command(
    task: Literal["classification", "segmentation"] | None = typer.Option(
        None, help="only 'classification' or 'segmentation' models"
    ),
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
    """Console entry point: run the app; every user error becomes one line and exit code 2."""
    from pydantic import ValidationError
    from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click

    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as e:  # a bare `lulc train`: show what it offers
        typer.echo(e.format_message())
        code = 2
    except UsageError as e:  # unknown option or command, value missing or out of bounds
        refused = e.__cause__  # typer checks values with pydantic: show what was typed
        got = ""
        if isinstance(refused, ValidationError):
            got = f" (got {refused.errors()[0]['input']!r})"
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        _fail(e.format_message() + got + hint)
    except typer.TyperException as e:
        _fail(e.format_message())
    except typer.Abort:
        _fail("aborted")
    except ValidationError as e:
        _fail(_config_error(e))
    except LulcError as e:
        _fail(str(e))
    sys.exit(code or 0)


def _fail(message: str) -> None:
    """Print ``error: MESSAGE`` as one line on stderr and exit with code 2."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.secho(f"error: {line}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def _config_error(error: ValidationError) -> str:
    """A training config refused by pydantic, named by its option: the commands build their
    config from options of the same names (``batch_size`` is ``--batch-size``)."""
    first = error.errors()[0]
    option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "a value"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return (f"invalid value for {option}: {first['msg']} (got {first.get('input')!r}){more}: "
            "fix the option's value")


# Registration: importing these modules adds their commands to the groups above.
from lulc_core.cli import classifier, demo, evaluate, jobs, patchmap, scenes, segmenter  # noqa: E402,F401
