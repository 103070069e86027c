"""Benchmark: the production-area workflow read from frozen boundaries, and confirming under load.

    .venv/bin/python bench/bench_workflow.py [--runs 5] [--skip-confirm]

Figures (targets from the workflow's requirements, on the 2-core development machine):
- the first product page after a cold start (a fresh process, store built, drafts seeded) ≤ 1 s;
- ``/products/areas.geojson`` warm ≤ 50 ms — compared in the same run with the map's own layer data
  (``/data/communes.geojson?zoom=9``), its peer;
- saving a draft of a whole former district ≤ 1 s;
- four dossiers made at once: under the process-wide render lock (threads, what the app does) versus
  one after another (the lock's floor) versus two worker processes (the alternative the lock was
  weighed against).

Uses a throw-away GEO_APP_HOME sharing the layer store of GEO_APP_HOME (default var/), built first if
needed. Say the load when quoting figures: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

COLD_PAGE = """
import sys, time
from geo_app.serve.web import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "bench"})
client = app.test_client()
t = time.perf_counter()
resp = client.get("/products/lon-den-van-ban")
print(f"{time.perf_counter() - t:.3f} {resp.status_code}")
"""


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _dossier(args):
    product_id, out = args
    from geo_app.production.dossier import make_dossier

    t = time.perf_counter()
    make_dossier(product_id, out, paper="A4")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-confirm", action="store_true")
    args = parser.parse_args()

    from geo_app.build import build
    from geo_app.settings import settings

    build(progress=False)
    store = settings().store_path
    home = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    (home / "layers.gpkg").symlink_to(store)
    os.environ["GEO_APP_HOME"] = str(home)

    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    t = time.perf_counter()
    workflow.seed_all()
    print(f"seeding the four products (resolve + check once each): {time.perf_counter() - t:.2f} s")

    cold = subprocess.run([sys.executable, "-c", COLD_PAGE], capture_output=True, text=True, env=os.environ)
    print(f"first product page after a cold start: {cold.stdout.split()[0]} s (target ≤ 1 s)")

    app = create_app({"TESTING": True, "SECRET_KEY": "bench"})
    client = app.test_client()
    client.get("/products/areas.geojson")
    client.get("/data/communes.geojson?zoom=9")
    areas = _timed(lambda: client.get("/products/areas.geojson", headers={"Accept-Encoding": "gzip"}), args.runs * 4)
    peer = _timed(lambda: client.get("/data/communes.geojson?zoom=9", headers={"Accept-Encoding": "gzip"}), args.runs * 4)
    print(f"/products/areas.geojson warm: median {statistics.median(areas) * 1000:.1f} ms (target ≤ 50 ms); "
          f"peer /data/communes.geojson?zoom=9: {statistics.median(peer) * 1000:.1f} ms")

    def save():
        current = workflow.latest("sa-bao-yen")
        workflow.save_draft("sa-bao-yen", "bench", {"former_districts": ["087"]}, edited_from=current.token)

    saves = _timed(save, args.runs)
    print(f"saving a draft of a whole former district (087): median {statistics.median(saves):.2f} s (target ≤ 1 s)")
    if args.skip_confirm:
        return

    products = sorted(workflow.products())
    ok = [p for p in products if workflow.latest(p).ok]
    out = Path(tempfile.mkdtemp(prefix="bench-dossiers-"))
    t = time.perf_counter()
    for pid in ok:
        _dossier((pid, out / f"seq-{pid}"))
    sequential = time.perf_counter() - t

    lock = workflow.RENDER_LOCK

    def locked(pid):
        with lock:
            _dossier((pid, out / f"thr-{pid}"))

    threads = [threading.Thread(target=locked, args=(pid,)) for pid in ok]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    threaded = time.perf_counter() - t

    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_dossier, [(pid, out / f"proc-{pid}") for pid in ok]))
    processes = time.perf_counter() - t
    print(f"{len(ok)} dossiers: one after another {sequential:.1f} s; at once under the render lock {threaded:.1f} s; "
          f"two worker processes {processes:.1f} s (process start-up and imports included)")


if __name__ == "__main__":
    main()
