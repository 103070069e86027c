"""The product page's map data: a version's frozen area, its numbered boundary points, the difference from
the last confirmed version, and a PNG preview of page 1 of its sheet.

Thin: everything is read from the versions' stored boundaries (nothing is resolved while a request is
answered); drafts and submitted versions only for officers and approvers, as on the product page."""
from __future__ import annotations

import gzip
import io
import json

import numpy as np
import shapely
from flask import Blueprint, Response, abort, request, send_file
from flask_login import current_user
from pyproj import Transformer
from werkzeug.datastructures import FileStorage

from geo_app import STORE_CRS
from geo_app.production import workflow
from geo_app.production.compare import difference
from geo_app.production.sheet_preview import sheet_preview

bp = Blueprint("product_map", __name__, url_prefix="/products")
SEES_DRAFTS = ("officer", "approver")
#: Half a metre: far below what a screen shows at the largest zoom, and 6 decimals of a degree is ~0.1 m.
TOLERANCE_M = 0.5
_TO_WGS84 = Transformer.from_crs(STORE_CRS, "EPSG:4326", always_xy=True)


def _sees_drafts() -> bool:
    return current_user.is_authenticated and current_user.has_role(*SEES_DRAFTS)


def _version(product_id: str, text: str) -> workflow.Version:
    """The version, if this user may see it; drafts of others answer 404 as if they did not exist."""
    try:
        workflow.base_product(product_id)
        version = workflow.get_version(product_id, workflow.parse_version(text))
    except workflow.WorkflowError as exc:
        abort(exc.status, description=str(exc))
    if version.status != "confirmed" and not _sees_drafts():
        abort(404, description=f"Không có phiên bản {text} đã xác nhận / no confirmed version {text} of '{product_id}'")
    return version


def _wgs84(geometry):
    simple = shapely.simplify(geometry, TOLERANCE_M, preserve_topology=True)
    moved = shapely.transform(simple, lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1])))
    return json.loads(shapely.to_geojson(shapely.set_precision(moved, 1e-7)))


def _json(payload, mimetype: str = "application/json") -> Response:
    # strict JSON: a NaN or Infinity would raise here instead of reaching a browser's JSON.parse
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if "gzip" in request.accept_encodings and len(body) > 1024:
        # a commune-sized boundary is ~100 KB of coordinates; gzip makes it a fifth
        resp = Response(gzip.compress(body, 6, mtime=0), mimetype=mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(body, mimetype=mimetype)
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["Vary"] = "Accept-Encoding, Cookie"
    return resp


def _ha(value: float) -> float:
    return round(float(value), 4)


@bp.get("/<product_id>/<version>/area.geojson")
def area(product_id: str, version: str):
    v = _version(product_id, version)
    features = []
    if v.geometry_wkb:
        features.append({"type": "Feature", "geometry": _wgs84(shapely.from_wkb(v.geometry_wkb)),
                         "properties": {"product_id": v.product_id, "version": v.version, "status": v.status,
                                        "area_ha": None if v.area_ha is None else _ha(v.area_ha),
                                        "perimeter_m": v.perimeter_m, "geometry_sha256": v.geometry_sha256}})
    return _json({"type": "FeatureCollection", "features": features}, "application/geo+json")


@bp.get("/<product_id>/<version>/points.geojson")
def points(product_id: str, version: str):
    """The boundary points numbered as in the annex: ``no``, ``ring``, and X (north), Y (east) in EPSG:9208."""
    v = _version(product_id, version)
    records = v.points or []
    features = []
    if records:
        table = np.asarray([[r[2], r[3]] for r in records], dtype="float64")
        lon, lat = _TO_WGS84.transform(table[:, 1], table[:, 0])
        for (no, ring, x_north, y_east), x, y in zip(records, lon, lat):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 7),
                                                                                               round(float(y), 7)]},
                             "properties": {"no": int(no), "ring": int(ring), "x_north": round(float(x_north), 2),
                                            "y_east": round(float(y_east), 2)}})
    return _json({"type": "FeatureCollection", "features": features}, "application/geo+json")


