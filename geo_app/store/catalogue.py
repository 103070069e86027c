"""The layer catalogue: what layers exist (``layers/*.yaml``) and how to read them.

This is the API notebooks and the rest of the code use::

    import geo_app.layers
    geo_app.layers.list()                               # catalogue entries
    communes = geo_app.layers.read("communes")          # GeoDataFrame in EPSG:9208
    geo_app.layers.read("communes", crs="EPSG:4326", bbox=(103.8, 22.3, 104.0, 22.5))
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from pyproj import Transformer

from geo_app import STORE_CRS
from geo_app.settings import settings
from geo_app.store.layer_store import GeoPackageStore, StoreError, open_store


@dataclass(frozen=True)
class LayerInfo:
    id: str
    title: dict
    description: dict
    sources: tuple[str, ...]
    geometry: str | None
    fields: dict = field(default_factory=dict)
    style: dict = field(default_factory=dict)
    legend: dict = field(default_factory=dict)
    label_field: str | None = None
    #: "main": the built store; "user": the user's own layers (geo_app.water.sources.user_store)
    store: str = "main"
    #: False for layers that hold drafts: they are served only through the workflow, to officers
    #: and approvers, never to anonymous visitors or GIS clients.
    public: bool = True
    #: Presentation beside the style, read by the web map, the folium maps and the dossier:
    #: popup rows ``[{field, label: {vi, en}, unit}]`` (the heading is the feature's name),
    #: coded values in words ``{field: {code: {vi, en}}}``, and per-feature class styles
    #: ``{field, classes: [{value, title: {vi, en}, style}]}``, each class with its legend entry.
    popup: tuple = ()
    values: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)

    @property
    def is_spatial(self) -> bool:
        return self.geometry is not None


@lru_cache(maxsize=4)
def _catalogue(definitions: Path) -> dict[str, LayerInfo]:
    entries = {}
    for path in sorted(definitions.glob("*.yaml")):
        if path.name == "sources.yaml":
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries[raw["id"]] = LayerInfo(
            id=raw["id"],
            title=raw["title"],
            description=raw.get("description", {}),
            sources=tuple(raw.get("sources", [])),
            geometry=raw.get("geometry"),
            fields=raw.get("fields", {}),
            style=raw.get("style", {}),
            legend=raw.get("legend", {}),
            label_field=raw.get("label_field"),
            store=raw.get("store", "main"),
            public=bool(raw.get("public", True)),
            popup=tuple(raw.get("popup", ())),
            values=raw.get("values", {}),
            classes=raw.get("classes", {}),
        )
    return entries


def catalogue() -> dict[str, LayerInfo]:
    return _catalogue(settings().definitions)


def list() -> builtins.list[LayerInfo]:  # noqa: A001 - the public name notebooks use
    """Every layer in the catalogue, in a stable order."""
    return builtins.list(catalogue().values())


def info(layer_id: str) -> LayerInfo:
    try:
        return catalogue()[layer_id]
    except KeyError:
        known = ", ".join(catalogue())
        raise KeyError(f"Không có lớp '{layer_id}'. / No layer '{layer_id}'; known layers: {known}") from None


def read(layer_id: str, crs: str | None = None, bbox: tuple[float, float, float, float] | None = None):
    """Read a layer from the store as a GeoDataFrame (a DataFrame for table layers).

    ``bbox`` is (minx, miny, maxx, maxy) in ``crs`` (EPSG:9208 when ``crs`` is None); the result is
    in ``crs`` as well. Areas and lengths should be taken before reprojecting to degrees.
    """
    layer = info(layer_id)
    store_bbox = None
    if bbox is not None:
        if not layer.is_spatial:
            raise ValueError(f"layer '{layer_id}' is a table without geometry; it takes no bbox")
        store_bbox = bbox_to_store(bbox, crs) if crs else tuple(bbox)
    store = store_of(layer)
    if layer.store == "user" and not store.exists():
        raise StoreError(
            f"Chưa có lớp '{layer_id}': dữ liệu này do người dùng nhập. / No '{layer_id}' yet: it holds the "
            f"user's own data; import it first (e.g. `geo-app water-sources import FILE`)."
        )
    frame = store.read_layer(layer_id, bbox=store_bbox)
    if not layer.is_spatial:
        return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if crs:
        frame = frame.to_crs(crs)
    return frame


def feature_count(layer_id: str) -> int:
    """Features in a layer; 0 for a user layer nothing has been imported into yet."""
    layer = info(layer_id)
    store = store_of(layer)
    if layer.store == "user" and not store.has_layer(layer_id):
        return 0
    return store.count(layer_id)


def store_path(layer_id: str) -> Path:
    """The GeoPackage a layer is read from (the built store, or the user store for user layers); only for
    the embedded store — with ``GEO_APP_DATABASE_URL`` set, read through :func:`read` instead."""
    layer = info(layer_id)
    return settings().user_store_path if layer.store == "user" else settings().store_path


def store_of(layer: LayerInfo):
    """The store a layer lives in: the user's own layers stay in their GeoPackage; the built layers are in
    the layer store the settings name (GeoPackage or PostGIS)."""
    if layer.store == "user":
        return GeoPackageStore(settings().user_store_path)
    return open_store()


def store_version(layer_id: str) -> str:
    """A string that changes whenever the layer's store is rebuilt or rewritten: the key for caches."""
    return store_of(info(layer_id)).version()


def bbox_to_store(bbox, crs: str) -> tuple[float, float, float, float]:
    """A (minx, miny, maxx, maxy) box given in ``crs`` as the box that covers it in EPSG:9208."""
    transformer = Transformer.from_crs(crs, STORE_CRS, always_xy=True)
    return tuple(transformer.transform_bounds(*bbox, densify_pts=21))
