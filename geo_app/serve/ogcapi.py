"""OGC API – Features, Part 1 Core, as framework-free functions that return data (pygeoapi style).

Every public layer of the store is a collection. Features are GeoJSON in CRS84 (lon, lat), at full
resolution, serialised once per store version and then only concatenated per request, so the items
endpoint stays fast. ``geo_app.serve.web.ogc`` is the thin Flask adapter (JSON/HTML, downloads).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import shapely

from geo_app import layers
from geo_app.errors import GeoAppError
from geo_app.production.workflow import public as confirmed_areas
from geo_app.serve.cache import BoundedCache
from geo_app.settings import settings
from geo_app.store.layer_store import StoreError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 10000
#: Download formats: f value → (media type, file extension).
DOWNLOADS = {
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
_DECIMALS = 7  # ~1 cm in degrees
_ASCII_ID = re.compile(r"[0-9]{1,12}")
_ASCII_INT = re.compile(r"-?[0-9]{1,20}")


class OGCError(GeoAppError):
    """A client error: ``status`` (400/404), an OGC exception ``code`` and a message naming the parameter."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def to_dict(self) -> dict:
        return {"code": self.code, "description": self.description}


# --- the store, serialised once per version ------------------------------------------------------

@dataclass(eq=False)
class _Collection:
    id: str
    ids: np.ndarray  # feature ids, 1-based in store order
    bounds: np.ndarray  # (n, 4) CRS84 bounds, NaN for no geometry
    features: list[str]  # GeoJSON Feature text
    properties: list[dict]
    extent: list[float] | None
    fields: list[str] = field(default_factory=list)


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _round(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, _DECIMALS)


def _frame(layer_id: str, crs: str | None = None):
    """A layer's data: from the store, except the confirmed production areas (the workflow's provider)."""
    if layer_id == confirmed_areas.COLLECTION:
        return confirmed_areas.confirmed_frame(crs)
    return layers.read(layer_id, crs=crs)


@lru_cache(maxsize=16)
def _collection_cached(layer_id: str, store: Path, mtime: float, data_version: str = "") -> _Collection:
    info = layers.info(layer_id)
    frame = _frame(layer_id, crs="EPSG:4326") if info.is_spatial else layers.read(layer_id)
    props_frame = frame.drop(columns="geometry", errors="ignore")
    props = [{k: _json_value(v) for k, v in row.items()} for row in props_frame.to_dict(orient="records")]
    n = len(props)
    ids = np.arange(1, n + 1)
    if info.is_spatial:
        geoms = shapely.transform(frame.geometry.values, _round)
        texts = shapely.to_geojson(geoms)
        bounds = shapely.bounds(geoms)
    else:
        texts = ["null"] * n
        bounds = np.full((n, 4), np.nan)
    features = [
        '{"type":"Feature","id":%d,"geometry":%s,"properties":%s}'
        % (fid, geom if geom is not None else "null", json.dumps(p, ensure_ascii=False, separators=(",", ":")))
        for fid, geom, p in zip(ids, texts, props)
    ]
    extent = None
    if info.is_spatial and n:
        extent = [float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1])),
                  float(np.nanmax(bounds[:, 2])), float(np.nanmax(bounds[:, 3]))]
    return _Collection(layer_id, ids, bounds, features, props, extent, list(props_frame.columns))


def _store_key() -> tuple[Path, float]:
    store = settings().store_path
    if not store.exists():
        raise StoreError(f"Chưa có kho lớp dữ liệu {store}. / No layer store at {store}: run `geo-app build` first.")
    return store, store.stat().st_mtime


def store_version() -> str:
    """Changes whenever the store is rebuilt; part of every ETag."""
    store, mtime = _store_key()
    return f"{int(mtime * 1000):x}"


def public_layers() -> list[str]:
    """Layers published as collections: every public catalogue layer present in the store."""
    # the production areas: confirmed versions only, from the workflow (the store's layer holds drafts)
    return [*_public_layers(*_store_key()), confirmed_areas.COLLECTION]


@lru_cache(maxsize=4)
def _public_layers(store: Path, mtime: float) -> tuple[str, ...]:
    import pyogrio

    from geo_app.store.layer_store import table_name

    present = {name for name, _ in pyogrio.list_layers(store)}
    return tuple(layer.id for layer in layers.list() if layer.public and table_name(layer.id) in present)


# --- the user's own layers (``store: user``: water sources, zones, karst units, water balance) -----

