"""OGC API – Features as framework-free functions that return data (pygeoapi style).

Part 1 Core (GeoJSON, HTML, OpenAPI 3.0), Part 2 CRS by reference (CRS84, EPSG:4326, EPSG:9208 as
stored, EPSG:4756) and, of Part 3, queryables, queryable-property parameters and CQL2 text filters
(comparisons, LIKE/BETWEEN/IN, spatial functions) evaluated with pygeofilter.

Every collection comes from a :class:`Provider` (features in EPSG:9208 and a data version): every
public layer of the store is one; :func:`register` plugs in others (one line each). Features are
serialised once per data version and CRS, then only concatenated per request; pages are kept in a
cache bounded by total bytes, already gzipped, so whole-layer reads cost what small pages cost.
``geo_app.serve.web.ogc`` is the thin Flask adapter (JSON/HTML, headers, downloads).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pygeofilter import ast as cql_ast
from pygeofilter.backends.geopandas.evaluate import to_filter

from geo_app import STORE_CRS, layers
from geo_app.errors import GeoAppError
from geo_app.production.workflow import public as confirmed_areas
from geo_app.serve.cache import BoundedCache
from geo_app.serve.maps import published
from geo_app.store.layer_store import StoreError, open_store
from geo_app.water.groundwater.publish import POTENTIAL_LAYER

# --- coordinate reference systems (Part 2) -------------------------------------------------------

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG9208 = "http://www.opengis.net/def/crs/EPSG/0/9208"
EPSG4756 = "http://www.opengis.net/def/crs/EPSG/0/4756"
STORAGE_CRS = EPSG9208
#: The CRS served, with the PROJ name and whether the axis order is (lat, lon) as EPSG defines it
#: for the geographic systems (OGC API Part 2: coordinates follow the CRS's own axis order).
SUPPORTED_CRS = {
    CRS84: ("OGC:CRS84", False),
    EPSG4326: ("EPSG:4326", True),
    EPSG9208: (STORE_CRS, False),  # VN-2000 / TM-3 104°45': easting, northing
    EPSG4756: ("EPSG:4756", True),  # VN-2000 geographic
}
#: Short forms accepted for the same CRS (what people type; the URIs are the standard's).
_CRS_ALIASES = {"OGC:CRS84": CRS84, "CRS84": CRS84, "EPSG:4326": EPSG4326, "EPSG:9208": EPSG9208,
                "EPSG:4756": EPSG4756, "[OGC:CRS84]": CRS84, "[EPSG:4326]": EPSG4326, "[EPSG:9208]": EPSG9208,
                "[EPSG:4756]": EPSG4756}
#: Decimals of degrees served: rounding to 1e-8° moves a point by at most 0.56 mm, so a client's
#: coordinates agree with the store within a millimetre; projected EPSG:9208 coordinates are served exactly as stored.
_DEGREE_DECIMALS = 8

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
#: Download formats: f value → (media type, file extension).
DOWNLOADS = {
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
#: Parameters every resource takes (``lang`` picks the language of HTML pages).
COMMON_PARAMS = ("f", "lang")
#: The items parameters besides the queryable properties; ``version`` ties a next/prev link to the
#: data version it was made from.
ITEMS_PARAMS = (*COMMON_PARAMS, "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "filter", "filter-lang",
                "filter-crs", "sortby", "version")
#: Part 1's ``datetime``: an RFC 3339 instant (or date), or an interval with ``..`` for an open end.
_INSTANT = r"\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?"
_DATETIME = re.compile(rf"{_INSTANT}|(?:{_INSTANT}|\.\.|)/(?:{_INSTANT}|\.\.|)")
ITEM_PARAMS = (*COMMON_PARAMS, "crs")
#: The name of the geometry in CQL2 filters and in /queryables.
GEOMETRY = "geometry"
_ASCII_ID = re.compile(r"[0-9]{1,12}")
_ASCII_INT = re.compile(r"-?[0-9]{1,20}")


class OGCError(GeoAppError):
    """A client error: ``status`` (400/404/409), an OGC exception ``code`` and a message naming the parameter."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def to_dict(self) -> dict:
        return {"code": self.code, "description": self.description}


def _bad(description: str) -> OGCError:
    return OGCError(400, "InvalidParameterValue", description)


