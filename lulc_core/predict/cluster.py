"""Whole-scene prediction with the blocks computed as tasks on a ``dask.distributed`` cluster.

Dask is imported inside :func:`predict_scene_dask`, so importing the package does not load it.
Workers unpickle :func:`_dask_block` by its module path: they import this module.
(Not named ``dask.py`` / ``distributed.py``: both are top-level packages it imports.)
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from lulc_core.geo import AOI
from lulc_core.predict.scene import (
    PIXEL_KM2, PredictionSummary, PredictionWriter, _scene_window, _write_extras, predict_block,
    scene_blocks,
)


@lru_cache(maxsize=4)
def _worker_model(folder: str):
    """A model loaded once per Dask worker process (or thread pool)."""
    from lulc_core.models import load_model

    return load_model(folder, fused=True)


def _dask_block(folder: str, scene_folder: str, window, block, margin: int, tile: int,
                overlap: int, windows_per_batch: int, confidence: bool):
    # not "batch_size": Client.map takes that keyword for itself
    module, card = _worker_model(folder)
    return block, predict_block(module, card, Path(scene_folder), window, block, margin, tile,
                                overlap, windows_per_batch, confidence)


def predict_scene_dask(
    model: str, scene_folder: Path, out_path: Path, aoi: AOI | None = None,
    scheduler: str | None = None, n_workers: int = 2, confidence: bool = False,
    area_csv: bool = True, vector: bool = False, strip: int = 1024, margin: int = 64,
    tile: int = 512, overlap: int = 64, batch_size: int = 4, max_km2: float | None = None,
) -> PredictionSummary:
    """:func:`predict_scene` with the strips computed as tasks on a ``dask.distributed`` cluster.

    Each task reads its own strip (plus context margin) from the COGs and predicts it, so the
    output is identical to the single-process path. ``scheduler`` is a cluster address
    (``tcp://host:8786``); without one a LocalCluster with ``n_workers`` is started. The
    workers must see the scene and model folders (shared storage).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    from lulc_core.models import load_model, resolve_model_folder

    t0 = time.perf_counter()
    folder = str(resolve_model_folder(model).resolve())
    _, card = load_model(folder)
    window, crs, transform = _scene_window(card, scene_folder, aoi, max_km2)
    height, width = int(window.height), int(window.width)
    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                  processes=True, dashboard_address=None)
    blocks = scene_blocks(height, width, strip)
    try:
        with Client(scheduler or cluster) as client, PredictionWriter(
            out_path, card, crs, transform, width, height, confidence
        ) as writer:
            n = len(blocks)
            futures = client.map(_dask_block, [folder] * n, [str(scene_folder.resolve())] * n,
                                 [window] * n, blocks, margin=margin, tile=tile, overlap=overlap,
                                 windows_per_batch=batch_size, confidence=confidence, pure=False)
            for future in as_completed(futures):  # write blocks as they finish: memory stays flat
                block, (cls, cf) = future.result()
                writer.write(block, cls, cf)
                future.release()
    finally:
        if cluster is not None:
            cluster.close()
    csv_path, vec = _write_extras(out_path, writer.counts, crs, transform, card, area_csv, vector)
    return PredictionSummary(out_path, width, height, height * width * PIXEL_KM2,
                             time.perf_counter() - t0, csv_path, vec)