def _user_store() -> Path:
    from geo_app.water.sources.user_store import user_store_path

    return user_store_path()


def user_store_version() -> str | None:
    """Changes whenever the user store is rewritten (each write replaces the file); None without one."""
    path = _user_store()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino:x}.{st.st_mtime_ns:x}.{st.st_size:x}"


def user_layers() -> list[str]:
    """The ``store: user`` catalogue layers with geometry that hold features in the user store now
    (nothing has been imported: an empty list)."""
    version = user_store_version()
    return [] if version is None else list(_user_layers(_user_store(), version))


@lru_cache(maxsize=4)
def _user_layers(path: Path, version: str) -> tuple[str, ...]:
    return tuple(info.id for info in layers.list()
                 if info.store == "user" and info.is_spatial and layers.feature_count(info.id) > 0)


def layer_version(layer_id: str) -> str:
    """The data version of one layer, for cache keys and ETags: the store's, and for a ``store: user``
    layer also the user store's."""
    version = store_version()
    if layer_id == confirmed_areas.COLLECTION:
        return f"{version}-{confirmed_areas.confirmed_state()}"
    if layers.info(layer_id).store != "user":
        return version
    return f"{version}-{user_store_version()}"


def _collection(layer_id: str, allowed: list[str] | None = None) -> _Collection:
    allowed = public_layers() if allowed is None else allowed
    if layer_id not in allowed:
        raise OGCError(404, "NotFound", f"Không có tập dữ liệu '{layer_id}'. / No collection '{layer_id}'.")
    return _collection_cached(layer_id, *_store_key(), layer_version(layer_id))


# --- resources ----------------------------------------------------------------------------------

