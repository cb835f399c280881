"""Background training jobs: start, watch and cancel one ``lulc train ...`` process at a time.

A job is ``lulc train classifier|segmenter ...`` run as its own process, so it outlives the
dashboard, the browser and a Streamlit restart. Each job has a folder under
``<artifacts>/jobs/<id>/``::

    status.json     JobStatus: state, process group, argv, times, return code, message, and
                    a salted hash of the admin token that started it (for `lulc jobs cancel`)
    train_config.json  the training config the trainer (`lulc jobs run`) loads
    progress.json   written by the trainer ($LULC_PROGRESS_FILE): epoch, loss, eta_seconds, ...
    log.txt         the trainer's stdout and stderr
    cancel          present once a cancel was requested

One job at a time is a kernel ``flock`` on ``<artifacts>/jobs/lock``: :func:`start_job` takes
it and hands it to a small supervisor (``python -m lulc_core.jobs supervise <id>``, leader of
a new session) which passes it on to the trainer, waits for it and writes the final state.
The lock lives exactly as long as those processes, so a crash or a reboot leaves no stale lock.
A failed or cancelled job never touches the previous model: training publishes its model
folder atomically, only at the end (:func:`lulc_core.artifacts.save_model`).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lulc_core.config import StrictModel, artifacts_dir, safe_name
from lulc_core.errors import (
    DataNotFoundError, InvalidDataError, JobRunningError, LulcError, PermissionDeniedError,
)
from lulc_core.files import atomic_write_text

TOKEN_ENV = "LULC_ADMIN_TOKEN"  # the server's secret (dashboard environment)
USER_TOKEN_ENV = "LULC_TOKEN"  # a user's copy of it, for `lulc jobs cancel`
STATUS_FILE, PROGRESS_FILE, LOG_FILE = "status.json", "progress.json", "log.txt"
CONFIG_FILE = "train_config.json"
CANCEL_FILE = "cancel"
TOKEN_HASH_ITERATIONS = 100_000
State = Literal["starting", "running", "succeeded", "failed", "cancelled"]


class JobSpec(StrictModel):
    """What to retrain; becomes a training config (:meth:`train_config`) that the job saves in
    its folder and the trainer process loads (``lulc jobs run``)."""

    task: Literal["classifier", "segmenter"]
    model: str = Field("efficientnet_lite0", description="classifier architecture")
    city: str | None = Field(None, description="segmenter: patch store to train on")
    encoder: str = Field("tf_efficientnet_lite0", description="segmenter: U-Net encoder")
    weights: str | None = Field(None, description="initialisation (None: the config's default): "
                                "classifier imagenet|none; segmenter "
                                "none|imagenet|eurosat|lite0-imagenet")
    epochs: int = Field(10, ge=1, le=1000)
    name: str | None = Field(None, description="model folder (default: architecture / unet-<city>)")
    limit: int | None = Field(None, ge=2, description="trial runs: images per class / patches")
    input_size: int | None = Field(None, ge=32, description="classifier input side (None: config's)")
    resume: bool = Field(False, description="continue an interrupted run of the same name")

    @property
    def model_name(self) -> str:
        """The model folder the job will (re)write; by default the model it retrains, or
        ``<that>-trial`` for a trial run, which must never replace a fully trained model."""
        from lulc_core.runs import city_model_name

        default = self.model if self.task == "classifier" else city_model_name(self.city or "")
        return self.name or (f"{default}-trial" if self.limit else default)

    def train_config(self) -> StrictModel:
        """The trainer's config (``ClassifierTrainConfig`` or ``SegmenterTrainConfig``); fields
        the spec leaves out keep the config's defaults, which are those of ``lulc train``.

        Raises:
            InvalidDataError: a name or city could escape its folder.
            UnknownNameError: unknown architecture, encoder or initialisation.
        """
        from lulc_core.models import CLASSIFIERS, ENCODERS, INITIALISATIONS, check_name

        common = {"name": safe_name(self.model_name, "model name"), "epochs": self.epochs}
        if self.task == "classifier":
            from lulc_core.train import ClassifierTrainConfig

            check_name(self.model, CLASSIFIERS, "model")
            if self.weights:
                check_name(self.weights, dict.fromkeys(("imagenet", "none")), "classifier weights")
            fields = {"model": self.model, "weights": self.weights, "input_size": self.input_size,
                      "limit_per_class": self.limit}
            config_type = ClassifierTrainConfig
        else:
            from lulc_core.segmentation import SegmenterTrainConfig

            check_name(self.encoder, ENCODERS, "encoder")
            if self.weights:
                check_name(self.weights, dict.fromkeys(INITIALISATIONS), "encoder initialisation")
            fields = {"city": safe_name(self.city or "", "city"), "encoder": self.encoder,
                      "encoder_weights": self.weights, "limit": self.limit}
            config_type = SegmenterTrainConfig
        try:
            return config_type(**common, **{k: v for k, v in fields.items() if v is not None})
        except ValidationError as e:
            first = e.errors()[0]
            raise InvalidDataError(f"invalid training setting {'.'.join(map(str, first['loc']))}: "
                                   f"{first['msg']} (got {first.get('input')!r})") from None

    def argv(self, config_file: Path) -> list[str]:
        """The trainer's command line: train from ``config_file`` (:meth:`train_config` as
        JSON). The dashboard retrains the model it names: without "continue", that run starts
        over."""
        return [sys.executable, "-m", "lulc_core", "jobs", "run", self.task, str(config_file),
                "--resume" if self.resume else "--overwrite"]


class JobStatus(StrictModel):
    """One job as recorded in ``status.json``."""

    id: str
    spec: JobSpec
    argv: list[str]
    state: State
    pid: int | None = Field(None, description="supervisor pid = the job's process group")
    started: str
    finished: str | None = None
    return_code: int | None = None
    message: str = ""
    token_hash: str | None = Field(None, description="salted PBKDF2 of the admin token that "
                                   "started the job: lets `lulc jobs cancel` check a token "
                                   "without the server's environment")

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")

    @property
    def folder(self) -> Path:
        return jobs_dir() / self.id


class JobProgress(BaseModel):
    """The trainer's last progress report (see :class:`lulc_core.engine.Progress`)."""

    model_config = ConfigDict(extra="ignore")
    epochs: int = 1
    epoch: int = 0
    batch: int = 0
    batches: int | None = None
    loss: float | None = None
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    message: str = ""

    @property
    def fraction(self) -> float:
        """Share of the training done, 0..1 (``batch`` > 0 while inside epoch ``epoch``)."""
        done = float(self.epoch)
        if self.batch and self.batches:
            done += self.batch / self.batches - 1
        return min(max(done / self.epochs, 0.0), 1.0)


