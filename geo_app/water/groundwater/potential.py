"""Groundwater potential: factors → reclass scores → AHP weights → weighted overlay → 5 classes,
area per 2025 commune, ROC AUC against springs/wells, COG + GeoPackage outputs with provenance.

This module runs the model (:func:`groundwater_potential`); its steps live beside it: ``overlay``
(weighted overlay), ``classes`` (classification), ``roc`` (ROC AUC), ``areas`` (areas per commune),
``polygons`` (class polygons), ``outputs`` (the files; the COG writer is ``geo_app.io.cog``).

Nothing is written until every input has been checked and the result computed; the outputs are then
written to a temporary folder beside ``out_dir`` and moved into place, so a failing run leaves an
earlier result untouched. Identical inputs give byte-identical files (no timestamps anywhere).

Memory: the factor rasters are written to tiled scratch GeoTIFFs in a temporary folder
(``TerrainAnalysis.run_to_files``; extra factor rasters too), the reclass + AHP overlay
(``overlay.weighted_overlay``) and the classes (``classes.classify``, exact quantiles from bounded
histograms) run block by block, the ROC AUC counts negatives block by block (positives marked per
block, no grid of them), the per-commune areas rasterise the communes block by block
(``areas.commune_class_counts``, no commune-id grid) and the COGs are written from tiled staging
files. What is held for the whole grid: the DEM (float32), the study-area mask (bool), the index
(float32) and classes (uint8) of the result, and during the terrain steps D8 (uint8) +
accumulation (uint32) + in-degree (uint8): at most ~15 bytes per cell with the DEM, plus GDAL's
block cache, capped at ``SCRATCH_CACHE_MB`` (64 MB) for the run by :func:`~geo_app.water.terrain.blocks.scratch_env`.
Not bounded per block: the GeoPackage polygons, one class at a time, whose memory follows the
number of regions of a class, not the grid: GDAL's polygoniser (``rasterio.features.shapes``) holds
every region of the class in an in-memory OGR layer (~600 bytes a region), then the class's WKB
(16 B a point) is assembled (``polygons._class_polygon_wkb``). Polygonising per block would cut regions
at block edges and change the file, so it is not done. Measured at 4 000² (salt-and-pepper synthetic
DEM, 1.2 M regions in its largest class): the outputs peak at +1 260 MB above the pipeline (was
+1 730 MB), of which the polygoniser ~760 MB.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.features import geometry_mask
from rasterio.warp import reproject

from geo_app import STORE_CRS, __version__, layers
from geo_app.settings import DEFINITIONS_DIR
from geo_app.water.groundwater.ahp import AhpResult, load_ahp, renormalise
from geo_app.water.groundwater.areas import (
    MIN_COMMUNE_OVERLAP_FRACTION,
    MIN_COMMUNE_OVERLAP_HA,
    commune_class_areas_with_slivers,
)
from geo_app.water.groundwater.classes import classify
from geo_app.water.groundwater.errors import PotentialError
from geo_app.water.groundwater.inputs import VectorFactor, rasterize_factor, read_vector, resolve_points
from geo_app.water.groundwater.outputs import write_outputs
from geo_app.water.groundwater.overlay import weighted_overlay
from geo_app.water.groundwater.reclass import load_reclass
from geo_app.water.groundwater.roc import roc_auc_at_points
from geo_app.water.terrain import Dem, TerrainAnalysis, fill_holes, read_dem, sha256_file
from geo_app.water.terrain.blocks import scratch_env, sink_for

DEFAULT_AHP = DEFINITIONS_DIR / "groundwater" / "ahp.yaml"
DEFAULT_RECLASS = DEFINITIONS_DIR / "groundwater" / "reclass.yaml"
#: Former Sa Pa town (thị xã Sa Pa, district code 088), the default study area.
DEFAULT_DISTRICT = "088"

CATEGORICAL = ("lithology", "land_use", "soil")


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

        mask &= ~geometry_mask([area_geom], grid.shape, grid.transform, all_touched=False)
        notes.append("vùng nghiên cứu cắt theo ranh giới thị xã Sa Pa (cũ), mã 088 / "
                     "study area masked to the outline of the former Sa Pa town (district 088)")

    lines = read_vector(lineaments, "lineaments", inputs, error=PotentialError) if lineaments is not None else None
    scratch = tempfile.TemporaryDirectory(prefix="geo-app-potential-")
    try:
        with scratch_env():  # GDAL's block cache capped for the run (scratch files and outputs)
            return _potential(PotentialInputs(
                grid=grid, mask=mask, lineaments=lines, terrain=terrain, factors=factors or {}, tables=tables,
                reclass_path=reclass_path, ahp_path=ahp_path, ahp=ahp_result, ahp_raw=ahp_raw, input_hashes=inputs,
                notes=notes, springs=springs, communes=communes, out_dir=out_dir, scratch=Path(scratch.name),
                own_dem=own_dem))
    finally:
        scratch.cleanup()


@dataclass
class PotentialInputs:
    """Everything one run of the model works from, checked and read by :func:`groundwater_potential`."""

    grid: Dem  # the DEM on the working grid (holes filled)
    mask: np.ndarray  # the study area (bool), narrowed in place to the cells with every factor
    lineaments: object  # lines in EPSG:9208, or None
    terrain: TerrainAnalysis
    factors: dict  # extra factors by name: GeoTIFF paths, arrays on the grid or VectorFactor
    tables: dict  # reclass tables by factor
    reclass_path: Path
    ahp_path: Path
    ahp: AhpResult
    ahp_raw: dict  # the AHP file as read (status, class method)
    input_hashes: dict  # name → sha256 of every input, for the provenance (added to as inputs are read)
    notes: list  # what was done, for the provenance (added to)
    springs: object  # points for the ROC AUC, "inventory", or None
    communes: object  # 2025 communes for the areas, or None (from the layer store)
    out_dir: object  # where the files go, or None (nothing written)
    scratch: Path  # a temporary folder for the factor rasters
    own_dem: bool  # the DEM array may be filled in place (it was read here)


def _potential(run: PotentialInputs) -> PotentialResult:
    layers = _factor_layers(run)
    weights, available, dropped = _weights(run, layers)
    index = weighted_overlay({name: layers[name] for name in available}, run.tables, weights, run.mask)
    if not run.mask.any():
        raise PotentialError("Không có ô nào đủ dữ liệu cho mọi yếu tố / no cell has data for every factor")

    method = (run.ahp_raw.get("classes") or {}).get("method", "quantile")
    cls = classify(index, run.mask, method)
    notes = run.notes
    notes += cls.notes
    warnings = list(cls.notes)
    auc = None
    if run.springs is not None:
        points = resolve_points(run.springs, "springs", run.input_hashes, error=PotentialError)
        auc, n_pos = roc_auc_at_points(index, run.grid.transform, points, run.mask)
        notes.append(f"ROC AUC so với {n_pos} mạch lộ/giếng trong vùng nghiên cứu / "
                     f"ROC AUC against {n_pos} springs/wells inside the study area")
    areas, slivers = _commune_areas(run, cls.classes, warnings)
    provenance = {
        "software": f"geo-app {__version__}",
        "crs": STORE_CRS,
        "resolution_m": run.grid.cellsize[0],
        "bounds": [round(v, 3) for v in run.grid.bounds],
        "inputs_sha256": dict(sorted(run.input_hashes.items())),
        "ahp": run.ahp.as_dict(),
        "ahp_status": run.ahp_raw.get("status", ""),
        "weights_used": {k: round(v, 6) for k, v in weights.items()},
        "factors_dropped": dropped,
        "classes": cls.as_dict(),
        "communes_left_out": {"rule": {"min_overlap_ha": MIN_COMMUNE_OVERLAP_HA,
                                       "min_overlap_fraction": MIN_COMMUNE_OVERLAP_FRACTION},
                              "communes": slivers},
        "roc_auc": None if auc is None else round(auc, 6),
        "notes": notes,
    }
    result = PotentialResult(index, cls.classes, run.grid.transform, STORE_CRS, weights, run.ahp, dropped, cls.breaks,
                             auc, areas, provenance, warnings=warnings)
    if run.out_dir is not None:
        result.files = write_outputs(result, Path(run.out_dir))
    return result


def _factor_layers(run: PotentialInputs) -> dict:
    """Every factor raster by name: the terrain factors and the extra ones, as tiled scratch GeoTIFFs
    (an array given by the caller stays as it is): only fill/D8/accumulation hold the whole grid."""
    layers, terrain_notes = run.terrain.run_to_files(run.grid, run.scratch, lineaments=run.lineaments,
                                                     consume_dem=run.own_dem)
    run.notes += terrain_notes
    for name, value in run.factors.items():
        if isinstance(value, VectorFactor):
            if name not in CATEGORICAL or name not in run.tables:
                raise PotentialError(
                    f"Yếu tố '{name}' từ vùng (polygon) cần bảng phân loại theo mã trong {run.reclass_path.name} / "
                    f"a polygon factor needs a categorical reclass table ({', '.join(CATEGORICAL)})")
            layers[name] = rasterize_factor(name, value, run.grid, run.tables[name], run.input_hashes, run.notes,
                                            error=PotentialError)
        else:
            layers[name] = _factor_on_grid(name, value, run.grid, run.input_hashes)
        if not isinstance(value, np.ndarray):  # ours: to a scratch GeoTIFF, so the factors are not all held
            path = run.scratch / f"factor_{len(layers)}.tif"
            sink = sink_for(path, run.grid.shape, np.float32, np.nan)
            sink.write(layers[name], 0, 0)
            layers[name] = sink.close()
    return layers


def _weights(run: PotentialInputs, layers: dict):
    """The AHP weights renormalised to the factors with data: (weights, factors used, factors dropped)."""
    ahp_result, ahp_path, reclass_path, tables, notes = run.ahp, run.ahp_path, run.reclass_path, run.tables, run.notes
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

    return weights, available, dropped


def _commune_areas(run: PotentialInputs, classes, warnings: list):
    """Class areas per 2025 commune and the communes left out as boundary slivers (said in the notes)."""
    notes = run.notes
    found = commune_class_areas_with_slivers(classes, run.grid, run.communes)
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
    return areas, slivers


def _factor_on_grid(name: str, value, grid: Dem, inputs: dict) -> np.ndarray:
    if isinstance(value, np.ndarray):
        if value.shape != grid.shape:
            raise PotentialError(f"Yếu tố '{name}': kích thước {value.shape} ≠ lưới {grid.shape} / shape mismatch")

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
