"""OGC API – Features (Part 1 Core) over HTTP: a thin adapter over ``geo_app.ogcapi``.

``f=json|html`` or the Accept header choose the representation; ``f=gpkg|geojson|csv`` on the items
path downloads the layer (optionally cut to ``bbox``).
"""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, abort, render_template, request

from .. import ogcapi
from ..store import StoreError
from .map_view import cached_response

bp = Blueprint("ogc", __name__, url_prefix="/ogcapi")
JSON_TYPES = ["application/json", "application/geo+json", "text/html"]


def _fmt() -> str:
    f = request.args.get("f")
    if f:
        return f
    best = request.accept_mimetypes.best_match(JSON_TYPES, default="application/json")
    return "html" if best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"] else "json"


def _base() -> str:
    return request.url_root.rstrip("/") + bp.url_prefix


def _json(data, mimetype: str = "application/json", cache: int = 300) -> Response:
    body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    resp = Response(body, mimetype=mimetype)
    resp.headers["Cache-Control"] = f"public, max-age={cache}"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def _etag_key() -> str:
    return hashlib.sha1((ogcapi.store_version() + request.full_path).encode()).hexdigest()


def _respond(build):
    """Run a core call, mapping its errors to OGC exception responses (JSON or HTML)."""
    try:
        return build()
    except ogcapi.OGCError as exc:
        abort(exc.status, description=exc.description)
    except StoreError as exc:
        abort(503, description=str(exc))


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
        content, mime, filename = _respond(
            lambda: ogcapi.export(collection_id, f, ogcapi.parse_bbox(args.get("bbox")))
        )
        resp = Response(content, mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return resp
    etag = _respond(_etag_key)
    if request.if_none_match and etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        return resp
    result = _respond(lambda: ogcapi.items(collection_id, _base(), args, fmt=f))
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