def check_params(args, allowed) -> None:
    """Part 1 ``/req/core/query-param-unknown``: a parameter the resource does not take is a 400 naming it."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        names = ", ".join(unknown)
        raise _bad(f"{unknown[0]}: tham số không được hỗ trợ ({names}); dùng / unknown parameter(s) ({names}); "
                   f"allowed: {', '.join(sorted(allowed))}")


def parse_crs(name: str, text: str | None, default: str = CRS84) -> str:
    """A CRS URI among SUPPORTED_CRS (short forms such as ``EPSG:9208`` accepted); 400 naming ``name``."""
    if text is None or text == "":
        return default
    uri = text if text in SUPPORTED_CRS else _CRS_ALIASES.get(text.strip())
    if uri is None:
        raise _bad(f"{name}: hệ tọa độ '{text[:120]}' không hỗ trợ / unsupported CRS; use one of "
                   + ", ".join(SUPPORTED_CRS))
    return uri


# --- providers: where a collection's features come from -------------------------------------------

@dataclass(frozen=True)
class Provider:
    """One collection's source (like pygeoapi's providers): its description, a reader returning the
    features in EPSG:9208 (a DataFrame for a table), and a data version that changes whenever what
    ``read`` returns changes (cache keys, ETags and paging links are tied to it)."""

    id: str
    title: dict  # {"vi": ..., "en": ...}
    description: dict
    fields: dict  # property name → description
    geometry: str | None  # GeoJSON geometry type, None for a table
    read: Callable[[], pd.DataFrame]
    version: Callable[[], str]
    #: Listed (and served) only while this is true, e.g. while there is something to publish.
    available: Callable[[], bool] = field(default=lambda: True)

    @classmethod
    def from_layer(cls, layer_id: str, read: Callable[[], pd.DataFrame] | None = None,
                   version: Callable[[], str] | None = None,
                   available: Callable[[], bool] | None = None, description: dict | None = None) -> Provider:
        """A catalogue layer as a collection: described by its YAML definition; by default read from
        the store and versioned with it. ``read``/``version``/``description`` replace those, e.g. for
        a layer whose publishable part (the confirmed versions) comes from the workflow."""
        info = layers.info(layer_id)
        if version is None:
            # a reader of its own without a version: the version is what it reads (read each request)
            version = store_version if read is None else (lambda: content_version(read()))
        return cls(layer_id, info.title, description or info.description, dict(info.fields), info.geometry,
                   read or (lambda: layers.read(layer_id)), version, available or (lambda: True))


def content_version(frame: pd.DataFrame) -> str:
    """A data version computed from the features themselves (properties and geometry)."""
    digest = hashlib.sha1(str(len(frame)).encode())
    props = frame.drop(columns="geometry", errors="ignore")
    digest.update(pd.util.hash_pandas_object(props.astype(str), index=False).to_numpy().tobytes())
    if isinstance(frame, gpd.GeoDataFrame):
        for wkb in shapely.to_wkb(np.asarray(frame.geometry.values)):
            digest.update(wkb or b"-")
    return digest.hexdigest()[:16]


_PLUGGED: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    """Publish one more collection (after the store's public layers; one with the id of a store layer
    replaces it), e.g. the workflow's confirmed production areas::

        register(Provider.from_layer(confirmed_areas.COLLECTION, read=confirmed_areas.confirmed_frame,
                                     version=confirmed_areas.confirmed_state, description=confirmed_areas.DESCRIPTION))
    """
    _PLUGGED[provider.id] = provider


def unregister(collection_id: str) -> None:
    _PLUGGED.pop(collection_id, None)


def _open_store():
    store = open_store()
    if not store.exists():
        raise StoreError(f"Chưa có kho lớp dữ liệu {store.location}. / No layer store at {store.location}: "
                         "run `geo-app build` first.")
    return store


def store_version() -> str:
    """Changes whenever the store is rebuilt; part of every ETag."""
    return hashlib.sha1(_open_store().version().encode()).hexdigest()[:12]


def public_layers() -> list[str]:
    """The store's public catalogue layers present in the store."""
    store = _open_store()
    return list(_public_layers(store.location, store.version()))


@lru_cache(maxsize=4)
def _public_layers(location: str, version: str) -> tuple[str, ...]:
    store = open_store()
    return tuple(layer.id for layer in layers.list() if layer.public and store.has_layer(layer.id))


def collection_ids() -> list[str]:
    """Every published collection: the public store layers, then the plugged providers available now."""
    ids = public_layers()
    return ids + [pid for pid, p in _PLUGGED.items() if pid not in ids and p.available()]


def provider(collection_id: str) -> Provider:
    if collection_id in _PLUGGED and collection_id in collection_ids():
        return _PLUGGED[collection_id]
    if collection_id in public_layers():
        return _layer_provider(collection_id)
    raise OGCError(404, "NotFound", f"Không có tập dữ liệu '{str(collection_id)[:80]}'. / "
                   f"No collection '{str(collection_id)[:80]}'.")


@lru_cache(maxsize=64)
def _layer_provider(layer_id: str) -> Provider:
    return Provider.from_layer(layer_id)


# --- the user's own layers (``store: user``: water sources, zones, karst units, water balance) -----
# Not OGC collections (they need a login); the map's data endpoints key their caches with these.

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
    if layers.info(layer_id).store != "user":
        return version
    return f"{version}-{user_store_version()}"


# --- a collection, serialised once per data version and CRS ---------------------------------------

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


def _swap(coords: np.ndarray) -> np.ndarray:
    return coords[:, ::-1].copy()


