"""The user's own layers (water sources, protection zones, karst units, water balance).

`geo-app build` rebuilds var/layers.gpkg from public sources only, so what the user imports lives in
a GeoPackage of its own, ``GEO_APP_HOME/user_layers.gpkg``. Catalogue entries with ``store: user``
are read from it by ``geo_app.layers.read``. Every write makes a complete new file and moves it into
place with one rename, so a failed import leaves the previous layers as they were.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo_app import STORE_CRS
from geo_app.io.files import atomic_file
from geo_app.settings import settings
from geo_app.store.layer_store import table_name


def user_store_path() -> Path:
    return settings().user_store_path


def write_user_layers(layers: dict[str, pd.DataFrame]) -> Path:
    """Replace (or add) the given layers; the other user layers are carried over unchanged."""
    path = user_store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = {}
    if path.exists():
        for name, _ in pyogrio.list_layers(path):
            if name not in {table_name(k) for k in layers}:
                keep[name] = pyogrio.read_dataframe(path, layer=name)
    with atomic_file(path) as tmp_path:
        for name, frame in keep.items():
            pyogrio.write_dataframe(frame, tmp_path, layer=name, driver="GPKG")
        for layer_id, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame) and (frame.crs is None or frame.crs.to_epsg() != 9208):
                raise ValueError(f"layer {layer_id}: must be in {STORE_CRS}, got {frame.crs}")
            pyogrio.write_dataframe(frame, tmp_path, layer=table_name(layer_id), driver="GPKG")
    return path
