"""The table of boundary points: turning points of the area's exterior ring(s).

Order (stated in the annex): rings from north to south by their northernmost vertex; within a ring,
clockwise as seen on the map, starting at its northernmost vertex (the westernmost of equals);
numbering runs on across rings. A source boundary has thousands of vertices, most closer together
than a pen can show, so each ring is reduced with Douglas–Peucker at a tolerance of 0.5 mm on the
sheet (× scale); if that still leaves more than ``MAX_POINTS`` the tolerance doubles until it does
not. The first vertex of each ring is kept by construction (it is the line's start and end).
Area and perimeter are always those of the full boundary, never of the reduced one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

#: On-paper tolerance of the reduction and the cap on numbered points (readable on an A3 sheet).
TOLERANCE_MM = 0.5
MAX_POINTS = 240


@dataclass
class BoundaryPoints:
    table: pd.DataFrame  # no, ring, x_north, y_east
    tolerance_m: float
    source_vertices: int
    holes: int


def _rings(geometry) -> list[np.ndarray]:
    rings = []
    for poly in shapely.get_parts(geometry):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        xy = np.asarray(poly.exterior.coords)[:-1]
        # Shoelace sign: positive is anticlockwise in an x-east, y-north frame.
        x, y = xy[:, 0], xy[:, 1]
        if np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y) > 0:
            xy = xy[::-1]
        start = int(np.lexsort((xy[:, 0], -xy[:, 1]))[0])  # max north, then min east
        rings.append(np.roll(xy, -start, axis=0))
    rings.sort(key=lambda r: (-r[0, 1], r[0, 0]))
    return rings


def _reduce(ring: np.ndarray, tolerance: float) -> np.ndarray:
    closed = np.vstack([ring, ring[:1]])
    kept = np.asarray(shapely.simplify(shapely.linestrings(closed), tolerance, preserve_topology=False).coords)
    return kept[:-1] if len(kept) > 2 else ring[:1]


def boundary_points(geometry, scale: int) -> BoundaryPoints:
    rings = _rings(geometry)
    tolerance = TOLERANCE_MM * scale / 1000.0
    while True:
        reduced = [_reduce(r, tolerance) for r in rings]
        if sum(len(r) for r in reduced) <= MAX_POINTS:
            break
        tolerance *= 2
    rows = []
    no = 0
    for ring_no, ring in enumerate(reduced, start=1):
        for east, north in ring:
            no += 1
            rows.append((no, ring_no, round(float(north), 2), round(float(east), 2)))
    holes = sum(len(p.interiors) for p in shapely.get_parts(geometry) if p.geom_type == "Polygon")
    return BoundaryPoints(
        pd.DataFrame(rows, columns=["no", "ring", "x_north", "y_east"]),
        tolerance,
        int(sum(len(r) for r in rings)),
        holes,
    )
