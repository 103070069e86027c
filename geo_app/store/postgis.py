"""The layer store in PostgreSQL + PostGIS (``GEO_APP_DATABASE_URL=postgresql://…``).

The layers live in the schema ``geo_app_layers``, one table per layer (geometry column ``geometry`` with SRID
9208, a ``fid`` column keeping the order the build wrote), and the build metadata in ``geo_app_meta``. A build
writes a whole new schema ``geo_app_layers_new_<n>`` and then, in one transaction, renames the current schema
aside, renames the new one into place and drops the old: readers see one store or the other, never a mixture,
and a failed build drops only its own new schema. Builds are serialised by an advisory lock.

EPSG:9208 is not in the ``spatial_ref_sys`` of Debian's PostGIS 3.3; :func:`ensure_database` adds it from PROJ's
own definition (WKT and PROJ string exported by pyproj, with the EPSG authority so PostGIS lets PROJ choose the
transformation), so ``ST_Transform`` to and from the provincial system works in SQL too.
"""
from __future__ import annotations

import json
import secrets
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import CRS

from geo_app import STORE_CRS
from geo_app.store.layer_store import (
    META_TABLE,
    STORE_EPSG,
    StoreError,
    check_store_crs,
    missing_layer,
    not_built,
    table_name,
)

SCHEMA = "geo_app_layers"
NEW_PREFIX = f"{SCHEMA}_new_"
OLD_PREFIX = f"{SCHEMA}_old_"
#: pg_advisory_lock key serialising builds (any constant unique to this program)
BUILD_LOCK = 0x6765_6F61


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy names the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise StoreError(f"GEO_APP_DATABASE_URL: '{url}' không phải địa chỉ PostgreSQL (postgresql://…). / "
                     f"'{url}' is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DATABASE).")


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    engine = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True)
    ensure_database(engine)
    return engine


_ENSURED: set[str] = set()
_ENSURE_LOCK = threading.Lock()


def ensure_database(engine: sa.Engine) -> None:
    """The PostGIS extension and the provincial CRS (EPSG:9208) in ``spatial_ref_sys``; idempotent."""
    key = engine.url.render_as_string(hide_password=False)
    with _ENSURE_LOCK:
        if key in _ENSURED:
            return
        crs = CRS.from_user_input(STORE_CRS)
        with warnings.catch_warnings():  # the PROJ string is only PostGIS's fallback; the EPSG code comes first
            warnings.simplefilter("ignore", UserWarning)
            proj4 = crs.to_proj4()
        try:
            with engine.begin() as con:
                con.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": BUILD_LOCK + 1})
                con.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
                con.execute(
                    sa.text(
                        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                        "SELECT :srid, 'EPSG', :srid, :wkt, :proj4 "
                        "WHERE NOT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = :srid)"
                    ),
                    {"srid": STORE_EPSG, "wkt": crs.to_wkt("WKT1_GDAL"), "proj4": proj4},
                )
        except sa.exc.OperationalError as exc:
            raise StoreError(
                f"Không kết nối được PostgreSQL ({engine.url.render_as_string(hide_password=True)}): kiểm tra "
                f"GEO_APP_DATABASE_URL và máy chủ. / Could not connect to PostgreSQL "
                f"({engine.url.render_as_string(hide_password=True)}): check GEO_APP_DATABASE_URL and that the "
                f"server runs. ({exc.orig})"
            ) from exc
        _ENSURED.add(key)


class PostGISWriter:
    """Writes layers into a new schema; the block that holds it swaps the schema in."""

    def __init__(self, engine: sa.Engine, schema: str):
        self.engine, self.schema = engine, schema

    def write_layer(self, layer_id: str, frame: pd.DataFrame) -> None:
        check_store_crs(layer_id, frame)
        table = table_name(layer_id)
        spatial = isinstance(frame, gpd.GeoDataFrame)
        rows = pd.DataFrame(frame).reset_index(drop=True)
        rows.index.name = "fid"
        if spatial:
            # geopandas' to_postgis copies CSV, which turns empty strings into NULL; plain INSERTs of the
            # attributes and of the geometry as hex WKB keep every value and every coordinate exactly
            rows[frame.geometry.name] = shapely.to_wkb(frame.geometry.values, hex=True)
            rows = rows.rename(columns={frame.geometry.name: "geometry"})
        with self.engine.begin() as con:
            rows.to_sql(table, con, schema=self.schema, index=True, chunksize=500)
            if spatial:
                con.execute(sa.text(
                    f'ALTER TABLE "{self.schema}"."{table}" ALTER COLUMN geometry TYPE geometry(Geometry, {STORE_EPSG}) '
                    f"USING ST_SetSRID(ST_GeomFromWKB(decode(geometry, 'hex')), {STORE_EPSG})"
                ))
                con.execute(sa.text(f'CREATE INDEX ON "{self.schema}"."{table}" USING gist (geometry)'))
            con.execute(sa.text(f'ALTER TABLE "{self.schema}"."{table}" ADD PRIMARY KEY (fid)'))

    def write_meta(self, meta: dict[str, object]) -> None:
        with self.engine.begin() as con:
            con.execute(sa.text(f'CREATE TABLE "{self.schema}".{META_TABLE} (key text PRIMARY KEY, value text NOT NULL)'))
            con.execute(
                sa.text(f'INSERT INTO "{self.schema}".{META_TABLE} VALUES (:key, :value)'),
                [{"key": k, "value": json.dumps(v, ensure_ascii=False, sort_keys=True)} for k, v in meta.items()],
            )


