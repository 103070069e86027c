"""The standalone offline map: one HTML file with everything in it, for offices without a server or internet.

The province, the confirmed production areas (drafts never: the file leaves the system) and the chosen layers,
simplified to a ground tolerance and embedded with Leaflet; opened from disk, it fetches nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from geo_app import layers
from geo_app.io.files import write_atomic
from geo_app.production import workflow
from geo_app.serve.maps.folium_map import DEFAULT_TOLERANCE_M, MapError, folium_map, render_page
from geo_app.store.layer_store import StoreError

#: Drawn when no --layers are given (the province and the confirmed areas always are).
DEFAULT_LAYERS = ("communes", "former-districts", "rivers", "peaks")
#: Polygons first, then lines, then points, so that nothing clickable is covered.
_DRAW_ORDER = {"MultiPolygon": 0, "Polygon": 0, "MultiLineString": 1, "LineString": 1, "MultiPoint": 2, "Point": 2}
TITLE = {"vi": "Bản đồ tỉnh Lào Cai (bản ngoại tuyến)", "en": "Lào Cai province (offline map)"}
CONFIRMED_NAME = {"vi": "Vùng sản xuất đã xác nhận", "en": "Confirmed production areas"}
NO_CONFIRMED = {"vi": "Chưa có vùng sản xuất nào được xác nhận: bản đồ không có vùng sản xuất.",
                "en": "No production area has been confirmed yet: none is drawn."}


@dataclass(frozen=True)
class ExportedMap:
    path: Path
    bytes: int
    layers: tuple[str, ...]
    confirmed_areas: int


def confirmed_areas() -> gpd.GeoDataFrame:
    """The latest confirmed version of each product's area (WGS 84), as anonymous visitors of the web map see them."""
    features = [f for f in workflow.area_features(include_drafts=False)["features"]
                if f["properties"].get("status") == "confirmed" and f.get("geometry")]
    if not features:
        return gpd.GeoDataFrame({"name": [], "status": []}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


def _chosen(layer_ids) -> list[str]:
    chosen = []
    for layer_id in dict.fromkeys(["province", *layer_ids]):
        try:
            info = layers.info(layer_id)
        except KeyError as exc:
            raise MapError(str(exc.args[0])) from None
        if layer_id == "production-areas":
            continue  # always drawn, confirmed versions only
        if not info.public:
            raise MapError(f"Lớp '{layer_id}' không công khai, không được đưa ra tệp bản đồ. / Layer '{layer_id}' "
                           "is not public and cannot go into a map file.")
        chosen.append(layer_id)
    return sorted(chosen, key=lambda i: _DRAW_ORDER.get(layers.info(i).geometry, 0))


def export_map(out: str | Path, layer_ids=DEFAULT_LAYERS, lang: str = "vi",
               tolerance_m: float = DEFAULT_TOLERANCE_M) -> ExportedMap:
    """Write the standalone map to ``out`` (written aside and renamed, so a failed export leaves no half file)."""
    chosen = _chosen(layer_ids)
    items = []
    for layer_id in chosen:
        try:
            items.append((layer_id, layers.read(layer_id)))
        except StoreError as exc:
            raise MapError(f"Không xuất được bản đồ: {exc}") from None
    areas = confirmed_areas()
    polygons = [i for i in items if _DRAW_ORDER.get(layers.info(i[0]).geometry, 0) == 0]
    others = [i for i in items if i not in polygons]
    items = polygons + [("production-areas", areas)] + others
    notes = [] if len(areas) else [NO_CONFIRMED]
    fmap = folium_map(items, lang=lang, title=TITLE, notes=notes, tolerance_m=tolerance_m,
                      names={"production-areas": CONFIRMED_NAME})
    page = render_page(fmap)
    path = write_atomic(out, page)
    return ExportedMap(path=path, bytes=len(page.encode("utf-8")), layers=tuple(chosen), confirmed_areas=len(areas))
