"""The boundary of a version of a production area, frozen once from its geometry: the cleaned
geometry, the table of boundary points, its hash, area and perimeter.

The table does not depend on the paper or the scale of any sheet: an A3 sheet, an A4 sheet and
every export of one version list the same points.

Order (stated in the annex): rings from north to south by their northernmost vertex; within a ring,
clockwise as seen on the map, starting at its northernmost vertex (the westernmost of equals);
numbering runs on across rings. A source boundary has thousands of vertices, most closer together
than a surveyor would stake, so each ring is reduced with Douglas–Peucker at a tolerance chosen
from the size of the area (``tolerance_for_area``); if that still leaves more than ``MAX_POINTS``
the tolerance doubles until it does not. The first vertex of each ring is kept by construction
(it is the line's start and end). Area and perimeter are always those of the full boundary, never
of the reduced one.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

#: The reduction tolerance is this fraction of the side of a square of the same area, rounded down
#: to 1-2-5 steps: 5 m for a 1 000 ha commune, 20 m for 10 000 ha, 50 m for a 140 000 ha district.
TOLERANCE_PER_SIDE = 1 / 1000
MIN_TOLERANCE_M = 1.0
#: The cap on numbered points (three annex pages); beyond it the tolerance doubles.
MAX_POINTS = 400
#: Holes and parts smaller than this are slivers of the sources' digitising, not land: removed, with a note.
MIN_RING_AREA_M2 = 1.0


@dataclass
class BoundaryPoints:
    table: pd.DataFrame  # no, ring, x_north, y_east (EPSG:9208, metres)
    tolerance_m: float
    source_vertices: int
    holes: int


@dataclass(frozen=True)
class FrozenBoundary:
    """What a dossier draws and lists: the fields a version of a product is frozen with."""

    geometry: object  # shapely (Multi)Polygon, EPSG:9208
    points: pd.DataFrame  # as ``boundary_points(...).table``
    sha256: str
    area_ha: float
    perimeter_m: float
    tolerance_m: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def tolerance_for_area(area_m2: float) -> float:
    """The Douglas–Peucker tolerance for an area: 1/1000 of the side of the equal-area square,
    rounded down to 1, 2, 5 × 10ⁿ m, at least 1 m."""
    target = math.sqrt(max(area_m2, 0.0)) * TOLERANCE_PER_SIDE
    if target <= MIN_TOLERANCE_M:
        return MIN_TOLERANCE_M
    exponent = math.floor(math.log10(target))
    best = MIN_TOLERANCE_M
    for base in (1, 2, 5, 10):
        step = base * 10.0**exponent
        if step <= target + 1e-9:
            best = step
    return float(best)


def clean_geometry(geometry, min_area_m2: float = MIN_RING_AREA_M2) -> tuple[object, list[str]]:
    """Drop holes and parts under ``min_area_m2`` and degenerate rings; say what was dropped.

    A hole of 10⁻⁹ m² between two commune polygons is an artefact of their digitising; listing it
    as a ring of the boundary, or carrying it into a KML, misleads.
    """
    notes: list[str] = []
    polygons = []
    dropped_holes, dropped_parts = [], []
    for poly in shapely.get_parts(geometry):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        shell = poly.exterior
        if len(shell.coords) < 4 or shapely.Polygon(shell).area < min_area_m2:
            dropped_parts.append(shapely.Polygon(shell).area)
            continue
        holes = []
        for ring in poly.interiors:
            area = shapely.Polygon(ring).area
            if len(ring.coords) < 4 or area < min_area_m2:
                dropped_holes.append(area)
            else:
                holes.append(ring)
        polygons.append(shapely.Polygon(shell, holes))
    if dropped_holes:
        notes.append(
            f"Đã bỏ {len(dropped_holes)} lỗ nhỏ hơn {min_area_m2:g} m² (tổng {sum(dropped_holes):.2g} m², khe hở số hoá "
            f"giữa các xã) / removed {len(dropped_holes)} hole(s) under {min_area_m2:g} m² (total "
            f"{sum(dropped_holes):.2g} m², digitising gaps between communes)"
        )
    if dropped_parts:
        notes.append(
            f"Đã bỏ {len(dropped_parts)} mảnh nhỏ hơn {min_area_m2:g} m² / removed {len(dropped_parts)} part(s) under "
            f"{min_area_m2:g} m²"
        )
    if not dropped_holes and not dropped_parts:
        return geometry, notes
    cleaned = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
    return cleaned, notes


def geometry_sha256(geometry) -> str:
    """The hash of the boundary: sha256 of its WKB (little-endian, 2D), which fixes every vertex."""
    return hashlib.sha256(shapely.to_wkb(geometry, byte_order=1, output_dimension=2)).hexdigest()


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


def boundary_points(geometry, scale: int | None = None, *, tolerance_m: float | None = None) -> BoundaryPoints:
    """The table of boundary points of ``geometry`` (EPSG:9208).

    ``scale`` is accepted for callers written against the older signature and has no effect: the
    table never depends on a sheet. ``tolerance_m`` overrides the tolerance chosen from the area.
    """
    del scale  # deliberately unused, see the docstring
    rings = _rings(geometry)
    tolerance = float(tolerance_m) if tolerance_m else tolerance_for_area(geometry.area)
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
    table = pd.DataFrame(rows, columns=["no", "ring", "x_north", "y_east"])
    # Carried with the frame so a caller that keeps only the table still knows how it was made.
    table.attrs.update({"tolerance_m": tolerance, "source_vertices": int(sum(len(r) for r in rings)), "holes": holes})
    return BoundaryPoints(table, tolerance, int(sum(len(r) for r in rings)), holes)


def freeze_boundary(geometry) -> FrozenBoundary:
    """Clean ``geometry`` and derive everything a version's dossier shows from it, once."""
    cleaned, notes = clean_geometry(geometry)
    bp = boundary_points(cleaned)
    return FrozenBoundary(cleaned, bp.table, geometry_sha256(cleaned), cleaned.area / 1e4, cleaned.length,
                          bp.tolerance_m, tuple(notes))


def as_boundary_points(boundary) -> BoundaryPoints:
    """The ``BoundaryPoints`` of a frozen boundary given by a caller (its ``points`` a table)."""
    points = boundary.points
    if isinstance(points, BoundaryPoints):
        return points
    table = pd.DataFrame(points).reset_index(drop=True)
    tolerance = getattr(boundary, "tolerance_m", None) or table.attrs.get("tolerance_m") or float("nan")
    geometry = boundary.geometry
    vertices = table.attrs.get("source_vertices") or int(sum(len(r) for r in _rings(geometry)))
    holes = sum(len(p.interiors) for p in shapely.get_parts(geometry) if p.geom_type == "Polygon")
    return BoundaryPoints(table[["no", "ring", "x_north", "y_east"]], float(tolerance), int(vertices), int(holes))
