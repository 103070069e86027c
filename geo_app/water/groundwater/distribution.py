"""Groundwater distribution for Sa Pa: the aquifer units from the user's
hydrogeological polygons, and a groundwater level (or depth) surface interpolated from the wells and
boreholes that carry one, with its leave-one-out cross-validation error beside it.

::

    from geo_app import groundwater as gw
    res = gw.groundwater_distribution("wells.csv", extent=(minx, miny, maxx, maxy), aquifers="tang_chua_nuoc.zip",
                                      aquifer_field="ten", out_dir="out/")
    res.cv["rmse_m"], res.cv_table, res.files

Outputs (written to a temporary folder beside ``out_dir`` and moved into place only when all are
ready; identical inputs give byte-identical files):

- ``groundwater_level.tif`` or ``groundwater_depth.tif``: the surface (COG, float32, EPSG:9208), and
  with a DEM and a level field also ``groundwater_depth.tif`` = DEM − level;
- ``groundwater_distribution.gpkg``: layers ``aquifer_units`` (with wells and surface statistics per
  unit), ``wells`` (the wells used, each with its leave-one-out prediction and error), ``provenance``;
- ``level_cv.csv`` / ``level_cv.json``: the cross-validation errors, per well and summarised;
- ``level_report.json``: the provenance (inputs' sha256, method, CV figures, notes).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from rasterio.features import geometry_mask, rasterize
from shapely.geometry import box

from geo_app import STORE_CRS, __version__
from geo_app.io.cog import write_cog
from geo_app.water.groundwater.inputs import INVENTORY, frame_digest, inventory_points, read_vector
from geo_app.water.groundwater.level import LevelError, interpolate_level
from geo_app.water.groundwater.potential import default_extent
from geo_app.water.groundwater.reclass import label_key
from geo_app.water.terrain import Dem, read_dem, target_grid

#: Field names (compared without case, diacritics or punctuation) of a level above sea level …
LEVEL_FIELDS = ("level m", "level", "water level m", "water level", "gwl", "gwl m", "static level", "static level m",
                "swl", "muc nuoc", "muc nuoc m", "muc nuoc tinh", "cao do muc nuoc", "cao do mn", "h mn")
#: … and of a depth to water below the ground.
DEPTH_FIELDS = ("depth to water", "depth to water m", "dtw", "dtw m", "depth m", "water depth", "do sau muc nuoc",
                "chieu sau muc nuoc", "do sau mn", "sau muc nuoc")
WELL_KINDS = ("well", "borehole")
OUTPUT_NAMES = ("groundwater_level.tif", "groundwater_depth.tif", "groundwater_distribution.gpkg", "level_cv.csv",
                "level_cv.json", "level_report.json")
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


@dataclass
class DistributionResult:
    surface: np.ndarray  # float32, NaN outside the study area
    quantity: str  # "level" (m a.s.l.) or "depth" (m below ground)
    depth: np.ndarray | None  # DEM − level, when a DEM was given with a level field
    transform: object
    wells: object  # GeoDataFrame of the wells used, with loo_predicted / loo_error
    aquifers: object | None  # GeoDataFrame of aquifer units, or None
    cv: dict  # n_wells, rmse_m, mae_m, mean_error_m, max_abs_error_m
    cv_table: object  # DataFrame, one row per well
    provenance: dict
    files: dict = field(default_factory=dict)


def _key(name) -> str:

    return label_key(name)


def find_level_field(columns, field: str | None = None, quantity: str | None = None) -> tuple[str, str]:
    """The wells' level/depth column and what it holds; refuses when none can be found."""
    cols = [c for c in columns if c not in ("geometry", "source_file", "source_row")]
    if field is not None:
        if field not in cols:
            raise LevelError(f"Lớp giếng không có trường '{field}' (có: {', '.join(map(str, cols))}) / "
                             f"the wells layer has no field '{field}'")
        if quantity is None:
            quantity = "depth" if _key(field) in DEPTH_FIELDS else "level"
        return field, quantity
    for wanted, names in (("level", LEVEL_FIELDS), ("depth", DEPTH_FIELDS)):
        if quantity not in (None, wanted):
            continue
        for col in cols:
            if _key(col) in names:
                return col, wanted
    raise LevelError(
        f"Không thấy trường mực nước (vd. level_m, muc_nuoc, depth_to_water) trong {', '.join(map(str, cols))}; "
        "chỉ rõ bằng --level-field / no level or depth field found; name it with --level-field"
    )


