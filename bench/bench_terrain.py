"""Terrain benchmark: fill, D8 and accumulation against the fastest peers, and the `geo-app groundwater` pipeline.

    python bench/bench_terrain.py [--sizes 4000 8000 | --size N] [--kinds pits dissected] [--tile 2048]
                                  [--peers wbw richdem pyflwdir xrspatial | --skip-peer]
    python bench/bench_terrain.py --pipeline-only [--size 4000] [--no-outputs]

Peers (each in a virtual environment of its own, made on first use under /tmp/terrain-peer-NAME with
``PYENV_VERSION=3.12.1 python3.12``; never part of the project): whitebox-workflows (Rust), RichDEM
(``richdem-fork``, C++), pyflwdir (numba) and xarray-spatial (numba). Every implementation runs in its own
child process on the same SYNTHETIC DEMs made here (``pits``: rolling relief with seeded noise, many closed
depressions; ``dissected``: ridged multi-scale relief like a mountain range, few pits), each step timed apart
(wall and CPU seconds, so CPU/wall tells the threads really used), and the peak RSS of the process after the
steps (its libraries, the DEM and every array it holds). numba compilation is excluded by a warm-up on a small
grid. A fast wrong answer must not count, so each peer's results are checked against ours in a separate
process: its filled DEM against our plain fill (which is unique: the lowest spill level of each cell), the
share of D8 directions identical to ours (native codes mapped to ESRI codes by running both on a cone), and the
accumulation at our outlets. Not part of ``make test``: run it by hand on a quiet machine and say the load.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Timing harness shared by every child: per step wall time, CPU time and the process's own peak RSS.
HARNESS = r"""
import json, os, resource, sys, time
import numpy as np
def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF); return u.ru_utime + u.ru_stime
def _rss():
    # VmHWM, not ru_maxrss: ru_maxrss survives fork + exec, so a child would report the benchmark
    # parent's peak (it made the DEM) instead of its own
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
with open("/proc/self/clear_refs", "w") as fh:  # Linux ≥ 4.0: the peak starts from this process's own RSS
    fh.write("5")
TIMES, CPU = {}, {}
def step(name, f):
    c0, t0 = _cpu(), time.perf_counter(); out = f(); TIMES[name] = time.perf_counter() - t0; CPU[name] = _cpu() - c0
    return out
