"""The map page and the layer data it loads. Views parse the request, call the core, format."""
from __future__ import annotations

import folium
from branca.element import MacroElement
from flask import Blueprint, abort, jsonify, request
from jinja2 import Template

from .. import layers
from ..features import feature_collection, tolerance_for_zoom
from ..store import StoreError
from .assets import local_css, local_js

bp = Blueprint("map", __name__)

#: Layers drawn on the first map, bottom to top.
MAP_LAYERS = ["communes", "former-districts", "province", "rivers", "peaks"]
PROVINCE_VIEW = {"location": [22.05, 104.25], "zoom_start": 8}


class StoreLayers(MacroElement):
    """Loads each layer from this application's GeoJSON endpoint and adds it with its style."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var control = L.control.layers(null, null, {collapsed: false}).addTo(map);
          var fmt = function (v) { return (v === null || v === undefined) ? '' : String(v)
              .replace(/&/g, '&amp;').replace(/</g, '&lt;'); };
          var popup = function (layerId, p) {
            if (layerId === 'communes') {
              return '<b>' + fmt(p.full_name) + '</b><br>Mã / code: ' + fmt(p.code) +
                '<br>Diện tích / area: ' + fmt(p.area_ha) + ' ha' +
                '<br>Huyện cũ / former district(s): ' + fmt(p.former_districts) +
                '<br>Xã cũ / former communes: ' + fmt(p.former_communes);
            }
            if (layerId === 'former-districts') { return '<b>' + fmt(p.label) + '</b><br>Mã / code: ' + fmt(p.code); }
            if (layerId === 'peaks') { return '<b>' + fmt(p.name) + '</b> ' + fmt(p.elevation) + ' m'; }
            return '<b>' + fmt(p.full_name || p.name) + '</b>';
          };
          var layers = {{ this.layers_json }};
          layers.forEach(function (def) {
            fetch(def.url).then(function (r) { return r.json(); }).then(function (data) {
              var layer = L.geoJSON(data, {
                style: function () { return def.style; },
                pointToLayer: function (f, latlng) { return L.circleMarker(latlng, def.style); },
                onEachFeature: function (f, l) { l.bindPopup(popup(def.id, f.properties)); }
              });
              layer.addTo(map);
              control.addOverlay(layer, def.title);
              document.body.setAttribute('data-loaded-' + def.id, String(data.features.length));
            });
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer_defs: list[dict]):
        super().__init__()
        import json

        self.layers_json = json.dumps(layer_defs, ensure_ascii=False)


def build_map(zoom: int = PROVINCE_VIEW["zoom_start"]) -> folium.Map:
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, **PROVINCE_VIEW)
    # Only Leaflet, from this application: folium's default jQuery/Bootstrap/CDN links are not needed.
    m.default_js = local_js()
    m.default_css = local_css()
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap (trực tuyến / online)", show=False, overlay=False, control=True
    ).add_to(m)
    defs = []
    for layer_id in MAP_LAYERS:
        info = layers.info(layer_id)
        defs.append(
            {
                "id": layer_id,
                "title": f"{info.legend.get('vi', info.title['vi'])} / {info.legend.get('en', info.title['en'])}",
                "style": info.style,
                "url": f"/data/{layer_id}.geojson?zoom={zoom + 2}",
            }
        )
    StoreLayers(defs).add_to(m)
    return m


@bp.get("/")
def index():
    html = build_map().get_root().render()
    html = html.replace("<head>", '<head>\n<meta charset="utf-8"><title>Bản đồ tỉnh Lào Cai / Lào Cai map</title>', 1)
    return html


@bp.get("/data/<layer_id>.geojson")
def layer_data(layer_id: str):
    try:
        info = layers.info(layer_id)
    except KeyError as exc:
        abort(404, description=str(exc))
    if not info.is_spatial:
        abort(404, description=f"layer '{layer_id}' has no geometry")
    try:
        zoom = float(request.args.get("zoom", 12))
    except ValueError:
        abort(400, description="zoom must be a number / zoom phải là số")
    if not 0 <= zoom <= 22:
        abort(400, description="zoom must be between 0 and 22 / zoom từ 0 đến 22")
    try:
        data = feature_collection(layer_id, tolerance_m=tolerance_for_zoom(zoom))
    except StoreError as exc:
        abort(503, description=str(exc))
    return jsonify(data)
