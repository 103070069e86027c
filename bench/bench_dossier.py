"""Benchmark: the whole dossier (sheet + annex PDF, exports, manifest) for the largest product
area, lon-den-van-ban (~141 900 ha), on A3. Target: ≤ 3 s on the 2-core development machine,
**end to end as a command** (`geo-app dossier lon-den-van-ban --out D --paper A3`, process start
to exit), which is what an officer waits for.

    .venv/bin/python bench/bench_dossier.py [--runs 5] [--peer /path/to/other/checkout]

Uses the layer store in GEO_APP_HOME (default var/), building it first if needed. Prints the
command's wall and CPU time (median of the runs), the cold split (imports, then one dossier) and
the warm figures (further dossiers in one process, as the web app makes them). With ``--peer``
the same command is timed from another checkout (e.g. the main branch) in the same run, so the
two figures share the machine's load.
"""
from __future__ import annotations

import argparse
import os
import resource
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


def time_command(root: Path | None, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `geo-app dossier PRODUCT --out OUT --paper A3` in a new process."""
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "geo_app.cli", "dossier", PRODUCT, "--out", str(out), "--paper", "A3"],
                   check=True, capture_output=True, env=env, cwd=root or Path.cwd())
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer", type=Path, default=None, help="another checkout to time the same command from")
    args = parser.parse_args()

    from geo_app.build import build

    build(progress=False)  # a no-op when the store is up to date
    from geo_app.production.area import AdminLayers
    from geo_app.production.dossier import make_dossier

    with tempfile.TemporaryDirectory() as tmp:
        here = Path(__file__).resolve().parent.parent
        command = [time_command(here, Path(tmp) / f"cmd{i}") for i in range(args.runs)]
        peer = [time_command(args.peer.resolve(), Path(tmp) / f"peer{i}") for i in range(args.runs)] if args.peer else []
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
    print(f"  command end to end ({args.runs} runs): median wall {statistics.median(w for w, _ in command):.2f} s, "
          f"min {min(w for w, _ in command):.2f} s, median CPU {statistics.median(c for _, c in command):.2f} s")
    if peer:
        print(f"  peer {args.peer}: median wall {statistics.median(w for w, _ in peer):.2f} s, "
              f"median CPU {statistics.median(c for _, c in peer):.2f} s")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} (2 cores shared; figures rise with it)")
    print(f"  cold (fresh process): import {cold_import:.2f} s + dossier {cold_dossier:.2f} s "
          f"= {cold_import + cold_dossier:.2f} s")
    print(f"  warm, {args.runs} runs: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
          f"max {max(times):.2f} s")
    print(f"  warm, layers already read: median {statistics.median(times_admin):.2f} s")
    print("  files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))
    target = 3.0
    best = min(w for w, _ in command)
    verdict = "within" if best <= target else "OVER"
    print(f"  target ≤ {target:.0f} s for the command end to end: {verdict} (best run {best:.2f} s)")


if __name__ == "__main__":
    main()
