"""Per-byte cost of OGC API pages at 16 clients: a small page (the peer) against a whole layer, in
CRS84 and EPSG:9208, and a small filtered page. The app runs under waitress (8 threads, its output
to a log file, stopped by its own process id); ApacheBench (``ab``, Debian apache2-utils) sends
keep-alive requests asking for gzip as GIS clients do. Target: a whole-layer read within 2x the
small page's cost per byte.

    GEO_APP_HOME=... python bench/bench_ogc_pages.py [--seconds 5] [--clients 16]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench_web import free_port, wait_for  # the web benchmark's server helpers (bench/ is the script's path)

PAGES = {
    "small": "/ogcapi/collections/communes/items?limit=10&bbox=103.75,22.25,104.10,22.55",
    "small-9208": "/ogcapi/collections/communes/items?limit=10&bbox=103.75,22.25,104.10,22.55&crs=EPSG:9208",
    "small-filter": "/ogcapi/collections/communes/items?limit=10&filter=kind%20%3D%20%27x%C3%A3%27%20AND%20area_ha%20%3E%205000",
    "whole-layer": "/ogcapi/collections/communes/items?limit=10000",
    "whole-layer-9208": "/ogcapi/collections/communes/items?limit=10000&crs=EPSG:9208",
}
SERVER = """
import sys
from waitress import serve
from geo_app.serve.web import create_app
app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "OFFLINE_MAP": True})
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8)
"""


def _ab(url: str, seconds: float, clients: int) -> dict:
    out = subprocess.run(["ab", "-q", "-k", "-t", str(seconds), "-n", "1000000", "-c", str(clients),
                          "-H", "Accept-Encoding: gzip", url], capture_output=True, text=True, timeout=seconds + 120)
    text = out.stdout
    rps = re.search(r"Requests per second:\s+([\d.]+)", text)
    size = re.search(r"Document Length:\s+(\d+)", text)
    p95 = re.search(r"\n\s+95%\s+(\d+)", text)
    failed = re.search(r"Failed requests:\s+(\d+)", text)
    if not rps or not size:
        raise RuntimeError(f"ab gave no figures for {url}: {text[-800:]} {out.stderr[-400:]}")
    rps_v, size_v = float(rps.group(1)), int(size.group(1))
    return {"requests_per_s": rps_v, "bytes": size_v, "p95_ms": int(p95.group(1)) if p95 else None,
            "failed": int(failed.group(1)) if failed else None,
            "us_per_kb": round(1e6 / rps_v / (size_v / 1024), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("ab"):
        sys.exit("ab (Debian apache2-utils) is needed")
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=fh, stderr=subprocess.STDOUT,
                                env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(base + "/ogcapi/conformance", proc, timeout=60)
        except RuntimeError as exc:
            sys.exit(f"{exc}; last lines of {log}:\n" + "\n".join(log.read_text().splitlines()[-20:]))
        for url in PAGES.values():  # warm-up: each page serialised and cached once
            urllib.request.urlopen(urllib.request.Request(base + url, headers={"Accept-Encoding": "gzip"}),
                                   timeout=120).read()
        load_before = os.getloadavg()
        out = {name: _ab(base + url, args.seconds, args.clients) for name, url in PAGES.items()}
        for name in out:
            out[name]["per_byte_vs_small"] = round(out[name]["us_per_kb"] / out["small"]["us_per_kb"], 3)
        out["machine"] = {"cores": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg(),
                          "clients": args.clients, "seconds": args.seconds}
        print(json.dumps(out, indent=2))
    finally:
        proc.terminate()  # our own server, by its process object
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    main()
