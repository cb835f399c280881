"""Background training jobs: admin token, one job at a time, real runs to success and cancel
(the previous model stays byte-identical), and the Training page."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_fake_eurosat
from lulc_cli import assert_one_line_error, run_lulc
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from lulc_core import jobs
from lulc_core.config import REPO_ROOT
from lulc_core.errors import (
    InvalidDataError, JobRunningError, PermissionDeniedError, UnknownNameError,
)

TOKEN = "s3cret"
SECRET_PATH = "/srv/lulc-private/data"
SMOKE = jobs.JobSpec(task="classifier", model="resnet18", weights="none", input_size=32, limit=4,
                     epochs=1, name="smoke")


@pytest.fixture
def job_env(isolated_dirs: dict[str, Path], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Isolated folders, a 10 x 5 image fake EuroSAT and an admin token."""
    eurosat = write_fake_eurosat(tmp_path / "eurosat", per_class=5)
    monkeypatch.setenv("LULC_EUROSAT_DIR", str(eurosat))
    monkeypatch.setenv(jobs.TOKEN_ENV, TOKEN)
    return isolated_dirs


def _recorded_running_job(token_hash: str | None = None) -> jobs.JobStatus:
    job_id = "20250101-000000-000000"
    argv = SMOKE.argv(jobs.jobs_dir() / job_id / jobs.CONFIG_FILE)
    status = jobs.JobStatus(id=job_id, spec=SMOKE, argv=argv,
                            state="running", started="2025-01-01T00:00:00+00:00",
                            token_hash=token_hash)
    status.folder.mkdir(parents=True)
    (status.folder / jobs.STATUS_FILE).write_text(status.model_dump_json())
    return status


