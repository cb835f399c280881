"""Model folders as users find them: broken ones listed with the reason, cards that name another
folder refused, and the temporary files of killed writers removed by the next write."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from lulc_cli import run_lulc
from rasterio.transform import from_origin

from lulc_core.artifacts import (
    CARD_FILE, WEIGHTS_FILE, ClassInfo, ModelCard, list_models, load_card, load_weights,
    model_entries, save_model,
)
from lulc_core.files import atomic_dir, atomic_path, atomic_write_text, remove_stale_temps
from lulc_core.config import REPO_ROOT
from lulc_core.errors import InvalidDataError, ModelMismatchError
from lulc_core.predict import PredictionWriter


def _card(name: str) -> ModelCard:
    return ModelCard(
        name=name, task="classification", architecture="resnet18", bands=["B04", "B03", "B02"],
        classes=[ClassInfo(index=0, name="Forest", color="#008c00"),
                 ClassInfo(index=1, name="Water", color="#80f2e6")],
        normalization={"mean": [0.4] * 3, "std": [0.2] * 3}, input_size=32,
        metrics={"accuracy": 0.75},
    )


def _save(models: Path, name: str) -> Path:
    torch.manual_seed(0)
    save_model(models / name, {"fc.weight": torch.randn(2, 512), "fc.bias": torch.zeros(2)},
               _card(name))
    return models / name


@pytest.fixture
def models(isolated_dirs: dict[str, Path]) -> Path:
    """<artifacts>/models with one good model and one folder per way of breaking one."""
    root = isolated_dirs["artifacts"] / "models"
    _save(root, "good")
    (_save(root, "corrupt-card") / CARD_FILE).write_text("{not json")
    weights = _save(root, "truncated") / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # interrupted copy
    (_save(root, "no-weights") / WEIGHTS_FILE).unlink()
    weights = _save(root, "tampered") / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, header intact, one byte of a tensor changed
    weights.write_bytes(bytes(data))
    _save(root, "original").rename(root / "renamed")  # copied or renamed by hand
    return root


EXPECTED = {
    "corrupt-card": "is corrupted",
    "no-weights": "no weights at",
    "renamed": "is for model 'original', not 'renamed'",
    "tampered": "checksum differs",
    "truncated": "truncated or corrupted",
}


def test_cli_lists_broken_models_with_the_reason(models: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_lulc(["models"], capsys, monkeypatch)
    assert code == 0, err
    rows = dict(line.split("\t", 1) for line in out.strip().splitlines())
    assert sorted(rows) == sorted([*EXPECTED, "good"])
    assert rows["good"] == "classification\tresnet18\t0.7500"
    for name, reason in EXPECTED.items():
        assert rows[name].startswith("BROKEN\t") and reason in rows[name], rows[name]
    code, out, _ = run_lulc(["models", "--task", "segmentation"], capsys, monkeypatch)
    assert code == 0  # cards that cannot be read may be of any task
    assert [line.split("\t")[0] for line in out.splitlines()] == ["corrupt-card", "renamed"]


def test_listing_without_checksums_and_the_dashboards_list(models: Path) -> None:
    cheap = {e.name: e.problem for e in model_entries()}  # header and size only: no full read
    assert cheap["tampered"] is None and cheap["good"] is None
    assert all(reason in cheap[name] for name, reason in EXPECTED.items() if name != "tampered")
    # The dashboard offers every model with a readable card; loading a damaged one says why.
    assert [c.name for c in list_models()] == ["good", "no-weights", "tampered", "truncated"]
    with pytest.raises(ModelMismatchError, match="checksum differs"):  # caught when loading
        load_weights(models / "tampered")
    with pytest.raises(InvalidDataError, match="truncated"):
        load_weights(models / "truncated")


def test_card_naming_another_folder_is_refused_in_one_line(models: Path) -> None:
    with pytest.raises(InvalidDataError) as error:
        load_card(models / "renamed")
    assert "rename the folder back to original" in str(error.value)
    assert "\n" not in str(error.value)
    assert load_card(models / "good" / ".." / "good").name == "good"  # same folder, other path


def test_committed_models_are_all_listed_as_usable() -> None:
    entries = model_entries(root=REPO_ROOT / "artifacts" / "models", weights="checksum")
    assert entries and all(e.problem is None for e in entries), [e.problem for e in entries]


# Temporary files of killed writers ----------------------------------------------------------


@pytest.fixture
def pids() -> Iterator[tuple[int, int]]:
    """(pid of a process that has ended, pid of one still running)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    running = subprocess.Popen(["sleep", "60"])
    try:
        yield ended.pid, running.pid
    finally:
        running.kill()
        running.wait()


