"""Downloads with checksums, safe zip extraction, and fetching EuroSAT RGB.

A download streams to a temporary file beside its destination and is renamed into place only
once complete and verified, so an interrupted or corrupted download never looks like data.
Zenodo lists an md5 for ``EuroSAT_RGB.zip``; we do not hard-code one we cannot verify here,
so the user may pass ``--sha256``/``--md5`` and the computed sha256 is always recorded in
``.fetched.json`` beside the extracted data for later checks.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from tqdm import tqdm

from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.config import eurosat_dir
from lulc_core.data.eurosat import EuroSAT
from lulc_core.errors import DownloadError, InvalidDataError
from lulc_core.files import atomic_dir, atomic_path, atomic_write_json

EUROSAT_URL = EuroSAT.url
FETCHED_FILE = ".fetched.json"
_CHUNK = 1 << 20


def _hand_download_hint(url: str) -> str:
    return (
        f"no internet? download it by hand from {url} and pass --data / set LULC_EUROSAT_DIR"
    )


def download(
    url: str,
    dest: Path,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> str:
    """Stream ``url`` to ``dest`` with a progress bar and verify its checksum.

    Args:
        url: http(s) address.
        dest: final file path; written only when the download is complete and verified.
        sha256: expected hex SHA-256, or None.
        md5: expected hex MD5 (what Zenodo lists), or None.
        progress: show a tqdm bar on stderr.
        timeout: seconds to wait for the connection and between chunks.

    Returns:
        The hex SHA-256 of the downloaded file.

    Raises:
        DownloadError: connection failure, HTTP error or checksum mismatch (nothing is left
            at ``dest``).
    """
    hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length", 0)) or None
            with atomic_path(dest) as tmp, open(tmp, "wb") as f, tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress
            ) as bar:
                for chunk in response.iter_content(_CHUNK):
                    f.write(chunk)
                    for h in hashes.values():
                        h.update(chunk)
                    bar.update(len(chunk))
                f.close()
                _verify(hashes, {"sha256": sha256, "md5": md5}, url)
    except requests.HTTPError as e:
        raise DownloadError(f"download of {url} failed ({e}): {_hand_download_hint(url)}") from None
    except requests.RequestException as e:
        reason = type(e).__name__
        raise DownloadError(f"cannot reach {url} ({reason}): {_hand_download_hint(url)}") from None
    return hashes["sha256"].hexdigest()


def _verify(hashes: dict[str, Any], expected: dict[str, str | None], url: str) -> None:
    for kind, want in expected.items():
        got = hashes[kind].hexdigest()
        if want and got != want.strip().lower():
            raise DownloadError(
                f"{kind} of {url} is {got}, expected {want}: the download is corrupted or the "
                f"checksum is wrong; retry, or {_hand_download_hint(url)}"
            )


def extract_zip(archive: Path, dest: Path, strip_root: str | None = None) -> int:
    """Extract ``archive`` into the new folder ``dest`` atomically, refusing unsafe members.

    Args:
        archive: zip file.
        dest: folder to create (replaced only once extraction succeeded).
        strip_root: top-level folder name to drop from member paths (``EuroSAT_RGB`` holds
            ``EuroSAT_RGB/<Class>/...``); members outside it are skipped.

    Returns:
        Number of files extracted.

    Raises:
        InvalidDataError: the zip is corrupted or a member would land outside ``dest``
            (absolute path or ``..``: "zip-slip").
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            if (bad := zf.testzip()) is not None:
                raise zipfile.BadZipFile(f"CRC error in {bad}")
            members = [m for m in zf.infolist() if not m.is_dir()]
            with atomic_dir(dest) as tmp:
                for member in members:
                    relative = _safe_member_path(member.filename, archive)
                    if strip_root is not None:
                        if relative.parts[0] != strip_root or len(relative.parts) < 2:
                            continue
                        relative = PurePosixPath(*relative.parts[1:])
                    target = tmp.joinpath(*relative.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
                return len(members)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as e:
        raise InvalidDataError(
            f"{archive} is not a valid zip ({e}): delete it and download it again"
        ) from None


def _safe_member_path(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        raise InvalidDataError(
            f"{archive} holds an unsafe path {name!r} that would escape the destination: "
            "do not extract this zip; download it again from the official source"
        )
    return path


def fetch_eurosat(
    dest: Path | None = None,
    url: str = EUROSAT_URL,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
) -> Path:
    """Download EuroSAT RGB and extract it to ``<dest>/<Class>/<Class>_<n>.jpg``.

    The zip holds ``EuroSAT_RGB/<Class>/...``; the top folder is dropped so ``dest`` is in the
    layout ``lulc evaluate --data`` and ``LULC_EUROSAT_DIR`` expect. A ``.fetched.json``
    records the source, time and computed sha256. If ``dest`` already holds a fetched copy,
    nothing is downloaded.

    Args:
        dest: target folder (default: :func:`lulc_core.config.eurosat_dir`).
        url: zip address (default: the official Zenodo record 7711810).
        sha256: expected SHA-256 of the zip, if known.
        md5: expected MD5 of the zip (as listed on Zenodo), if known.
        progress: show a progress bar.

    Returns:
        The destination folder.

    Raises:
        DownloadError: download failed or checksum mismatch.
        InvalidDataError: corrupted zip, unsafe member paths, or a zip that does not hold the
            EuroSAT class folders; ``dest`` is non-empty but was not made by this command.
    """
    dest = (dest or eurosat_dir()).expanduser()
    if (dest / FETCHED_FILE).is_file():
        return dest
    if dest.exists() and any(dest.iterdir()):
        raise InvalidDataError(
            f"{dest} already exists and is not empty: pass another --dest or remove it first"
        )
    archive = dest.with_name(f".{dest.name}.download.zip")
    try:
        digest = download(url, archive, sha256=sha256, md5=md5, progress=progress)
        root = _zip_root(archive)
        count = extract_zip(archive, dest, strip_root=root)
    finally:
        archive.unlink(missing_ok=True)
    missing = [c for c in EUROSAT_CLASSES if not (dest / c).is_dir()]
    if missing:
        shutil.rmtree(dest, ignore_errors=True)
        raise InvalidDataError(
            f"the zip from {url} lacks {len(missing)} EuroSAT class folders (e.g. {missing[0]}): "
            "check --url points at EuroSAT_RGB.zip"
        )
    atomic_write_json(
        dest / FETCHED_FILE,
        {
            "url": url,
            "sha256": digest,
            "files": count,
            "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return dest


def _zip_root(archive: Path) -> str | None:
    """The single top-level folder of the zip, or None when members sit at the top level."""
    try:
        with zipfile.ZipFile(archive) as zf:
            tops = {PurePosixPath(n.replace("\\", "/")).parts[0] for n in zf.namelist() if n}
    except zipfile.BadZipFile as e:
        raise InvalidDataError(
            f"{archive} is not a valid zip ({e}): delete it and download it again"
        ) from None
    if len(tops) == 1 and (root := tops.pop()) not in EUROSAT_CLASSES:
        return root
    return None