def groundwater_distribution(
    wells, out_dir=None, extent=None, aquifers=None, aquifer_field: str | None = None, level_field: str | None = None,
    quantity: str | None = None, dem=None, resolution: float = 30.0, power: float = 2.0, area_geom=None,
) -> DistributionResult:
    """Aquifer units + IDW level/depth surface with leave-one-out cross-validation; files when ``out_dir``.

    - ``wells``: a points file (any format of ``geo_app.importers``), a GeoDataFrame, or ``"inventory"``:
      the wells and boreholes of the saved water-source inventory. Rows without a value are left out.
    - ``level_field``/``quantity``: the column and whether it is a level ("level", m above sea level) or
      a depth to water ("depth", m); found by name when not given.
    - ``extent`` (EPSG:9208) or ``dem`` (a DEM GeoTIFF or :class:`~geo_app.water.terrain.Dem`, giving the
      grid, and with a level also the depth = DEM − level); default: the former Sa Pa town (088).
    - ``aquifers``: the user's hydrogeological polygons (file or GeoDataFrame); ``aquifer_field``
      names their unit (polygons with the same value are merged).
    Only wells inside the grid take part (the CV figures describe the study area).
    """


    if quantity not in (None, "level", "depth"):
        raise LevelError(f"quantity phải là 'level' hoặc 'depth' / quantity must be 'level' or 'depth', not {quantity!r}")
    if not (power > 0):
        raise LevelError(f"Số mũ IDW phải > 0 / the IDW power must be > 0 (got {power})")
    inputs: dict = {}
    notes: list = []

    # 1. the grid
    dem_grid = None
    if isinstance(dem, Dem):
        dem_grid = dem
    elif dem is not None:
        if extent is None:
            extent, area_geom = _default_extent()
        dem_grid = read_dem(dem, extent=extent, resolution=resolution)
    if dem_grid is not None:
        transform, shape = dem_grid.transform, dem_grid.shape
        inputs.update({f"dem:{k}": v for k, v in dem_grid.sources.items()})
        mask = dem_grid.valid.copy()
    else:
        if extent is None:
            extent, area_geom = _default_extent()
        transform, rows, cols = target_grid(extent, resolution)
        shape = (rows, cols)
        mask = np.ones(shape, dtype=bool)
    if area_geom is not None:

        mask &= ~geometry_mask([area_geom], shape, transform, all_touched=False)
        notes.append("vùng nghiên cứu cắt theo ranh giới thị xã Sa Pa (cũ), mã 088 / "
                     "study area masked to the outline of the former Sa Pa town (district 088)")
    left, top = transform.c, transform.f
    bounds = (left, top + shape[0] * transform.e, left + shape[1] * transform.a, top)

    # 2. the wells
    if isinstance(wells, str) and wells == INVENTORY and not Path(wells).exists():
        frame = inventory_points(WELL_KINDS, error=LevelError)
        inputs[f"wells:inventory ({'/'.join(WELL_KINDS)}, {len(frame)} points)"] = frame_digest(frame)
        notes.append(f"giếng: {len(frame)} giếng đào và giếng khoan của danh mục nguồn nước đã lưu / "
                     f"wells: the {len(frame)} wells and boreholes of the saved water-source inventory")
    else:
        frame = read_vector(wells, "wells", inputs, kind="point", error=LevelError)
    column, quantity = find_level_field(frame.columns, level_field, quantity)
    frame = frame.reset_index(drop=True)
    values = np.array([_float(v) for v in frame[column]], dtype=np.float64)
    has_point = np.array([g is not None and not g.is_empty and g.geom_type == "Point" for g in frame.geometry])
    inside = np.zeros(len(frame), dtype=bool)
    if has_point.any():
        xs = np.array([g.x if ok else np.nan for g, ok in zip(frame.geometry, has_point)])
        ys = np.array([g.y if ok else np.nan for g, ok in zip(frame.geometry, has_point)])
        inside = has_point & (xs >= bounds[0]) & (xs < bounds[2]) & (ys > bounds[1]) & (ys <= bounds[3])
    use = inside & np.isfinite(values)
    if (~np.isfinite(values)).any():
        n_blank = int((~np.isfinite(values)).sum())
        notes.append(f"bỏ {n_blank} giếng không có giá trị '{column}' / {n_blank} wells without a value in '{column}' left out")
    if (np.isfinite(values) & ~inside).any():
        n_out = int((np.isfinite(values) & ~inside).sum())
        notes.append(f"bỏ {n_out} giếng nằm ngoài lưới / {n_out} wells outside the grid left out")
    used = frame[use].copy()
    used["observed_m"] = values[use]
    if len(used) < 3:
        raise LevelError(
            f"Cần ít nhất 3 giếng có {column} trong vùng nghiên cứu, chỉ có {len(used)} / at least 3 wells with "
            f"'{column}' inside the study area are needed, {len(used)} found"
        )
    surf = interpolate_level(used, transform, shape, field="observed_m", power=power)
    surface = np.where(mask, surf.array, np.nan).astype(np.float32)
    used["loo_predicted_m"] = used["observed_m"] - surf.residuals
    used["loo_error_m"] = -surf.residuals  # predicted − observed
    used["column"] = column
    cv = {
        "n_wells": int(surf.n_wells),
        "rmse_m": round(surf.loo_rmse, 4),
        "mae_m": round(surf.loo_mae, 4),
        "mean_error_m": round(float(np.mean(-surf.residuals)), 4),
        "max_abs_error_m": round(float(np.max(np.abs(surf.residuals))), 4),
        "method": f"leave-one-out: each well predicted by IDW (power {power:g}) from all the others",
    }
    cv_table = _cv_table(used)

    depth = None
    if dem_grid is not None and quantity == "level":
        depth = np.where(mask, dem_grid.array - surface, np.nan).astype(np.float32)
        above = int((depth[mask] < 0).sum())
        notes.append("độ sâu mực nước = DEM − mực nước nội suy"
                     + (f"; {above} ô có mực nước cao hơn mặt đất (độ sâu âm: mạch lộ, nước có áp hoặc sai số nội suy)"
                        if above else "")
                     + " / depth to water = DEM − interpolated level"
                     + (f"; {above} cells have the level above the ground (negative depth: springs, artesian or "
                        "interpolation error)" if above else ""))

    # 3. aquifer units
    units = None
    if aquifers is not None:
        units = aquifer_units_on_grid(aquifers, box(*bounds), aquifer_field, inputs, used, surface, transform)
        field_note = (f" (trường '{aquifer_field}')", f" (field '{aquifer_field}')") if aquifer_field else ("", "")
        notes.append(f"{len(units)} đơn vị tầng chứa nước từ lớp địa chất thủy văn của người dùng{field_note[0]} / "
                     f"{len(units)} aquifer units from the user's hydrogeological layer{field_note[1]}")

    provenance = {
        "software": f"geo-app {__version__}",
        "crs": STORE_CRS,
        "resolution_m": abs(transform.a),
        "bounds": [round(v, 3) for v in bounds],
        "inputs_sha256": dict(sorted(inputs.items())),
        "quantity": quantity,
        "unit": "m above sea level" if quantity == "level" else "m below ground",
        "field": str(column),
        "method": f"inverse distance weighting, power {power:g}, all wells of the study area",
        "cross_validation": cv,
        "notes": notes,
    }
    valid = surface[mask]
    if valid.size:
        provenance["surface_range_m"] = [round(float(valid.min()), 3), round(float(valid.max()), 3)]
    result = DistributionResult(surface, quantity, depth, transform, used, units, cv, cv_table, provenance)
    if out_dir is not None:
        result.files = write_distribution(result, Path(out_dir))
    return result


