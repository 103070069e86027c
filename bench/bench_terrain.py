"""Terrain + groundwater-potential benchmark on a 4 000 × 4 000 DEM, against xarray-spatial.

    .venv/bin/python bench/bench_terrain.py [--size 4000] [--skip-peer] [--pipeline-only [--no-outputs]]

Each implementation runs in its own child process so its peak memory (ru_maxrss) is its own. The
peer, xarray-spatial ≥ 0.10 (its hydrology module needs Python ≥ 3.12), runs in a venv of its own,
created on first use at $XRS_VENV (default /tmp/xrs-venv) with ``PYENV_VERSION=3.12.1 python3.12``.
Both read the same synthetic DEM (.npy) and run the same steps: fill, D8 direction, accumulation,
slope + TWI. numba compilation is excluded by a warm-up on a small grid, for both. Not part of
``make test``. ``--pipeline-only``: what ``geo-app groundwater`` runs, step by step (peak RSS of each
step), through the ROC AUC, the areas per commune and the written outputs (``--no-outputs`` stops
after the classes).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

OURS = r'''
import json, resource, sys, tempfile, time
import numpy as np
from affine import Affine
from geo_app import STORE_CRS, terrain
from geo_app.water.groundwater import classify, load_ahp, load_reclass, renormalise, DEFAULT_AHP, DEFAULT_RECLASS
from geo_app.water.groundwater.potential import PotentialResult, weighted_overlay, write_outputs

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def steps(z, cell, timed):
    t, peak = {}, {}
    def run(name, f):
        t0 = time.perf_counter(); out = f(); t[name] = time.perf_counter() - t0; peak[name] = rss_mb(); return out
    filled = run("fill", lambda: terrain.fill_depressions(z, epsilon=True))
    d8 = run("d8", lambda: terrain.flow_direction_d8(filled, cell))
    del filled
    acc = run("accumulation", lambda: terrain.flow_accumulation(d8))
    slope = run("slope", lambda: terrain.slope(z, cell))
    twi = run("twi", lambda: terrain.twi(acc, slope, cell))
    if not timed:
        return t, peak
    # the rest of the potential model, block by block: drainage density (streams per block), reclass,
    # AHP overlay into the float32 index, 5 classes
    def potential():
        ahp, _ = load_ahp(DEFAULT_AHP); tables = load_reclass(DEFAULT_RECLASS)
        w = renormalise(ahp, ["slope", "twi", "drainage_density"])
        dd = terrain.drainage_density_blocks(acc, d8, cell, 100_000.0, 1000.0, np.ones(z.shape, bool))
        mask = np.ones(z.shape, bool)
        index = weighted_overlay({"slope": slope, "twi": twi, "drainage_density": dd}, tables, w, mask)
        return index, classify(index, mask), ahp, w
    index, cls, ahp, w = run("potential (streams, density, reclass, overlay, classes)", potential)
    del d8, acc, slope, twi
    # the outputs of `geo-app groundwater`: two COGs and the GeoPackage of class polygons
    result = PotentialResult(index, cls.classes, Affine(cell, 0, 400000.0, 0, -cell, 2500000.0), STORE_CRS, w, ahp,
                             [], cls.breaks, None, None, {"classes": cls.as_dict()})
    with tempfile.TemporaryDirectory() as tmp:
        run("write outputs (2 COGs + class polygons GeoPackage)", lambda: write_outputs(result, Path(tmp) / "out"))
    return t, peak

from pathlib import Path
z = np.load(sys.argv[1]).astype(np.float32)
steps(z[:64, :64].copy(), 30.0, False)  # compile (cached) outside the timing
base = rss_mb()
t, peak = steps(z, 30.0, True)
print(json.dumps({"times": t, "peak_rss_mb": rss_mb(), "peak_after_step_mb": peak, "rss_before_mb": base}))
'''

# The memory-bounded pipeline of `geo-app groundwater` (TerrainAnalysis.run_to_files + blockwise
# overlay + classes, ROC AUC, areas per commune, then the outputs), step by step, under the same GDAL
# cache cap (scratch_env): the peak RSS of each step.
PIPELINE = r'''
import json, resource, sys, tempfile, time
from pathlib import Path
import numpy as np
import geopandas as gpd
import shapely
from affine import Affine
from geo_app import STORE_CRS, terrain
from geo_app.water.groundwater import classify, load_ahp, load_reclass, renormalise, DEFAULT_AHP, DEFAULT_RECLASS
from geo_app.water.groundwater.potential import (PotentialResult, commune_class_areas_with_slivers, roc_auc_at_points,
                                           weighted_overlay, write_outputs)
from geo_app.water.terrain.blocks import scratch_env

def status_mb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

def reset_peak():
    # Linux ≥ 4.0: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS, so each
    # step's own peak is measured, not the high-water mark of an earlier step or of loading the DEM
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def pipeline(z, cell, folder, outputs):
    t, peak = {}, {}
    def run(name, f):
        reset_peak(); t0 = time.perf_counter(); out = f(); t[name] = time.perf_counter() - t0
        peak[name] = status_mb("VmHWM"); return out
    transform = Affine(cell, 0, 400000.0, 0, -cell, 2500000.0)
    dem = terrain.Dem(z, transform, STORE_CRS)
    mask = run("valid mask", lambda: dem.valid)
    files, _ = run("terrain to files (slope, fill in place, D8, accumulation, TWI, drainage density)",
                   lambda: terrain.TerrainAnalysis().run_to_files(dem, folder, consume_dem=True))
    ahp, _ = load_ahp(DEFAULT_AHP); tables = load_reclass(DEFAULT_RECLASS)
    w = renormalise(ahp, list(files))
    index = run("reclass + AHP overlay (blockwise) into the float32 index",
                lambda: weighted_overlay(files, tables, w, mask))
    cls = run("5 classes (blockwise quantiles) into uint8", lambda: classify(index, mask))
    if not outputs:
        return t, peak
    rows, cols = z.shape
    del dem, z
    # 200 seeded "springs" and a 4 × 4 grid of "communes" over the DEM
    rng = np.random.default_rng(1)
    x0, y0 = transform.c, transform.f
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x0 + rng.uniform(0, cols * cell, 200),
                                                       y0 - rng.uniform(0, rows * cell, 200)), crs=STORE_CRS)
    sw, sh = cols * cell / 4, rows * cell / 4
    communes = gpd.GeoDataFrame({"code": [f"{i:05d}" for i in range(16)], "full_name": [f"x{i}" for i in range(16)]},
                                geometry=[shapely.box(x0 + (i % 4) * sw, y0 - (i // 4 + 1) * sh, x0 + (i % 4 + 1) * sw,
                                                      y0 - (i // 4) * sh) for i in range(16)], crs=STORE_CRS)
    class Grid:
        pass
    grid = Grid(); grid.transform = transform; grid.cellsize = (cell, cell)
    auc, _ = run("ROC AUC at 200 points (blockwise)", lambda: roc_auc_at_points(index, transform, pts, mask))
    areas, _ = run("class areas per commune (16 communes, blockwise)",
                   lambda: commune_class_areas_with_slivers(cls.classes, grid, communes))
    result = PotentialResult(index, cls.classes, transform, STORE_CRS, w, ahp, [], cls.breaks, auc, areas,
                             {"classes": cls.as_dict()})
    run("write outputs (2 COGs + GeoPackage of the class polygons)", lambda: write_outputs(result, folder / "out"))
    return t, peak

z = np.load(sys.argv[1])  # float32 already: no copy
outputs = sys.argv[2] == "1"
with scratch_env():  # as groundwater_potential: GDAL's block cache capped for the run
    with tempfile.TemporaryDirectory() as tmp:
        pipeline(z[:64, :64].copy(), 30.0, Path(tmp), outputs)  # compile (cached) outside the timing
    base = status_mb("VmRSS")  # libraries + the DEM (4 B/cell), after the warm-up
    with tempfile.TemporaryDirectory() as tmp:
        t, peak = pipeline(z, 30.0, Path(tmp), outputs)
print(json.dumps({"times": t, "peak_rss_mb": max(peak.values()), "peak_after_step_mb": peak, "rss_before_mb": base}))
'''

PEER = r'''
import json, resource, sys, time
import numpy as np, xarray as xr
from xrspatial import slope as xslope
from xrspatial.hydro import fill_d8, flow_direction_d8, flow_accumulation_d8, twi_d8

def steps(z):
    t = {}
    def run(name, f):
        t0 = time.perf_counter(); out = f(); t[name] = time.perf_counter() - t0; return out
    n = z.shape
    agg = xr.DataArray(z, dims=("y", "x"), coords={"y": np.arange(n[0])[::-1] * 30.0, "x": np.arange(n[1]) * 30.0})
    filled = run("fill", lambda: fill_d8(agg))
    fd = run("d8", lambda: flow_direction_d8(filled))
    del filled
    acc = run("accumulation", lambda: flow_accumulation_d8(fd))
    s = run("slope", lambda: xslope(agg))
    run("twi", lambda: twi_d8(acc, s))
    return t

z = np.load(sys.argv[1]).astype(np.float32)
steps(z[:64, :64].copy())
t = steps(z)
import xrspatial
print(json.dumps({"times": t, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "version": xrspatial.__version__}))
'''


def synthetic_dem(n: int, path: Path) -> None:
    """Rolling relief with many closed depressions (sums of sines + seeded noise), float32."""
    import numpy as np

    rng = np.random.default_rng(42)
    r, c = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 1500 + 300 * np.sin(r / 310.0) * np.cos(c / 270.0) + 80 * np.sin(r / 37.0 + c / 53.0)
    z += 0.004 * (r + c) + rng.normal(0, 2.0, (n, n)).astype(np.float32)
    np.save(path, z.astype(np.float32))


def peer_python() -> Path:
    venv = Path(os.environ.get("XRS_VENV", "/tmp/xrs-venv"))
    py = venv / "bin" / "python"
    if not py.exists():
        env = dict(os.environ, PYENV_VERSION="3.12.1")
        subprocess.run(["python3.12", "-m", "venv", str(venv)], check=True, env=env)
    probe = subprocess.run([str(py), "-c", "import xrspatial.hydro"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "xarray-spatial>=0.10"], check=True)
    return py


def run(python: str, script: str, dem: Path, *args: str) -> dict:
    out = subprocess.run([python, "-c", script, str(dem), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_pipeline(size: int, pipe: dict) -> None:
    cells = size * size
    print(f"pipeline of `geo-app groundwater`, DEM {size} × {size}: peak RSS {pipe['peak_rss_mb']:.0f} MB; "
          f"RSS {pipe['rss_before_mb']:.0f} MB before it (libraries + the DEM, 4 B/cell); peak of each step, and "
          f"above that RSS per cell:")
    for step, mb in pipe["peak_after_step_mb"].items():
        above = (mb - pipe["rss_before_mb"]) * 2**20 / cells
        print(f"  {step:<84}{pipe['times'][step]:>8.2f} s{mb:>8.0f} MB  (+{above:.1f} B/cell)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--pipeline-only", action="store_true", help="only the memory-bounded pipeline (no peer)")
    ap.add_argument("--no-outputs", action="store_true",
                    help="pipeline without ROC, per-commune areas and the written outputs (fast)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dem = Path(tmp) / "dem.npy"
        synthetic_dem(args.size, dem)
        pipe = run(sys.executable, PIPELINE, dem, "0" if args.no_outputs else "1")
        print_pipeline(args.size, pipe)
        if args.pipeline_only:
            return
        ours = run(sys.executable, OURS, dem)
        peer = None if args.skip_peer else run(str(peer_python()), PEER, dem)
    print(f"DEM {args.size} × {args.size} (float32), cpus={os.cpu_count()}")
    print(f"{'step':<58}{'geo_app s':>10}{'xrspatial s':>13}")
    for step, sec in ours["times"].items():
        other = peer["times"].get(step) if peer else None
        print(f"{step:<58}{sec:>10.2f}{(f'{other:.2f}' if other is not None else '—'):>13}")
    core = ["fill", "d8", "accumulation", "slope", "twi"]
    tot = sum(ours["times"][k] for k in core)
    ptot = f"{sum(peer['times'][k] for k in core):.2f}" if peer else "—"
    pmem = f"{peer['peak_rss_mb']:.0f}" if peer else "—"
    print(f"{'total fill+D8+accumulation+slope+TWI':<58}{tot:>10.2f}{ptot:>13}")
    print(f"{'peak memory (RSS, MB)':<58}{ours['peak_rss_mb']:>10.0f}{pmem:>13}")
    print(f"geo_app peak RSS after imports, the DEM and warm-up: {ours['rss_before_mb']:.0f} MB; after each step:")
    for step, mb in ours["peak_after_step_mb"].items():
        print(f"  {step:<56}{mb:>10.0f}")
    if peer:
        print(f"xarray-spatial {peer['version']}")


if __name__ == "__main__":
    main()
