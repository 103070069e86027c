"""The OpenAPI 3.0 document of the OGC API – Features service (``/ogcapi/openapi``).

One path per collection (as pygeoapi does), so that each collection's items have a schema of their
own (its properties and their types) and its queryable properties are declared as parameters.
Every parameter, response and error body the service can return is described; the tests check the
live service against this document with a property-based tester (schemathesis).
"""
from __future__ import annotations

import re

from geo_app.serve import ogcapi

_REF = "#/components/"
_JSON, _GEOJSON, _HTML = "application/json", "application/geo+json", "text/html"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"{_REF}{kind}/{name}"}


def _content(schema: dict, *types: str) -> dict:
    out = {t: {"schema": schema} for t in types}
    if _HTML not in types:
        out[_HTML] = {"schema": {"type": "string"}}
    return out


def _responses(ok: dict, *errors: int) -> dict:
    out = {"200": {"description": "Thành công / success", "content": ok}}
    for status in errors:
        out[str(status)] = _ref("responses", str(status))
    return out


def _params() -> dict:
    crs = {"type": "string", "enum": list(ogcapi.SUPPORTED_CRS)}

    def q(name, schema, description, **extra):
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": description, **extra}

    return {
        "f": q("f", {"type": "string", "enum": ["json", "html"]}, "Định dạng / representation (default: Accept header)"),
        "f-items": q("f", {"type": "string", "enum": ["json", "html", *ogcapi.DOWNLOADS]},
                     "Định dạng; gpkg/geojson/csv tải cả lựa chọn về / representation; gpkg, geojson and csv "
                     "download the whole selection"),
        "lang": q("lang", {"type": "string", "enum": ["vi", "en"]}, "Ngôn ngữ trang HTML / language of HTML pages"),
        "bbox": q("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                  "minx,miny,maxx,maxy theo thứ tự trục của bbox-crs / in the axis order of bbox-crs "
                  "(CRS84: lon,lat; EPSG:4326 and EPSG:4756: lat,lon; EPSG:9208: easting,northing)",
                  style="form", explode=False),
        "bbox-crs": q("bbox-crs", crs, "Hệ tọa độ của bbox / CRS of bbox (default CRS84)"),
        "crs": q("crs", crs, "Hệ tọa độ của kết quả / CRS of the response (default CRS84; EPSG:9208 as stored)"),
        "datetime": q("datetime", {"type": "string"}, "Thời điểm hay khoảng RFC 3339; không lớp nào có thời gian riêng nên "
                      "không giới hạn kết quả / an RFC 3339 instant or interval; no collection has a time of its own, "
                      "so it selects every feature"),
        "limit": q("limit", {"type": "integer", "minimum": 1, "maximum": ogcapi.MAX_LIMIT,
                             "default": ogcapi.DEFAULT_LIMIT}, "Số đối tượng mỗi trang / page size"),
        "offset": q("offset", {"type": "integer", "minimum": 0, "default": 0}, "Bỏ qua / features skipped"),
        "filter": q("filter", {"type": "string"}, "Biểu thức CQL2 text / a CQL2 text expression, e.g. "
                    "kind = 'phường' AND S_INTERSECTS(geometry, POINT(103.97 22.49))"),
        "filter-lang": q("filter-lang", {"type": "string", "enum": ["cql2-text"], "default": "cql2-text"},
                         "Ngôn ngữ của filter / filter language"),
        "filter-crs": q("filter-crs", crs, "Hệ tọa độ của hình học trong filter / CRS of filter geometries"),
        "version": q("version", {"type": "string"}, "Phiên bản dữ liệu (trong liên kết next/prev) / data version "
                     "(set by next/prev links)"),
    }


def _schemas(collections: list[str]) -> dict:
    link = {"type": "object", "required": ["href"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
        "title": {"type": "string"}}}
    links = {"type": "array", "items": _ref("schemas", "link")}
    out = {
        "link": link,
        "exception": {"type": "object", "required": ["code", "description"], "properties": {
            "code": {"type": "string"}, "description": {"type": "string"}}},
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "collection": {"type": "object", "required": ["id", "links"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "itemType": {"type": "string"}, "links": links,
            "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"},
            "numberOfFeatures": {"type": "integer"},
            "extent": {"type": "object"}, "storageCrsBbox": {"type": "array", "items": {"type": "number"}}}},
        "collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "crs": {"type": "array", "items": {"type": "string"}},
            "collections": {"type": "array", "items": _ref("schemas", "collection")}}},
        "queryables": {"type": "object", "required": ["type", "properties"], "properties": {
            "type": {"type": "string"}, "properties": {"type": "object"}}},
        "geometry": {"type": "object", "nullable": True, "required": ["type"], "properties": {
            "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                                "MultiPolygon", "GeometryCollection"]}}},
    }
    for cid in collections:
        col = ogcapi._collection(cid)
        props = {name: {"type": col.field_types[name], "nullable": True} for name in col.fields}
        feature = {"type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
            "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer", "minimum": 1},
            "geometry": _ref("schemas", "geometry"),
            "properties": {"type": "object", "properties": props},
            "links": links}}
        out[f"{cid}.feature"] = feature
        out[f"{cid}.featureCollection"] = {
            "type": "object", "required": ["type", "features", "numberMatched", "numberReturned"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("schemas", f"{cid}.feature")},
                "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0},
                "links": links}}
    return out


