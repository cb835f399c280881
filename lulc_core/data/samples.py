"""The real Sentinel-2 sample scenes shipped with the project (Versailles, July 2019).

One date (2019-07-08, Level-2A, three 10 m bands, about 1.2 MB) is package data under
``lulc_core/resources/real_s2/versailles``; the two other dates of the same source (2019-07-03,
2019-07-10) are imported too when the shared data folder is beside the clone
(``../shared/data/real_s2/versailles``, or ``$LULC_REAL_S2_DIR``). Each date becomes the scene
``versailles-<date>`` of site ``versailles``, through the same importer users run, so its
reflectance is decided from the files' own metadata (title tag ``..._N0213_...``: no offset).
"""

from __future__ import annotations

import os
from pathlib import Path

from lulc_core.config import REPO_ROOT, scenes_dir
from lulc_core.data.scene import MANIFEST

SITE = "versailles"
SAMPLE_DATE = "2019-07-08"
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "resources" / "real_s2" / SITE
ATTRIBUTION = (
    "Contains modified Copernicus Sentinel data 2019, from the test data of "
    "github.com/chlsl/rrn-multisensor-multidate (tests/data/versailles-short/S2, commit 2a2c93b0)"
)


def shared_sample_dir() -> Path | None:
    """The shared Versailles folder (with ``L2A/`` and ``L1C/``), if present."""
    env = os.environ.get("LULC_REAL_S2_DIR")
    default = REPO_ROOT.parent / "shared" / "data" / "real_s2" / SITE
    folder = Path(env).expanduser() if env else default
    return folder if (folder / "L2A").is_dir() else None


def sample_sources() -> dict[str, Path]:
    """Acquisition date -> folder holding that date's L2A band files (committed date first)."""
    from lulc_core.data.reflectance import date_in

    sources = {SAMPLE_DATE: SAMPLE_DIR}
    shared = shared_sample_dir()
    for f in sorted((shared / "L2A").glob("*.tif")) if shared else []:
        sources.setdefault(date_in(f.stem) or f.stem, shared / "L2A")
    return sources


def ensure_sample_scenes(if_missing: bool = True, root: Path | None = None) -> list[Path]:
    """Import the real Versailles dates as scenes ``versailles-<date>``.

    Args:
        if_missing: keep scenes that are already there (default); False re-imports them.
        root: scenes folder (default ``<data>/scenes``).

    Returns:
        The scene folders, one per date, sorted by date.
    """
    from lulc_core.data.sentinel2 import import_band_folder

    out = []
    for day, folder in sorted(sample_sources().items()):
        scene = (root or scenes_dir()) / f"{SITE}-{day}"
        if not (if_missing and (scene / MANIFEST).is_file()):
            import_band_folder(folder, scene, acquired=day, city="paris", site=SITE,
                               attribution=ATTRIBUTION)
        out.append(scene)
    return out
