"""Benchmark: how fast the dashboard answers (goals: each page's first render <= 3 s, a
10 x 10 km area prediction shown <= 2 s on 2 CPU cores).

Usage: python bench/dashboard_latency.py [--repeats 3] [--skip-pages]

- area: ``predict_area`` on the first preset of each place (a city's 10 x 10 km centre, the real
  Versailles sample's chateau) with the model the sidebar picks for it, loaded as the app loads
  it (``services.model``: fused BatchNorm), i.e. the work between drawing a box and seeing the
  maps; plus the one-off model load of a fresh server;
- pages: a real ``streamlit run`` on 127.0.0.1 and Debian's Chromium (Playwright): the app opened
  in a new browser (front-end start-up + Overview), then each page reached from the sidebar,
  timed from the click until the page's script run is over, first on the freshly started server
  (cold caches: the page's first render) and once more (warm); then, on another fresh server,
  the Map explorer on the real Versailles sample: chosen in the sidebar, the page's first render,
  and its whole scene mapped (U-Net prediction and EuroSAT patch map) from the preset's click.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# sidebar entry -> the page's title (h1), to know the new page is there
PAGES = {"Map explorer": "Map explorer", "City comparison": "City comparison",
         "Model evaluation": "Model evaluation", "EuroSAT classifier": "EuroSAT classifier",
         "Training": "Training", "Overview": "Land use from satellite images"}


def area_latency(repeats: int) -> None:
    from lulc_core.comparison import places
    from lulc_core.data.scene import list_scenes, scene_dir
    from lulc_core.geo import PRESET_AREAS
    from lulc_core.models import load_model
    from lulc_core.predict import predict_area
    from lulc_core.runs import city_model_name

    found = {p.name: p for p in places(list_scenes())}
    for name, presets in PRESET_AREAS.items():
        if name not in found:
            print(f"{name}: no scene (run lulc demo-data)")
            continue
        scene = found[name].scene_on(None).name
        t0 = time.perf_counter()
        model = load_model(city_model_name(found[name].city), fused=True)
        load_s = time.perf_counter() - t0
        aoi = next(iter(presets.values()))
        predict_area(model, scene_dir(scene), aoi)  # warm-up (first-call allocations)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            area = predict_area(model, scene_dir(scene), aoi)
            times.append(time.perf_counter() - t0)
        km2 = area.prediction.size * 1e-4
        print(f"{scene}: {km2:.0f} km2 area predicted in {statistics.median(times):.2f} s "
              f"(median of {repeats}; min {min(times):.2f} s); model load {load_s:.1f} s once per server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_done(tab, timeout: float = 120) -> None:
    """Until the page's script run is over (the app root says so once it has run)."""
    tab.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout * 1000)


@contextlib.contextmanager
def _browser_on_fresh_server() -> Iterator:
    """A Chromium tab (Playwright) and the URL of a freshly started ``streamlit run``."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "LULC_ADMIN_TOKEN"}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
                               "--server.headless", "true", "--server.address", "127.0.0.1",
                               "--server.port", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox"])
            yield browser.new_page(viewport={"width": 1400, "height": 1000}), url
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def page_latency() -> None:
    with _browser_on_fresh_server() as (tab, url):
        t0 = time.perf_counter()
        tab.goto(url)
        _wait_done(tab)
        print(f"app start in a new browser (Streamlit front end + Overview) {time.perf_counter() - t0:6.2f} s")
        for visit in ("first render, cold caches", "second render"):
            for title, heading in PAGES.items():
                t0 = time.perf_counter()
                tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                tab.get_by_role("heading", name=heading, level=1).wait_for(timeout=120_000)
                _wait_done(tab)
                print(f"page {title:20s} {visit:26s} {time.perf_counter() - t0:6.2f} s")


def real_sample_latency() -> None:
    from lulc_core.data.samples import SAMPLE_DATE, SITE
    from lulc_core.data.scene import MANIFEST, scene_dir

    if not (scene_dir(f"{SITE}-{SAMPLE_DATE}") / MANIFEST).is_file():
        print("real sample: not imported (run lulc demo-data)")
        return
    with _browser_on_fresh_server() as (tab, url):
        tab.goto(url)
        _wait_done(tab)
        tab.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        tab.get_by_role("option", name=f"{SITE.title()} (real Sentinel-2 L2A)").click()
        time.sleep(0.3)  # the rerun the choice asked for begins
        _wait_done(tab)
        t0 = time.perf_counter()
        tab.get_by_test_id("stSidebarNav").get_by_text("Map explorer", exact=True).click()
        tab.get_by_role("heading", name="Map explorer", level=1).wait_for(timeout=120_000)
        _wait_done(tab)
        print(f"page Map explorer on {SITE} first render, cold caches {time.perf_counter() - t0:6.2f} s")
        t0 = time.perf_counter()
        tab.get_by_text("Whole scene (").click()
        tab.get_by_text("EuroSAT patches (").first.wait_for(timeout=600_000)  # loads two models
        _wait_done(tab, 600)
        print(f"{SITE} whole scene mapped (U-Net + EuroSAT patches, cold) {time.perf_counter() - t0:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    area_latency(args.repeats)
    if not args.skip_pages:
        if shutil.which("chromium") is None:
            print("pages: Debian's chromium is not installed (apt-get install chromium)")
            return
        page_latency()
        real_sample_latency()


if __name__ == "__main__":
    main()
