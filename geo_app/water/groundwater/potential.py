"""Groundwater potential: factors → reclass scores → AHP weights → weighted overlay → 5 classes,
area per 2025 commune, ROC AUC against springs/wells, COG + GeoPackage outputs with provenance.

Nothing is written until every input has been checked and the result computed; the outputs are then
written to a temporary folder beside ``out_dir`` and moved into place, so a failing run leaves an
earlier result untouched. Identical inputs give byte-identical files (no timestamps anywhere).

Memory: the factor rasters are written to tiled scratch GeoTIFFs in a temporary folder
(``TerrainAnalysis.run_to_files``; extra factor rasters too), the reclass + AHP overlay
(:func:`weighted_overlay`) and the classes (:func:`classify`, exact quantiles from bounded
histograms) run block by block, the ROC AUC counts negatives block by block (positives marked per
block, no grid of them), the per-commune areas rasterise the communes block by block
(:func:`commune_class_counts`, no commune-id grid) and the COGs are written from tiled staging
files. What is held for the whole grid: the DEM (float32), the study-area mask (bool), the index
(float32) and classes (uint8) of the result, and during the terrain steps D8 (uint8) +
accumulation (uint32) + in-degree (uint8): at most ~15 bytes per cell with the DEM, plus GDAL's
block cache, capped at ``SCRATCH_CACHE_MB`` (64 MB) for the run by :func:`~geo_app.water.terrain.blocks.scratch_env`.
Not bounded per block: the GeoPackage polygons, one class at a time, whose memory follows the
number of regions of a class, not the grid: GDAL's polygoniser (``rasterio.features.shapes``) holds
every region of the class in an in-memory OGR layer (~600 bytes a region), then the class's WKB
(16 B a point) is assembled (:func:`_class_polygon_wkb`). Polygonising per block would cut regions
at block edges and change the file, so it is not done. Measured at 4 000² (salt-and-pepper synthetic
DEM, 1.2 M regions in its largest class): the outputs peak at +1 260 MB above the pipeline (was
+1 730 MB), of which the polygoniser ~760 MB; see the README.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject

from geo_app import STORE_CRS, __version__
from geo_app.errors import InputError
from geo_app.settings import DEFINITIONS_DIR
from geo_app.water.groundwater.ahp import AhpResult, load_ahp, renormalise
from geo_app.water.groundwater.inputs import VectorFactor, rasterize_factor, read_vector, resolve_points
from geo_app.water.groundwater.reclass import load_reclass
from geo_app.water.terrain import Dem, TerrainAnalysis, fill_holes, read_dem, sha256_file
from geo_app.water.terrain.blocks import DEFAULT_BLOCK, Source, block_windows, scratch_env, sink_for

DEFAULT_AHP = DEFINITIONS_DIR / "groundwater" / "ahp.yaml"
DEFAULT_RECLASS = DEFINITIONS_DIR / "groundwater" / "reclass.yaml"
#: Former Sa Pa town (thị xã Sa Pa, district code 088), the default study area.
DEFAULT_DISTRICT = "088"

CLASS_NAMES = (
    ("rất thấp", "very low"), ("thấp", "low"), ("trung bình", "moderate"), ("cao", "high"), ("rất cao", "very high"),
)
TERRAIN_FACTORS = ("slope", "drainage_density", "twi", "lineament_density")
CATEGORICAL = ("lithology", "land_use", "soil")
# Fixed so that GeoPackage metadata timestamps do not change between identical runs.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


class PotentialError(InputError):
    pass


@dataclass
class PotentialResult:
    index: np.ndarray  # weighted score, float32, NaN outside the study area
    classes: np.ndarray  # 1..5, 0 = no data (uint8)
    transform: object
    crs: str
    weights: dict
    ahp: AhpResult
    dropped: list
    breaks: list
    auc: float | None
    commune_areas: object  # DataFrame
    provenance: dict
    files: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # the notes that change how to read the result (also in notes)


def default_extent():
    """Bounds and outline of the former Sa Pa town (district 088) from the layer store, in EPSG:9208."""
    from geo_app import layers

    districts = layers.read("former-districts")
    sapa = districts[districts["code"].astype(str) == DEFAULT_DISTRICT]
    if sapa.empty:
        raise PotentialError("Không thấy thị xã Sa Pa (cũ), mã 088, trong kho lớp / district 088 not in the store")
    geom = sapa.geometry.union_all()
    return tuple(float(v) for v in geom.bounds), geom


def groundwater_potential(
    dem, out_dir=None, extent=None, springs=None, factors: dict | None = None, lineaments=None,
    ahp=None, reclass=None, terrain: TerrainAnalysis | None = None, communes=None, area_geom=None,
    max_nodata_fraction: float = 0.05,
) -> PotentialResult:
    """Run the potential model and, when ``out_dir`` is given, write its files.

    - ``dem``: a :class:`~geo_app.water.terrain.Dem` or a GeoTIFF path; ``extent`` (EPSG:9208) cuts it.
      With neither extent nor a Dem, the default is the former Sa Pa town (district 088), masked to
      its outline.
    - ``factors``: extra factor rasters by name (``lithology``, ``rainfall``, ``land_use``, ``soil``),
      GeoTIFF paths, arrays already on the DEM grid, or for a categorical factor polygons with a
      field, ``VectorFactor(file_or_frame, field)``, rasterised on the DEM grid (cell centres). Factors
      of the AHP matrix with no data are dropped and the weights of the others rescaled; the
      provenance lists them.
    - ``springs``: points (GeoDataFrame or vector file) of springs/wells for the ROC AUC, or
      ``"inventory"``: the springs, wells and boreholes of the saved water-source inventory.
    - ``lineaments``: lines (GeoDataFrame or vector file) for lineament density.
    Vector files are read by ``geo_app.importers.read_features`` (any format the importer reads).
    """
    terrain = terrain or TerrainAnalysis()
    ahp_path = Path(ahp) if ahp else DEFAULT_AHP
    reclass_path = Path(reclass) if reclass else DEFAULT_RECLASS
    ahp_result, ahp_raw = load_ahp(ahp_path)
    tables = load_reclass(reclass_path)
    inputs = {f"ahp:{ahp_path.name}": sha256_file(ahp_path), f"reclass:{reclass_path.name}": sha256_file(reclass_path)}

    own_dem = not isinstance(dem, Dem)  # a DEM read here may be filled in place (the caller's Dem is not)
    if isinstance(dem, Dem):
        grid = dem
    else:
        if extent is None:
            extent, area_geom = default_extent()
        grid = read_dem(dem, extent=extent)
    filled_holes = fill_holes(grid, max_fraction=max_nodata_fraction)
    own_dem = own_dem or filled_holes.array is not grid.array
    grid = filled_holes
    inputs.update({f"dem:{k}": v for k, v in grid.sources.items()})
    notes = list(grid.notes)
    mask = grid.valid.copy()
    if area_geom is not None:
        from rasterio.features import geometry_mask

        mask &= ~geometry_mask([area_geom], grid.shape, grid.transform, all_touched=False)
        notes.append("vùng nghiên cứu cắt theo ranh giới thị xã Sa Pa (cũ), mã 088 / "
                     "study area masked to the outline of the former Sa Pa town (district 088)")

    lines = read_vector(lineaments, "lineaments", inputs, error=PotentialError) if lineaments is not None else None
    scratch = tempfile.TemporaryDirectory(prefix="geo-app-potential-")
    try:
        with scratch_env():  # GDAL's block cache capped for the run (scratch files and outputs)
            return _potential(grid, mask, lines, terrain, factors, tables, reclass_path, ahp_path, ahp_result, ahp_raw,
                              inputs, notes, springs, communes, out_dir, Path(scratch.name), own_dem)
    finally:
        scratch.cleanup()


def _potential(grid, mask, lines, terrain, factors, tables, reclass_path, ahp_path, ahp_result, ahp_raw, inputs, notes,
               springs, communes, out_dir, scratch: Path, own_dem: bool) -> PotentialResult:
    # the factor rasters go to tiled scratch GeoTIFFs; only fill/D8/accumulation hold the whole grid
    layers, terrain_notes = terrain.run_to_files(grid, scratch, lineaments=lines, consume_dem=own_dem)
    notes += terrain_notes
    for name, value in (factors or {}).items():
        if isinstance(value, VectorFactor):
            if name not in CATEGORICAL or name not in tables:
                raise PotentialError(
                    f"Yếu tố '{name}' từ vùng (polygon) cần bảng phân loại theo mã trong {reclass_path.name} / "
                    f"a polygon factor needs a categorical reclass table ({', '.join(CATEGORICAL)})")
            layers[name] = rasterize_factor(name, value, grid, tables[name], inputs, notes, error=PotentialError)
        else:
            layers[name] = _factor_on_grid(name, value, grid, inputs)
        if not isinstance(value, np.ndarray):  # ours: to a scratch GeoTIFF, so the factors are not all held
            path = scratch / f"factor_{len(layers)}.tif"
            sink = sink_for(path, grid.shape, np.float32, np.nan)
            sink.write(layers[name], 0, 0)
            layers[name] = sink.close()

    available = [f for f in ahp_result.factors if f in layers]
    dropped = [f for f in ahp_result.factors if f not in layers]
    unused = sorted(set(layers) - set(ahp_result.factors))
    if unused:
        raise PotentialError(
            f"Yếu tố {unused} không có trong ma trận AHP {ahp_path.name} / factors {unused} are not in the AHP matrix"
        )
    weights = renormalise(ahp_result, available)
    if dropped:
        notes.append(
            f"bỏ các yếu tố thiếu dữ liệu: {', '.join(dropped)}; trọng số các yếu tố còn lại được chuẩn hóa lại cho tổng "
            f"bằng 1 / factors dropped for lack of data: {', '.join(dropped)}; weights of the others renormalised to "
            "sum to 1"
        )
    missing_tables = [f for f in available if f not in tables]
    if missing_tables:
        raise PotentialError(
            f"Thiếu bảng phân loại cho {missing_tables} trong {reclass_path.name} / no reclass table for {missing_tables}"
        )

    index = weighted_overlay({name: layers[name] for name in available}, tables, weights, mask)
    if not mask.any():
        raise PotentialError("Không có ô nào đủ dữ liệu cho mọi yếu tố / no cell has data for every factor")

    method = (ahp_raw.get("classes") or {}).get("method", "quantile")
    cls = classify(index, mask, method)
    classes, breaks = cls.classes, cls.breaks
    notes += cls.notes
    warnings = list(cls.notes)
    auc = None
    if springs is not None:
        points = resolve_points(springs, "springs", inputs, error=PotentialError)
        auc, n_pos = roc_auc_at_points(index, grid.transform, points, mask)
        notes.append(f"ROC AUC so với {n_pos} mạch lộ/giếng trong vùng nghiên cứu / "
                     f"ROC AUC against {n_pos} springs/wells inside the study area")
    found = commune_class_areas_with_slivers(classes, grid, communes)
    areas, slivers = found if found is not None else (None, [])
    if areas is None:
        notes.append("chưa tính diện tích theo xã (2025): kho lớp chưa được dựng / "
                     "area per 2025 commune not computed: the layer store is not built")
    if slivers:
        shown = ", ".join(f"{c['commune_name']} {c['overlap_ha']:g} ha" for c in slivers)
        notes.append(
            f"bỏ {len(slivers)} xã chỉ chạm vùng nghiên cứu do lệch ranh giới (phần chung < {MIN_COMMUNE_OVERLAP_HA:g} ha "
            f"hoặc < {100 * MIN_COMMUNE_OVERLAP_FRACTION:g} % diện tích xã): {shown} / {len(slivers)} communes left out "
            f"of the per-commune areas as boundary slivers (overlap < {MIN_COMMUNE_OVERLAP_HA:g} ha or < "
            f"{100 * MIN_COMMUNE_OVERLAP_FRACTION:g} % of the commune): {shown}")
        warnings.append(notes[-1])

    provenance = {
        "software": f"geo-app {__version__}",
        "crs": STORE_CRS,
        "resolution_m": grid.cellsize[0],
        "bounds": [round(v, 3) for v in grid.bounds],
        "inputs_sha256": dict(sorted(inputs.items())),
        "ahp": ahp_result.as_dict(),
        "ahp_status": ahp_raw.get("status", ""),
        "weights_used": {k: round(v, 6) for k, v in weights.items()},
        "factors_dropped": dropped,
        "classes": cls.as_dict(),
        "communes_left_out": {"rule": {"min_overlap_ha": MIN_COMMUNE_OVERLAP_HA,
                                       "min_overlap_fraction": MIN_COMMUNE_OVERLAP_FRACTION},
                              "communes": slivers},
        "roc_auc": None if auc is None else round(auc, 6),
        "notes": notes,
    }
    result = PotentialResult(index, classes, grid.transform, STORE_CRS, weights, ahp_result, dropped, breaks,
                             auc, areas, provenance, warnings=warnings)
    if out_dir is not None:
        result.files = write_outputs(result, Path(out_dir))
    return result


def weighted_overlay(layers: dict, tables: dict, weights: dict, mask: np.ndarray, out=None,
                     block: int = DEFAULT_BLOCK):
    """AHP weighted overlay of reclassed factors, block by block: index = Σ wᵢ · scoreᵢ (float32).

    ``layers``: factor rasters by name, in the order they are summed, each an array on the grid or a
    GeoTIFF path; ``tables``: the reclass tables; ``weights``: the weight of each factor. ``mask``
    (bool) is updated in place: a cell lacking any factor's score leaves it. The index is NaN outside
    the mask. ``out``: an array to fill, a path (a tiled float32 GeoTIFF) or None (a new array).

    Per cell this is exactly the whole-array computation (same float32 operations, same order), but
    the working memory is the reclassed scores and temporaries of one block (``block`` cells a side)
    per factor, whatever the size of the grid. A reclass error names the values of the block where
    it was found.
    """
    sources = {name: Source(value, np.float32) for name, value in layers.items()}
    try:
        with sink_for(out, mask.shape, np.float32, np.nan) as sink:
            for r0, r1, c0, c1 in block_windows(mask.shape, block):
                m = mask[r0:r1, c0:c1]  # a view: updated in place
                index = np.zeros(m.shape, dtype=np.float32)
                for name, src in sources.items():
                    scores = tables[name].apply(np.where(m, src.read(r0, r1, c0, c1), np.nan))
                    m &= ~np.isnan(scores)  # a cell lacking any used factor has no index
                    index += np.float32(weights[name]) * np.nan_to_num(scores, nan=0.0)
                    del scores
                index[~m] = np.nan
                sink.write(index, r0, c0)
            return sink.close()
    finally:
        for src in sources.values():
            src.close()


@dataclass
class Classification:
    """The n classes, their n − 1 inner breaks and what was done to get them (for the report)."""

    classes: np.ndarray  # uint8, 1..n, 0 outside the mask
    breaks: list  # strictly increasing, float32 values; class k holds breaks[k-2] <= index < breaks[k-1]
    method: str  # what was asked (quantile, equal_interval)
    method_used: str  # quantile | quantile, unique-value-aware | equal_interval
    cells: list  # cells per class, 1..n
    empty: list  # classes with no cell
    adjusted: bool  # the breaks of ``method`` were not strictly increasing or left a class empty
    notes: list  # Vietnamese / English

    def __iter__(self):  # ``classes, breaks = classify(...)`` as before
        return iter((self.classes, self.breaks))

    def as_dict(self) -> dict:
        return {"method": self.method, "method_used": self.method_used,
                "breaks": [round(b, 6) for b in self.breaks], "breaks_adjusted": self.adjusted,
                "cells": self.cells, "empty_classes": self.empty,
                "names": [f"{vi} / {en}" for vi, en in CLASS_NAMES]}


def classify(index, mask: np.ndarray, method: str = "quantile", n: int = 5, out=None,
             block: int = DEFAULT_BLOCK) -> Classification:
    """Classes 1..n (uint8, 0 outside ``mask``) with n − 1 strictly increasing inner breaks.

    ``quantile``: breaks at the 1/n … (n−1)/n quantiles. On a stepped index (a weighted sum of
    reclass scores takes few distinct values) several quantiles can fall on the same value, which
    would leave a class empty (breaks [3.0, 3.0, 3.3, 3.6] gave four classes). The breaks are then
    recomputed on the distinct values: each break is put on a distinct value, as near to its
    quantile in cell count as the values allow, so every class gets at least one value
    ("unique-value-aware quantiles"). ``equal_interval``: n equal intervals of [min, max].
    With fewer than n distinct values some classes must stay empty; the breaks stay strictly
    increasing and the result says which classes are empty (``empty``, ``notes``).

    ``index`` is a float32 array or a GeoTIFF path; ``out`` an array, a path (tiled GeoTIFF) or
    None (a new uint8 array, ``classes``). Memory: block by block (``block`` cells a side), a few
    blocks at a time. The quantiles are exact (the same values as ``np.quantile`` on the valid
    cells) without a copy of them: the order statistics are found from two bounded histograms of
    the float32 bit patterns (2 × 65 536 bins: the high 16 bits, then the low 16 bits inside the
    bins that hold the wanted ranks), deterministically. The distinct values for the
    unique-value-aware breaks are counted block by block (memory: the distinct values, which a
    stepped index has few of). mapclassify (BSD) was considered: its Quantiles drops classes on
    ties instead of keeping n.
    """
    if method not in ("quantile", "equal_interval"):
        raise PotentialError(f"Phương pháp phân lớp '{method}' không hỗ trợ / unknown class method (quantile, equal_interval)")
    with Source(index, np.float32) as src:
        blocks = _MaskedBlocks(src, mask, block)
        total, vmin, vmax, hist_hi = blocks.histogram()
        if total == 0:
            raise PotentialError("Không có ô nào để phân lớp / no cell to classify")
        notes, adjusted, method_used = [], False, method
        if method == "quantile":
            breaks = [np.float32(b) for b in blocks.quantiles(np.linspace(0, 1, n + 1)[1:-1], total, hist_hi)]
        else:
            breaks = [np.float32(b) for b in np.linspace(float(vmin), float(vmax), n + 1)[1:-1]]
        increasing = all(b1 < b2 for b1, b2 in zip(breaks, breaks[1:]))
        cells = blocks.count_classes(breaks, n)
        if method == "quantile" and (not increasing or 0 in cells):
            adjusted = True
            shown = ", ".join(f"{float(b):.4g}" for b in breaks)
            uniq, counts = blocks.unique_counts()
            breaks = _unique_value_breaks(uniq, counts, n)
            method_used = "quantile, unique-value-aware"
            now = ", ".join(f"{float(b):.4g}" for b in breaks)
            notes.append(
                f"Ngưỡng phân vị [{shown}] trùng nhau hoặc để trống một lớp (chỉ số chỉ có {uniq.size} giá trị khác nhau) nên "
                f"đã được tính lại trên các giá trị khác nhau: [{now}] / the "
                f"quantile breaks [{shown}] coincided or left a class empty (the index "
                f"takes {uniq.size} distinct values); they were recomputed on the distinct values so that every class has "
                f"cells where the values allow (unique-value-aware quantiles): [{now}]")
            del uniq, counts
        classes, cells = blocks.apply_breaks(breaks, n, out)
    empty = [k for k in range(1, n + 1) if cells[k - 1] == 0]
    if empty:
        names = ", ".join(f"{k} {CLASS_NAMES[k - 1][0]}" for k in empty)
        names_en = ", ".join(f"{k} {CLASS_NAMES[k - 1][1]}" for k in empty)
        notes.append(f"Lớp không có ô nào: {names} / empty classes (no cell): {names_en}")
    return Classification(classes, [float(b) for b in breaks], method, method_used, cells, empty, adjusted, notes)


def _sortable(values: np.ndarray) -> np.ndarray:
    """float32 → uint32 keys in the same order (sign bit flipped for positives, all bits for negatives)."""
    bits = values.view(np.uint32)
    return np.where(bits >> 31 == 1, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


def _unsortable(key: int) -> np.float32:
    key = np.uint32(key)
    bits = key & np.uint32(0x7FFFFFFF) if key >> 31 == 1 else ~key
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


class _MaskedBlocks:
    """The valid cells of an index (array or GeoTIFF) block by block, for :func:`classify`."""

    def __init__(self, src, mask, block):
        self.src, self.mask, self.block = src, mask, block

    def __iter__(self):
        for win in block_windows(self.src.shape, self.block):
            r0, r1, c0, c1 = win
            m = self.mask[r0:r1, c0:c1]
            yield win, self.src.read(*win), m

    def histogram(self):
        """Count, min, max and the histogram of the high 16 bits of the sortable keys."""
        total, vmin, vmax = 0, None, None
        hist = np.zeros(1 << 16, dtype=np.int64)
        for _, v, m in self:
            v = v[m]
            if v.size == 0:
                continue
            total += v.size
            lo, hi = v.min(), v.max()
            vmin = lo if vmin is None else min(vmin, lo)
            vmax = hi if vmax is None else max(vmax, hi)
            hist += np.bincount(_sortable(v) >> 16, minlength=1 << 16)
        return total, np.float32(vmin if vmin is not None else np.nan), np.float32(vmax if vmax is not None else np.nan), hist

    def order_statistics(self, ranks, hist_hi) -> dict:
        """The values of the sorted valid cells at 0-based ``ranks``: exact, two passes of histograms."""
        cum = np.cumsum(hist_hi)
        where = {}
        for r in ranks:
            b = int(np.searchsorted(cum, r, side="right"))
            where[r] = (b, r - (int(cum[b - 1]) if b else 0))
        bins = sorted({b for b, _ in where.values()})
        low = {b: np.zeros(1 << 16, dtype=np.int64) for b in bins}
        for _, v, m in self:
            keys = _sortable(v[m])
            high = keys >> 16
            for b in bins:
                sel = keys[high == b]
                if sel.size:
                    low[b] += np.bincount(sel & np.uint32(0xFFFF), minlength=1 << 16)
        out = {}
        for r, (b, k) in where.items():
            lo = int(np.searchsorted(np.cumsum(low[b]), k, side="right"))
            out[r] = _unsortable((b << 16) | lo)
        return out

    def quantiles(self, qs, total, hist_hi) -> list:
        """``np.quantile(valid_cells, qs)`` (linear method) from the order statistics around each quantile."""
        virtual = (total - 1) * np.asarray(qs, dtype=np.float64)
        below = np.floor(virtual).astype(np.int64)
        above = np.minimum(below + 1, total - 1)
        stats = self.order_statistics(sorted(set(below.tolist()) | set(above.tolist())), hist_hi)
        out = []
        for v, lo, hi in zip(virtual, below, above):
            pair = np.array([stats[int(lo)], stats[int(hi)]], dtype=np.float32)
            # np.quantile on the two neighbours with the same fractional position: the same interpolation
            out.append(np.quantile(pair, v - lo))
        return out

    def count_classes(self, breaks, n) -> list:
        cells = np.zeros(n + 1, dtype=np.int64)
        for _, v, m in self:
            cells += np.bincount(_block_classes(v, m, breaks).ravel(), minlength=n + 1)[:n + 1]
        return [int(c) for c in cells[1:]]

    def apply_breaks(self, breaks, n, out):
        cells = np.zeros(n + 1, dtype=np.int64)
        with sink_for(out, self.src.shape, np.uint8, 0) as sink:
            for (r0, _, c0, _), v, m in self:
                cls = _block_classes(v, m, breaks)
                cells += np.bincount(cls.ravel(), minlength=n + 1)[:n + 1]
                sink.write(cls, r0, c0)
            classes = sink.close()
        return classes, [int(c) for c in cells[1:]]

    def unique_counts(self):
        """Distinct valid values and their cell counts, merged block by block."""
        uniq = np.empty(0, dtype=np.float32)
        counts = np.empty(0, dtype=np.int64)
        for _, v, m in self:
            u, c = np.unique(v[m], return_counts=True)
            if u.size == 0:
                continue
            allu = np.concatenate([uniq, u])
            allc = np.concatenate([counts, c.astype(np.int64)])
            uniq, inv = np.unique(allu, return_inverse=True)
            counts = np.zeros(uniq.size, dtype=np.int64)
            np.add.at(counts, inv.ravel(), allc)
        return uniq, counts


def _block_classes(v, m, breaks):
    classes = np.zeros(v.shape, dtype=np.uint8)
    classes[m] = 1
    for b in breaks:  # one bool temporary per break, compared in float32 like the index
        classes += (v >= np.float32(b)) & m
    return classes


def _apply_breaks(index, mask, breaks):
    return _block_classes(index, mask, breaks)


def _unique_value_breaks(uniq: np.ndarray, counts: np.ndarray, n: int) -> list:
    """n − 1 strictly increasing breaks on distinct values ``uniq`` (sorted), each as near its quantile
    (in cells) as possible, with at least one distinct value per class when there are ≥ n values."""
    m = uniq.size
    if m >= n:
        cum = np.cumsum(counts)  # cells with value <= uniq[j]
        total = cum[-1]
        cuts, prev = [], -1  # cut j: the next class starts at uniq[j + 1]
        for k in range(1, n):
            lo, hi = prev + 1, m - 1 - (n - k)  # leave one value for each class above
            j = lo + int(np.argmin(np.abs(cum[lo:hi + 1] - total * k / n)))
            cuts.append(j)
            prev = j
        return [np.float32(uniq[j + 1]) for j in cuts]
    # fewer distinct values than classes: some classes must stay empty; equal intervals of [min, max]
    # put each value in the class its size calls for (the minimum in class 1, the maximum in class n).
    lo, hi = float(uniq[0]), float(uniq[-1])
    breaks = [np.float32(b) for b in np.linspace(lo, hi, n + 1)[1:-1]] if hi > lo else []
    if not breaks:  # one value: all cells in class 1, breaks just above it
        breaks = [np.float32(hi)]
    for i in range(1, n - 1):
        if len(breaks) <= i:
            breaks.append(breaks[-1])
        if not breaks[i] > breaks[i - 1]:
            breaks[i] = np.nextafter(breaks[i - 1], np.float32(np.inf), dtype=np.float32)
    if m == 1:
        breaks = [np.nextafter(b, np.float32(np.inf), dtype=np.float32) for b in breaks]
    return breaks


def roc_auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """Area under the ROC curve = P(positive scores higher than negative), ties counted half (Mann–Whitney)."""
    pos = np.asarray(scores_pos, dtype=np.float64)
    neg = np.sort(np.asarray(scores_neg, dtype=np.float64))
    if pos.size == 0 or neg.size == 0:
        raise PotentialError("ROC AUC cần cả điểm dương và âm / ROC AUC needs positives and negatives")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (pos.size * neg.size))


def roc_auc_at_points(index, transform, points, mask):
    """AUC of the index at spring/well cells against every other cell of the study area."""
    xy = np.array([(p.x, p.y) for p in points.geometry if p is not None and not p.is_empty])
    if xy.size == 0:
        raise PotentialError("Lớp điểm nguồn nước rỗng / the springs layer has no points")
    cols = np.floor((xy[:, 0] - transform.c) / transform.a).astype(int)
    rows = np.floor((xy[:, 1] - transform.f) / transform.e).astype(int)
    inside = (rows >= 0) & (rows < index.shape[0]) & (cols >= 0) & (cols < index.shape[1])
    rows, cols = rows[inside], cols[inside]
    ok = mask[rows, cols]
    rows, cols = rows[ok], cols[ok]
    if rows.size == 0:
        raise PotentialError("Không có điểm nguồn nước nào trong vùng nghiên cứu / no spring/well lies in the study area")
    # the same as roc_auc(index[positive], index[mask & ~positive]) without copying the negatives and
    # without a grid of positives: each block's negatives are sorted and counted below / equal to each
    # distinct positive score; the positives of a block are marked in a block-sized flag array
    flat = np.unique(rows.astype(np.int64) * index.shape[1] + cols)  # each positive cell once
    prow, pcol = flat // index.shape[1], flat % index.shape[1]
    pos = np.asarray(index[prow, pcol], dtype=np.float64)
    upos, pos_mult = np.unique(pos, return_counts=True)
    below = np.zeros(upos.size, dtype=np.int64)
    ties = np.zeros(upos.size, dtype=np.int64)
    n_neg = 0
    for r0, r1, c0, c1 in block_windows(index.shape, DEFAULT_BLOCK):
        neg_mask = mask[r0:r1, c0:c1].copy()
        inside = (prow >= r0) & (prow < r1) & (pcol >= c0) & (pcol < c1)
        neg_mask[prow[inside] - r0, pcol[inside] - c0] = False
        neg = np.sort(index[r0:r1, c0:c1][neg_mask].astype(np.float64))
        n_neg += neg.size
        lo = np.searchsorted(neg, upos, side="left")
        below += lo
        ties += np.searchsorted(neg, upos, side="right") - lo
    if n_neg == 0:
        raise PotentialError("ROC AUC cần cả điểm dương và âm / ROC AUC needs positives and negatives")
    auc = float(((below * pos_mult).sum() + 0.5 * (ties * pos_mult).sum()) / (pos.size * n_neg))
    return auc, int(pos.size)


#: A commune enters the per-commune table only if the study area covers at least this much of it.
#: The 2025 commune outlines and the outline of the former Sa Pa town come from different sources and
#: do not match exactly, which leaves slivers of neighbouring communes (Xã Nậm Xé: 12.7 ha in all,
#: 0.18 ha of it "very low"). On the default Sa Pa extent the study area covers 0.06–0.83 % of each of
#: the ten neighbours (10–161 ha) and 95–99.9 % of the six communes that belong to it, so a commune
#: is kept when the overlap is at least 1 ha and at least 2 % of the commune's own area; a commune
#: really split between study area and outside keeps its share from 2 % up.
MIN_COMMUNE_OVERLAP_HA = 1.0
MIN_COMMUNE_OVERLAP_FRACTION = 0.02

_AREA_COLUMNS = ["commune_code", "commune_name", "class", "class_name", "area_ha"]


def commune_class_areas(classes: np.ndarray, grid: Dem, communes=None, min_overlap_ha: float = MIN_COMMUNE_OVERLAP_HA,
                        min_overlap_fraction: float = MIN_COMMUNE_OVERLAP_FRACTION):
    """Area (ha) of each class in each 2025 commune (long table), or None without a layer store.

    Communes whose overlap with the classified study area is below ``min_overlap_ha`` or below
    ``min_overlap_fraction`` of the commune's area are left out (boundary slivers); see
    :func:`commune_class_areas_with_slivers` for the list of those left out.
    """
    found = commune_class_areas_with_slivers(classes, grid, communes, min_overlap_ha, min_overlap_fraction)
    return None if found is None else found[0]


def commune_class_areas_with_slivers(classes: np.ndarray, grid: Dem, communes=None,
                                     min_overlap_ha: float = MIN_COMMUNE_OVERLAP_HA,
                                     min_overlap_fraction: float = MIN_COMMUNE_OVERLAP_FRACTION):
    """``(table, slivers)``: the per-commune class areas and the communes left out as slivers
    (code, name, overlap_ha, overlap_fraction), or None without a layer store."""
    import pandas as pd

    if communes is None:
        from geo_app import layers

        try:
            communes = layers.read("communes", bbox=grid.bounds)
        except Exception:  # the store is not built: the rest of the result still stands
            return None
    communes = communes.to_crs(STORE_CRS).reset_index(drop=True)
    if communes.empty:
        return pd.DataFrame(columns=_AREA_COLUMNS), []
    n = len(CLASS_NAMES)
    cell_ha = grid.cellsize[0] * grid.cellsize[1] / 1e4
    counts = commune_class_counts(classes, grid.transform, list(communes.geometry), n)
    rows, slivers = [], []
    for i, row in communes.iterrows():
        overlap_ha = float(counts[i + 1].sum() * cell_ha)
        if overlap_ha == 0:
            continue
        area_ha = float(row.geometry.area) / 1e4 if row.geometry is not None else 0.0
        fraction = overlap_ha / area_ha if area_ha > 0 else 1.0
        code, name = str(row.get("code", "")), row.get("full_name", "")
        if overlap_ha < min_overlap_ha or fraction < min_overlap_fraction:
            slivers.append({"commune_code": code, "commune_name": name, "overlap_ha": round(overlap_ha, 2),
                            "overlap_fraction": round(fraction, 6)})
            continue
        for k in range(1, n + 1):
            if counts[i + 1, k]:
                rows.append({"commune_code": code, "commune_name": name,
                             "class": k, "class_name": f"{CLASS_NAMES[k - 1][0]} / {CLASS_NAMES[k - 1][1]}",
                             "area_ha": round(float(counts[i + 1, k] * cell_ha), 2)})
    return pd.DataFrame(rows, columns=_AREA_COLUMNS), slivers


def commune_class_counts(classes: np.ndarray, transform, geometries, n: int = len(CLASS_NAMES),
                         block: int = DEFAULT_BLOCK) -> np.ndarray:
    """Cells of each class 1..n in each commune: ``counts[i + 1, k]`` for ``geometries[i]``, row 0 outside
    all communes, column 0 (no class) left at 0.

    Block by block: the communes whose bounds meet a block are rasterised on that block's window
    (cell centres, a later commune overwriting an earlier one where they overlap, as one rasterisation
    of the whole grid does) and counted with the block's classes, so no commune-id grid of the
    whole raster is made: the working memory is one block's ids (int32) and counts. A cell is burnt
    when its centre is inside the outline, which does not depend on the window; the window's origin
    is rounded differently from the grid's (by ~10⁻¹² cell), so only a centre lying that close to an
    edge could in principle go the other way (tests compare with the whole-grid rasterisation).
    """
    from affine import Affine
    from rasterio.features import rasterize

    counts = np.zeros((len(geometries) + 1, n + 1), dtype=np.int64)
    shapes = [(g, i + 1) for i, g in enumerate(geometries) if g is not None and not g.is_empty]
    if not shapes:
        return counts
    bounds = np.array([g.bounds for g, _ in shapes], dtype=np.float64)  # minx, miny, maxx, maxy
    for r0, r1, c0, c1 in block_windows(classes.shape, block):
        cls = classes[r0:r1, c0:c1]
        if not cls.any():  # class 0 is not counted
            continue
        wt = transform @ Affine.translation(c0, r0)  # the window's origin at its first cell's corner
        xs = (wt.c, wt.c + wt.a * (c1 - c0))
        ys = (wt.f, wt.f + wt.e * (r1 - r0))
        bx0, bx1, by0, by1 = min(xs), max(xs), min(ys), max(ys)
        near = (bounds[:, 0] <= bx1) & (bounds[:, 2] >= bx0) & (bounds[:, 1] <= by1) & (bounds[:, 3] >= by0)
        if transform.b or transform.d:  # a rotated grid: no bounds test
            near[:] = True
        if not near.any():
            continue
        ids = rasterize([shapes[i] for i in np.flatnonzero(near)], out_shape=cls.shape, transform=wt,
                        fill=0, dtype="int32")
        counts += np.bincount((ids.ravel().astype(np.int64) * (n + 1) + cls.ravel()),
                              minlength=counts.size).reshape(counts.shape)
    counts[:, 0] = 0
    return counts


def _factor_on_grid(name: str, value, grid: Dem, inputs: dict) -> np.ndarray:
    if isinstance(value, np.ndarray):
        if value.shape != grid.shape:
            raise PotentialError(f"Yếu tố '{name}': kích thước {value.shape} ≠ lưới {grid.shape} / shape mismatch")
        import hashlib

        inputs[f"factor:{name}:<array>"] = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return np.asarray(value, dtype=np.float32)
    path = Path(value)
    if not path.exists():
        raise PotentialError(f"Không tìm thấy tệp yếu tố '{name}' / factor file not found: {path}")
    inputs[f"factor:{name}:{path.name}"] = sha256_file(path)
    categorical = name in CATEGORICAL
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise PotentialError(f"Yếu tố '{name}' ({path.name}) không có CRS / the factor raster has no CRS")
            out = np.full(grid.shape, -2**31 if categorical else np.nan, dtype=np.int32 if categorical else np.float32)
            reproject(rasterio.band(src, 1), out, src_nodata=src.nodata, dst_transform=grid.transform, dst_crs=grid.crs,
                      dst_nodata=-2**31 if categorical else np.nan,
                      resampling=Resampling.nearest if categorical else Resampling.bilinear)
    except (RasterioError, CPLE_BaseError) as exc:
        hint = ("; với vùng (polygon) dùng --lithology FILE --lithology-field F / for polygons use --lithology"
                if name in CATEGORICAL else "")
        raise PotentialError(
            f"Không đọc được tệp yếu tố '{name}' {path.name} như ảnh raster (GeoTIFF), hoặc tệp bị hỏng{hint} / "
            f"cannot read the '{name}' factor file {path.name} as a raster (GeoTIFF), or it is corrupt "
            f"(GDAL: {' '.join(str(exc).split())[:200]})") from exc
    if categorical:
        # Cells without a code are nodata, not an unknown class.
        out = np.where(out == -2**31, np.nan, out.astype(np.float32)).astype(np.float32)
    return out


# ------------------------------------------------------------------------------------------- outputs

def write_outputs(result: PotentialResult, out_dir: Path) -> dict:
    """Write the COGs, the GeoPackage and report.json; replace earlier files only when all are ready."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".groundwater-", dir=out_dir.parent))
    try:
        tags = {"provenance": json.dumps(result.provenance, sort_keys=True, ensure_ascii=False)}
        _write_cog(tmp / "potential_index.tif", result.index, result.transform, np.float32, np.nan, tags)
        _write_cog(tmp / "potential_class.tif", result.classes, result.transform, np.uint8, 0, tags)
        _write_gpkg(tmp / "potential_classes.gpkg", result)
        (tmp / "report.json").write_text(json.dumps(result.provenance, indent=1, sort_keys=True, ensure_ascii=False),
                                         encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in ("potential_index.tif", "potential_class.tif", "potential_classes.gpkg", "report.json"):
            os.replace(tmp / name, out_dir / name)
            files[name] = out_dir / name
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_cog(path: Path, array, transform, dtype, nodata, tags: dict, block: int = DEFAULT_BLOCK) -> None:
    """A COG from an array or a scratch GeoTIFF path, through a tiled GeoTIFF on disk written block by
    block (no in-memory copy of the raster: GDAL's block cache bounds what is held)."""
    from rasterio.shutil import copy as rio_copy

    path = Path(path)
    with Source(array) as src:
        shape = src.shape
        staging = path.with_name(path.stem + ".staging.tif")
        profile = dict(driver="GTiff", height=shape[0], width=shape[1], count=1, dtype=dtype,
                       crs=STORE_CRS, transform=transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256)
        try:
            with rasterio.open(staging, "w", **profile) as ds:
                for r0, r1, c0, c1 in block_windows(shape, block):
                    from rasterio.windows import Window

                    ds.write(np.asarray(src.read(r0, r1, c0, c1), dtype=dtype), 1, window=Window(c0, r0, c1 - c0, r1 - r0))
                ds.update_tags(**tags)
            with rasterio.open(staging) as ds:
                rio_copy(ds, path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256, OVERVIEWS="AUTO",
                         RESAMPLING="NEAREST" if dtype == np.uint8 else "AVERAGE", NUM_THREADS=1)
        finally:
            staging.unlink(missing_ok=True)


def class_polygons(classes: np.ndarray, transform):
    """``[(class, MultiPolygon), ...]`` for the classes present, one class at a time (see :func:`_class_polygon`)."""
    out = []
    for k in range(1, len(CLASS_NAMES) + 1):
        geom = _class_polygon(classes, k, transform)
        if geom is not None:
            out.append((k, geom))
    return out


def _class_polygon(classes: np.ndarray, k: int, transform):
    """The cells of class ``k`` as one MultiPolygon (the geometry of :func:`_class_polygon_wkb`)."""
    import shapely

    wkb = _class_polygon_wkb(classes, k, transform)
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


#: Points per batch of rings turned from Python tuples into WKB (~110 bytes a point while in tuples).
_RING_BATCH_POINTS = 100_000


def _class_polygon_wkb(classes: np.ndarray, k: int, transform):
    """The cells of class ``k`` as the WKB of one MultiPolygon (a ``bytearray``), or None without cells.

    Straight from ``rasterio.features.shapes``: the 4-connected regions of one class never overlap
    and share no edge, so collecting them into a MultiPolygon needs no union (the dissolve took
    46–52 s on the Sa Pa grid, 1 217 × 1 317 cells). The regions' rings are gathered in batches of
    ``_RING_BATCH_POINTS`` points; each batch is checked with GEOS (``shapely.polygons``,
    ``is_valid``) and written as WKB polygons with numpy, then its GEOS polygons are dropped: what is
    held for the class is its WKB (16 bytes a point, 4 a ring, 9 a region), not GEOS polygons plus
    the MultiPolygon made of them plus its WKB as before. The bytes are those of
    ``shapely.to_wkb(shapely.multipolygons(parts))`` (little-endian ISO WKB, 2-D), so the
    GeoPackage is unchanged. A part that GEOS finds invalid (not seen from GDAL's polygoniser)
    sends the class through make_valid + union, as before (:func:`_class_polygon_repaired`).
    GDAL's polygoniser itself still holds all regions of the class at once (rasterio's in-memory
    OGR layer) while they are read.
    """
    import shapely
    from rasterio.features import shapes

    cells = classes == k
    if not cells.any():
        return None
    chunks = []
    coords, ring_sizes, poly_of_ring = [], [], []
    state = {"n_poly": 0, "total": 0, "valid": True}

    def flush():
        # Python lists of coordinate tuples cost ~110 bytes a point: turn them into WKB often.
        if not ring_sizes:
            return
        xy = np.asarray(coords, dtype=np.float64)
        sizes = np.asarray(ring_sizes, dtype=np.int64)
        owner = np.asarray(poly_of_ring, dtype=np.int64)
        if state["valid"]:
            rings = shapely.linearrings(xy, indices=np.repeat(np.arange(sizes.size), sizes))
            if not shapely.is_valid(shapely.polygons(rings, indices=owner)).all():
                state["valid"] = False
            del rings
        if state["valid"]:
            chunks.append(_polygons_wkb(xy, sizes, owner))
            state["total"] += len(chunks[-1])
        for buf in (coords, ring_sizes, poly_of_ring):
            buf.clear()

    n_poly = 0
    for geom, _ in shapes(cells.view(np.uint8), mask=cells, transform=transform, connectivity=4):
        for part in geom["coordinates"]:
            coords.extend(part)
            ring_sizes.append(len(part))
            poly_of_ring.append(n_poly)
        n_poly += 1
        state["n_poly"] += 1
        if len(coords) >= _RING_BATCH_POINTS:
            flush()
            n_poly = 0
    flush()
    del cells
    if not state["valid"]:
        chunks.clear()
        return bytearray(shapely.to_wkb(_class_polygon_repaired(classes, k, transform)))
    # the MultiPolygon header, then the polygons; filled chunk by chunk so the WKB is held once
    wkb = bytearray(9 + state["total"])
    wkb[0:9] = np.array([1], dtype=np.uint8).tobytes() + np.array([6, state["n_poly"]], dtype="<u4").tobytes()
    at = 9
    while chunks:
        chunk = chunks.pop(0)
        wkb[at:at + len(chunk)] = chunk
        at += len(chunk)
    return wkb


def _polygons_wkb(xy: np.ndarray, sizes: np.ndarray, owner: np.ndarray) -> bytes:
    """Little-endian WKB of consecutive polygons: ``xy`` the points of all rings, ``sizes`` the points
    of each ring, ``owner`` the polygon of each ring (0, 0, 1, 2, 2, …: a shell, then its holes)."""
    n_rings = sizes.size
    first_point = np.cumsum(sizes) - sizes
    is_shell = np.ones(n_rings, dtype=bool)
    is_shell[1:] = owner[1:] != owner[:-1]
    rings_of_poly = np.bincount(owner)
    # per ring, 13 header bytes: polygon header (byte order 1, type 3, number of rings) + point count;
    # a hole keeps only its point count
    head = np.zeros((n_rings, 13), dtype=np.uint8)
    head[:, 0] = 1
    head[:, 1:5] = np.frombuffer(np.array([3], dtype="<u4").tobytes(), dtype=np.uint8)
    head[:, 5:9] = rings_of_poly[owner].astype("<u4").view(np.uint8).reshape(n_rings, 4)
    head[:, 9:13] = sizes.astype("<u4").view(np.uint8).reshape(n_rings, 4)
    keep = np.ones((n_rings, 13), dtype=bool)
    keep[~is_shell, :9] = False
    at = np.repeat(16 * first_point, 13).reshape(n_rings, 13)
    body = np.ascontiguousarray(xy, dtype="<f8").view(np.uint8).ravel()
    return np.insert(body, at[keep], head[keep]).tobytes()


def _class_polygon_repaired(classes: np.ndarray, k: int, transform):
    """The class-``k`` MultiPolygon through make_valid + union (for a part GEOS finds invalid)."""
    import shapely
    from rasterio.features import shapes

    cells = classes == k
    parts = [shapely.geometry.shape(geom) for geom, _ in
             shapes(cells.view(np.uint8), mask=cells, transform=transform, connectivity=4)]
    merged = shapely.union_all(shapely.make_valid(np.array(parts, dtype=object)))
    return shapely.multipolygons([merged]) if merged.geom_type == "Polygon" else merged


def _write_gpkg(path: Path, result: PotentialResult) -> None:
    import pandas as pd
    import pyogrio
    from pyogrio.raw import write as write_raw

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    cell_area = abs(result.transform.a * result.transform.e)
    written = False
    # one feature per class present, written as soon as it is made: the WKB of one class at a time
    for k in range(1, len(CLASS_NAMES) + 1):
        wkb = _class_polygon_wkb(result.classes, k, result.transform)
        if wkb is None:
            continue
        geometry = np.empty(1, dtype=object)
        geometry[0] = wkb  # pyogrio takes the bytearray as it is: no copy of the WKB
        area_ha = round(float(np.count_nonzero(result.classes == k) * cell_area / 1e4), 2)
        write_raw(path, geometry, [np.array([k], dtype=np.int64),
                                   np.array([f"{CLASS_NAMES[k - 1][0]} / {CLASS_NAMES[k - 1][1]}"], dtype=object),
                                   np.array([area_ha], dtype=np.float64)],
                  ["class", "class_name", "area_ha"], layer="potential_classes", driver="GPKG",
                  geometry_type="MultiPolygon", crs=STORE_CRS, append=written)
        del geometry, wkb
        written = True
    prov = pd.DataFrame(
        [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False))
         for k, v in sorted(result.provenance.items())], columns=["key", "value"])
    pyogrio.write_dataframe(prov, path, layer="provenance", driver="GPKG", append=False)
    if result.commune_areas is not None:
        pyogrio.write_dataframe(pd.DataFrame(result.commune_areas), path, layer="commune_class_areas", driver="GPKG")
