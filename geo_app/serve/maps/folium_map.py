"""Interactive maps with folium, styled as the web map (layer YAML: style, classes, popups, legend), working offline.

folium's own pages link Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs, and draw nothing without
internet. These maps use none of those: Leaflet (from the ``xstatic-leaflet`` package the web map serves too) is
written into the page itself, its CSS with its two images as data URIs, so a notebook's map and an exported file
draw with the network off. Vector data is embedded once, simplified in EPSG:9208 to a ground tolerance, with only
the properties its popup and style read; each feature's popup is written here from the layer YAML rows.

::

    from geo_app.serve.maps import folium_map, raster_overlay
    m = folium_map(["communes", "province"])
    m = folium_map(["communes", ("water-sources", my_frame)], rasters=[raster_overlay("potential-index", "idx.tif")])
    m.save("map.html")
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import rasterio
import shapely
import xstatic.pkg.leaflet as xleaflet
import yaml
from branca.element import Element, MacroElement
from jinja2 import Template
from PIL import Image
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

from geo_app import STORE_CRS, layers
from geo_app.errors import InputError
from geo_app.serve.maps.presentation import class_styles, legend_entries, popup_fields, popup_html, text
from geo_app.settings import settings
from geo_app.store.catalogue import LayerInfo

LEAFLET_DIR = Path(xleaflet.BASE_DIR)
#: One screen pixel at zoom 12 at Lào Cai's latitude (~35 m): the commune scale a map is read at.
DEFAULT_TOLERANCE_M = 35.0
#: Coordinates in degrees kept to 1e-5 (about 1 m), far below the simplification tolerance.
COORD_GRID = 1e-5
#: Longest side of an image overlay, in pixels.
OVERLAY_MAX_PX = 1024
SYNTHETIC_NOTE = "SYNTHETIC — dữ liệu giả lập, không phải số liệu thực / made-up data, not real measurements"


class MapError(InputError):
    pass


# ---- Leaflet inlined ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """(JS, CSS) of the vendored Leaflet, ready to write into a page: the source-map comment dropped (no request
    for it), the CSS images as data URIs."""
    js = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match):
        path = LEAFLET_DIR / match.group(1)
        if not path.exists():  # marker-icon.png is not shipped: these maps draw circle markers only
            return "url(data:,)"
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[^)]+)\)", data_uri, css)
    return js.replace("</script", "<\\/script"), css


class OfflineMap(folium.Map):
    """A folium map whose page carries Leaflet itself (no CDN link, no tile server unless one is given)."""

    default_js: list = []
    default_css: list = []

    def render(self, **kwargs):
        js, css = leaflet_assets()
        header = self.get_root().header
        header.add_child(Element(f"<style>{css}</style>\n{MAP_CSS}"), name="leaflet_css")
        header.add_child(Element(f"<script>{js}</script>"), name="leaflet")
        super().render(**kwargs)


MAP_CSS = """<style>
.geo-legend, .geo-banner { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.4 sans-serif; max-width: 320px; }
.geo-legend .row { display: flex; align-items: center; gap: 6px; }
.geo-legend .sub { margin-left: 12px; }
.geo-legend .sw { display: inline-block; width: 14px; height: 10px; flex: none; box-sizing: border-box; }
.geo-legend .sw.pt { width: 10px; border-radius: 50%; }
.geo-legend .sw.ln { height: 0; }
.geo-legend .ramp { width: 120px; height: 10px; }
.geo-banner b { font-size: 13px; }
.geo-banner .synthetic { color: #b10026; font-weight: bold; }
.popup table { border-collapse: collapse; } .popup th { text-align: left; padding-right: 6px; font-weight: normal; color: #555; white-space: nowrap; vertical-align: top; }
</style>"""


# ---- vector layers -----------------------------------------------------------------------------------------------

def _json_text(data) -> str:
    """JSON for a <script>: compact, UTF-8 kept, and no "</" that would end the script early."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _json_value(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def layer_features(info: LayerInfo, frame: gpd.GeoDataFrame, lang: str, tolerance_m: float) -> dict:
    """A FeatureCollection in WGS 84 with, per feature, its popup (``p``) and its class value (``c``) only."""
    if frame.crs is None:
        raise MapError(f"Lớp '{info.id}' không có hệ toạ độ. / Layer '{info.id}' has no CRS: set one (EPSG:9208).")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.crs.is_geographic:
        frame = frame.to_crs(STORE_CRS)
    geoms = frame.geometry.values
    if tolerance_m > 0:
        geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    geoms = gpd.GeoSeries(geoms, crs=frame.crs).to_crs("EPSG:4326").values
    # pointwise: coordinates rounded only; the default mode re-nodes polygons and can fail (GEOS
    # TopologyException) on cell-edged outlines such as the potential classes
    geoms = shapely.set_precision(geoms, COORD_GRID, mode="pointwise")
    wanted = [f for f in popup_fields(info) if f in frame.columns]
    records = frame[wanted].to_dict(orient="records")
    class_field = info.classes.get("field") if info.classes else None
    features = []
    for props, geom in zip(records, geoms):
        if geom is None or geom.is_empty:
            continue
        props = {k: _json_value(v) for k, v in props.items()}
        out = {"p": popup_html(info, props, lang)}
        if class_field and props.get(class_field) is not None:
            out["c"] = str(props[class_field])
        features.append({"type": "Feature", "properties": out, "geometry": json.loads(shapely.to_geojson(geom))})
    return {"type": "FeatureCollection", "features": features}


class PresentedLayer(folium.map.Layer):
    """One layer drawn as the web map draws it: the YAML style, per-class styles, circle markers, popups."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var style = {{ this.style_js }}, byClass = {{ this.classes_js }};
          return L.geoJSON({{ this.data_js }}, {
            style: function (f) { return (f.properties.c !== undefined && byClass[f.properties.c]) || style; },
            pointToLayer: function (f, ll) {
              var s = (f.properties.c !== undefined && byClass[f.properties.c]) || style;
              return L.circleMarker(ll, L.extend({radius: s.radius || 5}, s));
            },
            onEachFeature: function (f, l) { if (f.properties.p) { l.bindPopup(f.properties.p); } }
          });
        })();
        {% endmacro %}
    """)

    def __init__(self, info: LayerInfo, data: dict, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PresentedLayer"
        self.layer_id = info.id
        self.data = data
        self.data_js = _json_text(data)
        self.style_js = _json_text(info.style)
        self.classes_js = _json_text(class_styles(info))


# ---- raster overlays ---------------------------------------------------------------------------------------------

@dataclass
class RasterOverlay:
    """A raster result for an image overlay: values, georeferencing, and how it is coloured and explained."""
    title: dict
    array: np.ndarray
    transform: object
    crs: str
    #: categorical rasters: (value, title {vi, en}, colour) per class; continuous ones use ``ramp``
    classes: list = field(default_factory=list)
    ramp: list = field(default_factory=list)
    unit: str = ""
    nodata: float | None = None
    opacity: float = 0.75
    synthetic: bool = False


def _overlay_presets() -> dict:
    path = settings().definitions / "groundwater" / "overlays.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def overlay_style(kind: str) -> dict:
    """Title, classes ``[(value, title, colour)]`` or colour ramp, and unit of an overlay kind, from
    ``layers/groundwater/overlays.yaml`` (class colours from the named vector layer's YAML)."""
    presets = _overlay_presets()
    if kind not in presets:
        raise MapError(f"Không có kiểu lớp ảnh '{kind}'. / No overlay kind '{kind}'; known: {', '.join(presets)}.")
    preset = presets[kind]
    classes = []
    if preset.get("classes"):
        info = layers.info(preset["classes"])
        styles = class_styles(info)
        classes = [(c["value"], c["title"], styles[str(c["value"])].get("fillColor", "#888888"))
                   for c in info.classes["classes"]]
    return {"title": preset["title"], "classes": classes, "ramp": preset.get("ramp", []), "unit": preset.get("unit", "")}


def raster_overlay(kind: str, source, transform=None, crs: str | None = None, synthetic: bool = False,
                   title: dict | None = None) -> RasterOverlay:
    """An overlay styled by ``layers/groundwater/overlays.yaml`` (``potential-class``, ``potential-index``, ``twi``,
    ``groundwater-level``, ``groundwater-depth``), from a GeoTIFF/COG path or an array with its transform and CRS."""
    style = overlay_style(kind)
    nodata = None
    if isinstance(source, (str, Path)):
        try:
            with rasterio.open(source) as src:
                array, transform, crs, nodata = src.read(1), src.transform, src.crs.to_string(), src.nodata
        except rasterio.errors.RasterioIOError as exc:
            raise MapError(f"Không đọc được raster '{source}' để vẽ lên bản đồ; kiểm tra đường dẫn. / Cannot read "
                           f"the raster '{source}' for the map; check the path. ({exc})") from None
    else:
        array = np.asarray(source)
        if transform is None or crs is None:
            raise MapError("Mảng raster cần transform và crs. / A raster array needs its transform and crs.")
    return RasterOverlay(title=title or style["title"], array=array, transform=transform, crs=crs,
                         classes=style["classes"], ramp=style["ramp"], unit=style["unit"], nodata=nodata,
                         synthetic=synthetic)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _valid(ov: RasterOverlay, array: np.ndarray) -> np.ndarray:
    valid = np.isfinite(array) if np.issubdtype(array.dtype, np.floating) else np.ones(array.shape, bool)
    if ov.nodata is not None and not (isinstance(ov.nodata, float) and np.isnan(ov.nodata)):
        valid &= array != ov.nodata
    if ov.classes:
        valid &= array != 0  # class rasters keep 0 for "no data"
    return valid


def overlay_image(ov: RasterOverlay) -> tuple[str, list, tuple[float, float]]:
    """(PNG data URI, [[south, west], [north, east]], (min, max)) of the overlay, for a page that carries it."""
    png, box, span = overlay_png(ov)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), box, span


def overlay_png(ov: RasterOverlay) -> tuple[bytes, list, tuple[float, float]]:
    """(PNG, [[south, west], [north, east]], (min, max)) of the overlay, warped to Web Mercator, where Leaflet
    stretches an image linearly; nearest-neighbour for classes, bilinear for continuous values."""
    src = np.asarray(ov.array)
    src_valid = _valid(ov, src)
    if not src_valid.any():
        raise MapError(f"Raster '{text(ov.title)}' không có ô nào có giá trị. / The raster has no valid cell.")
    vmin, vmax = float(np.min(src[src_valid])), float(np.max(src[src_valid]))
    height, width = src.shape
    left, top = ov.transform @ (0, 0)
    right, bottom = ov.transform @ (width, height)
    dst_transform, dst_w, dst_h = calculate_default_transform(ov.crs, "EPSG:3857", width, height,
                                                              left=min(left, right), bottom=min(top, bottom),
                                                              right=max(left, right), top=max(top, bottom))
    scale = max(dst_w, dst_h) / OVERLAY_MAX_PX
    if scale > 1:
        dst_w, dst_h = max(1, round(dst_w / scale)), max(1, round(dst_h / scale))
        dst_transform = dst_transform @ dst_transform.scale(scale, scale)
    data = np.where(src_valid, src, np.nan).astype(np.float32)
    out = np.full((dst_h, dst_w), np.nan, np.float32)
    reproject(data, out, src_transform=ov.transform, src_crs=ov.crs, dst_transform=dst_transform, dst_crs="EPSG:3857",
              src_nodata=np.nan, dst_nodata=np.nan,
              resampling=Resampling.nearest if ov.classes else Resampling.bilinear)
    rgba = np.zeros((dst_h, dst_w, 4), np.uint8)
    valid = np.isfinite(out)
    if ov.classes:
        for value, _title, colour in ov.classes:
            hit = valid & (np.rint(out) == value)
            rgba[hit, :3] = _rgb(colour)
            rgba[hit, 3] = 255
    else:
        ramp = np.array([_rgb(c) for c in (ov.ramp or ["#000000", "#ffffff"])], float)
        t = np.clip((out - vmin) / ((vmax - vmin) or 1.0), 0, 1)
        pos = np.where(valid, t, 0) * (len(ramp) - 1)
        lo = np.floor(pos).astype(int).clip(0, len(ramp) - 1)
        hi = (lo + 1).clip(0, len(ramp) - 1)
        frac = (pos - lo)[..., None]
        rgba[..., :3] = np.rint(ramp[lo] * (1 - frac) + ramp[hi] * frac).astype(np.uint8)
        rgba[..., 3] = np.where(valid, 255, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=True)
    x0, y0 = dst_transform @ (0, 0)
    x1, y1 = dst_transform @ (dst_w, dst_h)
    to_wgs = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    west, north = to_wgs.transform(x0, y0)
    east, south = to_wgs.transform(x1, y1)
    return buffer.getvalue(), [[south, west], [north, east]], (vmin, vmax)


# ---- legend and banner -------------------------------------------------------------------------------------------

def _swatch(style: dict, geometry: str | None) -> str:
    kind = "pt" if geometry and "Point" in geometry else ("ln" if geometry and "Line" in geometry else "pg")
    css = [f"border: {min(style.get('weight', 1), 4)}px {'dashed' if style.get('dashArray') else 'solid'} "
           f"{style.get('color', '#333333')}"]
    if kind != "ln" and style.get("fill", True) is not False:
        css.append(f"background: {style.get('fillColor', style.get('color', 'transparent'))}")
        css.append(f"opacity: {min(1.0, max(style.get('fillOpacity', 0.2), 0.35) + 0.3):.2f}")
    return f'<span class="sw {kind}" style="{html.escape("; ".join(css))}"></span>'


class Control(MacroElement):
    """A block of HTML in a corner of the map (legend, title)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var c = L.control({position: {{ this.position_js }}});
          c.onAdd = function () {
            var d = L.DomUtil.create('div', {{ this.class_js }});
            d.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(d);
            return d;
          };
          c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, content: str, css_class: str, position: str):
        super().__init__()
        self._name = "Control"
        self.html_js, self.class_js, self.position_js = _json_text(content), _json_text(css_class), _json_text(position)


def render_page(fmap: folium.Map) -> str:
    """The map's whole HTML page, byte-identical for the same inputs: folium names its elements with random
    UUIDs, renumbered here in order of first appearance."""
    page = fmap.get_root().render()
    seen: dict[str, str] = {}

    def number(match):
        return seen.setdefault(match.group(0), f"{len(seen) + 1:04d}")

    return re.sub(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])", number, page)


# ---- the map -----------------------------------------------------------------------------------------------------

@dataclass
class MapLayer:
    """One layer on a map: a catalogue id (its YAML gives the presentation), and optionally other data drawn with
    it (a GeoDataFrame in any CRS), another name ``{vi, en}``, a style laid over the YAML's, switched off, or
    marked SYNTHETIC (made-up data)."""
    layer_id: str
    frame: gpd.GeoDataFrame | None = None
    name: dict | str | None = None
    style: dict | None = None
    show: bool = True
    synthetic: bool = False


def _map_layers(items, names, hidden) -> list[tuple[MapLayer, LayerInfo]]:
    out = []
    for item in items:
        if isinstance(item, str):
            item = MapLayer(item)
        elif not isinstance(item, MapLayer):
            item = MapLayer(*item)
        try:
            info = layers.info(item.layer_id)
        except KeyError as exc:
            raise MapError(str(exc.args[0])) from None
        if not info.is_spatial:
            raise MapError(f"Lớp '{info.id}' là bảng, không có hình học để vẽ. / Layer '{info.id}' is a table "
                           "with no geometry to draw.")
        if item.style:
            info = replace(info, style={**info.style, **item.style})
        if item.name is None and names and info.id in names:
            item = replace(item, name=names[info.id])
        if info.id in hidden:
            item = replace(item, show=False)
        out.append((item, info))
    return out


def _add_overlay(fmap: folium.Map, ov: RasterOverlay, lang: str, marked: bool) -> tuple[str, list]:
    """The overlay on the map; (its legend HTML, its bounds)."""
    uri, box, (vmin, vmax) = overlay_image(ov)
    name = text(ov.title, lang) + (" (SYNTHETIC)" if marked else "")
    folium.raster_layers.ImageOverlay(uri, bounds=box, opacity=ov.opacity, name=name).add_to(fmap)
    if ov.classes:
        rows = "".join(f'<div class="row sub"><span class="sw" style="background:{c}"></span>'
                       f"{html.escape(text(t, lang))}</div>" for _v, t, c in ov.classes)
    else:
        stops = ", ".join(ov.ramp or ["#000000", "#ffffff"])
        unit = f" {html.escape(ov.unit)}" if ov.unit else ""
        rows = (f'<div class="row sub">{vmin:.4g}<span class="ramp" style="background: linear-gradient(to right, '
                f'{stops})"></span>{vmax:.4g}{unit}</div>')
    return f'<div class="row"><b>{html.escape(name)}</b></div>{rows}', box


def _add_layer(fmap: folium.Map, item: MapLayer, info: LayerInfo, lang: str, tolerance_m: float,
               marked: bool) -> tuple[str, list | None]:
    """The layer on the map; (its legend HTML, its bounds or None when it has nothing to draw)."""
    frame = layers.read(info.id) if item.frame is None else item.frame
    data = layer_features(info, frame, lang, tolerance_m)
    name = text(item.name or info.legend or info.title, lang) + (" (SYNTHETIC)" if marked else "")
    PresentedLayer(info, data, name=name, show=item.show).add_to(fmap)
    box = None
    if data["features"]:
        b = frame.to_crs("EPSG:4326").total_bounds
        box = [[b[1], b[0]], [b[3], b[2]]]
    entries = legend_entries(info, lang)
    if info.classes:
        rows = "".join(f'<div class="row sub">{_swatch(st, info.geometry)}{html.escape(t)}</div>' for t, st in entries)
        return f'<div class="row"><b>{html.escape(name)}</b></div>{rows}', box
    return f'<div class="row">{_swatch(entries[0][1], info.geometry)}{html.escape(name)}</div>', box


def folium_map(layer_items=(), rasters=(), *, lang: str = "vi", title: dict | str | None = None,
               notes=(), synthetic=False, tolerance_m: float = DEFAULT_TOLERANCE_M, hidden=(), names=None,
               basemap: str | None = None, height: str = "100%") -> folium.Map:
    """A folium map of layers (ids read from the store, ``(id, GeoDataFrame)`` pairs to draw other data with that
    layer's presentation, or :class:`MapLayer`) and raster overlays, with the web map's styles, popups and legend,
    drawable offline. The options are keyword-only, each with a default, as folium.Map's own are.

    ``synthetic``: True when the whole map is made-up data, or the ids of the layers that are (or mark a
    :class:`MapLayer` or an overlay); the map then says SYNTHETIC under its title and beside those layers.
    The view fits the overlays when there are any (layers around them are context), else every layer. ``notes``:
    lines shown under the title (e.g. that no production area is confirmed yet). ``hidden``: ids drawn but switched
    off. ``names``: ``{id: {vi, en}}`` to name a layer otherwise than its YAML legend (e.g. confirmed areas only).
    ``basemap``: a tile URL (none by default, so nothing is fetched).
    """
    if lang not in ("vi", "en"):
        raise MapError(f"Ngôn ngữ '{lang}' không hỗ trợ (vi, en). / Language '{lang}' is not supported (vi, en).")
    synthetic_ids = set() if synthetic in (True, False) else set(synthetic)
    whole_synthetic = synthetic is True
    fmap = OfflineMap(location=[22.05, 104.25], zoom_start=9, tiles=None, control_scale=True, height=height)
    if basemap:
        folium.TileLayer(basemap, attr="&copy; OpenStreetMap contributors", name="OpenStreetMap").add_to(fmap)
    legend, overlay_boxes, layer_boxes = [], [], []
    any_synthetic = whole_synthetic or bool(synthetic_ids)
    for ov in rasters:
        entry, box = _add_overlay(fmap, ov, lang, whole_synthetic or ov.synthetic)
        legend.append(entry)
        overlay_boxes.append(box)
        any_synthetic = any_synthetic or ov.synthetic
    for item, info in _map_layers(layer_items, names, hidden):
        marked = whole_synthetic or item.synthetic or info.id in synthetic_ids
        entry, box = _add_layer(fmap, item, info, lang, tolerance_m, marked)
        legend.append(entry)
        layer_boxes += [box] if box else []
        any_synthetic = any_synthetic or marked
    lines = [f"<b>{html.escape(text(title, lang))}</b>"] if title else []
    if any_synthetic:
        lines.append(f'<div class="synthetic">{html.escape(SYNTHETIC_NOTE)}</div>')
    lines += [f"<div>{html.escape(text(n, lang))}</div>" for n in notes]
    if lines:
        fmap.add_child(Control("".join(lines), "geo-banner", "bottomleft"))
    if legend:
        fmap.add_child(Control("".join(legend), "geo-legend", "bottomright"))
    folium.LayerControl(collapsed=True).add_to(fmap)
    boxes = overlay_boxes or layer_boxes
    if boxes:
        fmap.fit_bounds([[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
                         [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]])
    return fmap
