"""Layers as GeoJSON for web clients: reprojected to WGS 84 and simplified to a tolerance.

Framework-free: the web views (map data, OGC API) call these functions and only format the result.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geo_app import layers

#: Metres per pixel at zoom 0 on the equator in Web Mercator.
_M_PER_PX_Z0 = 156543.03392804097


def tolerance_for_zoom(zoom: float, latitude: float = 22.3) -> float:
    """Ground size of one screen pixel (m) at a Web-Mercator zoom level, at Lào Cai's latitude."""
    return _M_PER_PX_Z0 * math.cos(math.radians(latitude)) / (2 ** zoom)


@lru_cache(maxsize=32)
def _layer_cached(layer_id: str, version: str) -> gpd.GeoDataFrame:
    return layers.read(layer_id)


def _layer(layer_id: str) -> gpd.GeoDataFrame:
    # keyed by the version of the store the layer lives in, so a rebuild or a new user import is read anew
    return _layer_cached(layer_id, layers.store_version(layer_id))


def _json_value(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else round(float(value), 4)
    return value


def _on_grid(geom, grid: float = 1e-6):
    """Coordinates on a 1e-6° grid (~0.1 m). Re-noding on the grid can fail (GEOS TopologyException) for outlines
    made of raster cell edges simplified at a small zoom, such as the groundwater potential classes: those are
    rounded point by point instead."""
    try:
        return shapely.set_precision(geom, grid)
    except shapely.errors.GEOSException:
        return shapely.set_precision(geom, grid, mode="pointwise")


def feature_collection(layer_id: str, tolerance_m: float = 0.0, bbox_wgs84=None) -> dict:
    """The layer as a GeoJSON FeatureCollection in WGS 84.

    Simplification happens in EPSG:9208 (metres) with topology preserved per feature, so a
    tolerance of one screen pixel draws exactly what the full geometry would at that zoom.
    """
    frame = _layer(layer_id)
    if bbox_wgs84 is not None and len(frame):
        # Clip the box to the layer's extent first: a box far larger than the projection's zone
        # (e.g. the whole world) does not transform to a meaningful box in EPSG:9208.
        ext = _extent_wgs84(layer_id)
        minx, miny = max(bbox_wgs84[0], ext[0]), max(bbox_wgs84[1], ext[1])
        maxx, maxy = min(bbox_wgs84[2], ext[2]), min(bbox_wgs84[3], ext[3])
        if minx > maxx or miny > maxy:
            frame = frame.iloc[0:0]
        elif (minx, miny, maxx, maxy) != tuple(ext):
            minx, miny, maxx, maxy = layers.bbox_to_store((minx, miny, maxx, maxy), "EPSG:4326")
            frame = frame.cx[minx:maxx, miny:maxy]
    geoms = frame.geometry.values
    if tolerance_m > 0:
        geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms, crs=frame.crs).to_crs("EPSG:4326")
    features = []
    for props, geom in zip(out.drop(columns="geometry").to_dict(orient="records"), out.geometry.values):
        features.append(
            {
                "type": "Feature",
                "properties": {k: _json_value(v) for k, v in props.items()},
                # a product whose area is not resolved yet has no geometry: GeoJSON null
                "geometry": None if geom is None else json.loads(shapely.to_geojson(_on_grid(geom))),
            }
        )
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=32)
def _extent_cached(layer_id: str, version: str) -> tuple[float, float, float, float]:
    frame = _layer_cached(layer_id, version)
    west, south, east, north = Transformer.from_crs(frame.crs, "EPSG:4326", always_xy=True).transform_bounds(
        *frame.total_bounds, densify_pts=21)
    return (max(west - 0.01, -180.0), max(south - 0.01, -90.0), min(east + 0.01, 180.0), min(north + 0.01, 90.0))


def _extent_wgs84(layer_id: str) -> tuple[float, float, float, float]:
    """The layer's extent in WGS 84 with a 0.01° margin."""
    return _extent_cached(layer_id, layers.store_version(layer_id))