def aquifer_units_on_grid(source, clip_geom, field, inputs, wells, surface, transform):
    """The aquifer polygons cut to the study area, one row per unit, with wells and surface statistics."""

    frame = read_vector(source, "aquifers", inputs, kind="polygon", error=LevelError)
    if field is not None and field not in frame.columns:
        cols = ", ".join(c for c in frame.columns if c not in (frame.geometry.name, "source_file", "source_row"))
        raise LevelError(f"Lớp tầng chứa nước không có trường '{field}' (có: {cols}) / the aquifer layer has no field '{field}'")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].copy()
    frame["geometry"] = frame.geometry.make_valid().intersection(clip_geom)
    frame = frame[~frame.geometry.is_empty & frame.geometry.geom_type.isin(["Polygon", "MultiPolygon", "GeometryCollection"])]
    if frame.empty:
        raise LevelError("Không có đơn vị tầng chứa nước nào trong vùng nghiên cứu / no aquifer unit lies in the study area")
    if field is not None:
        frame["unit"] = frame[field].astype(str)
        frame = frame.dissolve(by="unit", as_index=False, sort=True)[["unit", "geometry"]]
    else:
        frame["unit"] = [str(v) for v in frame.get("source_row", range(1, len(frame) + 1))]
        frame = frame[["unit", "geometry"]].reset_index(drop=True)
    frame["geometry"] = frame.geometry.buffer(0) if (frame.geom_type == "GeometryCollection").any() else frame.geometry
    frame["area_km2"] = (frame.geometry.area / 1e6).round(4)
    ids = rasterize(((g, i + 1) for i, g in enumerate(frame.geometry)), out_shape=surface.shape, transform=transform,
                    fill=0, all_touched=False, dtype="int32")
    stats = []
    joined = gpd.sjoin(wells[["observed_m", "loo_error_m", "geometry"]], frame[["unit", "geometry"]],
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    for i, unit in enumerate(frame["unit"]):
        cells = surface[(ids == i + 1) & np.isfinite(surface)]
        in_unit = joined[joined["unit"] == unit]
        stats.append({
            "n_wells": int(len(in_unit)),
            "observed_mean_m": round(float(in_unit["observed_m"].mean()), 3) if len(in_unit) else None,
            "loo_rmse_m": round(float(np.sqrt((in_unit["loo_error_m"] ** 2).mean())), 3) if len(in_unit) else None,
            "surface_mean_m": round(float(cells.mean()), 3) if cells.size else None,
            "surface_min_m": round(float(cells.min()), 3) if cells.size else None,
            "surface_max_m": round(float(cells.max()), 3) if cells.size else None,
        })
    wells["aquifer_unit"] = joined["unit"].reindex(wells.index).to_numpy()
    out = pd.concat([frame.reset_index(drop=True), pd.DataFrame(stats)], axis=1)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)


