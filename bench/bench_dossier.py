"""Benchmark: the dossier (sheet + annex PDF, exports, manifest) of the largest product area,
lon-den-van-ban (~141 900 ha), on A3 — as an officer waits for it, and inside a process.

    .venv/bin/python bench/bench_dossier.py [--runs 3] [--json FILE]

What a person waits for:
- ``geo-app dossier lon-den-van-ban --out D --paper A3`` from process start to exit (median of the runs);
- the first such run in a fresh environment: an empty matplotlib config/cache folder (matplotlib then
  builds its font cache) and an empty bytecode cache (every module compiled again), as on a new
  machine or after an upgrade.
Beside them, in-process figures: the imports, one dossier in a fresh interpreter, and further dossiers
in a warm process (as the web application makes them). Uses the layer store in GEO_APP_HOME (default
var/), building it first if needed. Target: ≤ 3 s end to end as a command (the first figure).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRODUCT = "lon-den-van-ban"
TARGET_S = 3.0

COLD = """
import sys, time
t0 = time.perf_counter()
from geo_app.production.dossier import make_dossier
t1 = time.perf_counter()
make_dossier({product!r}, sys.argv[1])
t2 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}}")
"""


def cli() -> list[str]:
    """The installed ``geo-app`` command beside this interpreter (else ``python -m geo_app.cli``)."""
    script = Path(sys.executable).with_name("geo-app")
    return [str(script)] if script.exists() else [sys.executable, "-m", "geo_app.cli"]


def command_seconds(out: Path, env: dict | None = None) -> float:
    """Wall time of ``geo-app dossier`` from process start to exit; fails loudly with its output."""
    cmd = [*cli(), "dossier", PRODUCT, "--out", str(out), "--paper", "A3"]
    t = time.perf_counter()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({run.returncode}):\n{(run.stdout + run.stderr)[-3000:]}")
    return seconds


def fresh_environment(tmp: Path) -> dict:
    """Empty matplotlib config/cache and bytecode cache folders (nothing else changes)."""
    env = dict(os.environ)
    for var, name in (("MPLCONFIGDIR", "mpl"), ("XDG_CACHE_HOME", "xdg-cache"), ("PYTHONPYCACHEPREFIX", "pycache")):
        folder = tmp / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env[var] = str(folder)
    return env


def measure(runs: int) -> dict:
    from geo_app.build import build

    build(progress=False)  # a no-op when the store is up to date
    from geo_app.production.area import AdminLayers
    from geo_app.production.dossier import make_dossier

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        first = command_seconds(tmp / "first", fresh_environment(tmp / "fresh"))
        command = [command_seconds(tmp / f"cmd{i}") for i in range(runs)]
        out = subprocess.run([sys.executable, "-c", COLD.format(product=PRODUCT), str(tmp / "cold")],
                             check=True, capture_output=True, text=True).stdout.split()
        cold_import, cold_dossier = float(out[0]), float(out[1])
        make_dossier(PRODUCT, tmp / "warmup")
        warm, warm_admin = [], []
        for i in range(runs):
            t = time.perf_counter()
            result = make_dossier(PRODUCT, tmp / f"run{i}")
            warm.append(time.perf_counter() - t)
        admin = AdminLayers.from_store()
        for i in range(runs):
            t = time.perf_counter()
            make_dossier(PRODUCT, tmp / f"admin{i}", admin=admin)
            warm_admin.append(time.perf_counter() - t)
        sizes = {p.name: p.stat().st_size for p in sorted(result.out_dir.iterdir())}
    return {
        "product": PRODUCT, "area_ha": round(result.area_ha, 1), "paper": "A3", "scale": result.scale,
        "boundary_points": result.manifest["area"]["boundary_points"],
        "command_first_run_fresh_environment_s": round(first, 3),
        "command_s": {"median": round(statistics.median(command), 3), "min": round(min(command), 3),
                      "max": round(max(command), 3), "runs": runs},
        "in_process": {"imports_s": cold_import, "first_dossier_s": cold_dossier,
                       "warm_median_s": round(statistics.median(warm), 3), "warm_min_s": round(min(warm), 3),
                       "warm_max_s": round(max(warm), 3),
                       "warm_layers_read_median_s": round(statistics.median(warm_admin), 3)},
        "files_bytes": sizes, "target_warm_s": TARGET_S,
    }


def report(r: dict) -> None:
    c, p = r["command_s"], r["in_process"]
    print(f"dossier {r['product']}: {r['area_ha']:,.0f} ha, A3, 1:{r['scale']:,}, {r['boundary_points']} boundary points")
    print(f"  geo-app dossier, process start to exit: median {c['median']:.2f} s (min {c['min']:.2f}, "
          f"max {c['max']:.2f}, {c['runs']} runs)")
    print(f"  the same, first run in a fresh environment (font cache, bytecode): "
          f"{r['command_first_run_fresh_environment_s']:.2f} s")
    print(f"  in a fresh interpreter: imports {p['imports_s']:.2f} s + dossier {p['first_dossier_s']:.2f} s")
    print(f"  warm process: median {p['warm_median_s']:.2f} s (min {p['warm_min_s']:.2f}, max {p['warm_max_s']:.2f}); "
          f"layers already read: {p['warm_layers_read_median_s']:.2f} s")
    print("  files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in r["files_bytes"].items()))
    verdict = "within" if p["warm_median_s"] <= TARGET_S else "OVER"
    print(f"  target ≤ {TARGET_S:.0f} s for one dossier in a warm process: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = measure(args.runs)
    report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
