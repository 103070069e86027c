"""JS/CSS that the map needs, served by the application itself so it draws with no internet.

Leaflet comes from the ``xstatic-leaflet`` package (installed from PyPI with its BSD licence);
folium's defaults point at public CDNs, which leave the page blank offline.
"""
from __future__ import annotations

import xstatic.pkg.leaflet as xleaflet
from flask import Blueprint, send_from_directory

bp = Blueprint("assets", __name__, url_prefix="/vendor")


@bp.get("/leaflet/<path:filename>")
def leaflet(filename: str):
    return send_from_directory(xleaflet.BASE_DIR, filename, max_age=86400)


def local_js() -> list[tuple[str, str]]:
    return [("leaflet", "/vendor/leaflet/leaflet.js")]


def local_css() -> list[tuple[str, str]]:
    return [("leaflet_css", "/vendor/leaflet/leaflet.css")]
