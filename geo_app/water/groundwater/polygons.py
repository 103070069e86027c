"""The cells of each potential class as one MultiPolygon (WKB straight from GDAL's polygoniser)."""
from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import shapes

from geo_app.water.groundwater.classes import CLASS_NAMES


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

    cells = classes == k
    parts = [shapely.geometry.shape(geom) for geom, _ in
             shapes(cells.view(np.uint8), mask=cells, transform=transform, connectivity=4)]
    merged = shapely.union_all(shapely.make_valid(np.array(parts, dtype=object)))
    return shapely.multipolygons([merged]) if merged.geom_type == "Polygon" else merged
