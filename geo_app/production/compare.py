"""The difference between two frozen boundaries of a product: what a new version adds and removes.

Both boundaries are in EPSG:9208 (the store CRS), so areas are plane areas on VN-2000 TM-3 104°45′, the
same as every other area the system reports. Added is ``new − old``, removed is ``old − new``; by
construction ``area(new) = area(old) + added − removed`` (up to floating-point noise, far below 0.01 ha).
"""
from __future__ import annotations

from dataclasses import dataclass

import shapely

M2_PER_HA = 10_000.0


@dataclass(frozen=True)
class BoundaryDifference:
    """``added`` and ``removed`` are (possibly empty) geometries in EPSG:9208; areas in hectares."""

    added: object
    removed: object
    old_ha: float
    new_ha: float
    added_ha: float
    removed_ha: float

    @property
    def change_ha(self) -> float:
        return self.new_ha - self.old_ha


def _polygonal(geometry):
    """Only the polygon parts of an overlay result (lines and points where edges touch have no area)."""
    if geometry is None or geometry.is_empty:
        return shapely.MultiPolygon()
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    return shapely.union_all(parts) if parts else shapely.MultiPolygon()


def difference(old, new) -> BoundaryDifference:
    """What ``new`` adds to ``old`` and removes from it (shapely geometries in EPSG:9208; either may be None)."""
    old = shapely.make_valid(old) if old is not None else shapely.MultiPolygon()
    new = shapely.make_valid(new) if new is not None else shapely.MultiPolygon()
    added = _polygonal(shapely.difference(new, old))
    removed = _polygonal(shapely.difference(old, new))
    return BoundaryDifference(added, removed, old.area / M2_PER_HA, new.area / M2_PER_HA,
                              added.area / M2_PER_HA, removed.area / M2_PER_HA)
