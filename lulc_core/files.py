"""Writing files so that only complete ones ever appear: atomic writes and the one COG writer.

Everything is written to a temporary sibling first and renamed into place, so a crash never
leaves a half-written file and the previous version stays usable until the new one is complete.
Temporary names are hidden and carry the writer's pid (``.card.json.<pid>.<random>.tmp``,
``.labels.<pid>.tmp.tif``): what a killed writer leaves behind is removed by the next write
into the same folder (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from rasterio.io import DatasetWriter

# Temporary siblings written here: ".<name>.<pid>[.<x>].tmp[.<ext>]" files and folders, and
# ".<name>.<pid>.old" (the folder atomic_dir replaces).
TEMP_NAME = re.compile(r"\..+\.(tmp(\.\w+)?|old)")
STALE_TEMP_AGE_S = 24 * 3600.0  # older temporary files are stale even if their pid was reused
COG_BLOCK = 512  # px, tile side of every GeoTIFF written here


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except (OverflowError, ValueError):  # not a pid at all
        return False
    return True


def remove_stale_temps(folder: Path, max_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove the temporary files and folders that killed writers (``kill -9``, power loss)
    left in ``folder``: hidden names ending in ``.tmp``, ``.tmp.<ext>`` or ``.old`` whose
    writer's pid is no longer alive, or that are older than ``max_age_s`` (pids get reused).

    A ``.<name>.<pid>.old`` folder is only removed when ``<name>`` exists: a writer killed
    between the two renames of :func:`atomic_dir` leaves the previous folder only there.

    Returns:
        The paths removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    now = time.time()
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name):
            continue
        # The pid is one of the name's number parts; keep the file while any is alive.
        pids = [int(part) for part in entry.name.split(".") if part.isascii() and part.isdigit()]
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:  # its writer just renamed or removed it
            continue
        if not pids or (age < max_age_s and any(_alive(pid) for pid in pids)):
            continue
        if entry.name.endswith(".old") and not (folder / entry.name[1:].rsplit(".", 2)[0]).exists():
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically, indented, keys in insertion order."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    For writers that want a file name (rasterio, geopandas, safetensors): they write the
    temporary path, and only a complete file ever appears under the final name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink() if tmp.is_file() else shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _termination_deferred() -> Iterator[None]:
    """Hold SIGTERM / SIGINT until the block is done (they arrive right after it)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread anyway
        return
    blocked = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; on success swap it into place.

    The previous folder (if any) stays complete until the new one is; on error the temporary
    folder is removed and ``final`` is untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final.parent)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{os.getpid()}.",
                                suffix=".tmp"))
    try:
        yield tmp
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        with _termination_deferred():  # a cancel between the two renames would lose the folder
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def cog_writer(
    path: Path, *, width: int, height: int, dtype: str, crs, transform, count: int = 1,
    nodata: float | None = None, categorical: bool,
) -> Iterator[DatasetWriter]:
    """Yield a tiled GeoTIFF to fill (at once or window by window); on success it becomes a
    Cloud-Optimized GeoTIFF at ``path``, atomically.

    What is set on the yielded dataset (band descriptions, scales and offsets, colour table,
    tags) is carried into the COG. The pixels go through a temporary file on disk, not memory,
    so a scene written block by block never has to fit in RAM.

    Args:
        path: the COG to write.
        width, height, count, dtype, crs, transform, nodata: the raster, (count, height, width).
        categorical: class indices (overviews take the nearest value) rather than
            measurements (overviews average them).
    """
    import rasterio
    from rasterio.shutil import copy as rio_copy

    with atomic_path(path) as tmp:
        staging = path.with_name(f".{path.stem}.{os.getpid()}.gtiff.tmp")
        try:
            with rasterio.open(
                staging, "w", driver="GTiff", width=width, height=height, count=count,
                dtype=dtype, crs=crs, transform=transform, nodata=nodata, tiled=True,
                blockxsize=COG_BLOCK, blockysize=COG_BLOCK, BIGTIFF="IF_SAFER",
            ) as dst:
                yield dst
            rio_copy(str(staging), str(tmp), driver="COG", compress="deflate", predictor=2,
                     blocksize=COG_BLOCK, BIGTIFF="IF_SAFER", num_threads="ALL_CPUS",
                     overview_resampling="nearest" if categorical else "average")
        finally:
            staging.unlink(missing_ok=True)


def write_cog(
    path: Path, data: np.ndarray, crs, transform, *, description: str, categorical: bool,
    nodata: float | None = None, scale: float | None = None, offset: float | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write one band as a Cloud-Optimized GeoTIFF, atomically (see :func:`cog_writer`).

    Args:
        path: the COG to write.
        data: (H, W) pixels; their dtype is the file's.
        crs, transform, nodata: the grid and the no-data value (None: every value is data).
        description: the band's name (``B02``, ``SCL``, ``urban_atlas_index``).
        categorical: class indices rather than measurements (nearest-value overviews).
        scale, offset: how readers turn the stored numbers into physical values.
        tags: dataset metadata (``SYNTHETIC=yes``).

    Returns:
        ``path``.
    """
    with cog_writer(path, width=data.shape[1], height=data.shape[0], dtype=data.dtype.name,
                    crs=crs, transform=transform, nodata=nodata, categorical=categorical) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, description)
        if scale is not None:
            dst.scales, dst.offsets = (scale,), (offset or 0.0,)
        if tags:
            dst.update_tags(**tags)
    return path