def cone(n=41):
    r, c = np.mgrid[0:n, 0:n]
    return (2000.0 - 10.0 * np.hypot(r - n // 2, c - n // 2)).astype(np.float32)
def measured():
    # the figures of the DEM run, kept before the cone run that only calibrates direction codes
    global KEPT
    KEPT = (dict(TIMES), dict(CPU), _rss())
def report(outdir, threads, version, **arrays):
    for k, v in arrays.items():
        np.save(os.path.join(outdir, k + ".npy"), v)
    times, cpu, peak = KEPT
    print(json.dumps({"times": times, "cpu": cpu, "peak_rss_mb": peak, "threads": threads, "version": version}))
dem_npy, dem_tif, outdir = sys.argv[1:4]
"""

OURS = HARNESS + r"""
import numba
from geo_app.water import terrain
def run(z):
    filled = step("fill", lambda: terrain.fill_depressions(z, epsilon=True))
    d8 = step("d8", lambda: terrain.flow_direction_d8(filled, 30.0))
    acc = step("accumulation", lambda: terrain.flow_accumulation(d8, ~np.isnan(z)))
    return filled, d8, acc
run(cone()); TIMES.clear(); CPU.clear()
z = np.load(dem_npy)
filled, d8, acc = run(z)
measured()  # the peak of the three steps; the plain fill below is timed, not counted in the peak
plain = step("fill (plain, no ε)", lambda: terrain.fill_depressions(z))  # what pyflwdir and xarray-spatial do
KEPT[0]["fill (plain, no ε)"] = TIMES["fill (plain, no ε)"]
import geo_app
report(outdir, numba.get_num_threads(), geo_app.__version__, filled=filled, plain=plain, d8=d8, acc=acc,
       cone_d8=terrain.flow_direction_d8(cone(), 30.0))
"""

WBW = HARNESS + r"""
import whitebox_workflows as wbw
from importlib.metadata import version
e = wbw.WbEnvironment()
h = e.hydrology
def run(path):
    dem = e.read_raster(path, file_mode="m")
    filled = step("fill", lambda: h.fill_depressions(dem=dem))
    d8 = step("d8", lambda: h.d8_pointer(dem=filled, esri_pntr=True))
    acc = step("accumulation", lambda: h.d8_flow_accum(input=d8, out_type="cells", input_is_pointer=True,
                                                       esri_pntr=True))
    return filled, d8, acc
run(dem_tif.replace(".tif", "_cone.tif")); TIMES.clear(); CPU.clear()
filled, d8, acc = run(dem_tif)
measured()
_, cd8, _ = run(dem_tif.replace(".tif", "_cone.tif"))
report(outdir, os.cpu_count() if e.max_procs in (-1, None) else e.max_procs, version("whitebox-workflows"),
       filled=filled.to_numpy().astype(np.float32), d8=d8.to_numpy().astype(np.int16),
       acc=acc.to_numpy().astype(np.float64), cone_d8=cd8.to_numpy().astype(np.int16))
"""

RICHDEM = HARNESS + r"""
import richdem as rd
from importlib.metadata import version
def native(props):
    # FlowProportions gives, per cell, the share sent to each of its 8 neighbours (channels 1..8)
    p = np.asarray(props)[:, :, 1:]
    d = np.argmax(p, axis=2).astype(np.int16) + 1
    d[p.max(axis=2) <= 0] = 0
    return d
def run(z):
    dem = rd.rdarray(np.where(np.isnan(z), -9999, z).astype(np.float32), no_data=-9999)
    dem.geotransform = [0, 30, 0, 0, 0, -30]
    step("fill", lambda: rd.FillDepressions(dem, epsilon=True, in_place=True))
    props = step("d8", lambda: rd.FlowProportions(dem, method="D8"))
    acc = step("accumulation", lambda: rd.FlowAccumFromProps(props))
    return dem, props, acc
run(cone()); TIMES.clear(); CPU.clear()
dem, props, acc = run(np.load(dem_npy))
measured()
_, cprops, _ = run(cone())
filled = np.asarray(dem, dtype=np.float32); filled[filled == -9999] = np.nan
report(outdir, int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())), version("richdem-fork"),
       filled=filled, d8=native(props), acc=np.asarray(acc, dtype=np.float64), cone_d8=native(cprops))
"""

PYFLWDIR = HARNESS + r"""
import numba, pyflwdir
from pyflwdir import dem as pdem
def run(z):
    zz = np.where(np.isnan(z), -9999.0, z).astype(np.float32)
    filled, d8 = step("fill", lambda: pdem.fill_depressions(zz, nodata=-9999.0))  # gives D8 too
    flw = step("d8", lambda: pyflwdir.from_array(d8, ftype="d8", latlon=False, cache=False))
    acc = step("accumulation", lambda: flw.accuflux(np.ones(z.shape, np.float32)))
    return filled, d8, acc
run(cone()); TIMES.clear(); CPU.clear()
filled, d8, acc = run(np.load(dem_npy))
measured()
_, cd8, _ = run(cone())
filled = filled.astype(np.float32); filled[filled == -9999] = np.nan
d8 = d8.astype(np.int16); d8[d8 == 247] = 0; cd8 = cd8.astype(np.int16)
report(outdir, numba.get_num_threads(), pyflwdir.__version__, filled=filled, d8=d8,
       acc=acc.astype(np.float64), cone_d8=cd8)
"""

XRSPATIAL = HARNESS + r"""
import numba, xarray as xr, xrspatial
from xrspatial.hydro import fill_d8, flow_direction_d8, flow_accumulation_d8
def run(z):
    n = z.shape
    agg = xr.DataArray(z, dims=("y", "x"), coords={"y": np.arange(n[0])[::-1] * 30.0, "x": np.arange(n[1]) * 30.0})
    filled = step("fill", lambda: fill_d8(agg))
    fd = step("d8", lambda: flow_direction_d8(filled))
    acc = step("accumulation", lambda: flow_accumulation_d8(fd))
    return filled, fd, acc
run(cone()); TIMES.clear(); CPU.clear()
filled, fd, acc = run(np.load(dem_npy))
measured()
_, cfd, _ = run(cone())
def codes(a):
    a = np.asarray(a.values, dtype=np.float64); return np.where(np.isnan(a), 0, a).astype(np.int16)