def last_confirmed_before(v: workflow.Version) -> workflow.Version | None:
    earlier = [w for w in workflow.versions(v.product_id) if w.version < v.version and w.status == "confirmed"]
    return earlier[-1] if earlier else None


@bp.get("/<product_id>/<version>/compare.json")
def compare(product_id: str, version: str):
    """This version against the last confirmed one before it: added and removed parts (ha, EPSG:9208)."""
    v = _version(product_id, version)
    previous = last_confirmed_before(v)
    payload = {"product_id": product_id, "version": v.version,
               "area_ha": None if v.area_ha is None else _ha(v.area_ha), "previous": None}
    if previous is None or not previous.geometry_wkb or not v.geometry_wkb:
        return _json(payload)
    diff = difference(shapely.from_wkb(previous.geometry_wkb), shapely.from_wkb(v.geometry_wkb))
    payload.update({
        "previous": {"version": previous.version, "area_ha": _ha(diff.old_ha),
                     "geometry_sha256": previous.geometry_sha256,
                     "geometry": _wgs84(shapely.from_wkb(previous.geometry_wkb))},
        "area_ha": _ha(diff.new_ha), "added_ha": _ha(diff.added_ha), "removed_ha": _ha(diff.removed_ha),
        "change_ha": _ha(diff.change_ha), "crs": STORE_CRS,
        "added": None if diff.added.is_empty else _wgs84(diff.added),
        "removed": None if diff.removed.is_empty else _wgs84(diff.removed),
    })
    return _json(payload)


@bp.get("/<product_id>/<version>/preview.png")
def preview(product_id: str, version: str):
    v = _version(product_id, version)
    paper = request.args.get("paper", "A3")
    if paper not in workflow.PAPERS:
        abort(400, description="paper: A3 hoặc A4 / must be A3 or A4")
    try:
        path = sheet_preview(v, paper)
    except workflow.WorkflowError as exc:
        abort(exc.status, description=str(exc))
    resp = send_file(path, mimetype="image/png", max_age=0, etag=True, conditional=True)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


#: The name a drawn area carries in the upload path, its messages and the version's file names.
DRAWN_NAME = "vung-ve-tren-ban-do.geojson"
#: A drawn area is a few hundred vertices; 2 MB leaves room for detailed tracing and refuses junk early.
MAX_DRAWN_BYTES = 2 * 1024 * 1024


def drawn_upload(form) -> FileStorage | None:
    """The area drawn on the product map (GeoJSON in WGS 84, the form's hidden ``drawn`` field) as an
    uploaded ``.geojson`` file, so it goes through the same import and check as any upload; None if
    nothing was drawn. Only its size and that it is a JSON object are checked here — the importer says
    everything else, in the same words as for a file."""
    text = (form.get("drawn") or "").strip()
    if not text:
        return None
    data = text.encode("utf-8")
    if len(data) > MAX_DRAWN_BYTES:
        abort(413, description=f"drawn: vùng vẽ quá lớn ({len(data) // 1024} KiB, tối đa {MAX_DRAWN_BYTES // 1024} KiB) / "
              f"the drawn area is too large ({len(data) // 1024} KiB, at most {MAX_DRAWN_BYTES // 1024} KiB)")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        abort(400, description="drawn: vùng vẽ không phải GeoJSON hợp lệ; vẽ lại / the drawn area is not valid "
              "GeoJSON; draw it again")
    if not isinstance(value, dict) or value.get("type") not in ("FeatureCollection", "Feature", "Polygon",
                                                                 "MultiPolygon"):
        abort(400, description="drawn: cần một FeatureCollection GeoJSON gồm vùng (polygon) / a GeoJSON "
              "FeatureCollection of polygons is needed")
    return FileStorage(stream=io.BytesIO(data), filename=DRAWN_NAME, content_type="application/geo+json")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")