def jobs_dir() -> Path:
    """``<artifacts>/jobs``: one folder per job, plus the lock."""
    return artifacts_dir() / "jobs"


def retraining_enabled() -> bool:
    """True when an admin token is configured (``$LULC_ADMIN_TOKEN``)."""
    return bool(os.environ.get(TOKEN_ENV))


def _hash_token(token: str, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<salt hex>$<hash hex>`` of a token (slow on purpose: tokens are typed)."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", token.encode(), salt, TOKEN_HASH_ITERATIONS)
    return f"pbkdf2_sha256${salt.hex()}${digest.hex()}"


def token_matches(token: str | None, job: JobStatus | None = None) -> bool:
    """Whether ``token`` is the admin token: the server's (``$LULC_ADMIN_TOKEN``) or the one
    that started ``job``; compared in constant time."""
    if not token:
        return False
    expected = os.environ.get(TOKEN_ENV, "")
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return True
    try:
        salt = bytes.fromhex(job.token_hash.split("$")[1]) if job and job.token_hash else None
    except (IndexError, ValueError):  # an edited status file: no token to compare with
        salt = None
    return salt is not None and hmac.compare_digest(_hash_token(token, salt), job.token_hash)


def check_token(token: str | None, job: JobStatus | None = None) -> None:
    """Check an admin token (see :func:`token_matches`).

    Raises:
        PermissionDeniedError: the token is wrong, or nothing to check it against (no
            ``$LULC_ADMIN_TOKEN``: retraining is disabled here, unless ``job`` recorded one).
    """
    configured = bool(os.environ.get(TOKEN_ENV))
    if not configured and job is None:
        raise PermissionDeniedError(
            f"retraining is disabled on this server: start it with {TOKEN_ENV} set to a secret "
            f"(e.g. {TOKEN_ENV}=my-secret make demo) and enter that secret"
        )
    if not configured and job is not None and not job.token_hash:  # an older version's job
        raise PermissionDeniedError(
            f"job {job.id} recorded no token to check against: run this with {TOKEN_ENV} set "
            "to the secret the server was started with"
        )
    if not token_matches(token, job):
        raise PermissionDeniedError(
            f"wrong admin token: enter the secret the server was started with ({TOKEN_ENV})"
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_status(status: JobStatus) -> None:
    atomic_write_text(status.folder / STATUS_FILE, status.model_dump_json(indent=2) + "\n")


def _lock_is_held() -> bool:
    """Whether a job's processes hold the lock (probed with a shared, non-blocking flock)."""
    path = jobs_dir() / "lock"
    if not path.exists():
        return False
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def job_status(job_id: str) -> JobStatus:
    """The recorded status of a job; a job that says it runs but whose processes are gone
    (machine restart, supervisor killed) is reported as failed.

    Raises:
        DataNotFoundError: no such job.
        InvalidDataError: its status file is corrupted.
    """
    path = jobs_dir() / safe_name(job_id, "job id") / STATUS_FILE
    try:
        status = JobStatus.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataNotFoundError(f"no training job {job_id!r}: see `lulc jobs status`") from None
    except ValidationError:
        raise InvalidDataError(
            f"status of job {job_id} is corrupted: delete {path.parent}"
        ) from None
    if status.running and not _lock_is_held():
        status = status.model_copy(update={
            "state": "failed", "message": "the job's processes ended without reporting "
            "(the machine restarted or they were killed); previous models are unchanged"})
    return status


def current_job() -> JobStatus | None:
    """The latest job (running or finished), or None if no job was ever started."""
    ids = sorted(p.name for p in jobs_dir().glob("*") if (p / STATUS_FILE).is_file())
    for job_id in reversed(ids):
        try:
            return job_status(job_id)
        except LulcError:
            continue
    return None


def read_progress(job: JobStatus) -> JobProgress | None:
    """The trainer's last progress report, or None before the first one."""
    try:
        return JobProgress.model_validate_json((job.folder / PROGRESS_FILE).read_text())
    except (FileNotFoundError, ValidationError):
        return None


def log_tail(job: JobStatus, lines: int = 20) -> str:
    """The last ``lines`` lines of the job's log (progress-bar redraws collapsed)."""
    try:
        with open(job.folder / LOG_FILE, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 64_000))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    # A progress bar redraws one line with "\r": keep its last drawing.
    drawn = [next((part for part in reversed(line.split("\r")) if part.strip()), "")
             for line in text.split("\n")]
    return "\n".join([line for line in drawn if line][-lines:])


