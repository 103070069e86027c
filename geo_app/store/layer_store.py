"""The layer store: every spatial layer in EPSG:9208, plus build metadata, in one of two engines.

- Embedded (the default): one GeoPackage, ``GEO_APP_HOME/layers.gpkg``. A build writes a complete new file beside
  the old one and moves it into place with one rename.
- PostgreSQL + PostGIS, when ``GEO_APP_DATABASE_URL`` is set (:mod:`geo_app.store.postgis`). A build writes a new
  schema and swaps it in one transaction.

Either way a failed build leaves the previous store as it was, and readers see the old store or the new one,
never a mixture. :func:`open_store` gives the store the settings name; both engines answer the same calls.
"""
from __future__ import annotations

import json
import os
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
from geo_app.settings import Settings, settings

META_TABLE = "geo_app_meta"
STORE_EPSG = int(STORE_CRS.split(":")[1])


def table_name(layer_id: str) -> str:
    """Table of a layer id ('former-communes' → 'former_communes')."""
    return layer_id.replace("-", "_")


class StoreError(SourceDataError):
    pass


def not_built(location: str) -> StoreError:
    return StoreError(f"Chưa có kho lớp dữ liệu {location}: chạy `geo-app build`. / "
                      f"No layer store at {location}: run `geo-app build` first.")


def missing_layer(layer_id: str, location: str) -> StoreError:
    return StoreError(f"Kho lớp {location} không có lớp '{layer_id}': chạy `geo-app build`. / "
                      f"Layer '{layer_id}' is not in the store {location}; run `geo-app build`.")


def check_store_crs(layer_id: str, frame: pd.DataFrame) -> None:
    if isinstance(frame, gpd.GeoDataFrame) and (frame.crs is None or frame.crs.to_epsg() != STORE_EPSG):
        raise StoreError(f"layer {layer_id}: must be in {STORE_CRS}, got {frame.crs}")


class StoreWriter:
    """Collects layers into a temporary GeoPackage, which replaces the real store when the block ends."""

    def __init__(self, tmp_path: Path):
        self.path = tmp_path

    def write_layer(self, layer_id: str, frame: pd.DataFrame) -> None:
        check_store_crs(layer_id, frame)
        frame = frame if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
        pyogrio.write_dataframe(frame, self.path, layer=table_name(layer_id), driver="GPKG")

    def write_meta(self, meta: dict[str, object]) -> None:
        with sqlite3.connect(self.path) as con:
            con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            con.executemany(
                f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False, sort_keys=True)) for k, v in meta.items()],
            )


@contextmanager
def writing(store_path: Path) -> Iterator[StoreWriter]:
    """Write a new GeoPackage; it replaces ``store_path`` only if the block finishes without error."""
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
    """A layer of a GeoPackage; ``bbox`` (EPSG:9208) keeps the features whose envelope meets it."""
    if not store_path.exists():
        raise not_built(str(store_path))
    table = table_name(layer_id)
    if table not in {name for name, _ in pyogrio.list_layers(store_path)}:
        raise missing_layer(layer_id, str(store_path))
    return pyogrio.read_dataframe(store_path, layer=table, bbox=bbox)


def count_features(store_path: Path, layer_id: str) -> int:
    if not store_path.exists():
        raise not_built(str(store_path))
    try:
        return pyogrio.read_info(store_path, layer=table_name(layer_id))["features"]
    except pyogrio.errors.DataLayerError as exc:
        raise missing_layer(layer_id, str(store_path)) from exc


class GeoPackageStore:
    """The embedded store: one GeoPackage file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def location(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def writing(self):
        return writing(self.path)

    def meta(self) -> dict[str, object]:
        return read_meta(self.path)

    def read_layer(self, layer_id: str, bbox=None):
        return read_layer(self.path, layer_id, bbox=bbox)

    def count(self, layer_id: str) -> int:
        return count_features(self.path, layer_id)

    def has_layer(self, layer_id: str) -> bool:
        return self.path.exists() and table_name(layer_id) in {n for n, _ in pyogrio.list_layers(self.path)}

    def version(self) -> str:
        """Changes whenever the store is rebuilt: caches key on it."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return "none"
        return f"{stat.st_mtime_ns}-{stat.st_size}-{stat.st_ino}"


def open_store(cfg: Settings | None = None):
    """The layer store the settings name: PostGIS when ``GEO_APP_DATABASE_URL`` is set, else the GeoPackage."""
    cfg = cfg or settings()
    if cfg.database_url:
        # the PostgreSQL driver and SQLAlchemy load only for a PostGIS store: the embedded default never needs them
        from geo_app.store.postgis import PostGISStore

        return PostGISStore.for_url(cfg.database_url)
    return GeoPackageStore(cfg.store_path)
