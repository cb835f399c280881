"""Shared test set-up: every test runs with its own data and artifacts folders unless it asks
for the real ones, so tests never touch the committed artifacts or the user's data."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point LULC_DATA_DIR and LULC_ARTIFACTS_DIR at fresh folders under tmp_path."""
    data = tmp_path / "data"
    artifacts = tmp_path / "artifacts"
    (artifacts / "models").mkdir(parents=True)
    data.mkdir()
    monkeypatch.setenv("LULC_DATA_DIR", str(data))
    monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(artifacts))
    return {"data": data, "artifacts": artifacts}
