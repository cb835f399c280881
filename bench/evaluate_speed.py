"""Speed and bf16-vs-fp32 agreement of `lulc evaluate` on a EuroSAT-layout folder.

Usage::

    .venv/bin/python bench/evaluate_speed.py [--model NAME] [--data FOLDER] [--per-class N]

Scores the model twice (fp32, then bf16 autocast) on up to N images per class (a temporary
folder of symbolic links, so the data is never copied) and prints images/s and accuracy of
each as JSON. With the training folder as --data, the model's own training images are left
out (split.json), exactly as `lulc evaluate` does.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from lulc_core.classify import evaluate_folder, scan_class_folder
from lulc_core.config import eurosat_dir


def _subset(data: Path, per_class: int, out: Path) -> Path:
    for name, files in scan_class_folder(data).items():
        (out / name).mkdir()
        for f in files[:per_class]:
            os.symlink(f.resolve(), out / name / f.name)
    return out


def main() -> None:
    from lulc_core.models import DEFAULT_CLASSIFIER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_CLASSIFIER)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = _subset(args.data or eurosat_dir(), args.per_class, Path(tmp))
        rows = {}
        for precision in ("fp32", "bf16"):
            result = evaluate_folder(
                args.model, folder, batch_size=args.batch_size, bf16=precision == "bf16"
            )
            rows[precision] = {
                "images": result.images,
                "seconds": round(result.seconds, 2),
                "images_per_second": round(result.images / result.seconds, 1),
                "accuracy": round(result.report.accuracy, 5),
                "notes": result.notes,
            }
    print(json.dumps({"model": args.model, "cpus": os.cpu_count(), **rows}, indent=2))


if __name__ == "__main__":
    main()
