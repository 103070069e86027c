"""JS/CSS that the map needs, served by the application itself so it draws with no internet.

Leaflet comes from the ``xstatic-leaflet`` package (installed from PyPI with its BSD licence);
folium's defaults point at public CDNs, which leave the page blank offline.

Every asset (Leaflet and the application's own ``static/``) is read once, gzip-compressed once in
memory when it is first asked for (text types only), and served with a strong ETag; a client that
sends ``Accept-Encoding: gzip`` gets the compressed bytes. Pages link to versioned URLs
(``?v=<first 12 hex of the ETag>``, :func:`asset_url`), which are cached for a year
(``immutable``); any other URL is revalidated after an hour. A changed file (new mtime or size) is
read again.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
from flask import Blueprint, Response, abort, request
from werkzeug.security import safe_join

bp = Blueprint("assets", __name__, url_prefix="/vendor")

STATIC_DIR = Path(__file__).resolve().parent / "static"
ROOTS = {"leaflet": Path(xleaflet.BASE_DIR), "static": STATIC_DIR}
VERSIONED_MAX_AGE = 365 * 24 * 3600
UNVERSIONED_MAX_AGE = 3600
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/geo+json")


@dataclass(frozen=True)
class Asset:
    raw: bytes
    gz: bytes | None
    etag: str
    mimetype: str
    stamp: tuple[int, int]

    @property
    def version(self) -> str:
        return self.etag[:12]


_CACHE: dict[Path, Asset] = {}
_LOCK = threading.Lock()


def load(root: str, filename: str) -> Asset:
    """The asset, read and compressed once (again only when the file changes); 404 when missing."""
    # a NUL byte (``%00``) makes the file system call raise ValueError: answer 404 like any other
    # name that is not a file here
    joined = safe_join(str(ROOTS[root]), filename) if "\x00" not in filename else None
    if joined is None:
        abort(404, description=f"'{filename}': không có tệp này / no such file")
    path = Path(joined)
    try:
        st = path.stat()
    except OSError:
        abort(404, description=f"'{filename}': không có tệp này / no such file")
    if not path.is_file():
        abort(404, description=f"'{filename}': không có tệp này / no such file")
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached.stamp == stamp:
        return cached
    with _LOCK:
        cached = _CACHE.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        raw = path.read_bytes()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mimetype == "text/javascript":
            mimetype = "application/javascript"
        gz = None
        if mimetype.startswith(COMPRESSIBLE):
            gz = gzip.compress(raw, 9, mtime=0)
            if len(gz) >= len(raw):
                gz = None
        asset = Asset(raw, gz, hashlib.sha256(raw).hexdigest()[:32], mimetype, stamp)
        _CACHE[path] = asset
        return asset


def respond(asset: Asset) -> Response:
    if request.if_none_match and asset.etag in request.if_none_match:
        resp = Response(status=304)
    elif asset.gz is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp = Response(asset.gz, mimetype=asset.mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(asset.raw, mimetype=asset.mimetype)
    resp.set_etag(asset.etag)
    if asset.gz is not None:
        resp.headers["Vary"] = "Accept-Encoding"
    if request.args.get("v") == asset.version:
        resp.headers["Cache-Control"] = f"public, max-age={VERSIONED_MAX_AGE}, immutable"
    else:
        resp.headers["Cache-Control"] = f"public, max-age={UNVERSIONED_MAX_AGE}"
    return resp


@bp.get("/leaflet/<path:filename>")
def leaflet(filename: str):
    return respond(load("leaflet", filename))


def static_file(filename: str):
    """The application's ``static/`` folder (registered as Flask's ``static`` endpoint)."""
    return respond(load("static", filename))


def favicon():
    """``/favicon.ico``, which browsers ask for whatever the page links: the same SVG icon."""
    return respond(load("static", "favicon.svg"))


def asset_url(root: str, filename: str) -> str:
    """A versioned URL for a page to link: cached for a year, changed whenever the file changes."""
    from flask import url_for

    asset = load(root, filename)
    if root == "leaflet":
        return url_for("assets.leaflet", filename=filename, v=asset.version)
    return url_for("static", filename=filename, v=asset.version)


def local_js() -> list[tuple[str, str]]:
    return [("leaflet", "/vendor/leaflet/leaflet.js")]


def local_css() -> list[tuple[str, str]]:
    return [("leaflet_css", "/vendor/leaflet/leaflet.css")]
