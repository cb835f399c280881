"""Benchmark: the one-page PDF report of the Paris centre preset (goal: under 2 s to build).

Usage: python bench/report_speed.py [--repeats 3] [--pdf report.pdf]

The area is predicted first (not timed: the Map explorer has it already when the button is
clicked). Timed: ``report_pdf`` (summary, figure, PDF) as the button's first click in a fresh
process pays it (matplotlib imported and its fonts loaded on the way), then warm repeats; wall
time and the process's CPU time (the build is single-threaded: on a busy shared machine the CPU
time is what an idle one would take).
``--pdf`` keeps the PDF; docs/img/report_paris_centre.png is that file rendered by poppler:
``pdftoppm -png -r 96 -singlefile report.pdf docs/img/report_paris_centre``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pdf", type=Path, default=None)
    args = parser.parse_args()

    from lulc_core.artifacts import load_card
    from lulc_core.config import REPO_ROOT
    from lulc_core.data.scene import read_manifest, scene_dir
    from lulc_core.geo import PRESET_AREAS
    from lulc_core.models import load_model
    from lulc_core.predict import predict_area

    preset = "Centre (10 x 10 km)"
    folder = REPO_ROOT / "artifacts" / "models" / "unet-paris"
    area = predict_area(load_model(folder, fused=True), scene_dir("paris"),
                        PRESET_AREAS["paris"][preset])
    card, scene = load_card(folder), read_manifest(scene_dir("paris"))
    title = f"Paris: {preset}"

    t0, c0 = time.perf_counter(), time.process_time()
    from lulc_core.report import report_pdf

    pdf = report_pdf(area, card, scene, title)
    first = time.perf_counter() - t0, time.process_time() - c0
    warm = []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        report_pdf(area, card, scene, title)
        warm.append((time.perf_counter() - t0, time.process_time() - c0))
    print(f"Paris centre ({area.prediction.size / 1e4:.0f} km2): report {len(pdf) / 1e3:.0f} kB; "
          f"first build in a fresh process (import included) {first[0]:.2f} s wall, "
          f"{first[1]:.2f} s CPU; warm " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in warm)
          + f" s wall/CPU; load average {os.getloadavg()[0]:.1f}")
    if args.pdf:
        args.pdf.write_bytes(pdf)
        print(f"PDF written to {args.pdf}")


if __name__ == "__main__":
    main()