#: Column headings (compared folded: no case, diacritics or punctuation, via ``geo_app.admin.names.fold``)
#: of a well's identifier, name and kind, English and Vietnamese, in order of preference.
ID_FIELDS = ("id", "well id", "ma", "ma so", "ma gieng", "ma lk", "ma lo khoan", "ma diem", "ma hieu", "so hieu",
             "so hieu gieng", "so hieu lo khoan", "so hieu lk", "shlk", "ky hieu", "ky hieu gieng", "code", "well code",
             "stt", "so tt", "so thu tu")
NAME_FIELDS = ("name", "well name", "ten", "ten gieng", "ten lo khoan", "ten diem", "ten nguon", "ten cong trinh",
               "dia danh")
KIND_FIELDS = ("kind", "type", "well type", "loai", "loai gieng", "loai nguon", "loai hinh", "loai cong trinh",
               "kieu")


def well_columns(columns) -> dict:
    """The columns holding each well's ``id``, ``name`` and ``kind``: ``{"id": "Mã", ...}`` for those found."""
    keys = {}
    for col in columns:
        if col in ("geometry", "source_file", "source_row"):
            continue
        keys.setdefault(_key(col), col)
    found = {}
    for role, names in (("id", ID_FIELDS), ("name", NAME_FIELDS), ("kind", KIND_FIELDS)):
        for name in names:
            if name in keys and keys[name] not in found.values():
                found[role] = keys[name]
                break
    return found