@pytest.fixture
def running_job(job_env: dict[str, Path]) -> Iterator[jobs.JobStatus]:
    """A job that looks running (started with TOKEN): its status file, a progress report and a
    log naming server paths, and the lock held by this test process."""
    status = _recorded_running_job(jobs._hash_token(TOKEN))
    (status.folder / jobs.PROGRESS_FILE).write_text(
        '{"epochs": 5, "epoch": 2, "batch": 0, "loss": 0.4321, "eta_seconds": 754}')
    (status.folder / jobs.LOG_FILE).write_text(f"reading {SECRET_PATH}/EuroSAT\nepoch 2/5\n")
    with open(jobs.jobs_dir() / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield status


def _eventually(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _wait(job_id: str, done, timeout: float = 240) -> jobs.JobStatus:
    """The job's status once ``done(status)``; on timeout, cancel it and fail with its log."""
    if not _eventually(lambda: done(jobs.job_status(job_id)), timeout):
        jobs.cancel_job(TOKEN)
        pytest.fail(f"job not done after {timeout} s:\n{jobs.log_tail(jobs.job_status(job_id))}")
    return jobs.job_status(job_id)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _job_folders() -> list[Path]:
    return [p for p in jobs.jobs_dir().glob("*") if p.is_dir()]


def test_token_unset_or_wrong_is_refused(job_env: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PermissionDeniedError, match="wrong admin token"):
        jobs.start_job(SMOKE, "not-it")
    assert jobs.cancel_job(None) is None  # nothing runs: nothing to authorise
    monkeypatch.delenv(jobs.TOKEN_ENV)
    assert not jobs.retraining_enabled()
    with pytest.raises(PermissionDeniedError, match=f"disabled.*{jobs.TOKEN_ENV}"):
        jobs.start_job(SMOKE, TOKEN)
    assert not _job_folders()


@pytest.mark.parametrize("fields, error", [
    ({"name": "../evil"}, InvalidDataError),
    ({"name": "a/b"}, InvalidDataError),
    ({"name": ".hidden"}, InvalidDataError),
    ({"model": "vgg16"}, UnknownNameError),
    ({"weights": "eurosat"}, UnknownNameError),
    ({"task": "segmenter", "city": "../paris"}, InvalidDataError),
    ({"task": "segmenter", "city": "paris", "weights": "random"}, UnknownNameError),
])
def test_bad_specs_are_refused_before_anything_runs(job_env: dict[str, Path], fields: dict,
                                                    error: type) -> None:
    with pytest.raises(error):
        jobs.start_job(SMOKE.model_copy(update=fields), TOKEN)
    assert not _job_folders()


def test_spec_forbids_unknown_fields_and_builds_the_trainer_config() -> None:
    from lulc_core.segmentation import SegmenterTrainConfig

    with pytest.raises(ValidationError):
        jobs.JobSpec(task="classifier", lr=0.1)
    spec = jobs.JobSpec(task="segmenter", city="paris", weights="eurosat", epochs=3)
    assert spec.train_config() == SegmenterTrainConfig(
        city="paris", encoder="tf_efficientnet_lite0", encoder_weights="eurosat", name="unet-paris",
        epochs=3)
    assert spec.argv(Path("config.json"))[1:] == ["-m", "lulc_core", "jobs", "run", "segmenter",
                                                  "config.json", "--overwrite"]
    assert jobs.JobSpec(task="classifier", limit=20).model_name == "efficientnet_lite0-trial"


def test_second_start_is_refused_while_a_job_runs(running_job: jobs.JobStatus) -> None:
    with pytest.raises(JobRunningError, match="already running.*smoke.*cancel it"):
        jobs.start_job(SMOKE, TOKEN)
    assert jobs.current_job().state == "running" and len(_job_folders()) == 1


def test_job_whose_processes_vanished_is_reported_failed(job_env: dict[str, Path]) -> None:
    _recorded_running_job()  # as after a reboot: "running" on disk, nobody holds the lock
    job = jobs.current_job()
    assert job.state == "failed" and "ended without reporting" in job.message
    assert jobs.cancel_job(TOKEN) is None


@pytest.mark.slow
def test_job_trains_to_success_and_publishes_the_model(job_env: dict[str, Path]) -> None:
    started = jobs.start_job(SMOKE, TOKEN)
    assert started.running and started.pid
    with pytest.raises(JobRunningError):
        jobs.start_job(SMOKE.model_copy(update={"name": "other"}), TOKEN)
    done = _wait(started.id, lambda s: not s.running)
    assert done.state == "succeeded" and done.return_code == 0, jobs.log_tail(done)
    assert (job_env["artifacts"] / "models" / "smoke" / "card.json").is_file()
    assert jobs.read_progress(done).epoch == 1
    assert "test accuracy" in jobs.log_tail(done)
    assert _eventually(lambda: not jobs._lock_is_held())  # the lock went with the processes


@pytest.mark.slow
def test_cancel_stops_the_job_and_keeps_the_previous_model(job_env: dict[str, Path]) -> None:
    previous = job_env["artifacts"] / "models" / "smoke"
    previous.mkdir()
    (previous / "card.json").write_text('{"name": "smoke"}')
    (previous / "model.safetensors").write_bytes(os.urandom(4096))
    before = _snapshot(previous)
    started = jobs.start_job(SMOKE.model_copy(update={"epochs": 1000}), TOKEN)
    _wait(started.id, lambda s: jobs.read_progress(s) is not None)  # in the middle of training
    assert jobs.cancel_job(TOKEN).id == started.id
    done = _wait(started.id, lambda s: not s.running, timeout=60)
    assert done.state == "cancelled" and done.return_code != 0
    assert _snapshot(previous) == before
    assert [p.name for p in previous.parent.iterdir() if not p.name.startswith(".")] == ["smoke"]
    assert _eventually(lambda: _group_gone(done.pid)), "processes of the cancelled job are left"
    assert jobs.cancel_job(TOKEN) is None


def _page() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "app_pages" / "training.py"), default_timeout=60).run()


def test_page_without_token_says_retraining_is_disabled(job_env: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jobs.TOKEN_ENV)
    at = _page()
    assert not at.exception
    assert any("Retraining is disabled" in i.value and jobs.TOKEN_ENV in i.value for i in at.info)
    assert "job_start" not in {b.key for b in at.button}
    assert any("No training job has run yet" in c.value for c in at.caption)  # status still shown