def _round_degrees(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, _DEGREE_DECIMALS)


@dataclass(eq=False)
class _View:
    """The features of a collection in one CRS, coordinates in that CRS's axis order."""

    geoms: np.ndarray  # shapely geometries (None for no geometry)
    bounds: np.ndarray  # (n, 4) in axis order, NaN for no geometry
    features: list[str]  # GeoJSON Feature text


@dataclass(eq=False)
class _Collection:
    id: str
    version: str
    frame: pd.DataFrame  # as the provider gave it (EPSG:9208)
    is_spatial: bool
    properties: list[dict]
    property_json: list[str]
    fields: list[str]
    _views: dict = field(default_factory=dict)
    _frames: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return len(self.properties)

    def view(self, crs: str) -> _View:
        with self._lock:
            hit = self._views.get(crs)
        if hit is None:
            hit = self._make_view(crs)
            with self._lock:
                hit = self._views.setdefault(crs, hit)
        return hit

    def _make_view(self, crs: str) -> _View:
        n = self.size
        if not self.is_spatial:
            geoms = np.full(n, None, dtype=object)
            texts = ["null"] * n
        else:
            proj_name, lat_first = SUPPORTED_CRS[crs]
            series = gpd.GeoSeries(self.frame.geometry.values, crs=self.frame.crs or STORE_CRS)
            if crs == STORAGE_CRS:
                geoms = np.asarray(series.values)  # exactly the stored coordinates
            else:
                geoms = shapely.transform(np.asarray(series.to_crs(proj_name).values), _round_degrees)
                if lat_first:
                    geoms = shapely.transform(geoms, _swap)
            geoms = np.asarray(geoms, dtype=object)
            texts = [t if t is not None else "null" for t in shapely.to_geojson(geoms)]
        bounds = shapely.bounds(geoms) if self.is_spatial else np.full((n, 4), np.nan)
        features = ['{"type":"Feature","id":%d,"geometry":%s,"properties":%s}' % (i + 1, g, p)
                    for i, (g, p) in enumerate(zip(texts, self.property_json))]
        return _View(geoms, bounds, features)

    def filter_frame(self, crs: str) -> gpd.GeoDataFrame:
        """Properties and geometry (in ``crs``) for evaluating CQL2 filters."""
        with self._lock:
            hit = self._frames.get(crs)
        if hit is None:
            props = pd.DataFrame(self.properties, columns=self.fields)
            geoms = self.view(crs).geoms if self.is_spatial else np.full(self.size, None, dtype=object)
            hit = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(list(geoms)).values, crs=None)
            with self._lock:
                hit = self._frames.setdefault(crs, hit)
        return hit

    def _extent(self, crs: str) -> list[float] | None:
        if not self.is_spatial or not self.size:
            return None
        b = self.view(crs).bounds
        if np.isnan(b).all():
            return None
        return [float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))]

    @cached_property
    def extent(self) -> list[float] | None:
        """The CRS84 bounding box."""
        return self._extent(CRS84)

    @cached_property
    def storage_extent(self) -> list[float] | None:
        """The bounding box in EPSG:9208 (exact, from the stored coordinates)."""
        return self._extent(STORAGE_CRS)

    @cached_property
    def field_types(self) -> dict[str, str]:
        """JSON-schema type per property (from the column's values)."""
        out = {}
        for name in self.fields:
            series = self.frame[name] if name in self.frame else pd.Series(dtype=object)
            if pd.api.types.is_bool_dtype(series):
                out[name] = "boolean"
            elif pd.api.types.is_integer_dtype(series):
                out[name] = "integer"
            elif pd.api.types.is_float_dtype(series):
                out[name] = "number"
            else:
                out[name] = "string"
        return out


def _make_collection(prov: Provider, version: str) -> _Collection:
    frame = prov.read()
    is_spatial = prov.geometry is not None and isinstance(frame, gpd.GeoDataFrame)
    if is_spatial and frame.crs is not None and frame.crs.to_epsg() != 9208:
        frame = frame.to_crs(STORE_CRS)
    props_frame = frame.drop(columns="geometry", errors="ignore")
    props = [{k: _json_value(v) for k, v in row.items()} for row in props_frame.to_dict(orient="records")]
    texts = [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in props]
    return _Collection(prov.id, version, frame, is_spatial, props, texts, [str(c) for c in props_frame.columns])


#: Collections in memory, keyed (id, data version): the newest versions, and the one before each,
#: so paging links made before a rebuild still page through the data they started on.
_COLLECTIONS: OrderedDict[tuple[str, str], _Collection] = OrderedDict()
_COLLECTIONS_LOCK = threading.Lock()
_KEEP_VERSIONS = 2


