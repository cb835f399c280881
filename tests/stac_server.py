"""A local STAC API + COG server on 127.0.0.1 for fetch tests (no internet needed)."""

from __future__ import annotations

import io
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _RangeHandler(SimpleHTTPRequestHandler):
    """Static files with HTTP Range support (GDAL's /vsicurl/ reads COGs by ranges)."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def send_head(self):
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start, _, end = rng.removeprefix("bytes=").partition("-")
        start, end = int(start), min(int(end or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data[start : end + 1])


class _StacHandler(_RangeHandler):
    def do_POST(self) -> None:  # /search: the prepared ItemCollection
        body = (Path(self.directory) / "search.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/geo+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(root: str, port_queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_StacHandler, directory=root))
    port_queue.put(server.server_address[1])
    server.serve_forever()


def stac_server(root: Path):
    """Serve ``root`` from another process: GDAL holds the GIL while it reads over HTTP, so a
    server thread in this process would deadlock."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(str(root), queue), daemon=True)
    proc.start()
    return proc, queue.get(timeout=30)
