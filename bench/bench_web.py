"""Web benchmarks: what a visitor and a GIS client wait for, against the named peers, in one run.

(a) Bytes transferred for the province view of the map page (HTML, every JS/CSS asset and the layer
    data the page loads at zoom 8) against a folium page embedding the same layers the way
    ``GeoDataFrame.explore()`` does (counting only its HTML: its CDN assets come on top).
(b) Requests/s and p50/p95 latency of ``/collections/communes/items`` (a 10-feature page) at 16
    concurrent clients, this application against pygeoapi serving the same GeoPackage; both under
    waitress (8 threads) on 127.0.0.1, started here, measured with ApacheBench (``ab``, keep-alive).
(c) The full-layer read a GIS client makes (``items?limit=1000``: all 99 communes) at 16 clients, and its
    cost per byte against the 10-feature page of (b).
(d) The first map page in a fresh browser (Debian's Chromium through Playwright, empty cache): from
    navigation until every layer is drawn; and the same page again with the browser's cache.

The application runs as an operator runs it (``geo-app serve``). Every server writes its output to a log
file under bench/out/logs, is stopped by its own process id, and a server that stops answering fails the
run with its name and the end of its log (bench/servers.py) instead of hanging.

pygeoapi's GeoPackage provider needs SQLite extension loading (mod_spatialite), which this venv's
Python lacks, so pygeoapi runs from a venv made with Debian's /usr/bin/python3 and
--system-site-packages (apt: python3-venv python3-gdal libsqlite3-mod-spatialite apache2-utils);
``ensure_peer()`` creates it under bench/out/ on first use.

    .venv/bin/python bench/bench_web.py [--json FILE]     # or: make bench-web
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from servers import Server, ServerFailed, free_port, load, machine

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
LOGS = OUT / "logs"
PEER_VENV = OUT / "pygeoapi-venv"
APT_PACKAGES = ["python3-venv", "python3-gdal", "libsqlite3-mod-spatialite", "apache2-utils"]
MAP_LAYERS = ["communes", "former-districts", "province", "rivers", "peaks"]
ITEMS_QUERY = "limit=10&bbox=103.75,22.25,104.10,22.55"
FULL_LAYER_QUERY = "limit=1000"
CHROMIUM = os.environ.get("GEO_APP_CHROMIUM", "/usr/bin/chromium")


def sh(cmd, **kw):
    print("+", " ".join(map(str, cmd)), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def ensure_peer() -> Path:
    """The pygeoapi virtual environment (Debian python3 + system GDAL/spatialite)."""
    if not shutil.which("ab") or not Path("/usr/lib/x86_64-linux-gnu/mod_spatialite.so").exists() and not list(
        Path("/usr/lib").glob("*/mod_spatialite.so")
    ):
        if os.geteuid() == 0:
            sh(["apt-get", "update", "-qq"])
            sh(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        else:
            sys.exit("install first: sudo apt-get install -y " + " ".join(APT_PACKAGES))
    if not (PEER_VENV / "bin" / "pygeoapi").exists():
        sh(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(PEER_VENV)])
        sh([str(PEER_VENV / "bin" / "pip"), "install", "-q", "pygeoapi", "waitress"])
    return PEER_VENV


def start_app(home: Path) -> tuple[Server, str]:
    """``geo-app serve`` as an operator starts it, on a free port."""
    port = free_port()
    script = Path(sys.executable).with_name("geo-app")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "geo_app.cli"]
    server = Server(f"geo-app serve (port {port})", [*cmd, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    LOGS / f"geo-app-{port}.log", {**os.environ, "GEO_APP_HOME": str(home)})
    base = f"http://127.0.0.1:{port}"
    server.wait_http(base + "/ogcapi/conformance")
    return server, base


def start_pygeoapi(store: Path, work: Path) -> tuple[Server, str]:
    import yaml

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    resources = {}
    for layer in MAP_LAYERS:
        resources[layer] = {
            "type": "collection", "title": layer, "description": layer, "keywords": [layer],
            "extents": {"spatial": {"bbox": [102.9, 21.3, 105.2, 23.0],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{
                "type": "feature", "name": "SQLiteGPKG", "data": str(store), "id_field": "fid",
                "table": layer.replace("-", "_"),
                "storage_crs": "http://www.opengis.net/def/crs/EPSG/0/9208",
                "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/9208"],
            }],
        }
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port}, "url": base, "mimetype": "application/json; charset=UTF-8",
                   "encoding": "utf-8", "languages": ["en-US"], "gzip": True, "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"], "keywords_type": "theme",
                               "terms_of_service": "none", "url": base},
            "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
            "provider": {"name": "bench", "url": base}, "contact": {"name": "bench"},
        },
        "resources": resources,
    }
    cfg = work / "pygeoapi.yml"
    cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
    openapi = work / "openapi.yml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(openapi))
    sh([str(PEER_VENV / "bin" / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(openapi)],
       env=env, stdout=subprocess.DEVNULL)
    server = Server(f"pygeoapi (port {port})", [str(PEER_VENV / "bin" / "waitress-serve"), "--host", "127.0.0.1",
                                               "--port", str(port), "--threads", "8", "pygeoapi.flask_app:APP"],
                    LOGS / f"pygeoapi-{port}.log", env)
    server.wait_http(base + "/conformance?f=json")
    return server, base


def fetch(url: str, gzip_ok: bool) -> bytes:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def province_view_bytes(base: str) -> dict:
    """What a browser downloads for the province view (zoom 8): page, assets, layer data."""
    out = {}
    for label, gz in (("raw", False), ("gzip", True)):
        page = fetch(base + "/", gz)
        html = (gzip.decompress(page) if page[:2] == b"\x1f\x8b" else page).decode("utf-8")
        assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/[^"]+)"', html)
        total = len(page) + sum(len(fetch(base + a, gz)) for a in assets)
        config = json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))
        data = sum(len(fetch(base + d["url"] + "?zoom=8", gz)) for d in config["layers"])
        out[label] = {"page_and_assets": total, "data": data, "total": total + data}
    return out


def explore_bytes() -> dict:
    """The same layers embedded at full resolution, as GeoDataFrame.explore() does."""
    from geo_app import layers

    m = None
    for layer in MAP_LAYERS:
        frame = layers.read(layer)
        m = frame.explore(m=m, name=layer)
    html = m.get_root().render().encode("utf-8")
    return {"raw": len(html), "gzip": len(gzip.compress(html, 6))}


def run_ab(server: Server, url: str, concurrency: int, requests: int, gzip_ok: bool, warm: int = 200) -> dict:
    """ab against ``url`` after a warm-up; a server that stops answering fails the run, naming it."""
    header = ["-H", "Accept-Encoding: gzip"] if gzip_ok else []
    cmd = ["ab", "-q", "-k", "-l", "-s", "120", *header, "-c", str(concurrency)]
    try:
        urllib.request.urlopen(url, timeout=120).read()  # warm-up (caches)
    except OSError as exc:
        server.check()
        raise server.failed(f"did not answer {url}: {exc}") from None
    for n in (min(warm, requests), requests):
        run = subprocess.run([*cmd, "-n", str(n), url], capture_output=True, text=True)
        if run.returncode != 0 or "Requests per second" not in run.stdout:
            server.check()
            error = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise server.failed(f"did not answer ab ({error}) at {url}")
    result = run.stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", result).group(1))
    p50 = float(re.search(r"^\s+50%\s+(\d+)", result, re.M).group(1))
    p95 = float(re.search(r"^\s+95%\s+(\d+)", result, re.M).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", result).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", result)
    done = int(re.search(r"Complete requests:\s+(\d+)", result).group(1))
    size = int(re.search(r"HTML transferred:\s+(\d+)", result).group(1)) // max(done, 1)
    return {"rps": rps, "p50_ms": p50, "p95_ms": p95, "failed": failed, "requests": done,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "bytes_per_response": size}


VISIBLE_LAYERS_DRAWN = ("() => { const on = Array.from(document.querySelectorAll('#layer-list input:checked'));"
                        " return on.length > 0 && on.every(i => document.body.hasAttribute('data-loaded-' + i.id.slice(7))); }")


def first_map_page(base: str, runs: int) -> dict:
    """Navigation → every visible layer drawn, in a fresh browser context (empty cache), ``runs`` times;
    and a reload in the last context (assets from the browser's cache, layers revalidated)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed (pip install -e '.[test]')"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} missing (apt-get install chromium)"}
    fresh, again = [], None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                page = context.new_page()
                t = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_function(VISIBLE_LAYERS_DRAWN, timeout=120000)
                fresh.append(time.perf_counter() - t)
                t = time.perf_counter()
                page.reload()
                page.wait_for_function(VISIBLE_LAYERS_DRAWN, timeout=120000)
                again = time.perf_counter() - t
                context.close()
        finally:
            browser.close()
    return {"fresh_browser_median_s": round(statistics.median(fresh), 3), "fresh_browser_s": [round(x, 3) for x in fresh],
            "reload_with_cache_s": round(again, 3), "viewport": "1366x768"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--full-requests", type=int, default=300, help="requests of the full-layer read (c)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--peer-requests", type=int, default=96, help="pygeoapi is ~100x slower: fewer requests")
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument("--skip-pygeoapi", action="store_true")
    parser.add_argument("--bytes-only", action="store_true", help="part (a) only")
    parser.add_argument("--json", type=Path, default=OUT / "bench_web.json", help="where the figures go")
    args = parser.parse_args()

    from geo_app.settings import settings

    home = settings().home
    store = settings().store_path
    if not store.exists():
        sys.exit(f"no layer store at {store}: run `geo-app build` (or make build) first")
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.skip_pygeoapi and not args.bytes_only:
        ensure_peer()
    results: dict = {"machine": machine(), "load": {"before": load()}}
    servers: list[Server] = []
    try:
        app, app_base = start_app(home)
        servers.append(app)
        view = province_view_bytes(app_base)
        explore = explore_bytes()
        results.update(province_view=view, explore_page=explore, ratio_raw=view["raw"]["total"] / explore["raw"],
                       ratio_gzip=view["gzip"]["total"] / explore["gzip"])
        print(f"(a) province view: {view['raw']['total']:,} B ({view['gzip']['total']:,} B gzip) vs explore() page "
              f"{explore['raw']:,} B ({explore['gzip']:,} B gzip): 1/{1 / results['ratio_raw']:.0f} "
              f"(gzip 1/{1 / results['ratio_gzip']:.0f})")
        if not args.bytes_only:
            ours_url = f"{app_base}/ogcapi/collections/communes/items?{ITEMS_QUERY}"
            peer = None
            if not args.skip_pygeoapi:
                work = Path(tempfile.mkdtemp(prefix="pygeoapi-", dir=OUT))
                peer, peer_base = start_pygeoapi(store, work)
                servers.append(peer)
            for label, gz in (("gzip", True), ("plain", False)):
                ours = run_ab(app, ours_url, args.concurrency, args.requests, gz)
                results[f"items_geo_app_{label}"] = ours
                print(f"(b) geo_app items [{label}]: {ours}")
                if peer is None:
                    continue
                theirs = run_ab(peer, f"{peer_base}/collections/communes/items?f=json&{ITEMS_QUERY}", args.concurrency,
                                args.peer_requests, gz, warm=args.concurrency)
                results[f"items_pygeoapi_{label}"] = theirs
                results[f"speedup_{label}"] = ours["rps"] / theirs["rps"]
                print(f"(b) pygeoapi items [{label}]: {theirs}")
                print(f"    speed-up {ours['rps'] / theirs['rps']:.1f}x; p95 {ours['p95_ms']:.0f} ms vs "
                      f"{theirs['p95_ms']:.0f} ms")
            small = results["items_geo_app_gzip"]
            full = run_ab(app, f"{app_base}/ogcapi/collections/communes/items?{FULL_LAYER_QUERY}", args.concurrency,
                          args.full_requests, True, warm=args.concurrency)
            # seconds of server time per byte sent, the full layer against the 10-feature page
            full["cost_per_byte_vs_small_page"] = (small["rps"] * small["bytes_per_response"]) / (
                full["rps"] * full["bytes_per_response"])
            results["items_full_layer_gzip"] = full
            print(f"(c) full layer (limit=1000, gzip): {full}")
            results["first_map_page"] = first_map_page(app_base, args.browser_runs)
            print(f"(d) first map page: {results['first_map_page']}")
    except ServerFailed as exc:
        results["error"] = str(exc)
        raise
    finally:
        for server in servers:
            server.stop()
        results["load"]["after"] = load()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