def _error_responses() -> dict:
    texts = {"400": "Tham số sai (tên tham số ở đầu description) / a wrong parameter, named first in description",
             "404": "Không có / not found",
             "406": "Không có định dạng phù hợp / no acceptable representation",
             "409": "Dữ liệu đã đổi từ khi bắt đầu phân trang / the data changed since paging started",
             "500": "Lỗi máy chủ / server error",
             "503": "Chưa có kho dữ liệu / the layer store is not built"}
    return {status: {"description": text, "content": _content(_ref("schemas", "exception"), _JSON)}
            for status, text in texts.items()}


def openapi(base: str) -> dict:
    """The complete OpenAPI 3.0 document for the service at ``base``."""
    ids = ogcapi.collection_ids()
    p = lambda name: _ref("parameters", name)  # noqa: E731 - a short alias keeps the table below readable
    common = [p("f"), p("lang")]
    paths = {
        "/": {"get": {"summary": "Trang chính / landing page", "operationId": "getLandingPage",
                      "parameters": common,
                      "responses": _responses(_content(_ref("schemas", "landingPage"), _JSON), 400, 500)}},
        "/conformance": {"get": {"summary": "Các lớp phù hợp / conformance classes", "operationId": "getConformance",
                                 "parameters": common,
                                 "responses": _responses(_content(_ref("schemas", "confClasses"), _JSON), 400, 500)}},
        "/openapi": {"get": {"summary": "Tài liệu này / this document", "operationId": "getOpenAPI",
                             "parameters": common,
                             "responses": _responses({"application/vnd.oai.openapi+json;version=3.0": {
                                 "schema": {"type": "object"}}, _HTML: {"schema": {"type": "string"}}}, 400, 500)}},
        "/collections": {"get": {"summary": "Các tập dữ liệu / collections", "operationId": "getCollections",
                                 "parameters": common,
                                 "responses": _responses(_content(_ref("schemas", "collections"), _JSON),
                                                         400, 500, 503)}},
    }
    for cid in ids:
        col = ogcapi._collection(cid)
        queryable = [{"name": name, "in": "query", "required": False,
                      "schema": {"type": "string" if col.field_types[name] == "string" else col.field_types[name]},
                      "description": f"Lọc theo / filter on '{name}' (bằng / equals)"} for name in col.fields]
        spatial = [p("bbox"), p("bbox-crs")] if col.is_spatial else []
        names = "|".join(re.escape(name) for name in col.fields)
        sortby = {"name": "sortby", "in": "query", "required": False,
                  "schema": {"type": "string", "pattern": f"^[+-]?({names})(,[+-]?({names}))*$"},
                  "description": "Sắp xếp: tên thuộc tính, '-' để giảm dần / property names, '-' for descending, "
                  "comma-separated"}
        ops = f"{cid.replace('-', '_')}"
        paths[f"/collections/{cid}"] = {"get": {
            "summary": f"Tập dữ liệu / collection '{cid}'", "operationId": f"describe_{ops}", "tags": [cid],
            "parameters": common,
            "responses": _responses(_content(_ref("schemas", "collection"), _JSON), 400, 404, 500)}}
        paths[f"/collections/{cid}/queryables"] = {"get": {
            "summary": f"Thuộc tính lọc được / queryables of '{cid}'", "operationId": f"queryables_{ops}",
            "tags": [cid], "parameters": common,
            "responses": _responses(_content(_ref("schemas", "queryables"), "application/schema+json"),
                                    400, 404, 500)}}
        items_ok = _content(_ref("schemas", f"{cid}.featureCollection"), _GEOJSON)
        items_ok.update({mime.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                         for mime, _ext in ogcapi.DOWNLOADS.values() if not mime.startswith(_GEOJSON)})
        items_resp = _responses(items_ok, 400, 404, 409, 500)
        items_resp["200"]["headers"] = {"Content-Crs": {"description": "Hệ tọa độ của kết quả / CRS of the response",
                                                        "schema": {"type": "string"}}}
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"Đối tượng / features of '{cid}'", "operationId": f"items_{ops}", "tags": [cid],
            "parameters": [p("f-items"), p("lang"), *spatial, p("crs"), p("datetime"), p("limit"), p("offset"), p("filter"),
                           p("filter-lang"), p("filter-crs"), sortby, p("version"), *queryable],
            "responses": items_resp}}
        item_resp = _responses(_content(_ref("schemas", f"{cid}.feature"), _GEOJSON), 400, 404, 500)
        item_resp["200"]["headers"] = items_resp["200"]["headers"]
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "summary": f"Một đối tượng / one feature of '{cid}'", "operationId": f"item_{ops}", "tags": [cid],
            "parameters": [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "Số thứ tự 1… / feature id 1…"}, p("f"), p("lang"), p("crs")],
            "responses": item_resp}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lào Cai – OGC API Features", "version": "2.0",
                 "description": "OGC API – Features Part 1, Part 2 (CRS) and Part 3 (queryables, CQL2 text filters).",
                 "license": {"name": "MIT"}},
        "servers": [{"url": base}],
        "tags": [{"name": cid} for cid in ids],
        "paths": paths,
        "components": {"parameters": _params(), "schemas": _schemas(ids), "responses": _error_responses()},
    }
