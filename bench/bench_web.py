"""Web benchmarks (issue 4): bytes of the province view, and the items endpoint under load.

(a) Bytes transferred for the province view of the map page (HTML, every JS/CSS asset and the layer
    data the page loads at zoom 8) against a folium page embedding the same layers the way
    ``GeoDataFrame.explore()`` does (counting only its HTML: its CDN assets come on top).
(b) Requests/s and p95 latency of ``/collections/communes/items`` at 16 concurrent clients, this
    application against pygeoapi serving the same GeoPackage; both under waitress (8 threads) on
    127.0.0.1, started here, measured in one run with ApacheBench (``ab``, keep-alive).

pygeoapi's GeoPackage provider needs SQLite extension loading (mod_spatialite), which this venv's
Python lacks, so pygeoapi runs from a venv made with Debian's /usr/bin/python3 and
--system-site-packages (apt: python3-venv python3-gdal libsqlite3-mod-spatialite apache2-utils);
``ensure_peer()`` creates it under bench/out/ on first use.

    .venv/bin/python bench/bench_web.py            # or: make bench-web
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
PEER_VENV = OUT / "pygeoapi-venv"
APT_PACKAGES = ["python3-venv", "python3-gdal", "libsqlite3-mod-spatialite", "apache2-utils"]
MAP_LAYERS = ["communes", "former-districts", "province", "rivers", "peaks"]
ITEMS_QUERY = "limit=10&bbox=103.75,22.25,104.10,22.55"


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode(errors='replace') if proc.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def start_app(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = (
        "import sys; from waitress import serve; from geo_app.serve.web import create_app; "
        "serve(create_app(), host='127.0.0.1', port=int(sys.argv[1]), threads=8, _quiet=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], env={**os.environ, "GEO_APP_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/ogcapi/conformance", proc)
    return proc, base


def start_pygeoapi(store: Path, work: Path) -> tuple[subprocess.Popen, str]:
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
    proc = subprocess.Popen([str(PEER_VENV / "bin" / "waitress-serve"), "--host", "127.0.0.1", "--port", str(port),
                             "--threads", "8", "pygeoapi.flask_app:APP"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(base + "/conformance?f=json", proc)
    return proc, base


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


def run_ab(url: str, concurrency: int, requests: int, gzip_ok: bool, warm: int = 200) -> dict:
    urllib.request.urlopen(url, timeout=60).read()  # warm-up (caches)
    header = ["-H", "Accept-Encoding: gzip"] if gzip_ok else []
    cmd = ["ab", "-q", "-k", "-l", "-s", "120", *header, "-c", str(concurrency)]
    sh([*cmd, "-n", str(min(warm, requests)), url], stdout=subprocess.DEVNULL)
    for _attempt in range(2):  # ab -k sometimes stalls on a closed keep-alive connection: one retry
        run = subprocess.run([*cmd, "-n", str(requests), url], capture_output=True, text=True)
        if run.returncode == 0:
            break
    result = run.stdout
    if run.returncode != 0 or "Requests per second" not in result:
        done = re.search(r"Total of (\d+) requests completed", run.stderr + result)
        return {"error": (run.stderr.strip().splitlines() or ["ab failed"])[-1],
                "completed": int(done.group(1)) if done else None}
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", result).group(1))
    p50 = float(re.search(r"^\s+50%\s+(\d+)", result, re.M).group(1))
    p95 = float(re.search(r"^\s+95%\s+(\d+)", result, re.M).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", result).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", result)
    done = int(re.search(r"Complete requests:\s+(\d+)", result).group(1))
    size = int(re.search(r"HTML transferred:\s+(\d+)", result).group(1)) // max(done, 1)
    return {"rps": rps, "p50_ms": p50, "p95_ms": p95, "failed": failed,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "bytes_per_response": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--peer-requests", type=int, default=96, help="pygeoapi is ~300x slower: fewer requests")
    parser.add_argument("--skip-pygeoapi", action="store_true")
    parser.add_argument("--bytes-only", action="store_true",
                        help="part (a) only (bytes of the province view); keeps the other figures in bench_web.json")
    args = parser.parse_args()

    from geo_app.settings import settings

    home = settings().home
    store = settings().store_path
    if not store.exists():
        sys.exit(f"no layer store at {store}: run `geo-app build` (or make build) first")
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.skip_pygeoapi and not args.bytes_only:
        ensure_peer()
    results: dict = {}
    if args.bytes_only and (OUT / "bench_web.json").exists():
        results = json.loads((OUT / "bench_web.json").read_text(encoding="utf-8"))
    results["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    procs = []
    try:
        app, app_base = start_app(home)
        procs.append(app)
        view = province_view_bytes(app_base)
        explore = explore_bytes()
        results["province_view"] = view
        results["explore_page"] = explore
        results["ratio_raw"] = view["raw"]["total"] / explore["raw"]
        results["ratio_gzip"] = view["gzip"]["total"] / explore["gzip"]
        print(f"(a) province view: {view['raw']['total']:,} B ({view['gzip']['total']:,} B gzip) vs explore() page "
              f"{explore['raw']:,} B ({explore['gzip']:,} B gzip): 1/{1 / results['ratio_raw']:.0f} "
              f"(gzip 1/{1 / results['ratio_gzip']:.0f})")
        ours_url = f"{app_base}/ogcapi/collections/communes/items?{ITEMS_QUERY}"
        skip_peer = args.skip_pygeoapi or args.bytes_only
        if not skip_peer:
            work = Path(tempfile.mkdtemp(prefix="pygeoapi-", dir=OUT))
            peer, peer_base = start_pygeoapi(store, work)
            procs.append(peer)
        for label, gz in (("gzip", True), ("plain", False)) if not args.bytes_only else ():
            ours = run_ab(ours_url, args.concurrency, args.requests, gz)
            results[f"items_geo_app_{label}"] = ours
            print(f"(b) geo_app items [{label}]: {ours}")
            if skip_peer:
                continue
            theirs = run_ab(f"{peer_base}/collections/communes/items?f=json&{ITEMS_QUERY}", args.concurrency,
                            args.peer_requests, gz, warm=args.concurrency)
            results[f"items_pygeoapi_{label}"] = theirs
            print(f"(b) pygeoapi items [{label}]: {theirs}")
            if "rps" in theirs and "rps" in ours:
                results[f"speedup_{label}"] = ours["rps"] / theirs["rps"]
                print(f"    speed-up {ours['rps'] / theirs['rps']:.1f}x; p95 {ours['p95_ms']:.0f} ms vs {theirs['p95_ms']:.0f} ms")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    (OUT / "bench_web.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
