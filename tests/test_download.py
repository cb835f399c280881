"""Downloads and `lulc fetch eurosat` against tiny zips served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lulc_cli import assert_one_line_error, run_lulc

from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.download import FETCHED_FILE, download, extract_zip
from lulc_core.errors import DownloadError, InvalidDataError


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


EUROSAT_ZIP = _zip_bytes(
    {f"EuroSAT_RGB/{c}/{c}_{i}.jpg": f"{c}{i}".encode() for c in EUROSAT_CLASSES for i in (1, 2)}
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A threaded HTTP server on a random 127.0.0.1 port serving a folder of test zips."""
    root = tmp_path_factory.mktemp("served")
    (root / "EuroSAT_RGB.zip").write_bytes(EUROSAT_ZIP)
    (root / "corrupted.zip").write_bytes(EUROSAT_ZIP[: len(EUROSAT_ZIP) // 2])
    (root / "slip.zip").write_bytes(_zip_bytes({"EuroSAT_RGB/../../evil.txt": b"x"}))
    (root / "other.zip").write_bytes(_zip_bytes({"cats/cat_1.jpg": b"x"}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_checksums(server: str, tmp_path: Path) -> None:
    sha = hashlib.sha256(EUROSAT_ZIP).hexdigest()
    md5 = hashlib.md5(EUROSAT_ZIP).hexdigest()
    dest = tmp_path / "a.zip"
    assert download(f"{server}/EuroSAT_RGB.zip", dest, sha256=sha, md5=md5, progress=False) == sha
    assert dest.read_bytes() == EUROSAT_ZIP
    with pytest.raises(DownloadError, match="sha256"):
        download(f"{server}/EuroSAT_RGB.zip", tmp_path / "b.zip", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == [dest]  # no partial or temporary file left


def test_missing_file_and_unreachable_host_say_how_to_get_it_by_hand(
    server: str, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="by hand"):
        download(f"{server}/nope.zip", tmp_path / "x.zip", progress=False)
    with pytest.raises(DownloadError, match="no internet"):
        download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", progress=False, timeout=2)
    assert not any(tmp_path.iterdir())


def test_extract_rejects_zip_slip(tmp_path: Path) -> None:
    archive = tmp_path / "slip.zip"
    archive.write_bytes(_zip_bytes({"ok.txt": b"1", "../evil.txt": b"x"}))
    with pytest.raises(InvalidDataError, match="unsafe path"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_fetch_eurosat_cli_extracts_official_layout(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "eurosat"
    sha = hashlib.sha256(EUROSAT_ZIP).hexdigest()
    args = ["fetch", "eurosat", "--dest", str(dest), "--url", f"{server}/EuroSAT_RGB.zip"]
    code, out, err = run_lulc([*args, "--sha256", sha], capsys, monkeypatch)
    assert code == 0, err
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == sorted(EUROSAT_CLASSES)
    assert (dest / "Forest" / "Forest_2.jpg").read_bytes() == b"Forest2"
    record = json.loads((dest / FETCHED_FILE).read_text())
    assert record["sha256"] == sha and record["files"] == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eurosat"]  # zip removed


@pytest.mark.parametrize(
    ("served", "extra", "words"),
    [
        ("EuroSAT_RGB.zip", ["--sha256", "0" * 64], ["sha256", "expected"]),
        ("EuroSAT_RGB.zip", ["--md5", "0" * 32], ["md5", "expected"]),
        ("corrupted.zip", [], ["not a valid zip"]),
        ("slip.zip", [], ["unsafe path"]),
        ("other.zip", [], ["lacks", "EuroSAT class folders"]),
        ("missing.zip", [], ["404", "by hand"]),
    ],
)
def test_fetch_eurosat_bad_downloads_leave_nothing(
    server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    served: str,
    extra: list[str],
    words: list[str],
) -> None:
    dest = tmp_path / "eurosat"
    args = ["fetch", "eurosat", "--dest", str(dest), "--url", f"{server}/{served}", *extra]
    code, _, err = run_lulc(args, capsys, monkeypatch)
    assert_one_line_error(code, err, *words)
    assert list(tmp_path.iterdir()) == []


def test_fetch_eurosat_refuses_foreign_non_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    code, _, err = run_lulc(["fetch", "eurosat", "--dest", str(tmp_path)], capsys, monkeypatch)
    assert_one_line_error(code, err, "not empty")
    assert (tmp_path / "mine.txt").read_text() == "keep me"
