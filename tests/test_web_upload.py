"""The upload part of the draft form: several files at once, the CRS/layer/clip choices, and a refused
upload that shows the form again with the officer's selections and one error per problem. Real 2025
commune polygons from the store."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from support.web import csrf_token, isolated_home, login

PRODUCT = "rau-an-toan-bao-thang"


@pytest.fixture()
def officer(store_home, tmp_path):
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home") as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        client = app.test_client()
        login(client, "officer")
        client.home = home
        yield client


def _commune(name="Xã Bảo Thắng"):
    from geo_app import layers

    communes = layers.read("communes")
    row = communes[communes.full_name == name]
    return row.iloc[0]["code"], shapely.simplify(row.geometry.iloc[0], 20)


def _shapefile_parts(folder: Path, geom, crs="EPSG:9208", prj=True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame({"ten": ["vùng"]}, geometry=[geom], crs="EPSG:9208").to_crs(crs)
    pyogrio.write_dataframe(frame, folder / "ranh_gioi.shp", driver="ESRI Shapefile")
    if not prj:
        (folder / "ranh_gioi.prj").unlink()
    return sorted(folder.iterdir())


def _post(client, files, accept_json=True, **form):
    data = {"csrf_token": csrf_token(client, "/"), **form, "file": [(io.BytesIO(p.read_bytes()), p.name) for p in files]}
    headers = {"Accept": "application/json"} if accept_json else {}
    return client.post(f"/products/{PRODUCT}/draft", data=data, content_type="multipart/form-data", headers=headers)


def test_shapefile_parts_sent_together_with_a_crs_choice(officer, tmp_path):
    from geo_app.importers import VN2000_6DEG
    from geo_app.production import workflow

    _, geom = _commune()
    parts = _shapefile_parts(tmp_path / "p", geom, crs=VN2000_6DEG, prj=False)
    resp = _post(officer, parts, crs="VN2000_6DEG")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    kept = Path(workflow.latest(PRODUCT).area["files"][-1])
    doc = json.loads(kept.read_text(encoding="utf-8"))
    assert [f["name"] for f in doc["source"]["files"]] == [p.name for p in parts]
    assert doc["source"]["choices"]["crs"] == "VN2000_6DEG" and "given by the caller" in doc["source"]["crs_reason"]
    got = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    assert got.symmetric_difference(geom).area / geom.area < 1e-5
    # the page names the version's files as the officer sent them, not by their stored hash
    page = officer.get(f"/products/{PRODUCT}").get_data(as_text=True)
    assert '<span class="kept-file">' + ", ".join(p.name for p in parts) + "</span>" in page
    assert kept.name not in page
    # the same upload gives the same bytes (content-addressed, deterministic)
    assert _post(officer, parts, crs="VN2000_6DEG").status_code == 302
    assert Path(workflow.latest(PRODUCT).area["files"][-1]).read_bytes() == kept.read_bytes()


def test_refused_upload_shows_the_form_again_with_the_choices(officer, tmp_path):
    code, geom = _commune()
    path = tmp_path / "hai_lop.gpkg"
    for layer in ("vung_a", "vung_b"):
        pyogrio.write_dataframe(gpd.GeoDataFrame({"ten": [layer]}, geometry=[geom], crs="EPSG:9208"), path,
                                driver="GPKG", layer=layer)
    resp = _post(officer, [path], accept_json=False, communes_2025=code, crs="EPSG", crs_epsg="9208", clip="1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    errors = re.findall(r'<li class="upload-error">(.*?)</li>', html, re.S)
    assert len(errors) == 1 and "hai_lop.gpkg" in errors[0] and "--layer" in errors[0]
    assert re.search(rf'<option value="{code}"\s+selected', html), "the commune selection is kept"
    assert '<option value="EPSG" selected' in html and 'value="9208"' in html and 'id="clip" checked' in html
    assert '<select name="layer" id="layer"><option value="vung_a"' in html and 'value="vung_b"' in html
    # choosing the layer then reads it
    assert _post(officer, [path], layer="vung_b", crs="EPSG", crs_epsg="9208").status_code == 302


@pytest.mark.parametrize("names, words", [
    (["ranh_gioi.dbf"], "only one part of a shapefile"),
    (["ranh_gioi.shp", "vung.geojson"], "file 'vung.geojson': several files at once are only for the parts"),
    (["ranh_gioi.shx", "ranh_gioi.dbf"], "no .shp among the files sent"),
    (["a.shp", "b.shx"], "several files at once are only for the parts of one"),
])
def test_files_that_do_not_belong_together(officer, tmp_path, names, words):
    files = []
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 120)
        files.append(tmp_path / name)
    before = sorted((officer.home / "workflow" / "files").glob("*")) if (officer.home / "workflow" / "files").exists() else []
    resp = _post(officer, files)
    assert resp.status_code == 400
    description = resp.get_json()["description"]
    assert description.startswith("file") and words in description, description
    after = sorted((officer.home / "workflow" / "files").glob("*")) if (officer.home / "workflow" / "files").exists() else []
    assert after == before


def test_a_bad_epsg_code_is_named(officer, tmp_path):
    _, geom = _commune()
    parts = _shapefile_parts(tmp_path / "p", geom)
    resp = _post(officer, parts, crs="EPSG", crs_epsg="abc")
    assert resp.status_code == 400 and "EPSG code 'abc' is not valid" in resp.get_json()["description"]


def test_upload_names_are_cleaned():
    from geo_app.serve.web.uploads import clean_name

    assert clean_name("C:\\Users\\cb\\Desktop\\ranh giới.shp") == "ranh giới.shp"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name(".hidden.geojson") == "hidden.geojson"
    assert clean_name("a\x00b\x1f.kml") == "ab.kml"
