"""OGC API – Features (Part 1 Core) over HTTP: a thin adapter over ``geo_app.serve.ogcapi``.

``f=json|html`` or the Accept header choose the representation; ``f=gpkg|geojson|csv`` on the items
path downloads the layer (optionally cut to ``bbox``).
"""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from geo_app.serve import ogcapi
from geo_app.serve.web.extensions import ApiError, prefers_html
from geo_app.serve.web.map_view import cached_response
from geo_app.store.layer_store import StoreError

bp = Blueprint("ogc", __name__, url_prefix="/ogcapi")


def _fmt() -> str:
    f = request.args.get("f")
    if f:
        return f
    return "html" if prefers_html() else "json"


@bp.after_request
def _vary_accept(resp: Response) -> Response:
    # the representation (JSON or HTML) follows the Accept header: shared caches must key on it
    resp.vary.add("Accept")
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
    """Keyed on the normalised query and the format: JSON and HTML of one URL differ. HTML pages
    also depend on the language and on who is logged in (the page header)."""
    parts = [ogcapi.layer_version(collection_id), _base(), collection_id, query.key(), fmt]
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


def _check_f(allowed=("json", "html")) -> str:
    f = _fmt()
    if f not in allowed:
        abort(400, description=f"f: '{f}' không hỗ trợ / unsupported; use {', '.join(allowed)}")
    return f


@bp.get("", strict_slashes=False)
@bp.get("/")
def landing():
    f = _check_f()
    doc = ogcapi.landing(_base())
    if f == "html":
        return render_template("ogc.html", doc=doc, heading=doc["title"])
    return _json(doc)


@bp.get("/conformance")
def conformance():
    f = _check_f()
    doc = {**ogcapi.conformance(), "links": []}
    if f == "html":
        return render_template("ogc.html", doc=doc, heading="Conformance")
    return _json(doc)


@bp.get("/openapi")
def openapi():
    _check_f(("json",))
    return _json(ogcapi.openapi(_base()), mimetype="application/vnd.oai.openapi+json;version=3.0")


@bp.get("/collections")
def collections():
    f = _check_f()
    doc = _respond(lambda: ogcapi.collections(_base()))
    if f == "html":
        return render_template("ogc.html", doc=doc, heading="Collections / Tập dữ liệu")
    return _json(doc)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    f = _check_f()
    doc = _respond(lambda: ogcapi.collection(collection_id, _base()))
    if f == "html":
        return render_template("ogc.html", doc=doc, heading=doc["title"])
    return _json(doc)


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    f = _check_f(("json", "html", *ogcapi.DOWNLOADS))
    args = request.args.to_dict()
    if f in ogcapi.DOWNLOADS:
        content, mime, filename = _respond(lambda: ogcapi.export(collection_id, f, args=args))
        resp = Response(content, mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return resp
    _respond(lambda: ogcapi.collection(collection_id, _base()))  # 404 before anything else
    query = _respond(lambda: ogcapi.parse_items_query(collection_id, args))
    etag = _respond(lambda: _etag(collection_id, query, f))
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        return resp
    result = _respond(lambda: ogcapi.items(collection_id, _base(), args, fmt=f, query=query))
    if f == "html":
        columns = list(result.properties[0]) if result.properties else []
        resp = Response(render_template(
            "ogc.html", doc={"links": result.links, "numberMatched": result.number_matched,
                             "numberReturned": len(result.features)},
            heading=collection_id, rows=list(zip(result.ids, result.properties)), columns=columns,
            base=_base(), collection_id=collection_id,
        ), mimetype="text/html")
        resp.set_etag(etag)
    else:
        resp = cached_response(result.json_bytes, result.gzip_bytes, etag, "application/geo+json", max_age=60)
        resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/collections/<collection_id>/items/<fid>")
def item(collection_id: str, fid: str):
    f = _check_f()
    body = _respond(lambda: ogcapi.item(collection_id, fid, _base()))
    if f == "html":
        doc = json.loads(body)
        return render_template("ogc.html", doc=doc, heading=f"{collection_id} / {fid}",
                               properties=doc.get("properties") or {})
    return _json(body, mimetype="application/geo+json", cache=60)
