"""The map page, the per-view layer data it loads, and place-name search.

Views parse the request, call the core (``geo_app.features``, ``geo_app.search``), format. Layer data
is served per view (bbox) and simplified to one screen pixel at the requested zoom; responses are
cached in memory per store version, compressed with gzip when the client accepts it, and carry an
ETag and Cache-Control so browsers revalidate instead of downloading again.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
from functools import lru_cache

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from .. import layers, search as search_core
from ..features import feature_collection, tolerance_for_zoom
from ..ogcapi import OGCError, parse_bbox, store_version
from ..store import StoreError

bp = Blueprint("map", __name__)

#: Layers drawn on the map, bottom to top.
MAP_LAYERS = ["communes", "former-districts", "province", "rivers", "peaks"]
PROVINCE_VIEW = {"center": [22.05, 104.25], "zoom": 8,
                 # the province's extent ([[south, west], [north, east]]); the page fits it to the screen
                 "bounds": [[21.33, 103.53], [22.85, 105.10]]}
DATA_MAX_AGE = 600  # seconds; after that the browser revalidates with If-None-Match


def map_layers() -> list[dict]:
    out = []
    for layer_id in MAP_LAYERS:
        try:
            info = layers.info(layer_id)
        except KeyError:
            continue
        out.append(
            {
                "id": layer_id,
                "title": {"vi": info.legend.get("vi", info.title["vi"]), "en": info.legend.get("en", info.title["en"])},
                "style": info.style,
                "geometry": info.geometry,
                "url": f"/data/{layer_id}.geojson",
            }
        )
    extra = current_app.config.get("EXTRA_MAP_LAYERS")
    if extra:
        out.extend(extra())
    return out


@bp.get("/")
def index():
    config = {
        "layers": map_layers(),
        "view": PROVINCE_VIEW,
        "basemap": None if current_app.config["OFFLINE_MAP"] else current_app.config["BASEMAP_URL"],
    }
    return render_template("map.html", map_config=json.dumps(config, ensure_ascii=False))


@lru_cache(maxsize=512)
def _layer_payload(layer_id: str, zoom: int, bbox, version: str) -> tuple[bytes, bytes, str]:
    data = feature_collection(layer_id, tolerance_m=tolerance_for_zoom(zoom), bbox_wgs84=bbox)
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = hashlib.sha256(raw).hexdigest()[:32]
    return raw, gzip.compress(raw, 6), etag


def cached_response(raw: bytes, gz: bytes, etag: str, mimetype: str, max_age: int = DATA_MAX_AGE) -> Response:
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
    elif gz is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp = Response(gz, mimetype=mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(raw, mimetype=mimetype)
    resp.set_etag(etag)
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


@bp.get("/data/<layer_id>.geojson")
def layer_data(layer_id: str):
    try:
        info = layers.info(layer_id)
    except KeyError as exc:
        abort(404, description=str(exc.args[0]))
    if not info.is_spatial:
        abort(404, description=f"layer '{layer_id}' has no geometry / lớp không có hình học")
    if not info.public:
        abort(404, description=f"layer '{layer_id}' is not public / lớp không công khai")
    try:
        zoom = float(request.args.get("zoom", 12))
    except ValueError:
        abort(400, description="zoom: phải là số / must be a number")
    if not math.isfinite(zoom) or not 0 <= zoom <= 22:
        abort(400, description="zoom: từ 0 đến 22 / must be between 0 and 22")
    try:
        bbox = parse_bbox(request.args.get("bbox"))
        if bbox is not None:
            bbox = tuple(round(v, 6) for v in bbox)
        payload = _layer_payload(layer_id, int(math.floor(zoom)), bbox, store_version())
    except OGCError as exc:
        abort(exc.status, description=exc.description)
    except StoreError as exc:
        abort(503, description=str(exc))
    return cached_response(*payload, mimetype="application/geo+json")


@bp.get("/api/search")
def search():
    q = request.args.get("q", "")
    if len(q) > search_core.MAX_QUERY:
        abort(400, description=f"q: tối đa {search_core.MAX_QUERY} ký tự / at most {search_core.MAX_QUERY} characters")
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError:
        abort(400, description="limit: phải là số nguyên / must be an integer")
    if not 1 <= limit <= 50:
        abort(400, description="limit: từ 1 đến 50 / must be between 1 and 50")
    try:
        hits = search_core.search(q, limit=limit)
    except StoreError as exc:
        abort(503, description=str(exc))
    return jsonify({"query": q, "results": [h.to_dict() for h in hits]})
