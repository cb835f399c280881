"""dashboard.media: pictures encoded once into Streamlit's static folder, named by content."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard import media


def _picture(seed: int, shape: tuple[int, ...] = (32, 48, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_png_url_writes_a_real_png_once_and_reuses_it(tmp_path: Path) -> None:
    picture = _picture(0)
    url = media.png_url(picture, tmp_path)
    assert url.startswith(f"{media.URL_PREFIX}/") and url.endswith(".png")
    path = tmp_path / url.rsplit("/", 1)[1]
    with Image.open(path) as png:  # a complete PNG with the same pixels
        assert png.format == "PNG"
        np.testing.assert_array_equal(np.asarray(png), picture)
    assert path.stat().st_mode & 0o044 == 0o044  # readable by a separate static file server
    os.utime(path, ns=(0, 0))
    assert media.png_url(picture.copy(), tmp_path) == url  # same pixels, same file
    assert path.stat().st_mtime_ns > 0  # ...marked as recently used, not rewritten elsewhere
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left


@pytest.mark.parametrize("other", [
    lambda p: p[::-1].copy(),  # other pixels
    lambda p: p.reshape(48, 32, 3),  # same bytes, other shape
    lambda p: p[..., 0].copy(),  # grey
])
def test_different_pictures_get_different_files(tmp_path: Path, other) -> None:
    picture = _picture(1)
    assert media.png_url(picture, tmp_path) != media.png_url(other(picture), tmp_path)


def test_non_contiguous_views_are_named_by_their_pixels(tmp_path: Path) -> None:
    rgba = _picture(2, (16, 16, 4))
    view = rgba[:, :, :3]  # not contiguous
    assert media.png_url(view, tmp_path) == media.png_url(np.ascontiguousarray(view), tmp_path)


def test_least_recently_used_files_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MAX_FILES", 3)
    urls = []
    for i in range(3):
        urls.append(media.png_url(_picture(10 + i), tmp_path))
        name = urls[-1].rsplit("/", 1)[1]
        os.utime(tmp_path / name, ns=(i * 10**9, i * 10**9))  # written in this order
    media.png_url(_picture(10), tmp_path)  # the oldest is used again: now the newest
    media.png_url(_picture(99), tmp_path)  # a fourth picture: one must go
    left = {p.name for p in tmp_path.iterdir()}
    assert len(left) == 3
    assert urls[1].rsplit("/", 1)[1] not in left  # the least recently used one
    assert urls[0].rsplit("/", 1)[1] in left


def test_unwritable_folder_falls_back_to_an_inline_picture(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    picture = _picture(3, (8, 8))
    url = media.png_url(picture, blocker / "cache")
    assert url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    np.testing.assert_array_equal(np.asarray(decoded), picture)
