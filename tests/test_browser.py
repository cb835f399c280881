"""The real app in a real browser: `streamlit run` on 127.0.0.1 driven by Playwright in Debian's
Chromium. Visits every page, maps a preset area and a rectangle drawn on the Leaflet map, drags
the swipe map's divider, opens shared links and every page's URL in fresh browsers, and saves
screenshots under test-output/screenshots/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lulc_core.config import REPO_ROOT, scenes_dir

pytestmark = pytest.mark.browser
SHOTS = REPO_ROOT / "test-output" / "screenshots"
PAGES = ["Overview", "Map explorer", "City comparison", "Model evaluation", "EuroSAT classifier",
         "Training"]
PAGE_PATHS = {"Overview": "", "Map explorer": "map_explorer", "City comparison": "city_comparison",
              "Model evaluation": "model_evaluation", "EuroSAT classifier": "classifier",
              "Training": "training"}
MAP_FRAME = "iframe[title='streamlit_folium.st_folium']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve() -> Iterator[str]:
    """A fresh ``streamlit run app.py`` on a free local port; yields its URL."""
    if not (scenes_dir() / "paris" / "manifest.json").is_file():
        pytest.skip("demo scenes not built (make test runs `lulc demo-data` first)")
    port = _free_port()
    env = {**os.environ, "LULC_MAP_ASSETS": "local"}
    env.pop("LULC_ADMIN_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"), "--server.headless",
         "true", "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # busy in a script run: do not leave it behind
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with _serve() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def _new_tab(browser, app_url: str):
    """A tab in a fresh browser context (no cookies, no session), offline like the project
    machines: anything not served by the app itself fails."""
    # tall: the page scrolls inside
    tab = browser.new_context(viewport={"width": 1500, "height": 2600}).new_page()
    tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        (app_url, "data:", "blob:", "about:")) else route.abort())
    return tab


@pytest.fixture(scope="module")
def page(browser, app_url: str):
    tab = _new_tab(browser, app_url)
    tab.goto(app_url)
    tab.get_by_role("heading", name="Land use from satellite images").wait_for(timeout=60_000)
    yield tab
    tab.context.close()


def _open(tab, title: str) -> None:
    tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    _settle(tab)


def _settle(tab, timeout: float = 90) -> None:
    """Wait until the script run is over (Streamlit marks the app root when it is)."""
    time.sleep(0.3)  # let a rerun that a click just asked for begin
    tab.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout * 1000)


def _no_exception(tab) -> None:
    assert tab.get_by_test_id("stException").count() == 0, tab.get_by_test_id("stException").first.inner_text()


def test_every_page_renders(page) -> None:
    for title in PAGES:
        _open(page, title)
        _no_exception(page)
        page.get_by_role("heading", level=1).first.wait_for()
        page.screenshot(path=SHOTS / f"{title.lower().replace(' ', '_')}.png", full_page=True)


def test_map_explorer_preset_and_drawn_area(page) -> None:
    _open(page, "Map explorer")
    page.get_by_text("Centre (10 x 10 km)").click()
    _settle(page)
    # the preset (city centre) is mapped: three panels, confidence, legend
    for caption in ("Sentinel-2 true colour", "Urban Atlas (ground truth)", "Prediction (", "Confidence"):
        page.get_by_text(caption).first.wait_for(timeout=90_000)
    page.get_by_text("Legend and area per class").wait_for()
    assert page.get_by_test_id("stDataFrame").count() >= 1
    map_frame = page.frame_locator(MAP_FRAME).first  # the second one is the swipe map
    map_frame.locator(".leaflet-container").wait_for(timeout=30_000)
    assert map_frame.locator("img.leaflet-image-layer").count() >= 1  # the scene overlay
    page.screenshot(path=SHOTS / "map_explorer_preset.png", full_page=True)

    page.get_by_text("Draw on the map").click()
    _settle(page)
    map_frame.locator(".leaflet-draw-draw-rectangle").click()
    box = page.locator(MAP_FRAME).first.bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 50, steps=5)
    page.mouse.up()
    _settle(page)
    page.get_by_text("Mapped ").first.wait_for(timeout=90_000)
    _no_exception(page)
    page.screenshot(path=SHOTS / "map_explorer_drawn.png", full_page=True)


def test_map_pictures_are_served_files_that_load(page) -> None:
    """Overlays and panels come from /app/static/cache (dashboard.media), not data URLs, and the
    browser really gets them (inside the map's iframe too)."""
    _open(page, "Map explorer")
    page.get_by_text("Centre (10 x 10 km)").click()
    _settle(page)
    page.get_by_text("Mapped ").first.wait_for(timeout=90_000)
    panels = page.get_by_test_id("stImage").locator("img")
    panels.first.wait_for()
    maps = page.locator("iframe[title='streamlit_folium.st_folium']")
    maps.nth(1).wait_for(timeout=30_000)  # the Leaflet map and the swipe map
    layers = []
    for i in range(maps.count()):
        overlays = maps.nth(i).content_frame.locator("img.leaflet-image-layer")
        overlays.first.wait_for(timeout=30_000)
        layers.append(overlays)
    for images in (panels, *layers):
        sources = images.evaluate_all("imgs => imgs.map(i => [new URL(i.src).pathname, "
                                      "i.complete && i.naturalWidth > 0])")
        assert sources and all(src.startswith("/app/static/cache/") for src, _ in sources), sources
        assert all(loaded for _, loaded in sources), sources


def test_map_explorer_on_the_real_sample(page) -> None:
    if not (scenes_dir() / "versailles-2019-07-08" / "manifest.json").is_file():
        pytest.skip("real sample not imported (make test runs `lulc demo-data` first)")
    mapping = 300  # s: a first mapping loads two models; a busy machine is many times slower
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Versailles (real Sentinel-2 L2A)").click()
    _settle(page)
    _open(page, "Map explorer")
    page.get_by_text("Real Sentinel-2 L2A").first.wait_for()
    page.get_by_text("Whole scene (5 x 5 km)").click()
    _settle(page, mapping)
    for text in ("Sentinel-2 true colour", "not available for this sample", "Prediction (unet-paris)",
                 "Confidence", "EuroSAT patches ("):
        page.get_by_text(text).first.wait_for(timeout=mapping * 1000)
    _no_exception(page)
    map_frame = page.frame_locator(MAP_FRAME).first  # the second one is the swipe map
    # the scene picture and the patch layer (the prediction layer starts at opacity 0 here)
    map_frame.locator("img.leaflet-image-layer").nth(1).wait_for(timeout=30_000)
    page.screenshot(path=SHOTS / "map_explorer_versailles.png", full_page=True)

    dates = page.get_by_test_id("stSidebar").get_by_test_id("stRadio")
    if dates.count() == 0:
        pytest.skip("only the committed date: the shared data folder is not beside the clone")
    image = page.get_by_test_id("stImage").first.locator("img")
    before = image.get_attribute("src")
    dates.get_by_text("2019-07-03").click()
    _settle(page, mapping)
    page.get_by_text("on 2019-07-03").first.wait_for(timeout=mapping * 1000)
    _no_exception(page)
    assert image.get_attribute("src") != before  # another acquisition, another picture
    map_frame.locator("img.leaflet-image-layer").nth(1).wait_for(timeout=30_000)  # map redrawn
    page.screenshot(path=SHOTS / "map_explorer_versailles_2019-07-03.png", full_page=True)


def _swipe_state(frame) -> dict:
    """Where the swipe map's divider is, how each side's pane is clipped, and whether each
    side's picture has loaded (a decoded image has a natural width)."""
    return frame.locator(".leaflet-container").evaluate("""map => ({
        divider: parseFloat(map.querySelector('.leaflet-sbs-divider').style.left),
        clipLeft: map.querySelector('.leaflet-swipe-left-pane').style.clip,
        clipRight: map.querySelector('.leaflet-swipe-right-pane').style.clip,
        leftLoaded: map.querySelector('.leaflet-swipe-left-pane img').naturalWidth,
        rightLoaded: map.querySelector('.leaflet-swipe-right-pane img').naturalWidth,
    })""")


def _rect(clip: str) -> list[float]:
    """``rect(0px, 450px, 700px, 0px)`` -> [0, 450, 700, 0]."""
    return [float(v.strip().removesuffix("px")) for v in clip[5:-1].split(",")]


def _choose_place(tab, name: str) -> None:
    tab.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    tab.get_by_role("option", name=name).click()
    _settle(tab, timeout=300)


def _map_centre(tab) -> None:
    """Ankara's centre preset in the Map explorer (the first place: cached by the tests above)."""
    _choose_place(tab, "Ankara (synthetic demo)")
    tab.get_by_test_id("stSidebarNav").get_by_text("Map explorer", exact=True).click()
    _settle(tab, timeout=300)
    tab.get_by_text("Centre (10 x 10 km)").click()
    _settle(tab, timeout=300)
    tab.get_by_text("Compare two layers").wait_for(timeout=300_000)


def test_swipe_divider_drags_offline(page) -> None:
    _map_centre(page)
    frames = page.locator(MAP_FRAME)  # the area picker, then the swipe map
    swipe = page.frame_locator(MAP_FRAME).nth(1)
    swipe.locator(".leaflet-sbs-range").wait_for(state="attached", timeout=300_000)
    swipe.locator(".leaflet-swipe-right-pane img").wait_for(state="attached", timeout=60_000)
    frames.nth(1).wait_for(timeout=120_000)  # visible once the component reports its height
    time.sleep(1)  # let the two pictures decode
    before = _swipe_state(swipe)
    assert before["leftLoaded"] > 0 and before["rightLoaded"] > 0  # both layers rendered
    box = frames.nth(1).bounding_box()
    # the handle sits in the middle of the map: drag it 30 % of the width to the left
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 0.3 * box["width"], y, steps=10)
    page.mouse.up()
    after = _swipe_state(swipe)
    assert after["divider"] < before["divider"] - 0.2 * box["width"]
    # the left layer now stops at the divider, the right one starts there: CSS clip
    # rect(top, right, bottom, left) in layer coordinates, whose origin is the map's left edge
    _, right_edge, _, left_edge = _rect(after["clipLeft"])
    assert right_edge - left_edge == pytest.approx(after["divider"], abs=1)
    assert _rect(after["clipRight"])[3] == pytest.approx(right_edge, abs=1)
    # a legend beside the map, and the plain-language summary above it
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.get_by_text("is built up according to the model").wait_for()
    _no_exception(page)
    page.screenshot(path=SHOTS / "map_explorer_swipe.png", full_page=True)


