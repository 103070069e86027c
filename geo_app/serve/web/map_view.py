"""The map page, the per-view layer data it loads, and place-name search.

Views parse the request, call the core (``geo_app.serve.features``, ``geo_app.serve.search``), format. Layer data
is served per view (bbox) and simplified to one screen pixel at the requested zoom; responses are
cached in memory per store version, compressed with gzip when the client accepts it, and carry an
ETag and Cache-Control so browsers revalidate instead of downloading again.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from geo_app import layers
from geo_app.serve import search as search_core
from geo_app.serve.cache import BoundedCache
from geo_app.serve.features import feature_collection, tolerance_for_zoom
from geo_app.serve.maps import published
from geo_app.serve.maps.presentation import web_presentation
from geo_app.serve.ogcapi import OGCError, layer_version, parse_bbox, user_layers
from geo_app.store.layer_store import StoreError

bp = Blueprint("map", __name__)

#: Layers drawn on the map, bottom to top. ``store: user`` layers (the user's own water data) are
#: listed only when the user store holds them, and only for users who may see them.
MAP_LAYERS = ["communes", "water-balance", "karst-units", "groundwater-potential", "former-districts", "province",
              "rivers", "water-protection-zones", "peaks", "water-sources"]
#: User layers drawn but not switched on when the page opens (they cover the whole province).
OFF_BY_DEFAULT = {"karst-units"}
PROVINCE_VIEW = {"center": [22.05, 104.25], "zoom": 8,
                 # the province's extent ([[south, west], [north, east]]); the page fits it to the screen
                 "bounds": [[21.33, 103.53], [22.85, 105.10]]}
DATA_MAX_AGE = 600  # seconds; after that the browser revalidates with If-None-Match


def sees_user_layers() -> bool:
    """The user's own data (water inventory...) is shown to every logged-in user (viewer and up) and
    to anonymous visitors only when ``ANONYMOUS_ACCESS`` is ``map+user``."""
    return current_user.is_authenticated or current_app.config["ANONYMOUS_ACCESS"] == "map+user"


def map_layers() -> list[dict]:
    out = []
    user_present = None
    for layer_id in MAP_LAYERS:
        try:
            info = layers.info(layer_id)
        except KeyError:
            continue
        if info.store == "user":
            if not sees_user_layers() and not published.is_public(layer_id):
                continue
            if user_present is None:
                user_present = set(user_layers())
            if layer_id not in user_present:
                continue
        suffix = " (SYNTHETIC)" if published.is_synthetic(layer_id) else ""
        entry = {
            "id": layer_id,
            "title": {"vi": info.legend.get("vi", info.title["vi"]) + suffix,
                      "en": info.legend.get("en", info.title["en"]) + suffix},
            "style": info.style,
            "geometry": info.geometry,
            "url": f"/data/{layer_id}.geojson",
        }
        entry.update(web_presentation(info))
        if layer_id in OFF_BY_DEFAULT:
            entry["visible"] = False
        out.append(entry)
    # published groundwater surfaces: image overlays, under the vector layers
    out[1:1] = published.map_entries(lambda name: url_for("map.overlay_image", name=name), sees_user_layers())
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


#: Responses kept in memory: at most this many bytes in all (raw + gzip), none above DATA_CACHE_MAX_ENTRY.
DATA_CACHE_BYTES = 64 * 1024 * 1024
DATA_CACHE_MAX_ENTRY = 4 * 1024 * 1024
_DATA_CACHE = BoundedCache(DATA_CACHE_BYTES, DATA_CACHE_MAX_ENTRY)


def _layer_payload(layer_id: str, zoom: int, bbox, version: str) -> tuple[bytes, bytes, str]:
    """Keyed on the floored zoom and the grid-snapped bbox, so requests that differ only in noise
    share one entry; bounded in bytes."""
    def make():
        data = feature_collection(layer_id, tolerance_m=tolerance_for_zoom(zoom), bbox_wgs84=bbox)
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        etag = hashlib.sha256(raw).hexdigest()[:32]
        return raw, gzip.compress(raw, 6), etag

    return _DATA_CACHE.get_or_make((layer_id, zoom, bbox, version), make, lambda p: len(p[0]) + len(p[1]))


#: /data bboxes are widened outwards to multiples of this many degrees (~110 m) before use.
BBOX_GRID = 1e-3


def snap_bbox(bbox):
    """The bbox widened outwards to the BBOX_GRID grid: requests that differ only in the last digits
    share one cache entry, and the response still covers the whole view (the map page's own boxes,
    snapped to tiles in ``static/map.js``, are already on this grid)."""
    if bbox is None:
        return None
    k = round(1 / BBOX_GRID)
    minx, miny, maxx, maxy = bbox
    # round(…, 6) first: 22.3 * 1000 is 22300.000000000004 in binary floating point
    snapped = (math.floor(round(minx * k, 6)) / k, math.floor(round(miny * k, 6)) / k,
               math.ceil(round(maxx * k, 6)) / k, math.ceil(round(maxy * k, 6)) / k)
    lo, hi = (-180, -90, -180, -90), (180, 90, 180, 90)
    return tuple(min(max(v, a), b) for v, a, b in zip(snapped, lo, hi))


def cached_response(raw: bytes, gz: bytes, etag: str, mimetype: str, max_age: int = DATA_MAX_AGE,
                    private: bool = False) -> Response:
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
    elif gz is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp = Response(gz, mimetype=mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(raw, mimetype=mimetype)
    resp.set_etag(etag)
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = f"{'private' if private else 'public'}, max-age={max_age}"
    return resp


@bp.get("/data/<layer_id>.geojson")
def layer_data(layer_id: str):
    try:
        info = layers.info(layer_id)
    except KeyError as exc:
        abort(404, description=str(exc.args[0]))
    if not info.is_spatial:
        abort(404, description=f"Lớp '{layer_id}' không có hình học (là bảng; xem /ogcapi/collections/{layer_id}/items). "
              f"/ Layer '{layer_id}' has no geometry (it is a table; see /ogcapi/collections/{layer_id}/items).")
    if not info.public:
        abort(404, description=f"Lớp '{layer_id}' không công khai. / Layer '{layer_id}' is not public.")
    if info.store == "user":
        if not sees_user_layers() and not published.is_public(layer_id):
            abort(401, description=f"Cần đăng nhập để xem lớp '{layer_id}' (dữ liệu của người dùng). / Login "
                  f"required: '{layer_id}' holds the user's own data.")
        if layer_id not in user_layers():
            abort(404, description=f"Chưa có dữ liệu lớp '{layer_id}' (chưa nhập). / No data in '{layer_id}' yet "
                  "(nothing imported).")
    try:
        zoom = float(request.args.get("zoom", 12))
    except ValueError:
        abort(400, description="zoom: phải là số / must be a number")
    if not math.isfinite(zoom) or not 0 <= zoom <= 22:
        abort(400, description="zoom: từ 0 đến 22 / must be between 0 and 22")
    try:
        bbox = snap_bbox(parse_bbox(request.args.get("bbox")))
        payload = _layer_payload(layer_id, int(math.floor(zoom)), bbox, layer_version(layer_id))
    except OGCError as exc:
        abort(exc.status, description=exc.description)
    except StoreError as exc:
        abort(503, description=str(exc))
    # the user's own data may need a login: browsers may keep it, shared caches may not
    return cached_response(*payload, mimetype="application/geo+json", private=info.store == "user")


@bp.get("/data/overlays/<name>.png")
def overlay_image(name: str):
    """A published raster result (groundwater potential index, level…) as one image, for the logged-in."""
    if not sees_user_layers() and not published.overlay_is_public(name):
        abort(401, description="Cần đăng nhập để xem kết quả nước dưới đất. / Login required for the groundwater "
              "results.")
    found = published.overlay(name)
    if found is None:
        abort(404, description=f"Chưa công bố '{name}'. / '{name}' is not published.")
    png, etag, _bounds, _span = found
    return cached_response(png, None, etag, mimetype="image/png", private=not published.overlay_is_public(name))


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
