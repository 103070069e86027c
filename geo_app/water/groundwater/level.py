"""Groundwater distribution: aquifer units from the user's layer, and a level surface from wells."""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from geo_app import STORE_CRS
from geo_app.errors import InputError
from geo_app.water.groundwater.inputs import read_vector


class LevelError(InputError):
    pass


@dataclass
class LevelSurface:
    array: np.ndarray  # float32, interpolated level (same unit as the wells' field)
    transform: object
    n_wells: int
    power: float
    loo_rmse: float  # leave-one-out cross-validation error
    loo_mae: float
    residuals: np.ndarray  # observed − predicted at each well when left out


def _idw(xy_known, values, xy_query, power, block=65536):
    out = np.empty(len(xy_query), dtype=np.float64)
    # Blocks keep the distance matrix at block × n_wells, whatever the grid size.
    for start in range(0, len(xy_query), block):
        q = xy_query[start:start + block]
        d = np.hypot(q[:, None, 0] - xy_known[None, :, 0], q[:, None, 1] - xy_known[None, :, 1])
        exact = d < 1e-9
        w = 1.0 / np.maximum(d, 1e-9) ** power
        est = (w * values).sum(axis=1) / w.sum(axis=1)
        hit = exact.any(axis=1)
        if hit.any():
            est[hit] = values[np.argmax(exact[hit], axis=1)]
        out[start:start + block] = est
    return out


def interpolate_level(wells, transform, shape, field: str = "level_m", power: float = 2.0) -> LevelSurface:
    """Inverse-distance-weighted level surface on a grid, with leave-one-out cross-validation.

    ``wells``: points (GeoDataFrame) with a numeric ``field``; rows without a value are ignored
    (only wells and boreholes that carry a level take part). Needs at least 3 wells.
    """
    if wells.crs is None:
        raise LevelError("Lớp giếng không có CRS / the wells layer has no CRS")
    if field not in wells.columns:
        raise LevelError(f"Lớp giếng không có trường '{field}' / the wells layer has no field '{field}'")
    wells = wells.to_crs(STORE_CRS)
    values = wells[field].astype(float).to_numpy()
    ok = np.isfinite(values) & ~wells.geometry.is_empty.to_numpy() & wells.geometry.notna().to_numpy()
    if ok.sum() < 3:
        raise LevelError(
            f"Cần ít nhất 3 giếng có mực nước, chỉ có {int(ok.sum())} / at least 3 wells with a level are needed"
        )
    xy = np.column_stack([wells.geometry.x.to_numpy()[ok], wells.geometry.y.to_numpy()[ok]])
    values = values[ok]
    residuals = np.empty(len(values))
    for i in range(len(values)):
        keep = np.arange(len(values)) != i
        residuals[i] = values[i] - _idw(xy[keep], values[keep], xy[i:i + 1], power)[0]
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    gx = transform.c + (cols.ravel() + 0.5) * transform.a
    gy = transform.f + (rows.ravel() + 0.5) * transform.e
    grid = _idw(xy, values, np.column_stack([gx, gy]), power).reshape(shape).astype(np.float32)
    return LevelSurface(grid, transform, int(len(values)), power, float(np.sqrt(np.mean(residuals ** 2))),
                        float(np.mean(np.abs(residuals))), residuals)


def aquifer_units(source, extent=None, field: str | None = None):
    """The user's hydrogeological (aquifer) polygons in EPSG:9208, cut to ``extent``, with area_km2."""


    # Files go through geo_app.importers (any format it reads, with its CRS/encoding detection).
    frame = read_vector(source, "aquifers", {}, kind="polygon", error=LevelError)
    if extent is not None:
        frame = gpd.clip(frame, box(*extent))
    frame = frame[~frame.geometry.is_empty].copy()
    frame["area_km2"] = (frame.geometry.area / 1e6).round(4)
    if field and field in frame.columns:
        return frame.dissolve(by=field, as_index=False)
    return frame
