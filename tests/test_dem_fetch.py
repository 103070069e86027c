"""GLO-30 fetch, offline: the test writes a small COG named like a Copernicus tile and serves it from
127.0.0.1 with HTTP Range support; rasterio reads it through /vsicurl/."""
from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

from geo_app.water import terrain
from geo_app.water.terrain import DemError

TILE = "Copernicus_DSM_COG_10_N22_00_E103_00_DEM"


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with single-range support and counts the bytes sent (class attributes)."""

    sent = 0
    ranges = 0

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):  # noqa: N802
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        start, end = (0, size - 1)
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
            type(self).ranges += 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start + 1)
        self.wfile.write(data)
        type(self).sent += len(data)

    def do_HEAD(self):  # noqa: N802
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()


@pytest.fixture(scope="module")
def tile_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("glo30")
    # A synthetic 1°×1° tile at 1/3600° like GLO-30 would be 3600² cells; 1/1200° (1200²) keeps the test
    # fast while the COG still has many 256-px blocks, so a small window must not read them all.
    n = 1200
    tr = Affine(1 / n, 0, 103.0, 0, -1 / n, 23.0)
    r, c = np.mgrid[0:n, 0:n]
    z = (1000 + 0.5 * r + 0.25 * c).astype(np.float32)  # smooth, so resampling is checkable
    (root / TILE).mkdir()
    tif = root / TILE / f"{TILE}.tif"
    profile = dict(driver="GTiff", height=n, width=n, count=1, dtype="float32", crs="EPSG:4326", transform=tr)
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(z, 1)
        with mem.open() as ds:
            rio_copy(ds, tif, driver="COG", BLOCKSIZE=256, COMPRESS="DEFLATE")
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tif
    server.shutdown()
    server.server_close()


def test_tile_names_follow_copernicus():
    assert terrain.tile_name(22, 103) == TILE
    assert terrain.tile_name(-1, -70) == "Copernicus_DSM_COG_10_S01_00_W070_00_DEM"
    assert terrain.tile_url(22, 103, "http://x/").endswith(f"/{TILE}/{TILE}.tif")


def test_fetch_reads_only_a_window_reprojects_and_caches(tile_server, tmp_path):
    base, tif = tile_server
    _RangeHandler.sent = _RangeHandler.ranges = 0
    # ~3 km square round the VN-2000 check point (E 406 447, N 2 471 192)
    extent = (405000.0, 2469990.0, 408000.0, 2472990.0)  # multiples of 30 m
    dem = terrain.fetch_glo30(extent, base=base, cache_dir=tmp_path / "cache")
    assert dem.crs.to_epsg() == 9208 and dem.cellsize == (30.0, 30.0)
    assert dem.shape == (100, 100)
    assert not np.isnan(dem.array).any()
    assert _RangeHandler.ranges > 0
    assert _RangeHandler.sent < tif.stat().st_size / 2, "only the needed window should be transferred"
    # the value at the check point equals the tile's formula at its lon/lat (bilinear on a plane)
    row, col = int((extent[3] - 2471192) // 30), int((406447 - extent[0]) // 30)
    x = extent[0] + (col + 0.5) * 30
    y = extent[3] - (row + 0.5) * 30
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:9208", "EPSG:4326", always_xy=True).transform(x, y)
    expected = 1000 + 0.5 * ((23.0 - lat) * 1200 - 0.5) + 0.25 * ((lon - 103.0) * 1200 - 0.5)
    assert dem.array[row, col] == pytest.approx(expected, abs=0.05)

    cached = list((tmp_path / "cache").glob("glo30_*.tif"))
    assert len(cached) == 1
    # second call: from the cache, no HTTP traffic
    _RangeHandler.sent = 0
    again = terrain.fetch_glo30(extent, base=base, cache_dir=tmp_path / "cache")
    assert _RangeHandler.sent == 0
    np.testing.assert_array_equal(again.array, dem.array)
    assert any("sha256 verified" in n for n in again.notes)
    # a corrupted cache file fails its checksum and is fetched again
    with open(cached[0], "r+b") as fh:
        fh.seek(200)
        fh.write(b"\0\0\0\0")
    third = terrain.fetch_glo30(extent, base=base, cache_dir=tmp_path / "cache")
    assert not any("from cache" in n for n in third.notes)
    meta = json.loads(cached[0].with_suffix(".json").read_text())
    assert terrain.sha256_file(cached[0]) == meta["sha256"]
    np.testing.assert_array_equal(third.array, dem.array)


def test_fetch_outside_any_served_tile_is_a_clear_error(tile_server, tmp_path):
    base, _ = tile_server
    with pytest.raises(DemError, match="GLO-30.*no GLO-30 tile"):
        terrain.fetch_glo30((700000.0, 2600000.0, 701000.0, 2601000.0), base=base, cache_dir=tmp_path)


def test_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GEO_APP_DEM_BASE_URL", "http://mirror.example/dem/")
    assert terrain.fetch.base_url() == "http://mirror.example/dem"
    monkeypatch.delenv("GEO_APP_DEM_BASE_URL")
    assert terrain.fetch.base_url() == terrain.fetch.DEFAULT_BASE_URL
