"""The production areas as map and API data, read from the stored frozen boundaries (never re-resolved).

- :func:`area_features`: the latest visible version of each product (``/products/areas.geojson``), drafts
  only for officers and approvers, simplified for the map's zoom; the JSON text, its gzip and an ETag are
  made once per (versions, zoom) and kept.
- :func:`confirmed_features`: confirmed versions only, whoever asks — the public ``production-areas``
  collection of the OGC API and the public map layer: product, version, dossier id and sha256,
  confirmation date, legal basis.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geo_app import STORE_CRS
from geo_app.io.jsontext import dumps
from geo_app.production.workflow.freezing import products
from geo_app.production.workflow.repository import Version, db_path, tx, version_from_row
from geo_app.production.workflow.seeding import ensure_seeded

#: The OGC API collection of confirmed production areas (and its description there).
COLLECTION = "production-areas"
DESCRIPTION = {
    "vi": "Vùng sản xuất đã được UBND tỉnh xác nhận (chỉ phiên bản đã xác nhận, không có bản nháp): sản phẩm, phiên "
          "bản, mã hồ sơ và sha256, ngày xác nhận, căn cứ pháp lý. Ranh giới là ranh giới đã cố định của phiên bản.",
    "en": "Production areas confirmed by the provincial People's Committee (confirmed versions only, never drafts): "
          "product, version, dossier id and sha256, confirmation date, legal basis. The geometry is the version's "
          "frozen boundary.",
}
#: Columns of the confirmed areas, in order.
CONFIRMED_COLUMNS = ["product_id", "name", "name_en", "version", "dossier_id", "dossier_sha256", "confirmed_at",
                     "legal_basis", "area_ha", "perimeter_m", "geometry_sha256"]

#: Zoom levels the map asks for; the simplification tolerance is half a screen pixel at that zoom.
MIN_ZOOM, MAX_ZOOM = 0, 20
DEFAULT_TOLERANCE_M = 5.0
_TO_WGS84 = Transformer.from_crs(STORE_CRS, "EPSG:4326", always_xy=True)
#: Latitude of Lào Cai province, for the ground size of a web-map pixel.
_LAT = 22.3


def tolerance_for_zoom(zoom: int | None) -> float:
    """Half a pixel of a 256-px web-map tile at ``zoom`` on the ground at Lào Cai's latitude (metres)."""
    if zoom is None:
        return DEFAULT_TOLERANCE_M
    metres_per_px = 156543.034 * math.cos(math.radians(_LAT)) / 2 ** zoom
    return max(0.25, metres_per_px / 2)


def _to_wgs84(geometry):
    return shapely.transform(geometry, lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1])))


def _geojson_geometry(version: Version, tolerance: float) -> dict | None:
    if not version.geometry_wkb:
        return None
    geom = shapely.from_wkb(version.geometry_wkb)
    simple = shapely.simplify(geom, tolerance, preserve_topology=True)
    wgs = shapely.set_precision(_to_wgs84(simple), 1e-6)
    return json.loads(shapely.to_geojson(wgs))


def _legal_basis(version: Version) -> str:
    return "; ".join((version.resolution or {}).get("legal_basis", []))


def _properties(version: Version, base) -> dict:
    props = {"product_id": version.product_id, "name": base.name.get("vi"), "name_en": base.name.get("en"),
             "full_name": base.name.get("vi"), "status": version.status, "version": version.version,
             "area_ha": None if version.area_ha is None else round(version.area_ha, 2),
             "geometry_sha256": version.geometry_sha256}
    if version.status == "confirmed":
        props.update({"dossier_id": version.dossier_id, "dossier_sha256": version.dossier_sha256,
                      "confirmed_at": version.confirmed_at, "legal_basis": _legal_basis(version)})
    return props


def _visible(include_drafts: bool) -> list[tuple[Version, object]]:
    found = []
    catalogue = products()
    with tx() as con:
        rows = con.execute("SELECT * FROM versions ORDER BY product_id, version").fetchall()
    latest: dict[str, Version] = {}
    for row in rows:
        version = version_from_row(row)
        if version.product_id in catalogue and (include_drafts or version.status == "confirmed"):
            latest[version.product_id] = version
    for product_id in catalogue:
        if product_id in latest:
            found.append((latest[product_id], catalogue[product_id]))
    return found


@dataclass(frozen=True)
class Encoded:
    body: bytes
    gzipped: bytes
    etag: str


_CACHE: dict[tuple, Encoded] = {}
_CACHE_LOCK = threading.Lock()


def _encode(features: list[dict]) -> Encoded:
    body = dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode("utf-8")
    return Encoded(body, gzip.compress(body, compresslevel=6, mtime=0), hashlib.sha256(body).hexdigest()[:32])


def _state() -> tuple:
    """What the areas depend on, read cheaply (no geometry): every version's number, revision, status."""
    with tx() as con:
        return tuple(tuple(r) for r in con.execute(
            "SELECT product_id, version, revision, status, geometry_sha256 FROM versions ORDER BY product_id, version"))


def area_collection(include_drafts: bool, zoom: int | None = None) -> Encoded:
    """The GeoJSON of :func:`area_features`, with its gzip and ETag, cached per state and zoom."""
    for product_id in products():
        ensure_seeded(product_id)
    key = (str(db_path()), include_drafts, zoom, _state())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    visible = _visible(include_drafts)
    tolerance = tolerance_for_zoom(zoom)
    features = []
    for version, base in visible:
        geometry = _geojson_geometry(version, tolerance)
        if geometry is not None:
            features.append({"type": "Feature", "properties": _properties(version, base), "geometry": geometry})
    encoded = _encode(features)
    with _CACHE_LOCK:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = encoded
    return encoded


def area_features(include_drafts: bool, zoom: int | None = None) -> dict:
    """The latest visible version of every product's area as a GeoJSON FeatureCollection (WGS 84).
    Anonymous users and viewers see confirmed versions only; officers and approvers also drafts."""
    return json.loads(area_collection(include_drafts, zoom).body)


def confirmed_features() -> list[dict]:
    """Confirmed versions only (the latest confirmed of each product), for the OGC API and the public map."""
    return area_features(include_drafts=False, zoom=None)["features"]


def confirmed_frame(crs: str | None = None):
    """The latest confirmed version of each product as a GeoDataFrame (EPSG:9208, or ``crs``), full frozen
    geometry; no row for a product without a confirmed version."""
    records, geoms = [], []
    for version, base in _visible(include_drafts=False):
        if not version.geometry_wkb:
            continue
        records.append({"product_id": version.product_id, "name": base.name.get("vi"), "name_en": base.name.get("en"),
                        "version": version.version, "dossier_id": version.dossier_id,
                        "dossier_sha256": version.dossier_sha256, "confirmed_at": version.confirmed_at,
                        "legal_basis": _legal_basis(version), "area_ha": version.area_ha,
                        "perimeter_m": version.perimeter_m, "geometry_sha256": version.geometry_sha256})
        geoms.append(shapely.from_wkb(version.geometry_wkb))
    frame = gpd.GeoDataFrame(records, columns=CONFIRMED_COLUMNS, geometry=geoms, crs=STORE_CRS)
    return frame.to_crs(crs) if crs else frame


def confirmed_state() -> str:
    """Changes whenever a version is confirmed: part of the public collection's ETag."""
    with tx() as con:
        row = con.execute("SELECT COUNT(*), MAX(confirmed_at), GROUP_CONCAT(dossier_sha256) FROM versions "
                          "WHERE status = 'confirmed'").fetchone()
    return hashlib.sha256(json.dumps(list(row)).encode()).hexdigest()[:16]
