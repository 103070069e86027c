"""OGC API – Features over HTTP: a thin adapter over ``geo_app.serve.ogcapi``.

``f=json|html`` or the Accept header choose the representation; ``f=gpkg|geojson|csv`` on the items
path downloads the selection. Every response names its CRS in ``Content-Crs`` (OGC API Part 2).
"""
from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from geo_app.serve import ogc_openapi, ogcapi
from geo_app.serve.web.extensions import ApiError, prefers_html
from geo_app.serve.web.map_view import cached_response
from geo_app.store.layer_store import StoreError

bp = Blueprint("ogc", __name__, url_prefix="/ogcapi")
_JSON_TYPES = ("application/json", "application/geo+json", "application/schema+json")


def _fmt() -> str:
    f = request.args.get("f")
    if f:
        return f
    return "html" if prefers_html() else "json"


@bp.after_request
def _headers(resp: Response) -> Response:
    # the representation (JSON or HTML) follows the Accept header: shared caches must key on it
    resp.vary.add("Accept")
    # Part 2: the CRS of the coordinates in the response (extents and feature-less documents: CRS84)
    resp.headers.setdefault("Content-Crs", f"<{ogcapi.CRS84}>")
    return resp


def _base() -> str:
    return request.url_root.rstrip("/") + bp.url_prefix


def _json(data, mimetype: str = "application/json", cache: int = 300) -> Response:
    body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    resp = Response(body, mimetype=mimetype)
    resp.headers["Cache-Control"] = f"public, max-age={cache}"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def _etag(collection_id: str, query: ogcapi.ItemsQuery, fmt: str) -> str:
    """Keyed on the normalised query (data version included) and the format: JSON and HTML of one URL
    differ. HTML pages also depend on the language and on who is logged in (the page header)."""
    parts = [_base(), collection_id, query.key(), fmt]
    if fmt == "html":
        parts += [str(get_locale() or "vi"), current_user.get_id() if current_user.is_authenticated else "-"]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def _respond(build):
    """Run a core call, mapping its errors to OGC exception responses (JSON or HTML)."""
    try:
        return build()
    except ogcapi.OGCError as exc:
        raise ApiError(exc.status, exc.description, exc.code) from None
    except StoreError as exc:
        raise ApiError(503, str(exc), "ServiceUnavailable") from None


def _check(allowed_f=("json", "html"), params=ogcapi.COMMON_PARAMS) -> str:
    _respond(lambda: ogcapi.check_params(request.args, params))
    f = _fmt()
    if f not in allowed_f:
        abort(400, description=f"f: '{f[:40]}' không hỗ trợ / unsupported; use {', '.join(allowed_f)}")
    return f