def _leftovers(folder: Path, pid: int) -> list[Path]:
    """One of each temporary name our writers use, as left by ``pid``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f".pred.{pid}.gtiff.tmp",  # lulc_core.files.cog_writer
             folder / f".card.json.{pid}.k2x9_abc.tmp",  # atomic_write_bytes
             folder / f".labels.{pid}.tmp.tif"]  # atomic_path
    for path in paths:
        path.touch()
    (folder / f".unet.{pid}.q1w2e3r4.tmp").mkdir()  # atomic_dir
    (folder / f".unet.{pid}.q1w2e3r4.tmp" / WEIGHTS_FILE).touch()
    return [*paths, folder / f".unet.{pid}.q1w2e3r4.tmp"]


def test_next_write_removes_what_dead_writers_left_and_keeps_live_ones(
        tmp_path: Path, pids: tuple[int, int]) -> None:
    dead, live = pids
    stale, kept = _leftovers(tmp_path, dead), _leftovers(tmp_path, live)
    (tmp_path / "unet").mkdir()
    (tmp_path / f".unet.{dead}.old").mkdir()  # atomic_dir's previous folder: unet is complete
    (tmp_path / f".lost.{dead}.old").mkdir()  # killed between renames: the only copy of "lost"
    old = tmp_path / f".cog.{live}.cog.tmp"  # a live pid, but two days old: the pid was reused
    old.touch()
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    others = [tmp_path / ".gitkeep", tmp_path / ".notes.tmp", tmp_path / "x.1.tmp"]
    for path in others:
        path.touch()
    atomic_write_text(tmp_path / "status.json", "{}")
    assert not [p for p in [*stale, tmp_path / f".unet.{dead}.old", old] if p.exists()]
    assert all(p.exists() for p in [*kept, *others, tmp_path / f".lost.{dead}.old"])
    assert (tmp_path / "status.json").read_text() == "{}"


@pytest.mark.parametrize("writer", ["atomic_path", "atomic_dir", "PredictionWriter"])
def test_every_writer_cleans_its_folder(tmp_path: Path, pids: tuple[int, int], writer: str) -> None:
    dead, live = pids
    stale, kept = _leftovers(tmp_path, dead), _leftovers(tmp_path, live)
    if writer == "atomic_path":
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"x")
    elif writer == "atomic_dir":
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "x").write_bytes(b"x")
    else:
        with PredictionWriter(tmp_path / "pred.tif", _card("p"), "EPSG:32631",
                              from_origin(448000, 5412000, 10, 10), 64, 64, confidence=False):
            pass
        assert (tmp_path / "pred.tif").is_file()
    assert not [p for p in stale if p.exists()] and all(p.exists() for p in kept)


def test_a_writer_killed_with_sigkill_leaves_nothing_after_the_next_write(tmp_path: Path) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", "import os, sys\nfrom pathlib import Path\n"
         "from lulc_core.files import atomic_path\n"
         "with atomic_path(Path(sys.argv[1])) as tmp:\n"
         "    tmp.write_bytes(b'half')\n    os.kill(os.getpid(), 9)\n", str(tmp_path / "x.tif")],
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
    )
    assert killed.returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".x.") and not (tmp_path / "x.tif").exists()
    with atomic_path(tmp_path / "y.tif") as tmp:
        tmp.write_bytes(b"whole")
    assert [p.name for p in tmp_path.iterdir()] == ["y.tif"]
    assert remove_stale_temps(tmp_path) == []