def _link(href, rel, type_, title):
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str) -> dict:
    return {
        "title": "Lào Cai – OGC API Features",
        "description": "Lớp dữ liệu tỉnh Lào Cai (VN-2000 / EPSG:9208 trong kho; GeoJSON theo CRS84). "
        "/ Lào Cai layers (stored in EPSG:9208; served as GeoJSON in CRS84).",
        "links": [
            _link(f"{base}?f=json", "self", "application/json", "This document"),
            _link(f"{base}?f=html", "alternate", "text/html", "This document as HTML"),
            _link(f"{base}/conformance?f=json", "conformance", "application/json", "Conformance"),
            _link(f"{base}/conformance?f=json", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                  "application/json", "Conformance"),
            _link(f"{base}/collections?f=json", "data", "application/json", "Collections"),
            _link(f"{base}/collections?f=json", "http://www.opengis.net/def/rel/ogc/1.0/data",
                  "application/json", "Collections"),
            _link(f"{base}/openapi?f=json", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                  "OpenAPI definition"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collection(layer_id: str, base: str, allowed: list[str] | None = None) -> dict:
    col = _collection(layer_id, allowed)
    info = layers.info(layer_id)
    description = confirmed_areas.DESCRIPTION if layer_id == confirmed_areas.COLLECTION else info.description
    href = f"{base}/collections/{layer_id}"
    links = [
        _link(f"{href}?f=json", "self", "application/json", "This collection"),
        _link(f"{href}?f=html", "alternate", "text/html", "This collection as HTML"),
        _link(f"{href}/items?f=json", "items", "application/geo+json", "Items (GeoJSON)"),
        _link(f"{href}/items?f=html", "items", "text/html", "Items (HTML)"),
    ]
    for fmt, (mime, _ext) in DOWNLOADS.items():
        links.append(_link(f"{href}/items?f={fmt}&limit={MAX_LIMIT}", "enclosure", mime, f"Tải về / download ({fmt})"))
    out = {
        "id": layer_id,
        "title": f"{info.title['vi']} / {info.title['en']}",
        "description": f"{description.get('vi', '')} / {description.get('en', '')}".strip(" /"),
        "itemType": "feature",
        "crs": [CRS84],
        "links": links,
        "numberOfFeatures": len(col.features),
    }
    if col.extent:
        out["extent"] = {"spatial": {"bbox": [col.extent], "crs": CRS84}}
    return out


def collections(base: str, allowed: list[str] | None = None) -> dict:
    allowed = public_layers() if allowed is None else allowed
    return {
        "links": [
            _link(f"{base}/collections?f=json", "self", "application/json", "Collections"),
            _link(f"{base}/collections?f=html", "alternate", "text/html", "Collections as HTML"),
        ],
        "collections": [collection(layer_id, base, allowed) for layer_id in allowed],
    }


# --- items --------------------------------------------------------------------------------------

def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """A CRS84 box ``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights): longitudes within
    ±180, latitudes within ±90, min ≤ max. A box crossing the antimeridian (minLon > maxLon, which
    the OGC standard allows) is refused: every layer here lies in northern Vietnam."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise OGCError(400, "InvalidParameterValue",
                       "bbox: cần 4 số minLon,minLat,maxLon,maxLat / bbox needs 4 numbers minLon,minLat,maxLon,maxLat")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise OGCError(400, "InvalidParameterValue", f"bbox: '{text[:200]}' không phải số / is not numbers") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    minx, miny, maxx, maxy = values
    if not all(math.isfinite(v) for v in values):
        raise OGCError(400, "InvalidParameterValue", f"bbox: '{text[:200]}' không hợp lệ / is not a valid CRS84 box")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise OGCError(400, "InvalidParameterValue", "bbox: kinh độ phải trong khoảng −180…180, vĩ độ −90…90 / "
                       "longitudes must be within −180…180 and latitudes within −90…90")
    if miny > maxy:
        raise OGCError(400, "InvalidParameterValue", "bbox: minLat lớn hơn maxLat / minLat is greater than maxLat")
    if minx > maxx:
        raise OGCError(400, "InvalidParameterValue", "bbox: minLon lớn hơn maxLon (không hỗ trợ hộp cắt qua kinh tuyến "
                       "180°) / minLon is greater than maxLon (boxes crossing the antimeridian are not supported)")
    return minx, miny, maxx, maxy


def normalise_bbox(bbox, decimals: int = 6):
    """The box rounded to ``decimals`` (1e-6° ≈ 0.1 m): a cache key that ignores noise in the last
    digits of the request."""
    if bbox is None:
        return None
    return tuple(round(v, decimals) + 0.0 for v in bbox)


def parse_int(name: str, text: str | None, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter: ASCII digits only (optionally a leading minus, refused by
    ``minimum``); above ``maximum`` it is capped (OGC API: a server may lower a too-large limit)."""
    if text is None or text == "":
        return default
    if not _ASCII_INT.fullmatch(text):
        raise OGCError(400, "InvalidParameterValue",
                       f"{name}: '{text[:40]}' không phải số nguyên / is not an integer")
    value = int(text)
    if value < minimum:
        raise OGCError(400, "InvalidParameterValue", f"{name}: phải ≥ {minimum} / must be ≥ {minimum}")
    return min(value, maximum) if maximum else value


@dataclass(frozen=True)
class ItemsQuery:
    """The items/download parameters, validated and normalised (what caches and ETags are keyed on)."""

    bbox: tuple[float, float, float, float] | None
    bbox_crs: bool  # bbox-crs was given (it can only be CRS84)
    limit: int
    offset: int

    def key(self) -> str:
        return f"{self.bbox}|{self.bbox_crs}|{self.limit}|{self.offset}"


def parse_items_query(layer_id: str, args: dict, default_limit: int = DEFAULT_LIMIT,
                      max_limit: int | None = MAX_LIMIT) -> ItemsQuery:
    """Validate ``bbox``, ``bbox-crs``, ``limit``, ``offset``; OGCError 400 naming the parameter."""
    bbox = normalise_bbox(parse_bbox(args.get("bbox")))
    crs = args.get("bbox-crs")
    if crs and crs != CRS84:
        raise OGCError(400, "InvalidParameterValue", f"bbox-crs: chỉ hỗ trợ / only {CRS84} is supported")
    if bbox is not None and not layers.info(layer_id).is_spatial:
        raise OGCError(400, "InvalidParameterValue", f"bbox: '{layer_id}' là bảng không có hình học / is a table without geometry")
    limit = parse_int("limit", args.get("limit"), default_limit, 1, max_limit)
    offset = parse_int("offset", args.get("offset"), 0, 0)
    return ItemsQuery(bbox, bool(crs), limit, offset)


@dataclass(eq=False)
class Items:
    layer_id: str
    features: list[str]
    properties: list[dict]
    ids: list[int]
    number_matched: int
    links: list[dict]

    @cached_property
    def json_bytes(self) -> bytes:
        head = '{"type":"FeatureCollection","features":['
        tail = ',"numberMatched":%d,"numberReturned":%d,"links":%s}' % (
            self.number_matched, len(self.features),
            json.dumps(self.links, ensure_ascii=False, separators=(",", ":")),
        )
        return (head + ",".join(self.features) + "]" + tail).encode("utf-8")

    @cached_property
    def gzip_bytes(self) -> bytes:
        return gzip.compress(self.json_bytes, 5)

    def to_json_bytes(self) -> bytes:
        return self.json_bytes

    def to_dict(self) -> dict:
        return json.loads(self.to_json_bytes())


def _select(col: _Collection, bbox) -> np.ndarray:
    if bbox is None:
        return np.arange(len(col.features))
    minx, miny, maxx, maxy = bbox
    b = col.bounds
    with np.errstate(invalid="ignore"):
        mask = (b[:, 2] >= minx) & (b[:, 0] <= maxx) & (b[:, 3] >= miny) & (b[:, 1] <= maxy)
    return np.nonzero(mask)[0]


#: Pages kept in memory: at most this many bytes in all, none larger than ITEMS_CACHE_MAX_ENTRY.
ITEMS_CACHE_BYTES = 64 * 1024 * 1024
ITEMS_CACHE_MAX_ENTRY = 4 * 1024 * 1024
_ITEMS_CACHE = BoundedCache(ITEMS_CACHE_BYTES, ITEMS_CACHE_MAX_ENTRY)


def _items_size(page: Items) -> int:
    # the JSON text, its gzip (~1/4) and the lists; estimated before serialising
    return int(sum(len(f) for f in page.features) * 1.3) + 64 * len(page.features) + 2048


def items(layer_id: str, base: str, args: dict, allowed: list[str] | None = None, fmt: str = "json",
          query: ItemsQuery | None = None) -> Items:
    """``args``: the query parameters (bbox, limit, offset); wrong ones raise OGCError 400 naming them."""
    col = _collection(layer_id, allowed)
    query = query or parse_items_query(layer_id, args)
    key = (layer_id, layer_version(layer_id), base, query, fmt)
    return _ITEMS_CACHE.get_or_make(key, lambda: _make_items(col, layer_id, base, query, fmt), _items_size)


def _fmt_bbox(bbox) -> str:
    return ",".join(format(v, ".6f").rstrip("0").rstrip(".") for v in bbox)


def _make_items(col: _Collection, layer_id: str, base: str, query: ItemsQuery, fmt: str) -> Items:
    """Pages are pure functions of the store version (``col``) and the normalised query: cached."""
    limit, offset = query.limit, query.offset
    selected = _select(col, query.bbox)
    page = selected[offset: offset + limit]
    href = f"{base}/collections/{layer_id}/items"
    keep = {}
    if query.bbox is not None:
        keep["bbox"] = _fmt_bbox(query.bbox)
    if query.bbox_crs:
        keep["bbox-crs"] = CRS84

    def url(off: int, f: str = fmt) -> str:
        from urllib.parse import urlencode

        return f"{href}?" + urlencode({**keep, "f": f, "limit": limit, "offset": off})

    mime = {"json": "application/geo+json", "html": "text/html"}
    links = [
        _link(url(offset), "self", mime.get(fmt, "application/geo+json"), "This page"),
        _link(url(offset, "html" if fmt == "json" else "json"), "alternate",
              mime["html" if fmt == "json" else "json"], "Alternate format"),
        _link(f"{base}/collections/{layer_id}?f=json", "collection", "application/json", "The collection"),
    ]
    if offset + limit < len(selected):
        links.append(_link(url(offset + limit), "next", mime.get(fmt, "application/geo+json"), "Next page"))
    if offset > 0:
        links.append(_link(url(max(0, offset - limit)), "prev", mime.get(fmt, "application/geo+json"), "Previous page"))
    return Items(
        layer_id,
        [col.features[i] for i in page],
        [col.properties[i] for i in page],
        [int(col.ids[i]) for i in page],
        int(len(selected)),
        links,
    )


def _feature_index(col: _Collection, layer_id: str, fid: str) -> int:
    """The 0-based index of feature id ``fid`` (ASCII digits only: no sign, space, underscore or other
    scripts' digits); OGCError 404 naming featureId otherwise."""
    index = int(fid) - 1 if isinstance(fid, str) and _ASCII_ID.fullmatch(fid) else -1
    if not 0 <= index < len(col.features):
        raise OGCError(404, "NotFound", f"featureId: không có đối tượng '{str(fid)[:40]}' trong '{layer_id}' "
                       f"/ no feature '{str(fid)[:40]}'")
    return index


def item(layer_id: str, fid: str, base: str, allowed: list[str] | None = None) -> bytes:
    col = _collection(layer_id, allowed)
    index = _feature_index(col, layer_id, fid)
    links = [
        _link(f"{base}/collections/{layer_id}/items/{fid}?f=json", "self", "application/geo+json", "This feature"),
        _link(f"{base}/collections/{layer_id}/items/{fid}?f=html", "alternate", "text/html", "This feature as HTML"),
        _link(f"{base}/collections/{layer_id}?f=json", "collection", "application/json", "The collection"),
    ]
    text = col.features[index][:-1] + ',"links":' + json.dumps(links, separators=(",", ":")) + "}"
    return text.encode("utf-8")


def item_properties(layer_id: str, fid: str, allowed: list[str] | None = None) -> dict:
    col = _collection(layer_id, allowed)
    return col.properties[_feature_index(col, layer_id, fid)]


# --- downloads ----------------------------------------------------------------------------------

def export(layer_id: str, fmt: str, bbox=None, allowed: list[str] | None = None,
           args: dict | None = None) -> tuple[bytes, str, str]:
    """The layer (optionally cut to a CRS84 bbox) as GeoPackage (EPSG:9208, as stored), GeoJSON
    (CRS84) or CSV (attributes and WKT in CRS84). Returns (content, media type, file name).

    ``args``: the request's query parameters; ``bbox``, ``limit`` and ``offset`` are validated as for
    items (OGCError 400 naming them) and applied; without ``limit`` the whole selection is exported."""
    if fmt not in DOWNLOADS:
        raise OGCError(400, "InvalidParameterValue", f"f: '{fmt}' không hỗ trợ / unsupported; use json, html, "
                       + ", ".join(DOWNLOADS))
    col = _collection(layer_id, allowed)
    info = layers.info(layer_id)
    mime, ext = DOWNLOADS[fmt]
    filename = f"{layer_id}.{ext}"
    if args is not None:
        query = parse_items_query(layer_id, args, default_limit=max(len(col.features), 1), max_limit=None)
        bbox, limit, offset = query.bbox, query.limit, query.offset
    else:
        limit, offset = max(len(col.features), 1), 0
    if bbox is not None and not info.is_spatial:
        raise OGCError(400, "InvalidParameterValue", f"bbox: '{layer_id}' là bảng / is a table without geometry")
    idx = _select(col, bbox)[offset: offset + limit]
    if fmt == "geojson":
        body = '{"type":"FeatureCollection","features":[' + ",".join(col.features[i] for i in idx) + "]}"
        return body.encode("utf-8"), mime, filename
    frame = _frame(layer_id)
    if len(idx) != len(frame):
        frame = frame.iloc[idx]
    if fmt == "csv":
        out = io.StringIO()
        table = frame.drop(columns="geometry", errors="ignore")
        if info.is_spatial:
            table = table.assign(wkt_crs84=shapely.to_wkt(frame.to_crs("EPSG:4326").geometry.values, rounding_precision=7))
        writer = csv.writer(out)
        writer.writerow(table.columns)
        for row in table.itertuples(index=False):
            writer.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8"), mime, filename
    import pyogrio

    if info.is_spatial and frame.crs is not None and frame.crs.to_epsg() != 9208:
        frame = frame.to_crs("EPSG:9208")
    fd, tmp = tempfile.mkstemp(suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        pyogrio.write_dataframe(frame, tmp, layer=layer_id.replace("-", "_"), driver="GPKG")
        return Path(tmp).read_bytes(), mime, filename
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def openapi(base: str) -> dict:
    """A minimal OpenAPI 3.0 document describing the endpoints."""
    p_bbox = {"name": "bbox", "in": "query", "schema": {"type": "array", "items": {"type": "number"}}, "style": "form", "explode": False}
    p_limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}
    p_offset = {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}
    p_coll = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
    ok = {"200": {"description": "OK"}}
    return {
        "openapi": "3.0.2",
        "info": {"title": "Lào Cai – OGC API Features", "version": "1.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"responses": ok}},
            "/conformance": {"get": {"responses": ok}},
            "/collections": {"get": {"responses": ok}},
            "/collections/{collectionId}": {"get": {"parameters": [p_coll], "responses": ok}},
            "/collections/{collectionId}/items": {"get": {"parameters": [p_coll, p_bbox, p_limit, p_offset], "responses": ok}},
            "/collections/{collectionId}/items/{featureId}": {
                "get": {"parameters": [p_coll, {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}], "responses": ok}
            },
        },
    }
