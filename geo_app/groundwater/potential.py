"""Groundwater potential: factors → reclass scores → AHP weights → weighted overlay → 5 classes,
area per 2025 commune, ROC AUC against springs/wells, COG + GeoPackage outputs with provenance.

Nothing is written until every input has been checked and the result computed; the outputs are then
written to a temporary folder beside ``out_dir`` and moved into place, so a failing run leaves an
earlier result untouched. Identical inputs give byte-identical files (no timestamps anywhere).
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
from rasterio.enums import Resampling
from rasterio.warp import reproject

from .. import STORE_CRS, __version__
from ..config import DEFINITIONS_DIR
from ..terrain import Dem, DemError, TerrainAnalysis, fill_holes, read_dem, sha256_file
from .ahp import AhpResult, load_ahp, renormalise
from .inputs import VectorFactor, rasterize_factor, read_vector, resolve_points
from .reclass import load_reclass

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


class PotentialError(ValueError):
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


def default_extent():
    """Bounds and outline of the former Sa Pa town (district 088) from the layer store, in EPSG:9208."""
    from .. import layers

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

    - ``dem``: a :class:`~geo_app.terrain.Dem` or a GeoTIFF path; ``extent`` (EPSG:9208) cuts it.
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

    if isinstance(dem, Dem):
        grid = dem
    else:
        if extent is None:
            extent, area_geom = default_extent()
        grid = read_dem(dem, extent=extent)
    grid = fill_holes(grid, max_fraction=max_nodata_fraction)
    inputs.update({f"dem:{k}": v for k, v in grid.sources.items()})
    notes = list(grid.notes)
    mask = grid.valid.copy()
    if area_geom is not None:
        from rasterio.features import geometry_mask

        mask &= ~geometry_mask([area_geom], grid.shape, grid.transform, all_touched=False)
        notes.append("study area masked to the outline of the former Sa Pa town (district 088)")

    lines = read_vector(lineaments, "lineaments", inputs, error=PotentialError) if lineaments is not None else None
    tf = terrain.run(grid, lineaments=lines)
    notes += tf.notes
    layers = {"slope": tf.slope, "drainage_density": tf.drainage_density, "twi": tf.twi}
    if tf.lineament_density is not None:
        layers["lineament_density"] = tf.lineament_density
    for name, value in (factors or {}).items():
        if isinstance(value, VectorFactor):
            if name not in CATEGORICAL or name not in tables:
                raise PotentialError(
                    f"Yếu tố '{name}' từ vùng (polygon) cần bảng phân loại theo mã trong {reclass_path.name} / "
                    f"a polygon factor needs a categorical reclass table ({', '.join(CATEGORICAL)})")
            layers[name] = rasterize_factor(name, value, grid, tables[name], inputs, notes, error=PotentialError)
        else:
            layers[name] = _factor_on_grid(name, value, grid, inputs)

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
            f"factors dropped for lack of data: {', '.join(dropped)}; weights of the others renormalised to sum to 1"
        )
    missing_tables = [f for f in available if f not in tables]
    if missing_tables:
        raise PotentialError(
            f"Thiếu bảng phân loại cho {missing_tables} trong {reclass_path.name} / no reclass table for {missing_tables}"
        )

    index = np.zeros(grid.shape, dtype=np.float32)
    for name in available:
        scores = tables[name].apply(np.where(mask, layers[name], np.nan))
        mask &= ~np.isnan(scores)  # a cell lacking any used factor has no index
        index += np.float32(weights[name]) * np.nan_to_num(scores, nan=0.0)
    index[~mask] = np.nan
    if not mask.any():
        raise PotentialError("Không có ô nào đủ dữ liệu cho mọi yếu tố / no cell has data for every factor")

    method = (ahp_raw.get("classes") or {}).get("method", "quantile")
    classes, breaks = classify(index, mask, method)
    auc = None
    if springs is not None:
        points = resolve_points(springs, "springs", inputs, error=PotentialError)
        auc, n_pos = roc_auc_at_points(index, grid.transform, points, mask)
        notes.append(f"ROC AUC against {n_pos} springs/wells inside the study area")
    areas = commune_class_areas(classes, grid, communes)
    if areas is None:
        notes.append("area per 2025 commune not computed: the layer store is not built")

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
        "classes": {"method": method, "breaks": [round(b, 6) for b in breaks],
                    "names": [f"{vi} / {en}" for vi, en in CLASS_NAMES]},
        "roc_auc": None if auc is None else round(auc, 6),
        "notes": notes,
    }
    result = PotentialResult(index, classes, grid.transform, STORE_CRS, weights, ahp_result, dropped, breaks,
                             auc, areas, provenance)
    if out_dir is not None:
        result.files = write_outputs(result, Path(out_dir))
    return result


def classify(index: np.ndarray, mask: np.ndarray, method: str = "quantile", n: int = 5):
    """Classes 1..n (uint8, 0 outside ``mask``) and the n-1 inner breaks."""
    values = index[mask].astype(np.float64)
    if method == "quantile":
        breaks = np.quantile(values, np.linspace(0, 1, n + 1)[1:-1])
    elif method == "equal_interval":
        breaks = np.linspace(values.min(), values.max(), n + 1)[1:-1]
    else:
        raise PotentialError(f"Phương pháp phân lớp '{method}' không hỗ trợ / unknown class method (quantile, equal_interval)")
    classes = np.zeros(index.shape, dtype=np.uint8)
    classes[mask] = (np.searchsorted(breaks, index[mask], side="right") + 1).astype(np.uint8)
    return classes, [float(b) for b in breaks]


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
    positive = np.zeros(index.shape, dtype=bool)
    positive[rows, cols] = True
    return roc_auc(index[positive], index[mask & ~positive]), int(positive.sum())


def commune_class_areas(classes: np.ndarray, grid: Dem, communes=None):
    """Area (ha) of each class in each 2025 commune (long table), or None without a layer store."""
    import pandas as pd
    from rasterio.features import rasterize

    if communes is None:
        from .. import layers

        try:
            communes = layers.read("communes", bbox=grid.bounds)
        except Exception:  # the store is not built: the rest of the result still stands
            return None
    communes = communes.to_crs(STORE_CRS).reset_index(drop=True)
    if communes.empty:
        return pd.DataFrame(columns=["commune_code", "commune_name", "class", "class_name", "area_ha"])
    ids = rasterize(((g, i + 1) for i, g in enumerate(communes.geometry)), out_shape=classes.shape,
                    transform=grid.transform, fill=0, dtype="int32")
    cell_ha = grid.cellsize[0] * grid.cellsize[1] / 1e4
    counts = np.bincount(ids.ravel().astype(np.int64) * 6 + classes.ravel(), minlength=(len(communes) + 1) * 6)
    counts = counts.reshape(-1, 6)
    rows = []
    for i, row in communes.iterrows():
        for k in range(1, 6):
            if counts[i + 1, k]:
                rows.append({"commune_code": str(row.get("code", "")), "commune_name": row.get("full_name", ""),
                             "class": k, "class_name": f"{CLASS_NAMES[k - 1][0]} / {CLASS_NAMES[k - 1][1]}",
                             "area_ha": round(float(counts[i + 1, k] * cell_ha), 2)})
    return pd.DataFrame(rows, columns=["commune_code", "commune_name", "class", "class_name", "area_ha"])


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
    with rasterio.open(path) as src:
        if src.crs is None:
            raise PotentialError(f"Yếu tố '{name}' ({path.name}) không có CRS / the factor raster has no CRS")
        out = np.full(grid.shape, -2**31 if categorical else np.nan, dtype=np.int32 if categorical else np.float32)
        reproject(rasterio.band(src, 1), out, src_nodata=src.nodata, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=-2**31 if categorical else np.nan,
                  resampling=Resampling.nearest if categorical else Resampling.bilinear)
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


def _write_cog(path: Path, array, transform, dtype, nodata, tags: dict) -> None:
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    profile = dict(driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype=dtype,
                   crs=STORE_CRS, transform=transform, nodata=nodata)
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(array.astype(dtype), 1)
            ds.update_tags(**tags)
        with mem.open() as ds:
            rio_copy(ds, path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256, OVERVIEWS="AUTO",
                     RESAMPLING="NEAREST" if dtype == np.uint8 else "AVERAGE", NUM_THREADS=1)


def _write_gpkg(path: Path, result: PotentialResult) -> None:
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from rasterio.features import shapes
    from shapely.geometry import shape

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    cell_area = abs(result.transform.a * result.transform.e)
    records = []
    for geom, value in shapes(result.classes, mask=result.classes > 0, transform=result.transform, connectivity=4):
        records.append((int(value), shape(geom)))
    frame = gpd.GeoDataFrame({"class": [r[0] for r in records]}, geometry=[r[1] for r in records], crs=STORE_CRS)
    frame = frame.dissolve(by="class", as_index=False).sort_values("class")
    frame["class_name"] = [f"{CLASS_NAMES[k - 1][0]} / {CLASS_NAMES[k - 1][1]}" for k in frame["class"]]
    frame["area_ha"] = [round(float((result.classes == k).sum() * cell_area / 1e4), 2) for k in frame["class"]]
    frame = frame[["class", "class_name", "area_ha", "geometry"]]
    pyogrio.write_dataframe(frame, path, layer="potential_classes", driver="GPKG")
    prov = pd.DataFrame(
        [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False))
         for k, v in sorted(result.provenance.items())], columns=["key", "value"])
    pyogrio.write_dataframe(prov, path, layer="provenance", driver="GPKG", append=False)
    if result.commune_areas is not None:
        pyogrio.write_dataframe(pd.DataFrame(result.commune_areas), path, layer="commune_class_areas", driver="GPKG")