def start_job(spec: JobSpec, token: str | None) -> JobStatus:
    """Start a training job in the background (its own session: it survives the caller).

    Args:
        spec: what to train.
        token: the admin token (checked against ``$LULC_ADMIN_TOKEN``).

    Returns:
        The new job's status (state ``starting``).

    Raises:
        PermissionDeniedError: retraining disabled or wrong token.
        JobRunningError: another job is running.
        InvalidDataError, UnknownNameError: bad names in ``spec``.
    """
    check_token(token)
    config = spec.train_config()
    jobs_dir().mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(jobs_dir() / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for _ in range(5):  # a status probe may hold the lock shared for a moment
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.05)
        else:
            job = current_job()
            what = f" ({job.spec.model_name}, started {job.started})" if job and job.running else ""
            raise JobRunningError(
                f"a training job is already running{what}: wait for it to finish or cancel it"
            )
        job_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        folder = jobs_dir() / job_id
        status = JobStatus(id=job_id, spec=spec, argv=spec.argv(folder / CONFIG_FILE),
                           state="starting", started=_now(), token_hash=_hash_token(token or ""))
        folder.mkdir()
        atomic_write_text(folder / CONFIG_FILE, config.model_dump_json(indent=2) + "\n")
        _write_status(status)
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        with open(status.folder / LOG_FILE, "ab") as log:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "lulc_core.jobs", "supervise", job_id, str(lock_fd)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                pass_fds=(lock_fd,), start_new_session=True,
            )
        # Reap it when it ends so a long-lived caller (the dashboard) keeps no zombie.
        threading.Thread(target=supervisor.wait, daemon=True).start()
        return status.model_copy(update={"pid": supervisor.pid})
    finally:
        os.close(lock_fd)  # the supervisor holds its own reference to the lock


