"""Benchmark: N visitors at once on the Map explorer (issue #11: 20 sessions, <= 0.8 CPU-s of
server time per visitor on the cached preset).

Usage: python bench/concurrent_sessions.py [--sessions 5 10 20] [--limit 180]

One ``streamlit run`` on 127.0.0.1 and one headless Debian Chromium with N browser contexts
(N visitors, each with its own Streamlit session). Every visitor opens the app, picks Paris in the
sidebar, goes to the Map explorer from the sidebar and asks for an area; it succeeds when the
prediction panels are shown within ``--limit`` seconds. Two cases:

- ``cached``: the city-centre preset, which a warm-up visitor mapped first (what most
  visitors of a demo do): the server should only render;
- ``distinct``: every visitor types a different 4 x 4 km box in Paris (each one a new prediction).

Reported per case: successes, per-visitor latency (median, max), and the server's own CPU
seconds (user + system of the Streamlit process, read from /proc, not the machine's) divided
by N. The browser shares the 2 cores, so wall times include its work too. Loopback only;
every request leaving the app is aborted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRESET = "Centre (10 x 10 km)"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def distinct_boxes(n: int) -> list[str]:
    """``n`` different 4 x 4 km boxes (W,S,E,N) inside the Paris scene, on a 5 x 4 grid."""
    boxes = []
    for i in range(n):
        col, row = i % 5, (i // 5) % 4
        w, s = 2.20 + 0.06 * col, 48.78 + 0.04 * row
        boxes.append(f"{w:.3f},{s:.3f},{w + 0.054:.3f},{s + 0.036:.3f}")
    return boxes


async def visit(browser, url: str, box: str | None, limit: float) -> float | None:
    """One visitor: Map explorer, then the preset (``box`` None) or a typed box. Returns the
    seconds from opening the app to the panels being shown, or None on failure/time-out."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1600})
    page = await context.new_page()
    await page.route("**/*", lambda route: asyncio.ensure_future(
        route.continue_() if route.request.url.startswith((url, "data:", "blob:", "about:"))
        else route.abort()))
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=limit * 1000)
        city = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
        await city.click(timeout=limit * 1000)
        await page.get_by_role("option", name=re.compile(r"^Paris")).click(timeout=limit * 1000)
        nav = page.get_by_test_id("stSidebarNav").get_by_text("Map explorer", exact=True)
        await nav.click(timeout=limit * 1000)
        await page.get_by_role("heading", name="Map explorer", level=1).wait_for(timeout=limit * 1000)
        if box is None:
            await page.get_by_text(PRESET).click(timeout=limit * 1000)
        else:
            await page.get_by_text("Type a box").click(timeout=limit * 1000)
            field = page.get_by_label("Box (west,south,east,north in degrees)")
            await field.fill(box, timeout=limit * 1000)
            await field.press("Enter")
        remaining = max(limit - (time.perf_counter() - t0), 1)
        await page.get_by_text("Mapped ").first.wait_for(timeout=remaining * 1000)
        return time.perf_counter() - t0
    except Exception as e:  # a visitor's failure is a result to count, not a crash of the bench
        print(f"  visitor failed after {time.perf_counter() - t0:.0f} s: {type(e).__name__}: "
              f"{str(e).splitlines()[0][:120]}")
        return None
    finally:
        await context.close()


async def run_case(url: str, pid: int, chromium: str, n: int, distinct: bool, limit: float) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        boxes = distinct_boxes(n) if distinct else [None] * n
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        results = await asyncio.gather(*(visit(browser, url, b, limit) for b in boxes))
        wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
        await browser.close()
    ok = [r for r in results if r is not None]
    return {"n": n, "ok": len(ok), "median": statistics.median(ok) if ok else float("nan"),
            "max": max(ok) if ok else float("nan"), "wall": wall, "cpu_per_visitor": cpu / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--limit", type=float, default=180.0, help="seconds allowed per visitor")
    parser.add_argument("--cases", nargs="+", default=["cached", "distinct"],
                        choices=["cached", "distinct"])
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is not installed (apt-get install chromium)")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "LULC_ADMIN_TOKEN"}
    env["LULC_MAP_ASSETS"] = "local"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
                               "--server.headless", "true", "--server.address", "127.0.0.1",
                               "--server.port", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("streamlit did not start")
                time.sleep(0.3)
        # warm-up visitor: loads the model and maps the preset once (the cached case's premise)
        # (more time: it also imports the map stack, loads the model and predicts, unmeasured)
        warm = asyncio.run(run_case(url, server.pid, chromium, 1, False, 3 * args.limit))
        print(f"warm-up visitor: {warm['median']:.1f} s, server {warm['cpu_per_visitor']:.2f} CPU-s")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        for case in args.cases:
            for n in args.sessions:
                r = asyncio.run(run_case(url, server.pid, chromium, n, case == "distinct", args.limit))
                rows.append((case, r))
                print(f"{case:8s} {r['n']:3d} visitors: {r['ok']:3d}/{r['n']} ok, latency median "
                      f"{r['median']:6.1f} s max {r['max']:6.1f} s, wall {r['wall']:6.1f} s, server "
                      f"{r['cpu_per_visitor']:.2f} CPU-s per visitor, load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("\n| case | visitors | succeeded | latency median / max (s) | server CPU-s per visitor |")
    print("| --- | --- | --- | --- | --- |")
    for case, r in rows:
        print(f"| {case} | {r['n']} | {r['ok']}/{r['n']} | {r['median']:.1f} / {r['max']:.1f} | "
              f"{r['cpu_per_visitor']:.2f} |")


if __name__ == "__main__":
    main()