def test_page_wrong_token_shows_an_error(job_env: dict[str, Path]) -> None:
    at = _page()
    at.text_input(key="job_token").set_value("wrong")
    at.button(key="job_start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"wrong admin token: enter the secret the server was started with ({jobs.TOKEN_ENV})"]
    assert not _job_folders()


def test_page_shows_the_running_job_and_refuses_a_second(running_job: jobs.JobStatus) -> None:
    at = _page()
    assert "job_cancel" in {b.key for b in at.button}
    at.text_input(key="job_token").set_value(TOKEN)
    at.button(key="job_start").click().run()
    assert not at.exception
    assert any("already running" in e.value for e in at.error)


def _texts(at: AppTest) -> str:
    """Everything the page shows as text (markdown, captions, messages, code, metrics)."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success",
                                  "code") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [str(p.proto.text) for p in at.get("progress")]
    return "\n".join(parts)


def test_page_shows_progress_to_everyone_and_the_log_only_with_the_token(
        running_job: jobs.JobStatus) -> None:
    at = _page()
    shown = _texts(at)
    assert not at.exception
    assert "Epoch 2 of 5 (40% done)" in shown and "Time left (estimate) 0:12:34" in shown
    assert "smoke" in shown and SECRET_PATH not in shown and not at.code
    assert any("after you enter the admin token" in c.value for c in at.caption)
    at.text_input(key="job_token").set_value("wrong").run()
    assert SECRET_PATH not in _texts(at) and not at.code
    at.text_input(key="job_token").set_value(TOKEN).run()
    assert not at.exception
    assert f"reading {SECRET_PATH}/EuroSAT\nepoch 2/5" in at.code[0].value


def test_page_hides_why_a_job_failed_without_the_token(job_env: dict[str, Path]) -> None:
    job = _recorded_running_job(jobs._hash_token(TOKEN))
    failed = job.model_copy(update={"state": "failed", "message": f"{SECRET_PATH} is missing"})
    (job.folder / jobs.STATUS_FILE).write_text(failed.model_dump_json())
    at = _page()
    assert [e.value for e in at.error] == [
        "This job failed. The models that existed before are unchanged."]
    at.text_input(key="job_token").set_value(TOKEN).run()
    assert any(SECRET_PATH in e.value for e in at.error)


def test_token_recorded_with_the_job_is_a_salted_hash(running_job: jobs.JobStatus,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = (running_job.folder / jobs.STATUS_FILE).read_text()
    assert TOKEN not in recorded and "pbkdf2_sha256$" in recorded
    assert jobs._hash_token(TOKEN) != jobs._hash_token(TOKEN)  # a new salt each time
    monkeypatch.delenv(jobs.TOKEN_ENV)  # e.g. a shell without the server's environment
    job = jobs.current_job()
    assert jobs.token_matches(TOKEN, job) and not jobs.token_matches("s3cre", job)
    assert not jobs.token_matches(None, job) and not jobs.token_matches(TOKEN)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.delenv(jobs.TOKEN_ENV, raising=False)  # the CLI's shell is not the server's
    return run_lulc(["jobs", "cancel", *args], capsys, monkeypatch)


def test_cli_cancel_reads_the_token_from_the_environment(
        running_job: jobs.JobStatus, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jobs.USER_TOKEN_ENV, "wrong")
    code, _, err = _cli([], capsys, monkeypatch)
    assert_one_line_error(code, err, "wrong admin token")
    assert not (running_job.folder / jobs.CANCEL_FILE).exists()
    monkeypatch.setenv(jobs.USER_TOKEN_ENV, TOKEN)
    code, out, err = _cli([], capsys, monkeypatch)
    assert code == 0, err
    assert out.strip() == f"cancelling {running_job.id} (smoke)"
    assert (running_job.folder / jobs.CANCEL_FILE).exists()


def test_cli_cancel_asks_for_the_token_without_echo(running_job: jobs.JobStatus,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from lulc_core.cli import app

    monkeypatch.delenv(jobs.TOKEN_ENV)
    monkeypatch.delenv(jobs.USER_TOKEN_ENV, raising=False)
    result = CliRunner().invoke(app, ["jobs", "cancel"], input=f"{TOKEN}\n")
    assert result.exit_code == 0, result.output
    assert "Admin token:" in result.output and TOKEN not in result.output
    assert f"cancelling {running_job.id}" in result.output


def test_cli_cancel_refuses_a_token_on_the_command_line(
        running_job: jobs.JobStatus, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _cli(["--token", TOKEN], capsys, monkeypatch)
    assert_one_line_error(code, err, "--token is not accepted", jobs.USER_TOKEN_ENV)
    assert not (running_job.folder / jobs.CANCEL_FILE).exists()


def test_cli_cancel_without_a_job_or_without_a_recorded_token(
        job_env: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _cli([], capsys, monkeypatch)  # no prompt: nothing to cancel
    assert code == 0 and out.strip() == "no job is running"
    _recorded_running_job()  # written by an older version: no token hash
    monkeypatch.setenv(jobs.USER_TOKEN_ENV, TOKEN)
    with open(jobs.jobs_dir() / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        code, _, err = _cli([], capsys, monkeypatch)
    assert_one_line_error(code, err, "recorded no token", jobs.TOKEN_ENV)
    assert "disabled" not in err
