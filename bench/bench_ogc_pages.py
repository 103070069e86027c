"""Per-byte cost of a small OGC API page against a whole-layer page, in process (the Flask app's
WSGI client, gzip as GIS clients ask for it), after one warm-up each. The peer is the small page:
issue target, a whole-layer read within 2x the small page's cost per byte.

    GEO_APP_HOME=... python bench/bench_ogc_pages.py [--seconds 3]
"""
from __future__ import annotations

import argparse
import json
import time

from geo_app.serve.web import create_app

PAGES = {"small": "/ogcapi/collections/communes/items?limit=10&bbox=103.8,22.3,104.0,22.5",
         "whole-layer": "/ogcapi/collections/communes/items?limit=10000",
         "whole-layer-9208": "/ogcapi/collections/communes/items?limit=10000&crs=EPSG:9208"}


def measure(client, url: str, seconds: float) -> dict:
    headers = {"Accept-Encoding": "gzip"}
    size = len(client.get(url, headers=headers).data)  # warm-up: serialised and cached
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        client.get(url, headers=headers)
        n += 1
    elapsed = time.perf_counter() - start
    return {"requests_per_s": round(n / elapsed, 1), "bytes": size,
            "us_per_kb": round(elapsed / n / (size / 1024) * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    client = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}).test_client()
    out = {name: measure(client, url, args.seconds) for name, url in PAGES.items()}
    for name in ("whole-layer", "whole-layer-9208"):
        out[name]["per_byte_vs_small"] = round(out[name]["us_per_kb"] / out["small"]["us_per_kb"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