def test_shared_link_reproduces_the_view(page, browser, app_url: str) -> None:
    _map_centre(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Right of the line").click()
    page.get_by_role("option", name="Confidence (dark = unsure)").click()
    _settle(page)
    link = page.url
    assert "area=" in link and "right=confidence" in link and "/map_explorer" in link

    other = _new_tab(browser, app_url)  # another person opening the link
    other.goto(link)
    _settle(other, timeout=300)
    other.get_by_text("Compare two layers").wait_for(timeout=300_000)
    _no_exception(other)
    assert other.get_by_role("radio", name="Centre (10 x 10 km)").is_checked()
    # the widgets' values, as the page writes them back into its own address
    assert all(part in other.url for part in ("city=ankara", "right=confidence", "left=image",
                                               "area=32.79%2C39.88%2C32.91%2C39.97"))
    other.screenshot(path=SHOTS / "map_explorer_shared_link.png", full_page=True)
    # a stale link: unknown place, box elsewhere: defaults and a plain message, no error
    other.goto(f"{app_url}/map_explorer?city=atlantis&area=10,10,10.1,10.1&model=gone")
    _settle(other, timeout=300)
    other.get_by_text("which this app does not have").first.wait_for(timeout=60_000)
    _no_exception(other)
    other.context.close()


def test_every_page_url_opens_inside_the_app(browser) -> None:
    """A page's URL opened directly, as a shared link or a reload does, on a server that has
    not served anything yet: the app's own navigation and sidebar, not Streamlit's file list."""
    with _serve() as url:
        for title in ["Map explorer", *[t for t in PAGES if t != "Map explorer"]]:
            tab = _new_tab(browser, url)
            tab.goto(f"{url}/{PAGE_PATHS[title]}")
            _settle(tab, timeout=300)
            nav = tab.get_by_test_id("stSidebarNav")
            nav.wait_for(timeout=300_000)
            assert nav.get_by_text(title, exact=True).count() == 1, nav.inner_text()
            assert "map explorer" not in nav.inner_text()  # the lower-case file listing
            sidebar = tab.get_by_test_id("stSidebar")
            for label in ("Place", "Map model"):  # the app's own sidebar, drawn by app.py
                sidebar.get_by_text(label, exact=True).wait_for(timeout=300_000)
            _settle(tab, timeout=300)
            _no_exception(tab)
            tab.context.close()
