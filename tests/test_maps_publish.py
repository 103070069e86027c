"""Groundwater results published to the web map: user store layer with provenance, image overlays, history.

The DEM is SYNTHETIC, made here: a bowl near Sa Pa (EPSG:9208, 30 m cells)."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from PIL import Image
from support.web import PASSWORD, ROLE_USERS, ensure_users, isolated_home

X0, Y0, CELL, ROWS, COLS = 404490.0, 2473500.0, 30.0, 60, 80


def _synthetic_dem(path):
    r, c = np.mgrid[0:ROWS, 0:COLS]
    z = (1600 + 5 * np.hypot(r - 30, c - 40) + 20 * np.sin(c / 5.0) * np.cos(r / 6.0)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", height=ROWS, width=COLS, count=1, dtype="float32", crs="EPSG:9208",
                       transform=Affine(CELL, 0, X0, 0, -CELL, Y0), nodata=-9999) as dst:
        dst.write(z, 1)
    return str(path)


@pytest.fixture()
def home(store_home, tmp_path):
    with isolated_home(store_home, tmp_path / "home") as target:
        yield target


def _potential(tmp_path, name, cols):
    from geo_app.water import groundwater

    dem = _synthetic_dem(tmp_path / "synthetic_dem.tif")
    return groundwater.groundwater_potential(dem, out_dir=tmp_path / name, communes=None,
                                             extent=(X0, Y0 - ROWS * CELL, X0 + cols * CELL, Y0))


def _client(role):
    from geo_app.serve.web import create_app

    client = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False}).test_client()
    if role:
        ensure_users()
        resp = client.post("/login", data={"name": ROLE_USERS[role], "password": PASSWORD})
        assert resp.status_code == 302
    return client


def _config(client) -> dict:
    import re

    html = client.get("/").get_data(as_text=True)
    return json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))


def test_publish_replaces_the_layer_and_keeps_the_previous_provenance(home, tmp_path):
    from geo_app import layers
    from geo_app.water.groundwater.publish import publish_potential, read_manifest

    first = publish_potential(_potential(tmp_path, "run1", COLS), synthetic=True)
    second_result = _potential(tmp_path, "run2", COLS - 20)
    second = publish_potential(second_result, synthetic=True)
    assert first.run_id != second.run_id and second.previous == first.run_id

    frame = layers.read("groundwater-potential")
    assert set(frame["run_id"]) == {second.run_id}  # the newer run only, no mix of the two
    assert sorted(frame["class"]) == sorted(set(frame["class"])) and set(frame["class"]) <= {1, 2, 3, 4, 5}
    assert frame["synthetic"].all() and (frame["ahp_cr"] < 0.1).all()
    cell_ha = CELL * CELL / 1e4
    assert frame["area_ha"].sum() == pytest.approx(np.count_nonzero(second_result.classes) * cell_ha, rel=1e-6)

    manifest = read_manifest()["potential"]
    assert manifest["current"]["run_id"] == second.run_id
    assert [run["run_id"] for run in manifest["history"]] == [first.run_id]
    assert manifest["history"][0]["provenance"]["bounds"] == first_bounds(first)
    assert (home / "published" / "groundwater" / manifest["history"][0]["folder"] / "potential_index.tif").exists()


def first_bounds(run):
    with rasterio.open(run.folder / "potential_index.tif") as src:
        return [round(v, 3) for v in src.bounds]


def test_published_results_on_the_web_map_for_logged_in_users(home, tmp_path):
    from geo_app.water.groundwater.publish import publish_potential

    publish_potential(_potential(tmp_path, "run", COLS), synthetic=True)
    viewer, anonymous = _client("viewer"), _client(None)

    by_id = {entry["id"]: entry for entry in _config(viewer)["layers"]}
    assert "groundwater-potential" in by_id and by_id["groundwater-potential"]["title"]["vi"].endswith("(SYNTHETIC)")
    assert [c["value"] for c in by_id["groundwater-potential"]["classes"]["classes"]] == [1, 2, 3, 4, 5]
    index = by_id["overlay-potential-index"]
    assert index["legend"]["ramp"] and index["legend"]["min"] < index["legend"]["max"]
    (south, west), (north, east) = index["bounds"]
    assert 22.2 < south < north < 22.5 and 103.7 < west < east < 104.0

    png = viewer.get(index["image"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.mode == "RGBA" and image.getextrema()[3][1] == 255  # something is drawn
    data = viewer.get("/data/groundwater-potential.geojson?zoom=12").get_json()
    assert {f["properties"]["class"] for f in data["features"]} <= {1, 2, 3, 4, 5} and data["features"]
    # cell-edged outlines simplified at the province view still serve (grid rounding cannot re-node them)
    for zoom in (6, 8, 9):
        assert viewer.get(f"/data/groundwater-potential.geojson?zoom={zoom}").status_code == 200

    ids = {entry["id"] for entry in _config(anonymous)["layers"]}
    assert "groundwater-potential" not in ids and "overlay-potential-index" not in ids
    assert anonymous.get(index["image"]).status_code == 401
    assert anonymous.get("/data/groundwater-potential.geojson").status_code == 401


def test_cli_publish_and_level(home, tmp_path):
    from geo_app.cli import main
    from geo_app.water.groundwater.publish import read_manifest

    dem = _synthetic_dem(tmp_path / "synthetic_dem.tif")
    extent = f"{X0},{Y0 - ROWS * CELL},{X0 + COLS * CELL},{Y0}"
    result = CliRunner().invoke(main, ["groundwater", "--dem", dem, "--extent", extent, "--out", str(tmp_path / "gw"),
                                       "--publish"])
    assert result.exit_code == 0, result.output
    assert "published to the web map" in result.output and "SYNTHETIC" in result.output

    wells = tmp_path / "SYNTHETIC_wells.csv"
    rng = np.random.default_rng(5)
    rows = ["id,x,y,level_m"] + [f"GK{i},{X0 + rng.uniform(0, COLS * CELL):.1f},{Y0 - rng.uniform(0, ROWS * CELL):.1f},"
                                 f"{1550 + rng.normal(0, 3):.2f}" for i in range(12)]
    wells.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["groundwater-level", "--wells", str(wells), "--extent", extent, "--out",
                                       str(tmp_path / "lvl"), "--publish"])
    assert result.exit_code == 0, result.output
    manifest = read_manifest()
    assert set(manifest) == {"potential", "level"}
    assert "groundwater-level" in manifest["level"]["current"]["overlays"]
    assert manifest["level"]["current"]["provenance"]["cross_validation"]["n_wells"] == 12


def test_published_as_public_is_shown_to_everyone(home, tmp_path):
    from geo_app.water.groundwater.publish import publish_potential

    publish_potential(_potential(tmp_path, "run", COLS), synthetic=True, public=True)
    anonymous = _client(None)
    by_id = {entry["id"]: entry for entry in _config(anonymous)["layers"]}
    assert "groundwater-potential" in by_id and "overlay-potential-index" in by_id
    png = anonymous.get(by_id["overlay-potential-index"]["image"])
    assert png.status_code == 200 and "public" in png.headers["Cache-Control"]
    assert anonymous.get("/data/groundwater-potential.geojson").status_code == 200
    # the other user layers stay for the logged-in
    assert anonymous.get("/data/water-sources.geojson").status_code == 401
    # and the classes are an OGC API collection, with the store's exact polygons
    from geo_app import layers

    ids = {c["id"] for c in anonymous.get("/ogcapi/collections?f=json").get_json()["collections"]}
    assert "groundwater-potential" in ids
    items = anonymous.get("/ogcapi/collections/groundwater-potential/items?f=json&limit=10000").get_json()
    assert items["numberMatched"] == len(layers.read("groundwater-potential")) > 0


def test_published_for_the_logged_in_only_is_no_ogc_collection(home, tmp_path):
    from geo_app.water.groundwater.publish import publish_potential

    publish_potential(_potential(tmp_path, "run", COLS), synthetic=True)
    anonymous = _client(None)
    ids = {c["id"] for c in anonymous.get("/ogcapi/collections?f=json").get_json()["collections"]}
    assert "groundwater-potential" not in ids
    assert anonymous.get("/ogcapi/collections/groundwater-potential/items?f=json").status_code == 404


@pytest.fixture(scope="module")
def browser():
    from support.browser import launch

    with launch() as browser:
        yield browser


def test_web_map_draws_the_published_overlay_and_classes(browser, home, tmp_path):
    """In Chromium: the class polygons load, the index is drawn as an image, the legend has its colour ramp."""
    from support.web import live_server

    from geo_app.water.groundwater.publish import publish_potential

    publish_potential(_potential(tmp_path, "run", COLS), synthetic=True)
    ensure_users()
    with live_server(home) as base:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/login")
        page.fill("#name", ROLE_USERS["viewer"])
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#who")
        page.goto(base + "/")
        page.wait_for_selector("body[data-loaded-groundwater-potential]", state="attached", timeout=60000)
        assert int(page.get_attribute("body", "data-loaded-groundwater-potential")) >= 1
        image = page.locator("img.leaflet-image-layer").first
        image.wait_for(state="attached", timeout=30000)
        page.wait_for_function("() => { const i = document.querySelector('img.leaflet-image-layer');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30000)
        assert page.locator(".legend-classes .ramp").count() == 1
        assert "(SYNTHETIC)" in page.inner_text("#layer-list")
        assert errors == []
        page.close()