report(outdir, numba.get_num_threads(), xrspatial.__version__, filled=np.asarray(filled.values, np.float32),
       d8=codes(fd), acc=np.asarray(acc.values, dtype=np.float64), cone_d8=codes(cfd))
"""

# The tiled scheme (fill from the DEM GeoTIFF, accumulation from our single-pass D8 written as a GeoTIFF), to
# check it against the single pass at full size and to see its memory: one tile + the edge graph.
OURS_TILED = HARNESS + r"""
import rasterio
from geo_app.water import terrain
tile = int(sys.argv[4])
# warm-up (numba compilation, cached) on the cone: tiles of 16 cells, so every stage runs
cone_tif = dem_tif.replace(".tif", "_cone.tif")
with rasterio.open(cone_tif) as src:
    cone_profile = src.profile
cone_profile.update(dtype="uint8", nodata=None)
with rasterio.open(os.path.join(outdir, "cone_d8.tif"), "w", **cone_profile) as dst:
    dst.write(terrain.flow_direction_d8(cone(), 30.0), 1)
terrain.fill_depressions(cone_tif, out=os.path.join(outdir, "cone_filled.tif"), tile=16)
terrain.flow_accumulation(os.path.join(outdir, "cone_d8.tif"), cone_tif, out=os.path.join(outdir, "cone_acc.tif"), tile=16)
d8 = np.load(os.path.join(outdir, "..", "ours", "d8.npy"))
with rasterio.open(dem_tif) as src:
    profile = src.profile
profile.update(dtype="uint8", nodata=None, tiled=True, blockxsize=256, blockysize=256)
# written under the same capped GDAL cache as the tiled functions (else GDAL keeps 5 % of RAM of it)
with rasterio.Env(GDAL_CACHEMAX=64), rasterio.open(os.path.join(outdir, "d8.tif"), "w", **profile) as dst:
    dst.write(d8, 1)
del d8
filled = step("fill", lambda: terrain.fill_depressions(dem_tif, out=os.path.join(outdir, "filled.tif"), tile=tile))
TIMES["d8"] = CPU["d8"] = float("nan")
acc = step("accumulation", lambda: terrain.flow_accumulation(os.path.join(outdir, "d8.tif"), dem_tif,
                                                             out=os.path.join(outdir, "acc.tif"), tile=tile))
measured()
with rasterio.open(filled) as a, rasterio.open(acc) as b:
    report(outdir, 1, f"tiles of {tile}²", filled=a.read(1), acc=b.read(1))
"""

TILED_CHECK = r"""
import json, sys
import numpy as np
ours, tiled = sys.argv[1:3]
plain, acc = np.load(f"{ours}/plain.npy"), np.load(f"{ours}/acc.npy")
print(json.dumps({"fill_bit_identical": bool(np.array_equal(np.load(f"{tiled}/filled.npy").view(np.uint32),
                                                            plain.view(np.uint32))),
                  "accumulation_identical": bool(np.array_equal(np.load(f"{tiled}/acc.npy"), acc))}))
"""

#: name → (label, pip requirement, child script)
PEERS = {
    "wbw": ("whitebox-workflows", "whitebox-workflows", WBW),
    "richdem": ("RichDEM (richdem-fork)", "richdem-fork", RICHDEM),
    "pyflwdir": ("pyflwdir", "pyflwdir", PYFLWDIR),
    "xrspatial": ("xarray-spatial", "xarray-spatial>=0.10", XRSPATIAL),
}

# Compares one peer's outputs with ours (run with our interpreter, in a process of its own).
CHECK = r"""
import json, sys
import numpy as np
ours, peer = sys.argv[1:3]
L = lambda d, k: np.load(f"{d}/{k}.npy")
valid = ~np.isnan(L(ours, "plain"))
plain, filled = L(ours, "plain"), L(peer, "filled")
diff = np.abs(filled.astype(np.float64) - plain)[valid]
# native direction codes → ours, learnt on the cone (every direction occurs there)
mine_c, theirs_c = L(ours, "cone_d8"), L(peer, "cone_d8")
mapping = {}
for code in np.unique(theirs_c):
    vals, counts = np.unique(mine_c[theirs_c == code], return_counts=True)
    mapping[int(code)] = int(vals[np.argmax(counts)])
theirs = L(peer, "d8")
lut = np.zeros(max(256, int(theirs.max()) + 1), np.int16)
for k, v in mapping.items():
    lut[k] = v
