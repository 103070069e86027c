"""The user's own water layers on the map: listed only when the user
store holds them, shown to logged-in users, to anonymous visitors only with ANONYMOUS_ACCESS=map+user,
served per view through /data like every layer. Data: SYNTHETIC (geo_app.water.sources.synthetic)."""
from __future__ import annotations

import json
import re

import pytest
from support.web import isolated_home, login

WATER = ["water-sources", "water-protection-zones", "karst-units", "water-balance"]


def _config(client) -> dict:
    html = client.get("/").get_data(as_text=True)
    return json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))


def _write_water_layers(tmp_path, names=None) -> dict:
    from geo_app import layers
    from geo_app.water import sources as ws
    from geo_app.water.sources import synthetic

    communes = layers.read("communes")
    kwargs = {"names": names} if names else {}
    inv = ws.import_inventory(synthetic.make_inventory(tmp_path / "nguon_nuoc.csv", communes, with_errors=False, **kwargs))
    units = ws.import_units(synthetic.make_karst_units(tmp_path / "karst.gpkg", communes), "unit")
    balance = ws.water_balance(inv.frame, synthetic.make_population(tmp_path / "dan_so.csv", communes), communes)
    ws.save(inv.frame, ws.protection_zones(inv.frame), karst_units=units, water_balance=balance.frame)
    return {"sources": inv.frame, "balance": balance.frame}


@pytest.fixture(scope="module")
def water_home(store_home, tmp_path_factory):
    with isolated_home(store_home, tmp_path_factory.mktemp("water_home")) as home:
        written = _write_water_layers(tmp_path_factory.mktemp("water_data"))
        yield home, written


def _app(**config):
    from geo_app.serve.web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "t", **config})


def test_absent_water_layers_are_not_listed(store_home, tmp_path):
    with isolated_home(store_home, tmp_path / "home"):
        client = _app().test_client()
        login(client, "viewer")
        ids = [d["id"] for d in _config(client)["layers"]]
        assert "communes" in ids and not set(WATER) & set(ids)
        resp = client.get("/data/water-sources.geojson?zoom=9", headers={"Accept": "application/json"})
        assert resp.status_code == 404 and "water-sources" in resp.get_json()["description"]


def test_water_layers_listed_for_logged_in_users_with_legend(water_home):
    client = _app().test_client()
    assert not set(WATER) & {d["id"] for d in _config(client)["layers"]}, "anonymous: not by default"
    login(client, "viewer")
    layers = {d["id"]: d for d in _config(client)["layers"]}
    assert set(WATER) <= set(layers)
    order = list(layers)
    assert order.index("communes") < order.index("water-balance") < order.index("water-sources")
    from geo_app.store import catalogue

    for layer_id in WATER:
        assert layers[layer_id]["url"] == f"/data/{layer_id}.geojson"
        assert layers[layer_id]["style"] == catalogue.info(layer_id).style
    # water sources: popup with name (heading), kind, discharge, season
    popup = [row[0] for row in layers["water-sources"]["popup"]]
    assert {"kind", "discharge_ls", "season"} <= set(popup)
    assert layers["water-sources"]["values"]["kind"]["spring"] == {"vi": "mó / mạch lộ", "en": "spring"}
    # water balance: styled by status_code, one legend entry per status
    classes = layers["water-balance"]["classes"]
    assert classes["field"] == "status_code"
    titles = {c["value"]: c["title"] for c in classes["classes"]}
    assert titles == {"short": {"vi": "thiếu nước", "en": "short of water"}, "ok": {"vi": "đủ", "en": "ok"},
                      "no-population": {"vi": "chưa có số dân", "en": "no population"}}
    assert len({json.dumps(c["style"], sort_keys=True) for c in classes["classes"]}) == 3


def test_water_layer_data_per_view(water_home):
    home, written = water_home
    client = _app().test_client()
    login(client, "officer")
    resp = client.get("/data/water-sources.geojson?zoom=9")
    assert resp.status_code == 200, resp.data[:300]
    assert resp.headers["Cache-Control"].startswith("private")
    features = resp.get_json()["features"]
    assert len(features) == len(written["sources"])
    props = features[0]["properties"]
    assert props["name"].startswith("SYNTHETIC") and props["kind"] and props["season"] in ("dry", "wet")
    assert features[0]["geometry"]["type"] == "Point"
    lon, lat = features[0]["geometry"]["coordinates"]
    assert 103 < lon < 105.5 and 21 < lat < 23.5
    # per view: a box in the view returns only what lies in it
    view = client.get("/data/water-sources.geojson?zoom=12&bbox=103.0,22.6,103.5,23.0").get_json()["features"]
    assert len(view) < len(features)

    balance = client.get("/data/water-balance.geojson?zoom=8").get_json()["features"]
    codes = {f["properties"]["status_code"] for f in balance}
    assert codes <= {"short", "ok", "no-population"} and "no-population" in codes
    assert len(balance) == len(written["balance"])
    coarse = client.get("/data/water-balance.geojson?zoom=7")
    fine = client.get("/data/water-balance.geojson?zoom=13")
    assert len(coarse.data) < len(fine.data), "simplified per zoom"
    for layer_id in ("water-protection-zones", "karst-units"):
        assert client.get(f"/data/{layer_id}.geojson?zoom=9").get_json()["features"]


def test_water_data_refused_to_anonymous_unless_configured(water_home):
    anonymous = _app().test_client()
    resp = anonymous.get("/data/water-sources.geojson?zoom=9")
    assert resp.status_code == 401
    open_app = _app(ANONYMOUS_ACCESS="map+user").test_client()
    assert open_app.get("/data/water-sources.geojson?zoom=9").status_code == 200
    assert set(WATER) <= {d["id"] for d in _config(open_app)["layers"]}
    # the OGC API publishes the public store only
    ids = {c["id"] for c in open_app.get("/ogcapi/collections?f=json").get_json()["collections"]}
    assert not set(WATER) & ids
    with pytest.raises(ValueError, match="ANONYMOUS_ACCESS"):
        _app(ANONYMOUS_ACCESS="everyone")


def test_water_data_follows_a_new_import(water_home, tmp_path):
    client = _app().test_client()
    login(client, "viewer")
    first = client.get("/data/water-sources.geojson?zoom=9")
    _write_water_layers(tmp_path, names=("Xã Pha Long",))
    second = client.get("/data/water-sources.geojson?zoom=9", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200, "a new import is a new version"
    assert len(second.get_json()["features"]) < len(first.get_json()["features"])
    assert all(f["properties"]["name"].endswith("(Pha Long)") for f in second.get_json()["features"])
