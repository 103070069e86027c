"""Helpers for the OGC API client tests: what each collection should give for a CRS, a bbox and an
attribute filter, computed from the store itself, and the largest distance between two readings in
metres. No tests here."""
from __future__ import annotations

from collections import Counter

import numpy as np
import shapely
from pyproj import Transformer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG9208 = "http://www.opengis.net/def/crs/EPSG/0/9208"
#: the two CRS each client reads in (both easting/longitude first)
READ_CRS = {"CRS84": "OGC:CRS84", "EPSG:9208": "EPSG:9208"}


def store_frame(layer_id: str):
    from geo_app.serve import ogcapi

    return ogcapi._collection(layer_id).frame


def query_for(layer_id: str, crs: str) -> dict:
    """A bbox (the middle of the layer's extent, in ``crs``) and an attribute filter (the most common
    value of a text property) that select a non-trivial part of the layer."""
    frame = store_frame(layer_id)
    text_fields = [c for c in frame.columns if c != "geometry" and frame[c].map(lambda v: isinstance(v, str)).all()]
    # the text property whose most common value is shared by the most features (e.g. kind = 'xã')
    field = max(text_fields, key=lambda c: Counter(frame[c]).most_common(1)[0][1])
    value = Counter(frame[field]).most_common(1)[0][0]
    out = {"field": field, "value": value, "bbox": None}
    if "geometry" in frame and frame.geometry.notna().any():
        geoms = _in_crs(frame, crs)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
        box = (x0 + dx, y0 + dy, x1 - dx, y1 - dy) if dx or dy else (x0 - 1, y0 - 1, x1 + 1, y1 + 1)
        out["bbox"] = tuple(float(v) for v in box)
    return out


def _in_crs(frame, crs: str) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values)
    if READ_CRS[crs] == "EPSG:9208":
        return geoms
    transformer = Transformer.from_crs("EPSG:9208", READ_CRS[crs], always_xy=True)
    return shapely.transform(geoms, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))


def expected(layer_id: str, crs: str, query: dict) -> list:
    """The store's features matching the query, in ``crs`` (x first), as the server selects them:
    geometries intersecting the box, property equal to the value."""
    frame = store_frame(layer_id)
    keep = np.array(frame[query["field"]] == query["value"], dtype=bool)
    geoms = _in_crs(frame, crs) if query["bbox"] else np.full(len(frame), None)
    if query["bbox"]:
        keep &= shapely.intersects(geoms, shapely.box(*query["bbox"]))
    return [g for g, k in zip(geoms, keep) if k]


def max_error_m(got: list, want: list, crs: str) -> float:
    """Features matched by position of their first vertex; the largest vertex distance, in metres."""
    assert len(got) == len(want), (len(got), len(want))
    if not want or want[0] is None:
        return 0.0

    def key(g):
        c = shapely.get_coordinates(g)
        return (len(c), round(float(c[0][0]), 5), round(float(c[0][1]), 5))

    worst = 0.0
    for a, b in zip(sorted(got, key=key), sorted(want, key=key)):
        ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
        assert ca.shape == cb.shape, (ca.shape, cb.shape)
        d = np.abs(ca - cb)
        if crs == "CRS84":  # degrees to metres at the features' latitude
            d = d * np.array([111_320 * np.cos(np.radians(cb[:, 1])), np.full(len(cb), 110_574)]).T
        worst = max(worst, float(np.hypot(d[:, 0], d[:, 1]).max()))
    return worst
