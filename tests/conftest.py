"""Shared test set-up: every test runs with its own data and artifacts folders unless it asks
for the real ones, so tests never touch the committed artifacts or the user's data."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """AppTest makes the page it ran ``__main__``; a later process started with "spawn" (Dask
    workers) would then run that page on import. Put the real ``__main__`` back after each test."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


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


def write_fake_eurosat(root: Path, per_class: int, noise: float = 15.0) -> Path:
    """A EuroSAT-layout folder of generated 64x64 JPEGs, one distinct colour per class."""
    import numpy as np
    from PIL import Image

    from lulc_core.classes import EUROSAT_CLASSES

    rng = np.random.default_rng(0)
    for k, name in enumerate(EUROSAT_CLASSES):
        (root / name).mkdir(parents=True)
        colour = np.array([25 * k, 255 - 25 * k, (80 * k) % 255], np.float32)
        for n in range(per_class):
            img = np.clip(colour + rng.normal(0, noise, (64, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{name}_{n + 1}.jpg")
    return root
