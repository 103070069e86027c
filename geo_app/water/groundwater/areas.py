"""Area of each potential class per 2025 commune, block by block, without boundary slivers."""
from __future__ import annotations

import numpy as np
import pandas as pd
from affine import Affine
from rasterio.features import rasterize

from geo_app import STORE_CRS, layers
from geo_app.water.groundwater.classes import CLASS_NAMES
from geo_app.water.terrain import Dem
from geo_app.water.terrain.blocks import DEFAULT_BLOCK, block_windows

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

    if communes is None:

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