def cancel_job(token: str | None) -> JobStatus | None:
    """Cancel the running job: SIGTERM to its process group; the supervisor records
    ``cancelled``. Training writes its model only at the end, so the previous one stays.

    Args:
        token: the admin token: the server's, or the one the job was started with (so the
            CLI can cancel without the server's environment).

    Returns:
        The job's status (it may still say ``running`` for a moment), or None if none runs.

    Raises:
        PermissionDeniedError: wrong token.
    """
    job = current_job()
    if job is None or not job.running:
        return None
    check_token(token, job)
    (job.folder / CANCEL_FILE).touch()
    # Re-read: the supervisor checks the cancel file after recording its pid, so one side acts.
    job = job_status(job.id)
    if job.running and job.pid:
        try:
            os.killpg(job.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return job


def run_training(task: Literal["classifier", "segmenter"], config_file: Path, *,
                 resume: bool = False, overwrite: bool = False):
    """Train from a job's saved config (what a job's trainer process runs).

    Args:
        task: ``classifier`` (on ``$LULC_EUROSAT_DIR``) or ``segmenter``.
        config_file: the training config as JSON (see :meth:`JobSpec.train_config`).
        resume, overwrite: re-use policy of the run name (:func:`lulc_core.runs.open_run`).

    Returns:
        The written ModelCard.

    Raises:
        DataNotFoundError: no such config file.
        pydantic.ValidationError: the file is not a config of that task.
    """
    try:
        text = config_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataNotFoundError(f"no training config {config_file}: start the job again") from None
    if task == "classifier":
        from lulc_core.config import eurosat_dir
        from lulc_core.train import ClassifierTrainConfig, train_classifier

        config = ClassifierTrainConfig.model_validate_json(text)
        return train_classifier(config, eurosat_dir(), resume=resume, overwrite=overwrite)
    from lulc_core.segmentation import SegmenterTrainConfig, train_segmenter

    config = SegmenterTrainConfig.model_validate_json(text)
    return train_segmenter(config, resume=resume, overwrite=overwrite)


def _supervise(job_id: str, lock_fd: int) -> None:
    """Run a job's trainer (holding the lock), wait for it and record how it ended."""
    status = job_status(job_id)
    folder = status.folder
    # Cancel sends SIGTERM to the whole group: the trainer stops, the supervisor stays to record it.
    signal.signal(signal.SIGTERM, lambda *_: None)
    env = os.environ | {"LULC_PROGRESS_FILE": str(folder / PROGRESS_FILE), "PYTHONUNBUFFERED": "1"}
    trainer = subprocess.Popen(status.argv, stdin=subprocess.DEVNULL, env=env, pass_fds=(lock_fd,))
    _write_status(status.model_copy(update={"state": "running", "pid": os.getpid()}))
    if (folder / CANCEL_FILE).exists():
        trainer.terminate()
    code = trainer.wait()
    if code == 0:
        state, message = "succeeded", f"model {status.spec.model_name} saved"
    elif (folder / CANCEL_FILE).exists():
        state, message = "cancelled", "cancelled; previous models are unchanged"
    else:
        last = log_tail(status, 1).removeprefix("error: ")
        state, message = "failed", f"{last or f'exit code {code}'}; previous models are unchanged"
    _write_status(status.model_copy(update={"state": state, "pid": os.getpid(), "finished": _now(),
                                            "return_code": code, "message": message}))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "supervise":
        sys.exit("usage: python -m lulc_core.jobs supervise JOB_ID LOCK_FD (run by start_job)")
    _supervise(sys.argv[2], int(sys.argv[3]))
