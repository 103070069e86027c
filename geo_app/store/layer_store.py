"""The layer store: one GeoPackage, every spatial layer in EPSG:9208, plus build metadata.

Writers build a complete new store in a temporary file beside the old one and move it into place
with one rename, so a failed build never leaves a half-written store behind.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors

from geo_app import STORE_CRS
from geo_app.errors import SourceDataError
from geo_app.io.files import atomic_file

META_TABLE = "geo_app_meta"


def table_name(layer_id: str) -> str:
    """GeoPackage table of a layer id ('former-communes' → 'former_communes')."""
    return layer_id.replace("-", "_")


class StoreError(SourceDataError):
    pass


class StoreWriter:
    """Collects layers into a temporary GeoPackage; ``commit`` moves it over the real store."""

    def __init__(self, tmp_path: Path):
        self.path = tmp_path

    def write_layer(self, layer_id: str, frame: pd.DataFrame) -> None:
        if isinstance(frame, gpd.GeoDataFrame):
            if frame.crs is None or frame.crs.to_epsg() != int(STORE_CRS.split(":")[1]):
                raise StoreError(f"layer {layer_id}: must be in {STORE_CRS}, got {frame.crs}")
            pyogrio.write_dataframe(frame, self.path, layer=table_name(layer_id), driver="GPKG")
        else:
            pyogrio.write_dataframe(pd.DataFrame(frame), self.path, layer=table_name(layer_id), driver="GPKG")

    def write_meta(self, meta: dict[str, object]) -> None:
        with sqlite3.connect(self.path) as con:
            con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            con.executemany(
                f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False, sort_keys=True)) for k, v in meta.items()],
            )


@contextmanager
def writing(store_path: Path) -> Iterator[StoreWriter]:
    """Write a new store; it replaces ``store_path`` only if the block finishes without error."""
    with atomic_file(store_path) as tmp_path:
        yield StoreWriter(tmp_path)


def read_meta(store_path: Path) -> dict[str, object]:
    if not store_path.exists():
        return {}
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as con:
        try:
            rows = con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()
        except sqlite3.OperationalError:
            return {}
    return {k: json.loads(v) for k, v in rows}


def read_layer(store_path: Path, layer_id: str, bbox: tuple[float, float, float, float] | None = None):
    if not store_path.exists():
        raise StoreError(
            f"Chưa có kho lớp dữ liệu {store_path}. / No layer store at {store_path}: run `geo-app build` first."
        )
    table = table_name(layer_id)
    if table not in {name for name, _ in pyogrio.list_layers(store_path)}:
        raise StoreError(f"layer '{layer_id}' is not in the store {store_path}; run `geo-app build`.")
    return pyogrio.read_dataframe(store_path, layer=table, bbox=bbox)


def count_features(store_path: Path, layer_id: str) -> int:
    if not store_path.exists():
        raise StoreError(f"No layer store at {store_path}: run `geo-app build` first.")
    try:
        return pyogrio.read_info(store_path, layer=table_name(layer_id))["features"]
    except pyogrio.errors.DataLayerError as exc:
        raise StoreError(f"layer '{layer_id}' is not in the store {store_path}; run `geo-app build`.") from exc
