"""CLI: ``lulc jobs status`` and ``lulc jobs cancel`` for background training jobs (the
dashboard's Training page starts them), and the hidden ``lulc jobs run`` a job's trainer runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import typer

from lulc_core.cli import OVERWRITE_OPTION, RESUME_OPTION, app

jobs_app = typer.Typer(help="Background training jobs (started from the dashboard).",
                       no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("status")
def status(lines: int = typer.Option(5, min=0, max=1000, help="log lines to show")) -> None:
    """The latest job: state, progress and the end of its log."""
    from lulc_core.jobs import current_job, log_tail, read_progress

    job = current_job()
    if job is None:
        typer.echo("no training job has run yet")
        return
    fields = [job.id, job.state, f"{job.spec.task} {job.spec.model_name}", f"started {job.started}",
              job.message]
    typer.echo("\t".join(f for f in fields if f))
    progress = read_progress(job)
    if job.running and progress is not None:
        eta = "-" if progress.eta_seconds is None else f"{progress.eta_seconds:.0f} s"
        typer.echo(f"epoch {progress.epoch}/{progress.epochs}, loss {progress.loss}, ETA {eta}")
    if lines:
        typer.echo(log_tail(job, lines))


@jobs_app.command("cancel")
def cancel(
    token: str = typer.Option(None, hidden=True, help="refused: the token would show in ps and "
                              "the shell history"),
) -> None:
    """Cancel the running job; the previous models stay as they are.

    The admin token is read from $LULC_TOKEN (or $LULC_ADMIN_TOKEN), else asked for without
    echo; never from the command line, where ps and the shell history would keep it.
    """
    from lulc_core.errors import PermissionDeniedError
    from lulc_core.jobs import TOKEN_ENV, USER_TOKEN_ENV, cancel_job, current_job

    if token is not None:
        raise PermissionDeniedError(
            f"--token is not accepted (ps and the shell history would keep it): set "
            f"{USER_TOKEN_ENV} or type the token when asked"
        )
    job = current_job()
    if job is None or not job.running:
        typer.echo("no job is running")
        return
    token = (os.environ.get(USER_TOKEN_ENV) or os.environ.get(TOKEN_ENV)
             or typer.prompt("Admin token", hide_input=True))
    job = cancel_job(token)
    typer.echo("no job is running" if job is None
               else f"cancelling {job.id} ({job.spec.model_name})")


@jobs_app.command("run", hidden=True)
def run(
    task: Literal["classifier", "segmenter"] = typer.Argument(..., help="classifier or segmenter"),
    config: Path = typer.Argument(..., help="training config JSON written by the job"),
    resume: bool = RESUME_OPTION,
    overwrite: bool = OVERWRITE_OPTION,
) -> None:
    """Train from a job's saved config: the command a job's supervisor runs."""
    from lulc_core.cli import classifier, segmenter
    from lulc_core.jobs import run_training

    card = run_training(task, config, resume=resume, overwrite=overwrite)
    typer.echo((classifier if task == "classifier" else segmenter).summary(card))
