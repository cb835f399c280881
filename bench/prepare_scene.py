"""Benchmark: prepare a whole city AOI (read, rasterize labels, patch, filter, write).

Usage: python bench/prepare_scene.py [--city paris]
Needs the scene folder (``lulc demo-data --city paris`` builds the synthetic one). Runs the
Urban Atlas import (reproject + rasterize on the 10 m grid) and the patch builder in one process
and reports wall time and peak resident memory. Goal (issue 3): <= 30 s and <= 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from lulc_core.data.patches import build_patches
from lulc_core.data.scene import LABELS_VECTOR, scene_dir
from lulc_core.data.urban_atlas import import_urban_atlas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default="paris")
    args = parser.parse_args()
    source = scene_dir(args.city)
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / args.city
        shutil.copytree(source, scene)  # the import rewrites labels.tif; keep the original
        t0 = time.perf_counter()
        labels = import_urban_atlas(scene / LABELS_VECTOR, scene)
        t1 = time.perf_counter()
        summary = build_patches(scene, Path(tmp) / "patches")
        t2 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"city                 {args.city}")
    print(f"urban atlas import   {t1 - t0:6.1f} s  ({len(labels.layer.polygons)} polygons rasterized)")
    print(f"patches              {t2 - t1:6.1f} s  ({summary.kept} kept, {summary.dropped_cloud} cloud, "
          f"{summary.dropped_nan} NaN)")
    print(f"total                {t2 - t0:6.1f} s  (goal <= 30 s)")
    print(f"peak memory          {peak_gb:6.2f} GB (goal <= 4 GB)")


if __name__ == "__main__":
    main()