def _collection(collection_id: str, version: str | None = None) -> _Collection:
    """The collection at its current data version, or at ``version`` (a paging link's) while that is
    still in memory; a version no longer held is a 409 telling the client to start again."""
    prov = provider(collection_id)
    current = prov.version()
    wanted = version or current
    with _COLLECTIONS_LOCK:
        hit = _COLLECTIONS.get((collection_id, wanted))
        if hit is not None:
            _COLLECTIONS.move_to_end((collection_id, wanted))
            return hit
    if wanted != current:
        raise OGCError(409, "Conflict", f"version: dữ liệu của '{collection_id}' đã được cập nhật từ khi bắt đầu đọc "
                       "trang; hãy đọc lại từ trang đầu / the collection changed since paging started; start again "
                       "from the first page")
    col = _make_collection(prov, current)
    with _COLLECTIONS_LOCK:
        col = _COLLECTIONS.setdefault((collection_id, current), col)
        _COLLECTIONS.move_to_end((collection_id, current))
        mine = [k for k in _COLLECTIONS if k[0] == collection_id]
        for old in mine[:-_KEEP_VERSIONS]:
            del _COLLECTIONS[old]
        while len(_COLLECTIONS) > 64:
            _COLLECTIONS.popitem(last=False)
    return col


# --- resources ----------------------------------------------------------------------------------

