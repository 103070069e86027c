"""Benchmark: the whole dossier (sheet + annex PDF, exports, manifest) for the largest product
area, lon-den-van-ban (~141 900 ha), on A3. Target: ≤ 3 s on the 2-core development machine.

    .venv/bin/python bench/bench_dossier.py [--runs 5]

Uses the layer store in GEO_APP_HOME (default var/), building it first if needed. Prints the
cold figure (a fresh interpreter: imports, first font loads, one dossier) and the warm figures
(further dossiers in the same process, as the web app or a notebook would make them).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRODUCT = "lon-den-van-ban"

COLD = """
import sys, time
t0 = time.perf_counter()
from geo_app.production.dossier import make_dossier
t1 = time.perf_counter()
make_dossier({product!r}, sys.argv[1])
t2 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from geo_app.build import build

    build(progress=False)  # a no-op when the store is up to date
    from geo_app.production.area import AdminLayers
    from geo_app.production.dossier import make_dossier

    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", COLD.format(product=PRODUCT), str(Path(tmp) / "cold")],
                             check=True, capture_output=True, text=True).stdout.split()
        cold_import, cold_dossier = float(out[0]), float(out[1])

        make_dossier(PRODUCT, Path(tmp) / "warmup")
        times, times_admin = [], []
        for i in range(args.runs):
            t = time.perf_counter()
            result = make_dossier(PRODUCT, Path(tmp) / f"run{i}")
            times.append(time.perf_counter() - t)
        admin = AdminLayers.from_store()
        for i in range(args.runs):
            t = time.perf_counter()
            make_dossier(PRODUCT, Path(tmp) / f"admin{i}", admin=admin)
            times_admin.append(time.perf_counter() - t)
        sizes = {p.name: p.stat().st_size for p in sorted(result.out_dir.iterdir())}

    print(f"dossier {PRODUCT}: {result.area_ha:,.0f} ha, A3, 1:{result.scale:,}, "
          f"{result.manifest['area']['boundary_points']} boundary points")
    print(f"  cold (fresh process): import {cold_import:.2f} s + dossier {cold_dossier:.2f} s "
          f"= {cold_import + cold_dossier:.2f} s")
    print(f"  warm, {args.runs} runs: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
          f"max {max(times):.2f} s")
    print(f"  warm, layers already read: median {statistics.median(times_admin):.2f} s")
    print("  files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))
    target = 3.0
    verdict = "within" if cold_dossier <= target else "OVER"
    print(f"  target ≤ {target:.0f} s for one dossier: {verdict}")


if __name__ == "__main__":
    main()
