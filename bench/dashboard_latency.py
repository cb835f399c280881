"""Benchmark: how fast the dashboard answers (goals: each page's first render <= 3 s, a
10 x 10 km area prediction shown <= 2 s on 2 CPU cores).

Usage: python bench/dashboard_latency.py [--repeats 3] [--skip-pages]

- area: ``predict_area`` on each city's 10 x 10 km preset with the model loaded as the app loads
  it (``services.model``: fused BatchNorm), i.e. the work between drawing a box and seeing the
  maps; plus the one-off model load of a fresh server;
- pages: a real ``streamlit run`` on 127.0.0.1 and Debian's Chromium (Playwright): the app opened
  in a new browser (front-end start-up + Overview), then each page reached from the sidebar,
  timed from the click until the page's script run is over, first on the freshly started server
  (cold caches: the page's first render) and once more (warm).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# sidebar entry -> the page's title (h1), to know the new page is there
PAGES = {"Map explorer": "Map explorer", "City comparison": "City comparison",
         "Model evaluation": "Model evaluation", "EuroSAT classifier": "EuroSAT classifier",
         "Training": "Training", "Overview": "Land use from satellite images"}


def area_latency(repeats: int) -> None:
    from lulc_core.data.scene import scene_dir
    from lulc_core.geo import PRESET_AREAS
    from lulc_core.models import load_model
    from lulc_core.predict import predict_area

    for city, presets in PRESET_AREAS.items():
        if not (scene_dir(city) / "manifest.json").is_file():
            print(f"{city}: no scene (run lulc demo-data)")
            continue
        t0 = time.perf_counter()
        model = load_model(f"unet-{city}", fused=True)
        load_s = time.perf_counter() - t0
        aoi = next(iter(presets.values()))
        predict_area(model, scene_dir(city), aoi)  # warm-up (first-call allocations)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            area = predict_area(model, scene_dir(city), aoi)
            times.append(time.perf_counter() - t0)
        km2 = area.prediction.size * 1e-4
        print(f"{city}: {km2:.0f} km2 area predicted in {statistics.median(times):.2f} s "
              f"(median of {repeats}; min {min(times):.2f} s); model load {load_s:.1f} s once per server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_done(tab, timeout: float = 120) -> None:
    """Until the page's script run is over (the app root says so once it has run)."""
    tab.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout * 1000)


def page_latency() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("pages: Debian's chromium is not installed (apt-get install chromium)")
        return
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
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
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
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    area_latency(args.repeats)
    if not args.skip_pages:
        page_latency()


if __name__ == "__main__":
    main()