def _with_f(url: str, f: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"] + [("f", f)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def html_links(links: list[dict]) -> list[dict]:
    """The links an HTML page shows: resources as their HTML alternates, each target once, without
    the page itself (its JSON alternate is shown apart)."""
    out, seen = [], set()
    for link in links:
        if link["rel"] in ("self", "alternate"):
            continue
        href, type_ = link["href"], link["type"]
        if type_ in _JSON_TYPES:
            href, type_ = _with_f(href, "html"), "text/html"
        if href in seen:
            continue
        seen.add(href)
        out.append({**link, "href": href, "type": type_})
    return out


def _page(heading: str, doc: dict, status: int = 200, **context) -> Response:
    html = render_template("ogc.html", doc=doc, heading=heading, links=html_links(doc.get("links", [])),
                           json_href=_with_f(request.url, "json"), base=_base(), **context)
    return Response(html, status=status, mimetype="text/html")


@bp.get("", strict_slashes=False)
@bp.get("/")
def landing():
    f = _check()
    doc = ogcapi.landing(_base())
    if f == "html":
        return _page(doc["title"], doc)
    return _json(doc)


@bp.get("/conformance")
def conformance():
    f = _check()
    doc = {**ogcapi.conformance(), "links": []}
    if f == "html":
        return _page("Conformance", doc)
    return _json(doc)


@bp.get("/openapi")
def openapi():
    f = _check()
    doc = _respond(lambda: ogc_openapi.openapi(_base()))
    if f == "html":
        return _page("OpenAPI", {"links": []}, api=doc)
    return _json(doc, mimetype="application/vnd.oai.openapi+json;version=3.0")


@bp.get("/collections")
def collections():
    f = _check()
    doc = _respond(lambda: ogcapi.collections(_base()))
    if f == "html":
        return _page("Collections / Tập dữ liệu", doc)
    return _json(doc)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    f = _check()
    doc = _respond(lambda: ogcapi.collection(collection_id, _base()))
    if f == "html":
        map_url = f"{_base()}/collections/{collection_id}/items?f=json&limit={ogcapi.DEFAULT_LIMIT}"
        return _page(doc["title"], doc, map_url=map_url if doc.get("extent") else None,
                     extent=(doc.get("extent") or {}).get("spatial", {}).get("bbox", [None])[0])
    return _json(doc)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    f = _check()
    doc = _respond(lambda: ogcapi.queryables(collection_id, _base()))
    if f == "html":
        return _page(f"{collection_id} – queryables", {"links": []}, queryables=doc["properties"])
    return _json(doc, mimetype="application/schema+json")


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    f = _fmt()
    _respond(lambda: ogcapi.provider(collection_id))  # 404 before anything else
    if f not in ("json", "html", *ogcapi.DOWNLOADS):
        abort(400, description=f"f: '{f[:40]}' không hỗ trợ / unsupported; use json, html, {', '.join(ogcapi.DOWNLOADS)}")
    args = request.args.to_dict()
    if f in ogcapi.DOWNLOADS:
        content, mime, filename = _respond(lambda: ogcapi.export(collection_id, f, args=args))
        resp = Response(content, mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        if f == "gpkg":
            resp.headers["Content-Crs"] = f"<{ogcapi.STORAGE_CRS}>"
        elif f == "geojson":
            resp.headers["Content-Crs"] = f"<{ogcapi.parse_crs('crs', args.get('crs'))}>"
        return resp
    query = _respond(lambda: ogcapi.parse_items_query(collection_id, args))
    etag = _etag(collection_id, query, f)
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        resp.headers["Content-Crs"] = f"<{query.crs}>"
        return resp
    result = _respond(lambda: ogcapi.items(collection_id, _base(), args, fmt=f, query=query))
    if f == "html":
        columns = list(result.properties[0]) if result.properties else []
        resp = _page(collection_id, {"links": result.links, "numberMatched": result.number_matched,
                                     "numberReturned": result.number_returned},
                     rows=list(zip(result.ids, result.properties)), columns=columns, collection_id=collection_id,
                     map_url=_with_f(request.url, "json") if query.crs == ogcapi.CRS84 else None)
        resp.set_etag(etag)
    else:
        resp = cached_response(result.json_bytes, result.gzip_bytes, etag, "application/geo+json", max_age=60)
        resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Content-Crs"] = f"<{query.crs}>"
    return resp


@bp.get("/collections/<collection_id>/items/<fid>")
def item(collection_id: str, fid: str):
    f = _check(params=ogcapi.ITEM_PARAMS)
    crs = _respond(lambda: ogcapi.parse_crs("crs", request.args.get("crs")))
    body = _respond(lambda: ogcapi.item(collection_id, fid, _base(), crs))
    if f == "html":
        doc = json.loads(body)
        geometry = doc.get("geometry") if crs == ogcapi.CRS84 else json.loads(
            ogcapi.item(collection_id, fid, _base())).get("geometry")
        resp = _page(f"{collection_id} / {fid}", doc, properties=doc.get("properties") or {},
                     feature_geometry=geometry)
    else:
        resp = _json(body, mimetype="application/geo+json", cache=60)
    resp.headers["Content-Crs"] = f"<{crs}>"
    return resp
