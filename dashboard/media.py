"""Pictures of the dashboard served as files, encoded once for every visitor.

Passing a numpy picture to ``st.image`` or a ``data:`` URL to a folium overlay makes every run of
every session encode it again (a 1000 x 1000 true-colour PNG is about 0.2 CPU-s) and send it
again (the scene layer is a 1.8 MB data URL inside the map's script, which streamlit-folium
then scans with regular expressions and hashes on each run). Here a picture is encoded once into
``static/cache/<content hash>.png``, which Streamlit serves at ``/app/static/cache/...``
(``server.enableStaticServing``); pages pass that short URL instead. Same picture, same file:
any session, any process and a restarted server reuse it. Measured with
``bench/concurrent_sessions.py`` (README, "Many visitors").
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from lulc_core.config import REPO_ROOT
from lulc_core.files import atomic_write_bytes

CACHE_DIR = REPO_ROOT / "static" / "cache"
URL_PREFIX = "/app/static/cache"  # absolute: the map lives in a component iframe
MAX_FILES = 2000  # past this, the least recently used pictures are deleted (about 1 GB at most)


def png_bytes(image: np.ndarray) -> bytes:
    """uint8 (H, W), (H, W, 3) or (H, W, 4) picture -> PNG file bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def png_data_url(image: np.ndarray) -> str:
    """uint8 (H, W[, 3|4]) picture -> ``data:image/png;base64,...`` (inline, encoded each call)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


def content_key(image: np.ndarray) -> str:
    """32 hex digits naming a picture by its shape, type and pixels (BLAKE2b, ~1 ms per MB)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.shape}{image.dtype.str}".encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def png_url(image: np.ndarray, cache_dir: Path = CACHE_DIR) -> str:
    """URL of a uint8 (H, W[, 3|4]) picture as a PNG served from Streamlit's static folder.

    The file is written once (atomically: a browser never gets half a PNG) and named by its
    content; later calls only hash the pixels. When the folder cannot be written (a read-only
    install), the picture is inlined as a data URL instead, as before.

    Args:
        image: the picture, uint8.
        cache_dir: the folder Streamlit serves at ``URL_PREFIX`` (tests pass a temporary one).

    Returns:
        ``/app/static/cache/<key>.png`` (for ``st.image`` and folium overlays), or a data URL.
    """
    name = f"{content_key(image)}.png"
    path = cache_dir / name
    try:
        if path.is_file():
            os.utime(path)  # recently used: kept by _prune
        else:
            atomic_write_bytes(path, png_bytes(image))
            path.chmod(0o644)  # readable by whatever serves the folder (the temp file was 0600)
            _prune(cache_dir)
    except OSError:
        return png_data_url(image)
    return f"{URL_PREFIX}/{name}"


def _prune(cache_dir: Path) -> None:
    """Delete the least recently used pictures beyond ``MAX_FILES`` (each distinct area adds some)."""
    files = []
    for entry in os.scandir(cache_dir):
        if entry.name.endswith(".png"):
            try:
                files.append((entry.stat().st_mtime_ns, entry.path))
            except FileNotFoundError:  # pruned meanwhile by another server process
                pass
    for _, path in sorted(files)[: max(0, len(files) - MAX_FILES)]:
        Path(path).unlink(missing_ok=True)