mapped = lut[np.clip(theirs, 0, None)]
d8 = L(ours, "d8")
acc, pacc = L(ours, "acc"), L(peer, "acc")
outlets = (d8 == 0) & valid
big = np.argsort(acc[outlets])[-10:]
# the peer's own outlets (no direction), wherever they are: the size of its largest catchment
theirs_out = (mapped == 0) & valid & np.isfinite(pacc)
print(json.dumps({
    "fill_equal": float((diff == 0).mean()), "fill_within_1cm": float((diff <= 0.01).mean()),
    "fill_max_diff_m": float(np.nanmax(diff)) if diff.size else 0.0,
    "d8_identical": float((mapped[valid] == d8[valid]).mean()),
    "outlets_equal": float((pacc[outlets] == acc[outlets]).mean()),
    "largest_outlets_equal": float((pacc[outlets][big] == acc[outlets][big]).mean()),
    "largest_outlet": [int(acc[outlets][big[-1]]), float(pacc[theirs_out].max()) if theirs_out.any() else None],
}))
"""


def pits_dem(n: int) -> np.ndarray:
    """SYNTHETIC rolling relief with many closed depressions (sums of sines + seeded noise), float32."""
    rng = np.random.default_rng(42)
    r, c = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 1500 + 300 * np.sin(r / 310.0) * np.cos(c / 270.0) + 80 * np.sin(r / 37.0 + c / 53.0)
    z += 0.004 * (r + c) + rng.normal(0, 2.0, (n, n)).astype(np.float32)
    return z.astype(np.float32)


def dissected_dem(n: int) -> np.ndarray:
    """SYNTHETIC relief dissected like a mountain range: ridged noise over six octaves (valleys where the
    folded noise is low), a regional tilt and 0.1 m of measurement noise; few, small closed pits."""
    from scipy.ndimage import zoom

    rng = np.random.default_rng(7)
    z = np.zeros((n, n), np.float32)
    for octave in range(6):
        k = 4 * 2 ** octave  # control points per side
        coarse = rng.standard_normal((k + 1, k + 1)).astype(np.float32)
        layer = zoom(coarse, n / (k + 1), order=3, output=np.float32)[:n, :n]
        z += (1.0 - np.abs(layer)) * (900.0 / 2 ** octave)
    r, c = np.mgrid[0:n, 0:n].astype(np.float32)
    z += 0.02 * (r + c) + rng.normal(0, 0.1, (n, n)).astype(np.float32)
    return z.astype(np.float32)


def write_tif(path: Path, z: np.ndarray) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="float32",
                       crs="EPSG:9208", transform=Affine(30, 0, 400000, 0, -30, 2500000), nodata=np.nan) as dst:
        dst.write(z, 1)


def peer_venv(name: str) -> Path:
    venv = Path(os.environ.get(f"{name.upper()}_VENV", f"/tmp/terrain-peer-{name}"))
    py = venv / "bin" / "python"
    if not py.exists():
        env = dict(os.environ, PYENV_VERSION="3.12.1")
        subprocess.run(["python3.12", "-m", "venv", str(venv)], check=True, env=env)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy", PEERS[name][1]], check=True)
    return py


def run(python: str, script: str, *args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    out = subprocess.run([python, "-c", script, *map(str, args)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{python}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(sizes, kinds, peers, tile) -> None:
    print(f"cpus={os.cpu_count()}, load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for size in sizes:
        for kind in kinds:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                z = (pits_dem if kind == "pits" else dissected_dem)(size)
                np.save(tmp / "dem.npy", z)
                write_tif(tmp / "dem.tif", z)
                r, c = np.mgrid[0:41, 0:41]
                write_tif(tmp / "dem_cone.tif", (2000.0 - 10.0 * np.hypot(r - 20, c - 20)).astype(np.float32))
                del z
                results = {}
                (tmp / "ours").mkdir()
                results["geo_app"] = run(sys.executable, OURS, tmp / "dem.npy", tmp / "dem.tif", tmp / "ours")
                if tile:
                    (tmp / "tiled").mkdir()
                    res = run(sys.executable, OURS_TILED, tmp / "dem.npy", tmp / "dem.tif", tmp / "tiled", tile)
                    res["tiled_check"] = run(sys.executable, TILED_CHECK, tmp / "ours", tmp / "tiled")
                    results["tiled"] = res
                for name in peers:
                    (tmp / name).mkdir()
                    try:
                        res = run(str(peer_venv(name)), PEERS[name][2], tmp / "dem.npy", tmp / "dem.tif", tmp / name)
                        res["check"] = run(sys.executable, CHECK, tmp / "ours", tmp / name)
                    except RuntimeError as exc:
                        res = {"error": str(exc)}
                    results[name] = res
                    for f in (tmp / name).glob("*.npy"):
                        f.unlink()
            print_table(size, kind, results)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def print_table(size, kind, results) -> None:
    print(f"\nDEM {size} × {size} ({kind}), wall s (CPU s / wall = threads really used)")
    print(f"{'':<24}{'fill':>16}{'d8':>16}{'accumulation':>16}{'peak MB':>9}{'threads':>8}  check against geo_app")
    for name, res in results.items():
        label = {"geo_app": "geo_app", "tiled": "geo_app tiled (plain)"}.get(name) or PEERS[name][0]
        if "error" in res:
            print(f"{label:<24}failed: {res['error'][-300:]}")
            continue
        cells = "".join(f"{res['times'][s]:>8.2f} ({res['cpu'][s] / max(res['times'][s], 1e-9):.1f})".rjust(16)
                        for s in ("fill", "d8", "accumulation"))
        chk = res.get("check")
        tc = res.get("tiled_check")
        note = (f"fill bit-identical to the single pass: {tc['fill_bit_identical']}; accumulation of our D8 "
                f"identical: {tc['accumulation_identical']}" if tc else
                f"(reference; fill with ε; its plain fill, as pyflwdir's and xarray-spatial's: "
                f"{res['times']['fill (plain, no ε)']:.2f} s, the checks' reference)" if chk is None else
                f"fill equal {chk['fill_equal']:.4f}, ≤1 cm {chk['fill_within_1cm']:.4f} (max {chk['fill_max_diff_m']:.3g} m); "
                f"D8 identical {chk['d8_identical']:.4f}; outlets equal {chk['outlets_equal']:.4f}, 10 largest "
                f"{chk['largest_outlets_equal']:.1f}; largest catchment {chk['largest_outlet'][0]} cells vs "
                f"{chk['largest_outlet'][1] if chk['largest_outlet'][1] is None else round(chk['largest_outlet'][1])}")
        print(f"{label:<24}{cells}{res['peak_rss_mb']:>9.0f}{res['threads']:>8}  {note}  [{res['version']}]")

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
from geo_app import STORE_CRS
from geo_app.water import terrain
from geo_app.water.groundwater import classify, load_ahp, load_reclass, renormalise, DEFAULT_AHP, DEFAULT_RECLASS
from geo_app.water.groundwater.areas import commune_class_areas_with_slivers
from geo_app.water.groundwater.outputs import write_outputs
from geo_app.water.groundwater.overlay import weighted_overlay
from geo_app.water.groundwater.potential import PotentialResult
from geo_app.water.groundwater.roc import roc_auc_at_points
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
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 8000])
    ap.add_argument("--kinds", nargs="+", choices=["pits", "dissected"], default=["pits", "dissected"])
    ap.add_argument("--peers", nargs="*", choices=list(PEERS), default=list(PEERS))
    ap.add_argument("--tile", type=int, default=2048, help="tile size of the tiled run (0: none)")
    ap.add_argument("--pipeline-only", action="store_true", help="only the memory-bounded pipeline (no peer)")
    ap.add_argument("--size", type=int, help="one DEM size (default 4000 for --pipeline-only)")
    ap.add_argument("--skip-peer", action="store_true", help="geo_app (single pass and tiled) only")
    ap.add_argument("--no-outputs", action="store_true",
                    help="pipeline without ROC, per-commune areas and the written outputs (fast)")
    args = ap.parse_args()
    if args.pipeline_only:
        size = args.size or 4000
        with tempfile.TemporaryDirectory() as tmp:
            dem = Path(tmp) / "dem.npy"
            np.save(dem, pits_dem(size))
            print_pipeline(size, run(sys.executable, PIPELINE, dem, "0" if args.no_outputs else "1"))
        return
    compare([args.size] if args.size else args.sizes, args.kinds, [] if args.skip_peer else args.peers, args.tile)


if __name__ == "__main__":
    main()