def _link(href, rel, type_, title):
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str) -> dict:
    return {
        "title": "Lào Cai – OGC API Features",
        "description": "Lớp dữ liệu tỉnh Lào Cai, lưu theo VN-2000 / TM-3 104°45′ (EPSG:9208); phục vụ theo CRS84, "
        "EPSG:4326, EPSG:9208, EPSG:4756. / Lào Cai layers, stored in VN-2000 / TM-3 104°45′ (EPSG:9208); served "
        "in CRS84, EPSG:4326, EPSG:9208 and EPSG:4756.",
        "links": [
            _link(f"{base}?f=json", "self", "application/json", "This document"),
            _link(f"{base}?f=html", "alternate", "text/html", "This document as HTML"),
            # both the Part 1 1.0 relation names and the OGC relation URIs: clients look for either;
            # the HTML page shows each target once
            _link(f"{base}/conformance?f=json", "conformance", "application/json", "Conformance"),
            _link(f"{base}/collections?f=json", "data", "application/json", "Collections"),
            _link(f"{base}/conformance?f=json", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                  "application/json", "Conformance"),
            _link(f"{base}/collections?f=json", "http://www.opengis.net/def/rel/ogc/1.0/data",
                  "application/json", "Collections"),
            _link(f"{base}/openapi?f=json", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                  "OpenAPI definition"),
            _link(f"{base}/openapi?f=html", "service-doc", "text/html", "OpenAPI definition as HTML"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collection(collection_id: str, base: str) -> dict:
    col = _collection(collection_id)
    prov = provider(collection_id)
    href = f"{base}/collections/{collection_id}"
    links = [
        _link(f"{href}?f=json", "self", "application/json", "This collection"),
        _link(f"{href}?f=html", "alternate", "text/html", "This collection as HTML"),
        _link(f"{href}/items?f=json", "items", "application/geo+json", "Items (GeoJSON)"),
        _link(f"{href}/items?f=html", "items", "text/html", "Items (HTML)"),
        _link(f"{href}/queryables?f=json", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
              "application/schema+json", "Queryables"),
    ]
    for fmt, (mime, _ext) in DOWNLOADS.items():
        links.append(_link(f"{href}/items?f={fmt}", "enclosure", mime, f"Tải về / download ({fmt})"))
    title, desc = prov.title, prov.description
    out = {
        "id": collection_id,
        "title": f"{title.get('vi', '')} / {title.get('en', '')}".strip(" /"),
        "description": f"{desc.get('vi', '')} / {desc.get('en', '')}".strip(" /"),
        "itemType": "feature",
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS,
        "links": links,
        "numberOfFeatures": col.size,
    }
    if col.extent:
        out["extent"] = {"spatial": {"bbox": [col.extent], "crs": CRS84}}
        out["storageCrsBbox"] = col.storage_extent
    return out


def collections(base: str) -> dict:
    return {
        "links": [
            _link(f"{base}/collections?f=json", "self", "application/json", "Collections"),
            _link(f"{base}/collections?f=html", "alternate", "text/html", "Collections as HTML"),
        ],
        "crs": list(SUPPORTED_CRS),
        "collections": [collection(cid, base) for cid in collection_ids()],
    }


def queryables(collection_id: str, base: str) -> dict:
    """Part 3 queryables: every property (also usable as ``name=value`` parameters) and the geometry."""
    col = _collection(collection_id)
    prov = provider(collection_id)
    props = {}
    for name in col.fields:
        props[name] = {"type": col.field_types[name], "title": str(prov.fields.get(name, name))}
    if col.is_spatial:
        props[GEOMETRY] = {"format": f"geometry-{(prov.geometry or 'any').lower()}",
                           "title": "Hình học / geometry"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection_id}/queryables",
        "type": "object",
        "title": col.id,
        "properties": props,
        "additionalProperties": False,
    }


# --- items --------------------------------------------------------------------------------------

def parse_bbox(text: str | None, crs: str = CRS84) -> tuple[float, float, float, float] | None:
    """A box ``minx,miny,maxx,maxy`` in ``crs``'s axis order (CRS84: minLon,minLat,maxLon,maxLat;
    EPSG:4326/4756: minLat,minLon,maxLat,maxLon; EPSG:9208: easting/northing in metres), or 6 numbers
    with heights. Degrees within ±180/±90, min ≤ max. A box crossing the antimeridian (which the
    standard allows) is refused: every layer here lies in northern Vietnam."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise _bad("bbox: cần 4 số minx,miny,maxx,maxy / bbox needs 4 numbers minx,miny,maxx,maxy")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise _bad(f"bbox: '{text[:200]}' không phải số / is not numbers") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    minx, miny, maxx, maxy = values
    if not all(math.isfinite(v) for v in values):
        raise _bad(f"bbox: '{text[:200]}' không hợp lệ / is not a valid box")
    if crs != STORAGE_CRS:
        lat_first = SUPPORTED_CRS[crs][1]
        lons, lats = ((miny, maxy), (minx, maxx)) if lat_first else ((minx, maxx), (miny, maxy))
        if not (all(-180 <= v <= 180 for v in lons) and all(-90 <= v <= 90 for v in lats)):
            raise _bad("bbox: kinh độ phải trong khoảng −180…180, vĩ độ −90…90 / longitudes must be within "
                       "−180…180 and latitudes within −90…90")
    if miny > maxy or minx > maxx:
        raise _bad("bbox: giá trị nhỏ nhất lớn hơn giá trị lớn nhất (không hỗ trợ hộp cắt qua kinh tuyến 180°) / "
                   "a minimum is greater than its maximum (boxes crossing the antimeridian are not supported)")
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
        raise _bad(f"{name}: '{text[:40]}' không phải số nguyên / is not an integer")
    value = int(text)
    if value < minimum:
        raise _bad(f"{name}: phải ≥ {minimum} / must be ≥ {minimum}")
    return min(value, maximum) if maximum else value


def _attributes(node) -> set[str]:
    """Every property name a CQL2 expression refers to."""
    if isinstance(node, cql_ast.Attribute):
        return {node.name}
    found = set()
    if isinstance(node, cql_ast.Node):
        for sub in node.get_sub_nodes():
            found |= _attributes(sub)
    elif isinstance(node, (list, tuple)):
        for sub in node:
            found |= _attributes(sub)
    return found


#: A CQL2 text longer than this is refused (parsing cost grows with it; real filters are short).
MAX_FILTER_CHARS = 8000
_UNSUPPORTED_CQL = (cql_ast.TemporalPredicate, cql_ast.Function, cql_ast.ArrayPredicate, cql_ast.Arithmetic)


def _bbox_literal(*values):
    """CQL2's spatial literal ``BBOX(minx, miny, maxx, maxy)`` (or 6 numbers with heights), which
    pygeofilter parses as a function call."""
    if len(values) not in (4, 6) or not all(isinstance(v, (int, float)) for v in values):
        raise ValueError("BBOX takes 4 or 6 numbers")
    minx, miny, maxx, maxy = values if len(values) == 4 else (values[0], values[1], values[3], values[4])
    return shapely.box(minx, miny, maxx, maxy)


_FUNCTIONS = {"BBOX": _bbox_literal, "bbox": _bbox_literal}


def _unsupported(node) -> str | None:
    if isinstance(node, cql_ast.Function) and node.name in _FUNCTIONS:
        pass
    elif isinstance(node, _UNSUPPORTED_CQL):
        return type(node).__name__
    subs = node.get_sub_nodes() if isinstance(node, cql_ast.Node) else node if isinstance(node, (list, tuple)) else []
    for sub in subs:
        found = _unsupported(sub)
        if found:
            return found
    return None


def parse_filter(text: str | None, lang: str | None, fields: list[str], is_spatial: bool):
    """A CQL2 text filter as a pygeofilter AST, checked against the collection's queryables."""
    if lang not in (None, "", "cql2-text"):
        raise _bad(f"filter-lang: '{lang[:40]}' không hỗ trợ; chỉ có cql2-text / only cql2-text is supported")
    if text is None or text.strip() == "":
        return None
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"filter: dài quá {MAX_FILTER_CHARS} ký tự / longer than {MAX_FILTER_CHARS} characters")
    # lazy: importing the parser compiles the CQL2 grammar (0.6 s), which the app's start need not wait for
    from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

    try:
        node = parse_cql2_text(text)
    except Exception as exc:  # lark's errors (and some of pygeofilter's) for text that does not parse
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise _bad(f"filter: biểu thức CQL2 không hợp lệ ({detail}) / not a valid CQL2 text expression") from None
    if not isinstance(node, cql_ast.Node):
        raise _bad("filter: biểu thức CQL2 phải là một điều kiện / the CQL2 expression must be a condition")
    known = set(fields) | ({GEOMETRY} if is_spatial else set())
    unknown = sorted(_attributes(node) - known)
    if unknown:
        raise _bad(f"filter: không có thuộc tính {', '.join(unknown)} (xem /queryables) / unknown properties "
                   f"{', '.join(unknown)}; see /queryables")
    what = _unsupported(node)
    if what:
        raise _bad(f"filter: chưa hỗ trợ {what} (chỉ so sánh, LIKE, BETWEEN, IN, IS NULL và hàm không gian) / "
                   f"{what} is not supported (comparisons, LIKE, BETWEEN, IN, IS NULL and spatial functions are)")
    return node


def parse_sortby(text: str | None, fields: list[str]) -> tuple[tuple[str, bool], ...]:
    """``sortby=name,-area_ha``: (property, descending) pairs."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in fields:
            raise _bad(f"sortby: không có thuộc tính '{name[:60]}' / unknown property '{name[:60]}'; "
                       f"use one of {', '.join(fields)}")
        out.append((name, desc))
    return tuple(out)


@dataclass(frozen=True)
class ItemsQuery:
    """The items/download parameters, validated and normalised (what caches and ETags are keyed on)."""

    bbox: tuple[float, float, float, float] | None
    bbox_crs: str
    crs: str
    limit: int
    offset: int
    filter_text: str | None = None
    filter_crs: str = CRS84
    properties: tuple[tuple[str, str], ...] = ()  # queryable property = value
    sortby: tuple[tuple[str, bool], ...] = ()
    version: str | None = None
    bbox_crs_given: bool = False
    crs_given: bool = False

    def key(self) -> str:
        return repr(self)


def parse_items_query(collection_id: str, args: dict, default_limit: int = DEFAULT_LIMIT,
                      max_limit: int | None = MAX_LIMIT) -> ItemsQuery:
    """Validate the items parameters; OGCError 400 naming the parameter (an unknown one included)."""
    version = args.get("version") or None
    col = _collection(collection_id, version)
    check_params(args, (*ITEMS_PARAMS, *col.fields))
    bbox_crs = parse_crs("bbox-crs", args.get("bbox-crs"))
    bbox = normalise_bbox(parse_bbox(args.get("bbox"), bbox_crs), 6 if bbox_crs != STORAGE_CRS else 3)
    if bbox is not None and not col.is_spatial:
        raise _bad(f"bbox: '{collection_id}' là bảng không có hình học / is a table without geometry")
    crs = parse_crs("crs", args.get("crs"))
    filter_crs = parse_crs("filter-crs", args.get("filter-crs"))
    text = args.get("filter")
    node = parse_filter(text, args.get("filter-lang"), col.fields, col.is_spatial)
    limit = parse_int("limit", args.get("limit"), default_limit, 1, max_limit)
    offset = parse_int("offset", args.get("offset"), 0, 0)
    when = args.get("datetime")
    if when and (not _DATETIME.fullmatch(when) or when in ("/", "../..", "../", "/..") or not _real_instants(when)):
        raise _bad(f"datetime: '{when[:60]}' không phải thời điểm hay khoảng RFC 3339 / is not an RFC 3339 instant or "
                   "interval (e.g. 2025-07-01T00:00:00Z or 2025-07-01/..)")
    # no collection has a time of its own (the layers are the state at their sources' dates):
    # a valid datetime selects every feature, as in pygeoapi
    props = tuple(sorted((k, v) for k, v in args.items() if k in col.fields))
    return ItemsQuery(bbox, bbox_crs, crs, limit, offset, text.strip() if node is not None else None, filter_crs,
                      props, parse_sortby(args.get("sortby"), col.fields), col.version,
                      bool(args.get("bbox-crs")), bool(args.get("crs")))


def _real_instants(text: str) -> bool:
    """Every instant of a datetime value is a real date and time (no 2025-02-30)."""
    for part in text.split("/"):
        if part in ("", ".."):
            continue
        try:
            datetime.fromisoformat(part.upper() if "T" in part.upper() else part)
        except ValueError:
            return False
    return True


def _matches(value, text: str) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value) == text


def select(col: _Collection, query: ItemsQuery) -> np.ndarray:
    """Indices of the features matching the query's bbox, properties and filter, in sort order."""
    idx = np.arange(col.size)
    if query.bbox is not None:
        view = col.view(query.bbox_crs)
        minx, miny, maxx, maxy = query.bbox
        b = view.bounds
        with np.errstate(invalid="ignore"):
            mask = (b[:, 2] >= minx) & (b[:, 0] <= maxx) & (b[:, 3] >= miny) & (b[:, 1] <= maxy)
        idx = np.nonzero(mask)[0]
        if len(idx):
            hit = shapely.intersects(view.geoms[idx], shapely.box(minx, miny, maxx, maxy))
            idx = idx[hit]
    for name, text in query.properties:
        idx = np.array([i for i in idx if _matches(col.properties[i][name], text)], dtype=int)
    if query.filter_text is not None and len(idx):
        node = parse_filter(query.filter_text, None, col.fields, col.is_spatial)
        frame = col.filter_frame(query.filter_crs)
        try:
            with np.errstate(invalid="ignore"):
                mask = to_filter(frame, node, {**{f: f for f in col.fields}, GEOMETRY: "geometry"}, _FUNCTIONS)
            mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool)
            if mask.shape != (col.size,):
                raise ValueError("not one truth value per feature")
        except (TypeError, ValueError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
            raise _bad(f"filter: không tính được biểu thức trên '{col.id}' ({type(exc).__name__}: kiểu giá trị không "
                       "khớp?) / the expression cannot be evaluated on this collection (do the value types match "
                       "the queryables?)") from None
        idx = idx[mask[idx]]
    if query.sortby and len(idx):
        order = list(idx)
        for name, desc in reversed(query.sortby):
            present = [i for i in order if col.properties[i][name] is not None]
            missing = [i for i in order if col.properties[i][name] is None]
            present.sort(key=lambda i, n=name: col.properties[i][n], reverse=desc)
            order = present + missing
        idx = np.array(order, dtype=int)
    return idx


@dataclass(eq=False)
class Items:
    collection_id: str
    crs: str
    json_bytes: bytes
    gzip_bytes: bytes
    properties: list[dict]
    ids: list[int]
    number_matched: int
    number_returned: int
    links: list[dict]

    def to_json_bytes(self) -> bytes:
        return self.json_bytes

    def to_dict(self) -> dict:
        return json.loads(self.json_bytes)

    @property
    def size(self) -> int:
        return len(self.json_bytes) + len(self.gzip_bytes) + 200 * len(self.ids) + 2048


#: Pages kept in memory, serialised and gzipped, bounded by their total bytes. A whole layer is one
#: entry like any other (GIS clients read whole layers); only a page larger than a quarter of the
#: cache is served without being kept.
ITEMS_CACHE_BYTES = 128 * 1024 * 1024
ITEMS_CACHE_MAX_ENTRY = ITEMS_CACHE_BYTES // 4
_ITEMS_CACHE = BoundedCache(ITEMS_CACHE_BYTES, ITEMS_CACHE_MAX_ENTRY)


def items(collection_id: str, base: str, args: dict, fmt: str = "json", query: ItemsQuery | None = None) -> Items:
    """``args``: the query parameters; wrong ones raise OGCError 400 naming them."""
    query = query or parse_items_query(collection_id, args)
    col = _collection(collection_id, query.version)
    key = (collection_id, col.version, base, query, fmt)
    return _ITEMS_CACHE.get_or_make(key, lambda: _make_items(col, base, query, fmt), lambda page: page.size)


def _fmt_number(v: float) -> str:
    return format(v, ".6f").rstrip("0").rstrip(".")


def _make_items(col: _Collection, base: str, query: ItemsQuery, fmt: str) -> Items:
    """Pages are pure functions of the data version (``col``) and the normalised query: cached."""
    limit, offset = query.limit, query.offset
    selected = select(col, query)
    page = selected[offset: offset + limit]
    view = col.view(query.crs)
    href = f"{base}/collections/{col.id}/items"
    keep: dict = {}
    if query.bbox is not None:
        keep["bbox"] = ",".join(_fmt_number(v) for v in query.bbox)
        if query.bbox_crs_given:
            keep["bbox-crs"] = query.bbox_crs
    if query.crs_given:
        keep["crs"] = query.crs
    keep.update(dict(query.properties))
    if query.filter_text is not None:
        keep["filter"] = query.filter_text
        keep["filter-lang"] = "cql2-text"
        if query.filter_crs != CRS84:
            keep["filter-crs"] = query.filter_crs
    if query.sortby:
        keep["sortby"] = ",".join(("-" if d else "") + n for n, d in query.sortby)

    def url(off: int, f: str = fmt, pinned: bool = False) -> str:
        extra = {"version": col.version} if pinned else {}
        return f"{href}?" + urlencode({**keep, "f": f, "limit": limit, "offset": off, **extra})

    mime = {"json": "application/geo+json", "html": "text/html"}
    own = mime.get(fmt, "application/geo+json")
    links = [
        _link(url(offset), "self", own, "This page"),
        _link(url(offset, "html" if fmt == "json" else "json"), "alternate",
              mime["html" if fmt == "json" else "json"], "Alternate format"),
        _link(f"{base}/collections/{col.id}?f=json", "collection", "application/json", "The collection"),
    ]
    # next/prev carry the data version: a rebuild between two pages cannot mix two versions
    if offset + limit < len(selected):
        links.append(_link(url(offset + limit, pinned=True), "next", own, "Next page"))
    if offset > 0:
        links.append(_link(url(max(0, offset - limit), pinned=True), "prev", own, "Previous page"))
    features = view.features
    body = ('{"type":"FeatureCollection","features":[' + ",".join(features[i] for i in page)
            + '],"numberMatched":%d,"numberReturned":%d,"links":%s}' % (
                len(selected), len(page), json.dumps(links, ensure_ascii=False, separators=(",", ":"))))
    raw = body.encode("utf-8")
    return Items(col.id, query.crs, raw, gzip.compress(raw, 5, mtime=0) if fmt == "json" else b"",
                 [col.properties[i] for i in page], [int(i) + 1 for i in page], int(len(selected)), len(page), links)


def _feature_index(col: _Collection, fid: str) -> int:
    """The 0-based index of feature id ``fid`` (ASCII digits only: no sign, space, underscore or other
    scripts' digits); OGCError 404 naming featureId otherwise."""
    index = int(fid) - 1 if isinstance(fid, str) and _ASCII_ID.fullmatch(fid) else -1
    if not 0 <= index < col.size:
        raise OGCError(404, "NotFound", f"featureId: không có đối tượng '{str(fid)[:40]}' trong '{col.id}' "
                       f"/ no feature '{str(fid)[:40]}'")
    return index


def item(collection_id: str, fid: str, base: str, crs: str = CRS84) -> bytes:
    col = _collection(collection_id)
    index = _feature_index(col, fid)
    suffix = "" if crs == CRS84 else "&" + urlencode({"crs": crs})
    links = [
        _link(f"{base}/collections/{collection_id}/items/{fid}?f=json{suffix}", "self", "application/geo+json",
              "This feature"),
        _link(f"{base}/collections/{collection_id}/items/{fid}?f=html{suffix}", "alternate", "text/html",
              "This feature as HTML"),
        _link(f"{base}/collections/{collection_id}?f=json", "collection", "application/json", "The collection"),
    ]
    text = col.view(crs).features[index][:-1] + ',"links":' + json.dumps(links, separators=(",", ":")) + "}"
    return text.encode("utf-8")


def item_properties(collection_id: str, fid: str) -> dict:
    col = _collection(collection_id)
    return col.properties[_feature_index(col, fid)]


# --- downloads ----------------------------------------------------------------------------------

def export(collection_id: str, fmt: str, args: dict | None = None) -> tuple[bytes, str, str]:
    """The collection (optionally selected as for items: bbox, properties, filter, sortby, limit,
    offset) as GeoPackage (EPSG:9208, as stored), GeoJSON (``crs``, CRS84 by default) or CSV
    (attributes and WKT in CRS84). Without ``limit`` the whole selection is exported.
    Returns (content, media type, file name)."""
    if fmt not in DOWNLOADS:
        raise _bad(f"f: '{fmt}' không hỗ trợ / unsupported; use json, html, " + ", ".join(DOWNLOADS))
    col = _collection(collection_id)
    mime, ext = DOWNLOADS[fmt]
    filename = f"{collection_id}.{ext}"
    query = parse_items_query(collection_id, args or {}, default_limit=max(col.size, 1), max_limit=None)
    col = _collection(collection_id, query.version)
    idx = select(col, query)[query.offset: query.offset + query.limit]
    if fmt == "geojson":
        features = col.view(query.crs).features
        body = '{"type":"FeatureCollection","features":[' + ",".join(features[i] for i in idx) + "]}"
        return body.encode("utf-8"), mime, filename
    frame = col.frame
    if len(idx) != len(frame) or (np.diff(idx) < 0).any():
        frame = frame.iloc[idx]
    if fmt == "csv":
        out = io.StringIO()
        table = frame.drop(columns="geometry", errors="ignore")
        if col.is_spatial:
            table = table.assign(wkt_crs84=shapely.to_wkt(col.view(CRS84).geoms[idx], rounding_precision=8))
        writer = csv.writer(out)
        writer.writerow(table.columns)
        for row in table.itertuples(index=False):
            writer.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8"), mime, filename
    fd, tmp = tempfile.mkstemp(suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    try:
        pyogrio.write_dataframe(frame, tmp, layer=collection_id.replace("-", "_"), driver="GPKG")
        return Path(tmp).read_bytes(), mime, filename
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# The confirmed production areas: published from the workflow (the store's layer holds drafts too).
register(Provider.from_layer(confirmed_areas.COLLECTION, read=confirmed_areas.confirmed_frame,
                             version=confirmed_areas.confirmed_state, description=confirmed_areas.DESCRIPTION))

# The groundwater-potential classes of Sa Pa, once a run is published for everyone
# (`geo-app groundwater … --publish --public`); the run's id is the data version.
register(Provider.from_layer(POTENTIAL_LAYER, read=lambda: layers.read(POTENTIAL_LAYER),
                             version=lambda: published.run_id(POTENTIAL_LAYER),
                             available=lambda: published.is_public(POTENTIAL_LAYER)))
