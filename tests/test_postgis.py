"""The layer store in PostgreSQL + PostGIS: the same layers, the same answers and the same dossier as the embedded
GeoPackage, built atomically; EPSG:9208 usable in SQL.

Runs against a throwaway cluster the tests start themselves (tests/support/postgres.py). Without PostgreSQL and
PostGIS installed the module is skipped with one line; in CI (CI=true) it must not be skipped.
"""
from __future__ import annotations

import json
import os

import pytest
import shapely
import sqlalchemy as sa
from support.postgres import postgres_bindir, throwaway_cluster

from geo_app import layers
from geo_app.build import build
from geo_app.io.files import sha256_file
from geo_app.production.dossier import make_dossier
from geo_app.store import postgis
from geo_app.store.layer_store import GeoPackageStore, open_store

SPATIAL = ["province", "communes", "former-districts", "rivers", "peaks", "production-areas"]


@pytest.fixture(scope="session")
def postgres_url():
    if postgres_bindir() is None:
        message = "PostgreSQL + PostGIS not installed (apt-get install postgresql-15-postgis-3): PostGIS tests skipped"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI installs it, so this is an error there")
        pytest.skip(message)
    with throwaway_cluster() as url:
        yield url


@pytest.fixture()
def on_postgis(postgres_url, store_home, monkeypatch, tmp_path):
    """The settings point at PostgreSQL (and a home folder of this test's own for everything else)."""
    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GEO_APP_DATABASE_URL", postgres_url)
    return postgres_url


@pytest.fixture()
def built_on_postgis(on_postgis):
    result = build(progress=False)
    assert result.built or result.message.startswith("Kho lớp đã cập nhật")
    return on_postgis


def test_provincial_crs_is_known_to_postgis(postgres_url):
    engine = postgis.engine_for(postgres_url)
    with engine.connect() as con:
        e, n = con.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_Point(103.8437, 22.3364), 4326), 9208) p) t"
        )).one()
        auth = con.execute(sa.text("SELECT auth_name, auth_srid FROM spatial_ref_sys WHERE srid = 9208")).one()
    assert auth == ("EPSG", 9208)
    assert abs(e - 406_447) < 1 and abs(n - 2_471_192) < 1, (e, n)


def test_build_into_postgis_gives_the_same_layers(built_on_postgis, store_home):
    gpkg = GeoPackageStore(store_home / "layers.gpkg")
    store = open_store()
    assert isinstance(store, postgis.PostGISStore) and store.exists()
    assert store.meta()["fingerprint"] == gpkg.meta()["fingerprint"]
    for layer_id in SPATIAL:
        ours, theirs = store.read_layer(layer_id), gpkg.read_layer(layer_id)
        assert list(ours.columns) == list(theirs.columns), layer_id
        assert ours.crs.to_epsg() == 9208
        assert shapely.to_wkb(ours.geometry.values).tolist() == shapely.to_wkb(theirs.geometry.values).tolist()
        differ = [c for c in ours.columns if c != "geometry" and ours[c].tolist() != theirs[c].tolist()]
        assert not differ, (layer_id, {c: [(a, b) for a, b in zip(ours[c], theirs[c]) if a != b] for c in differ})
        assert store.count(layer_id) == gpkg.count(layer_id) == len(ours)
    table = layers.read("former-communes")  # through the public reader, which now reads PostgreSQL
    assert len(table) == gpkg.count("former-communes") and "geometry" not in table.columns
    box = (390_000.0, 2_460_000.0, 420_000.0, 2_490_000.0)
    assert (sorted(store.read_layer("communes", bbox=box)["code"])
            == sorted(gpkg.read_layer("communes", bbox=box)["code"]))


def test_second_build_is_a_no_op(built_on_postgis):
    version = open_store().version()
    again = build(progress=False)
    assert not again.built and open_store().version() == version


def test_failed_build_keeps_the_previous_store(built_on_postgis, monkeypatch):
    store = open_store()
    before = store.meta()["built_at"], store.count("communes")

    def broken(self, meta):
        raise RuntimeError("simulated failure while writing the metadata")

    monkeypatch.setattr(postgis.PostGISWriter, "write_meta", broken)
    with pytest.raises(RuntimeError, match="simulated failure"):
        build(force=True, progress=False)
    assert (store.meta()["built_at"], store.count("communes")) == before
    with store.engine.connect() as con:
        schemas = con.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'geo_app_layers%'")).scalars()
        assert list(schemas) == ["geo_app_layers"], "the failed build left a schema behind"


def test_a_dossier_from_postgis_is_byte_identical(built_on_postgis, store_home, tmp_path, monkeypatch):
    from_postgis = make_dossier("rau-an-toan-bao-thang", tmp_path / "pg", paper="A4", date="2025-08-01")
    monkeypatch.delenv("GEO_APP_DATABASE_URL")
    monkeypatch.setenv("GEO_APP_HOME", str(store_home))
    from_gpkg = make_dossier("rau-an-toan-bao-thang", tmp_path / "gpkg", paper="A4", date="2025-08-01")
    names = sorted(p.name for p in from_gpkg.out_dir.iterdir())
    assert names == sorted(p.name for p in from_postgis.out_dir.iterdir())
    for name in names:
        if name != "manifest.json":
            assert sha256_file(from_gpkg.out_dir / name) == sha256_file(from_postgis.out_dir / name), name
    # the manifests differ only in when each store was built; both name the same store fingerprint
    manifests = [json.loads((d.out_dir / "manifest.json").read_text(encoding="utf-8")) for d in (from_gpkg, from_postgis)]
    stores = [m.pop("store") for m in manifests]
    assert manifests[0] == manifests[1]
    assert stores[0]["fingerprint"] == stores[1]["fingerprint"] is not None
