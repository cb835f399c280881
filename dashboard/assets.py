"""Leaflet and Leaflet.draw served by Streamlit itself, so the map works without internet.

folium loads its scripts from public CDNs; offline the map would be blank. At set-up
(``python -m dashboard.assets``, run by ``make demo`` / ``make test``) the two npm packages are
fetched with ``npm pack`` (checked against pinned sha512 integrity hashes) and their ``dist/``
folders unpacked into ``static/vendor/``, which Streamlit serves at ``/app/static/...``
(``server.enableStaticServing``). The page then points folium at those URLs; the CDN stays
available as an option (``LULC_MAP_ASSETS=cdn``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lulc_core.config import REPO_ROOT

VENDOR = REPO_ROOT / "static" / "vendor"
URL_PREFIX = "/app/static/vendor"  # absolute: relative URLs break inside the component's iframe

# npm package -> (version, sha512 integrity as published in the registry)
PACKAGES: dict[str, tuple[str, str]] = {
    "leaflet": ("1.9.4", "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="),
    "leaflet-draw": ("1.0.4", "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ=="),
}
# what folium needs from each package, relative to its dist/ folder
MAP_JS = [("leaflet", "leaflet.js")]
MAP_CSS = [("leaflet", "leaflet.css")]
DRAW_JS = [("leaflet-draw", "leaflet.draw.js")]
DRAW_CSS = [("leaflet-draw", "leaflet.draw.css")]


def local_assets_ready() -> bool:
    """True when every file the map needs is unpacked under ``static/vendor``."""
    return all((VENDOR / pkg / name).is_file() for pkg, name in MAP_JS + MAP_CSS + DRAW_JS + DRAW_CSS)


def asset_mode() -> str:
    """``local`` when the vendored files are there (unless ``LULC_MAP_ASSETS=cdn``), else ``cdn``."""
    if os.environ.get("LULC_MAP_ASSETS", "local") == "cdn":
        return "cdn"
    return "local" if local_assets_ready() else "cdn"


def urls(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(name, absolute URL)`` pairs in folium's ``default_js`` / ``default_css`` shape."""
    return [(f"{pkg}_{name}", f"{URL_PREFIX}/{pkg}/{name}") for pkg, name in files]


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(dest: Path = VENDOR) -> None:
    """``npm pack`` each package, check its integrity, unpack ``package/dist`` to ``dest/<pkg>``.

    Raises:
        RuntimeError: npm missing or failing, or a tarball whose hash differs from the pin.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js (apt-get install npm) or set "
                           "LULC_MAP_ASSETS=cdn to load the map scripts from the internet")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{pkg}@{version}" for pkg, (version, _) in PACKAGES.items()]
        done = subprocess.run([npm, "pack", *specs, "--pack-destination", tmp],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"npm pack failed: {done.stderr.strip().splitlines()[-1:]}")
        for pkg, (version, integrity) in PACKAGES.items():
            tarball = Path(tmp) / f"{pkg}-{version}.tgz"
            if _integrity(tarball) != integrity:
                raise RuntimeError(f"{tarball.name} does not match its pinned sha512: not using it")
            staging = Path(tmp) / pkg
            with tarfile.open(tarball) as tar:
                members = [m for m in tar.getmembers()
                           if m.name.startswith("package/dist/") and (m.isfile() or m.isdir())]
                tar.extractall(staging, members=members, filter="data")
            target = dest / pkg
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staging / "package" / "dist", target)


def main() -> None:
    if local_assets_ready():
        print(f"map assets present in {VENDOR}")
        return
    try:
        fetch()
    except RuntimeError as e:
        # The app still works with the CDN when online; say so instead of failing the set-up.
        print(f"map assets not installed ({e}); the map will use the CDN", file=sys.stderr)
        return
    print(f"map assets (Leaflet, Leaflet.draw) installed in {VENDOR}")


if __name__ == "__main__":
    main()