class PostGISStore:
    """The layer store in one PostgreSQL database."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @classmethod
    def for_url(cls, url: str) -> PostGISStore:
        return cls(engine_for(url))

    @property
    def location(self) -> str:
        return f"{self.engine.url.render_as_string(hide_password=True)} (schema {SCHEMA})"

    def _schemas(self, con) -> list[str]:
        rows = con.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": f"{SCHEMA}%"})
        return [r[0] for r in rows]

    def _tables(self, con) -> set[str]:
        rows = con.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": SCHEMA})
        return {r[0] for r in rows}

    def exists(self) -> bool:
        with self.engine.connect() as con:
            return SCHEMA in self._schemas(con)

    @contextmanager
    def writing(self) -> Iterator[PostGISWriter]:
        """Write a new schema; it replaces the store only if the block finishes without error."""
        with self.engine.connect() as lock:
            lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": BUILD_LOCK})
            try:
                self._drop_leftovers()
                new = NEW_PREFIX + secrets.token_hex(4)
                with self.engine.begin() as con:
                    con.execute(sa.text(f'CREATE SCHEMA "{new}"'))
                try:
                    yield PostGISWriter(self.engine, new)
                    self._swap_in(new)
                finally:
                    with self.engine.begin() as con:
                        con.execute(sa.text(f'DROP SCHEMA IF EXISTS "{new}" CASCADE'))
            finally:
                lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": BUILD_LOCK})
                lock.commit()

    def _swap_in(self, new: str) -> None:
        old = OLD_PREFIX + secrets.token_hex(4)
        with self.engine.begin() as con:
            had_store = SCHEMA in self._schemas(con)
            if had_store:
                con.execute(sa.text(f'ALTER SCHEMA "{SCHEMA}" RENAME TO "{old}"'))
            con.execute(sa.text(f'ALTER SCHEMA "{new}" RENAME TO "{SCHEMA}"'))
            if had_store:
                con.execute(sa.text(f'DROP SCHEMA "{old}" CASCADE'))

    def _drop_leftovers(self) -> None:
        """Schemas of builds that crashed before their swap (only ever touched under the build lock)."""
        with self.engine.begin() as con:
            for name in self._schemas(con):
                if name.startswith((NEW_PREFIX, OLD_PREFIX)):
                    con.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))

    def meta(self) -> dict[str, object]:
        with self.engine.connect() as con:
            if META_TABLE not in self._tables(con):
                return {}
            rows = con.execute(sa.text(f"SELECT key, value FROM {SCHEMA}.{META_TABLE}")).all()
        return {k: json.loads(v) for k, v in rows}

    def has_layer(self, layer_id: str) -> bool:
        with self.engine.connect() as con:
            return table_name(layer_id) in self._tables(con)

    def _check(self, con, layer_id: str) -> str:
        if SCHEMA not in self._schemas(con):
            raise not_built(self.location)
        table = table_name(layer_id)
        if table not in self._tables(con):
            raise missing_layer(layer_id, self.location)
        return table

    def read_layer(self, layer_id: str, bbox: tuple[float, float, float, float] | None = None):
        """A layer in the build's order; ``bbox`` (EPSG:9208) keeps the features whose envelope meets it, as
        the GeoPackage's spatial index does."""
        with self.engine.connect() as con:
            table = self._check(con, layer_id)
            columns = con.execute(
                sa.text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                        "AND table_name = :t"), {"s": SCHEMA, "t": table}).scalars().all()
            where, params = "", {}
            if "geometry" in columns and bbox is not None:
                where = " WHERE geometry && ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid)"
                params = dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox)), srid=STORE_EPSG)
            sql = sa.text(f'SELECT * FROM {SCHEMA}."{table}"{where} ORDER BY fid')
            if "geometry" in columns:
                frame = gpd.read_postgis(sql, con, geom_col="geometry", params=params)
                frame = frame.set_crs(STORE_CRS, allow_override=True)
            else:
                frame = pd.read_sql(sql, con, params=params)
        frame = frame.drop(columns="fid").reset_index(drop=True)
        if "geometry" in columns:  # as GDAL reads a GeoPackage: the geometry last
            frame = frame[[c for c in frame.columns if c != "geometry"] + ["geometry"]]
        return frame

    def count(self, layer_id: str) -> int:
        with self.engine.connect() as con:
            table = self._check(con, layer_id)
            return int(con.execute(sa.text(f'SELECT count(*) FROM {SCHEMA}."{table}"')).scalar_one())

    def version(self) -> str:
        meta = self.meta()
        return f"{meta.get('fingerprint', 'none')}-{meta.get('built_at', '')}"