def _cv_table(used):

    roles = well_columns(used.columns)

    def col(name):
        return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in (used[name] if name in used.columns else [None] * len(used))]

    table = pd.DataFrame({
        "well_id": col(roles.get("id", "id")), "name": col(roles.get("name", "name")),
        "kind": col(roles.get("kind", "kind")),
        "x": [round(g.x, 3) for g in used.geometry], "y": [round(g.y, 3) for g in used.geometry],
        "observed_m": used["observed_m"].round(4).to_numpy(),
        "loo_predicted_m": used["loo_predicted_m"].round(4).to_numpy(),
        "loo_error_m": used["loo_error_m"].round(4).to_numpy(),
        "source_file": col("source_file"), "source_row": col("source_row"),
    })
    if table["well_id"].isna().all():
        table["well_id"] = [str(i + 1) for i in range(len(table))]
    return table


def _float(value) -> float:
    try:
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def _default_extent():

    try:
        return default_extent()
    except Exception as exc:  # PotentialError, or the layer store is not built
        raise LevelError(
            "Không có phạm vi: cho --extent hoặc --dem, hoặc dựng kho lớp (geo-app build) để dùng thị xã Sa Pa (cũ) / "
            f"no extent: give --extent or --dem, or build the layer store for the former Sa Pa town ({exc})"
        ) from exc


# ------------------------------------------------------------------------------------------- outputs

def write_distribution(result: DistributionResult, out_dir: Path) -> dict:
    """Write every output to a temporary folder, then move them into ``out_dir`` (earlier ones replaced)."""

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".groundwater-level-", dir=out_dir.parent))
    try:
        prov_json = json.dumps(result.provenance, sort_keys=True, ensure_ascii=False)
        cv = result.cv
        tags = {"provenance": prov_json, "CV_N_WELLS": str(cv["n_wells"]), "CV_RMSE_M": f"{cv['rmse_m']:.4f}",
                "CV_MAE_M": f"{cv['mae_m']:.4f}", "QUANTITY": result.quantity}
        names = []
        main_name = f"groundwater_{result.quantity}.tif"
        write_cog(tmp / main_name, result.surface, result.transform, np.float32, np.nan, tags)
        names.append(main_name)
        if result.depth is not None:
            write_cog(tmp / "groundwater_depth.tif", result.depth, result.transform, np.float32, np.nan,
                       dict(tags, QUANTITY="depth (DEM − level)"))
            names.append("groundwater_depth.tif")

        gpkg = tmp / "groundwater_distribution.gpkg"
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
        if result.aquifers is not None:
            pyogrio.write_dataframe(result.aquifers, gpkg, layer="aquifer_units", driver="GPKG")
        wells = result.wells
        keep = [c for c in ("id", "name", "kind", "aquifer_unit", "source_file", "source_row") if c in wells.columns]
        wells_out = wells[keep + ["observed_m", "loo_predicted_m", "loo_error_m", "geometry"]].copy()
        for c in keep:
            wells_out[c] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in wells_out[c]]
        pyogrio.write_dataframe(wells_out.reset_index(drop=True), gpkg, layer="wells", driver="GPKG")
        prov = pd.DataFrame([(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False))
                             for k, v in sorted(result.provenance.items())], columns=["key", "value"])
        pyogrio.write_dataframe(prov, gpkg, layer="provenance", driver="GPKG")
        names.append("groundwater_distribution.gpkg")

        result.cv_table.to_csv(tmp / "level_cv.csv", index=False, lineterminator="\n", float_format="%.4f")
        per_well = json.loads(result.cv_table.to_json(orient="records", double_precision=4))
        (tmp / "level_cv.json").write_text(
            json.dumps({"summary": cv, "wells": per_well}, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
        (tmp / "level_report.json").write_text(json.dumps(result.provenance, indent=1, sort_keys=True, ensure_ascii=False),
                                         encoding="utf-8")
        names += ["level_cv.csv", "level_cv.json", "level_report.json"]

        out_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in names:
            os.replace(tmp / name, out_dir / name)
            files[name] = out_dir / name
        for name in OUTPUT_NAMES:  # an output of an earlier run that this one does not make would mislead
            if name not in files and (out_dir / name).exists():
                (out_dir / name).unlink()
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
