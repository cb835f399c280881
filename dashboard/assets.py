"""Leaflet, Leaflet.draw and leaflet-side-by-side served by Streamlit itself, so the maps work
without internet.

folium loads its scripts from public CDNs; offline the map would be blank. At set-up
(``python -m dashboard.assets``, run by ``make demo`` / ``make test``) the npm packages are
fetched with ``npm pack`` (checked against pinned sha512 integrity hashes) and their ``dist/``
folders (or, for a package published without one, its top-level files) unpacked into
``static/vendor/``, which Streamlit serves at ``/app/static/...``
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
from dataclasses import dataclass
from pathlib import Path

from lulc_core.config import REPO_ROOT

VENDOR = REPO_ROOT / "static" / "vendor"
URL_PREFIX = "/app/static/vendor"  # absolute: relative URLs break inside the component's iframe


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm package and what the map needs from its tarball."""

    version: str
    integrity: str  # sha512 as published in the registry (``npm view <pkg>@<v> dist.integrity``)
    folder: str = "dist"  # unpacked from the tarball's ``package/<folder>``; "" = its top level
    commonjs: str | None = None  # CommonJS entry file to wrap as ``<pkg>.js`` for a script tag


PACKAGES: dict[str, NpmPackage] = {
    "leaflet": NpmPackage("1.9.4", "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="),
    "leaflet-draw": NpmPackage("1.0.4", "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ=="),
    # Published as CommonJS source only (its browserify bundle is not in the npm tarball).
    "leaflet-side-by-side": NpmPackage(
        "2.2.0", "sha512-JLN9dUoQgSJcZWowOOG19s4zpHasZfGsBeJ/ceObJ1f7vQ0OGGvx564yH7+JOF/zk1zNDi1RYjeJZUwVCC7YNA==",
        folder="", commonjs="index.js"),
}
# what folium needs from each package, relative to its unpacked folder
MAP_JS = [("leaflet", "leaflet.js")]
MAP_CSS = [("leaflet", "leaflet.css")]
DRAW_JS = [("leaflet-draw", "leaflet.draw.js")]
DRAW_CSS = [("leaflet-draw", "leaflet.draw.css")]
SIDE_BY_SIDE_JS = [("leaflet-side-by-side", "leaflet-side-by-side.js")]
SIDE_BY_SIDE_CSS = [("leaflet-side-by-side", "layout.css"), ("leaflet-side-by-side", "range.css")]
ALL_FILES = MAP_JS + MAP_CSS + DRAW_JS + DRAW_CSS + SIDE_BY_SIDE_JS + SIDE_BY_SIDE_CSS


def local_assets_ready() -> bool:
    """True when every file the map needs is unpacked under ``static/vendor``."""
    return all((VENDOR / pkg / name).is_file() for pkg, name in ALL_FILES)


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


def wrap_commonjs(source: str, name: str) -> str:
    """A CommonJS module as a plain script: ``require('leaflet')`` gets the global ``L`` (what the
    package's own browserify-shim setting asks for); other requires (its CSS files, loaded by
    ``<link>`` tags instead) get nothing; its ``module.exports`` goes nowhere (the plugin
    registers itself on ``L``)."""
    return (f"/* {name}: npm CommonJS source wrapped by dashboard/assets.py for a script tag */\n"
            "(function (require, module, exports) {\n" + source + "\n})(function (id) {\n"
            "  return id === 'leaflet' ? window.L : undefined;\n}, {exports: {}}, {});\n")


def fetch(dest: Path = VENDOR) -> None:
    """``npm pack`` each package, check its integrity, unpack what the map needs to ``dest/<pkg>``.

    Raises:
        RuntimeError: npm missing or failing, or a tarball whose hash differs from the pin.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js (apt-get install npm) or set "
                           "LULC_MAP_ASSETS=cdn to load the map scripts from the internet")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{pkg}@{p.version}" for pkg, p in PACKAGES.items()]
        done = subprocess.run([npm, "pack", *specs, "--pack-destination", tmp],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"npm pack failed: {done.stderr.strip().splitlines()[-1:]}")
        for pkg, package in PACKAGES.items():
            tarball = Path(tmp) / f"{pkg}-{package.version}.tgz"
            if _integrity(tarball) != package.integrity:
                raise RuntimeError(f"{tarball.name} does not match its pinned sha512: not using it")
            staging = Path(tmp) / pkg
            inside = f"package/{package.folder}/".replace("//", "/")
            with tarfile.open(tarball) as tar:
                # a dist/ folder whole; from the top level only its files (no tests, no sources)
                members = [m for m in tar.getmembers() if m.name.startswith(inside)
                           and (m.isfile() or m.isdir())
                           and (package.folder or "/" not in m.name[len(inside):])]
                tar.extractall(staging, members=members, filter="data")
            unpacked = staging / inside
            if package.commonjs:
                source = (unpacked / package.commonjs).read_text(encoding="utf-8")
                wrapped = wrap_commonjs(source, f"{pkg} {package.version}")
                (unpacked / f"{pkg}.js").write_text(wrapped, encoding="utf-8")
            target = dest / pkg
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(unpacked, target)


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
    print(f"map assets ({', '.join(PACKAGES)}) installed in {VENDOR}")


if __name__ == "__main__":
    main()
