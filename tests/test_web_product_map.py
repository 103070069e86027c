"""The product page's map endpoints: area, boundary points, comparison with the last confirmed version and
the sheet preview, on the real store built from the mirror."""
import gzip
import html
import json
import re

import pytest
import shapely
from support.threads import together
from support.web import isolated_home, login
from support.workflow import commune_code, login_as

from geo_app.production.compare import difference

PRODUCT = "rau-an-toan-bao-thang"


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def _neighbours(code: str) -> list[str]:
    from geo_app import layers

    communes = layers.read("communes")
    own = communes.loc[communes.code == code].geometry.iloc[0]
    touching = communes[communes.geometry.touches(own) | communes.geometry.intersects(own.buffer(1))]
    return sorted(c for c in touching.code.astype(str) if c != code)[:2]


@pytest.fixture(scope="module")
def flow(store_home, tmp_path_factory):
    """Version 1 confirmed (Bảo Thắng and one neighbour), version 2 a draft (Bảo Thắng and another):
    the draft adds one commune and removes one."""
    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path_factory.mktemp("product-map")) as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        clients = {role: app.test_client() for role in (None, "viewer", "officer", "approver")}
        for role, client in clients.items():
            login(client, role)
        login_as(app.test_client(), "u-officer2")  # the extra people exist
        own = commune_code("Xã Bảo Thắng")
        first, second = _neighbours(own)
        current = workflow.latest(PRODUCT)
        v1 = workflow.save_draft(PRODUCT, "u-officer", {"communes_2025": [own, first]}, edited_from=current.token)
        assert v1.ok, v1.report
        workflow.submit(PRODUCT, v1.version, "u-officer")
        workflow.confirm(PRODUCT, v1.version, "u-approver", "A4")
        v2 = workflow.save_draft(PRODUCT, "u-officer", {"communes_2025": [own, second]})
        assert v2.version == v1.version + 1 and v2.ok, v2.report
        yield {"clients": clients, "home": home, "v1": workflow.get_version(PRODUCT, v1.version), "v2": v2}


def test_drafts_only_for_officers_and_approvers(flow):
    c, v1, v2 = flow["clients"], flow["v1"], flow["v2"]
    for endpoint in ("area.geojson", "points.geojson", "compare.json"):
        for role in (None, "viewer"):
            resp = c[role].get(f"/products/{PRODUCT}/{v2.version}/{endpoint}")
            assert resp.status_code == 404, (endpoint, role)
            assert c[role].get(f"/products/{PRODUCT}/{v1.version}/{endpoint}").status_code == 200, (endpoint, role)
        for role in ("officer", "approver"):
            resp = c[role].get(f"/products/{PRODUCT}/{v2.version}/{endpoint}")
            assert resp.status_code == 200, (endpoint, role)
            _strict(resp.get_data(as_text=True))
    assert c["viewer"].get(f"/products/{PRODUCT}/{v2.version}/preview.png").status_code == 404


@pytest.mark.parametrize("path, status", [
    ("/products/no-such-product/1/area.geojson", 404),
    (f"/products/{PRODUCT}/999/area.geojson", 404),
    (f"/products/{PRODUCT}/999/compare.json", 404),
    (f"/products/{PRODUCT}/999/preview.png", 404),
    (f"/products/{PRODUCT}/abc/points.geojson", 400),
    (f"/products/{PRODUCT}/0/points.geojson", 400),
    (f"/products/{PRODUCT}/1/preview.png?paper=A5", 400),
])
def test_bad_requests(flow, path, status):
    resp = flow["clients"]["officer"].get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]


def test_area_and_points_are_the_frozen_ones(flow):
    officer, v2 = flow["clients"]["officer"], flow["v2"]
    area = _strict(officer.get(f"/products/{PRODUCT}/{v2.version}/area.geojson").get_data(as_text=True))
    (feature,) = area["features"]
    assert feature["properties"]["geometry_sha256"] == v2.geometry_sha256
    assert feature["properties"]["area_ha"] == pytest.approx(v2.area_ha, abs=1e-3)
    shape = shapely.geometry.shape(feature["geometry"])
    lon, lat = shape.representative_point().coords[0]
    assert 103.5 < lon < 105.0 and 21.5 < lat < 23.0, "WGS 84 longitude, latitude over Lào Cai"
    packed = officer.get(f"/products/{PRODUCT}/{v2.version}/area.geojson", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and _strict(gzip.decompress(packed.data).decode()) == area
    pts = _strict(officer.get(f"/products/{PRODUCT}/{v2.version}/points.geojson").get_data(as_text=True))
    numbers = [f["properties"]["no"] for f in pts["features"]]
    assert numbers == [r[0] for r in v2.points] and len(numbers) >= 3
    # every boundary point lies on the area's boundary (within a metre, in degrees ~1e-5)
    edge = shape.boundary
    assert max(edge.distance(shapely.geometry.shape(f["geometry"])) for f in pts["features"]) < 2e-5


def test_difference_adds_up(flow):
    officer, v1, v2 = flow["clients"]["officer"], flow["v1"], flow["v2"]
    body = _strict(officer.get(f"/products/{PRODUCT}/{v2.version}/compare.json").get_data(as_text=True))
    assert body["previous"]["version"] == v1.version and body["crs"] == "EPSG:9208"
    assert body["added_ha"] > 1 and body["removed_ha"] > 1, "one commune in, one out"
    assert body["area_ha"] == pytest.approx(body["previous"]["area_ha"] + body["added_ha"] - body["removed_ha"], abs=0.01)
    assert body["area_ha"] == pytest.approx(v2.area_ha, abs=0.01)
    assert body["previous"]["area_ha"] == pytest.approx(v1.area_ha, abs=0.01)
    assert body["added"]["type"] in ("Polygon", "MultiPolygon") and body["removed"]["type"] in ("Polygon", "MultiPolygon")
    # the confirmed version has nothing confirmed before it
    first = _strict(officer.get(f"/products/{PRODUCT}/{v1.version}/compare.json").get_data(as_text=True))
    assert first["previous"] is None


def test_core_difference_on_synthetic_squares():
    """SYNTHETIC: two 100 m squares overlapping by half, in EPSG:9208 metres."""
    old = shapely.box(500_000, 2_400_000, 500_100, 2_400_100)
    new = shapely.box(500_050, 2_400_000, 500_150, 2_400_100)
    diff = difference(old, new)
    assert diff.old_ha == pytest.approx(1.0) and diff.new_ha == pytest.approx(1.0)
    assert diff.added_ha == pytest.approx(0.5) and diff.removed_ha == pytest.approx(0.5)
    same = difference(old, old)
    assert same.added.is_empty and same.removed.is_empty and same.change_ha == 0


def test_sheet_preview_png_cached_by_boundary(flow):
    from geo_app.production.sheet_preview import preview_path

    approver, v2 = flow["clients"]["approver"], flow["v2"]
    resp = approver.get(f"/products/{PRODUCT}/{v2.version}/preview.png?paper=A4")
    assert resp.status_code == 200 and resp.mimetype == "image/png", resp.get_data(as_text=True)[:300]
    assert resp.data[:8] == b"\x89PNG\r\n\x1a\n"
    cached = preview_path(v2, "A4")
    assert cached.is_file() and cached.read_bytes() == resp.data
    assert v2.geometry_sha256 in cached.name and str(flow["home"]) in str(cached)
    stamp = cached.stat().st_mtime_ns
    again = approver.get(f"/products/{PRODUCT}/{v2.version}/preview.png?paper=A4")
    assert again.status_code == 200 and again.data == resp.data and cached.stat().st_mtime_ns == stamp
    assert not list(cached.parent.glob(".*tmp*")), "nothing half-written left beside it"


DRAWN = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [[[104.10, 22.10], [104.16, 22.10], [104.16, 22.15],
                                                          [104.10, 22.15], [104.10, 22.10]]]}}]}


def test_drawn_area_goes_through_the_upload_path(store_home, tmp_path):
    from pyproj import Transformer
    from support.web import csrf_token

    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home"):
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        officer = app.test_client()
        login(officer, "officer")
        token = csrf_token(officer, "/")
        page = officer.get(f"/products/{PRODUCT}").get_data(as_text=True)
        assert 'id="product-map"' in page and "vendor/geoman/leaflet-geoman.min.js" in page

        resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "drawn": "{not json"})
        assert resp.status_code == 400 and "drawn" in resp.get_data(as_text=True)
        resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "drawn": "x" * (3 << 20)})
        assert resp.status_code == 413
        # outside the province: refused by the importer's check, like an uploaded file, naming the drawn file
        far = json.loads(json.dumps(DRAWN))
        far["features"][0]["geometry"]["coordinates"] = [[[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]]
        resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "drawn": json.dumps(far)})
        assert resp.status_code == 400 and "vung-ve-tren-ban-do.geojson" in resp.get_data(as_text=True)
        # no polygon: refused by the upload path, the form shown again with the drawing kept in it to fix
        point = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                 "geometry": {"type": "Point", "coordinates": [104.1, 22.1]}}]}
        resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "drawn": json.dumps(point)})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and 'id="upload-errors"' in body and "vung-ve-tren-ban-do.geojson" in body
        kept = re.search(r'data-drawn-kept="([^"]*)"', body).group(1)
        assert json.loads(html.unescape(kept)) == point
        assert workflow.latest(PRODUCT).file_names in (None, {})

        resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "drawn": json.dumps(DRAWN)})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
        version = workflow.latest(PRODUCT)
        assert list(version.file_names.values()) == ["vung-ve-tren-ban-do.geojson"]
        assert version.area["communes_2025"] == [] and version.ok, version.report
        to_store = Transformer.from_crs("EPSG:4326", "EPSG:9208", always_xy=True)
        ring = [to_store.transform(x, y) for x, y in DRAWN["features"][0]["geometry"]["coordinates"][0]]
        assert version.area_ha == pytest.approx(shapely.Polygon(ring).area / 1e4, rel=1e-3)
        assert officer.get(f"/products/{PRODUCT}/{version.version}/area.geojson").status_code == 200


def test_geoman_is_served_with_its_licence(client):
    licence = client.get("/static/vendor/geoman/LICENSE")
    assert licence.status_code == 200 and b"MIT License" in licence.data
    script = client.get("/static/vendor/geoman/leaflet-geoman.min.js")
    assert script.status_code == 200 and b"L.PM" in script.data and b"sourceMappingURL" not in script.data
    recorded = client.get("/static/vendor/geoman/VERSION").get_data(as_text=True)
    assert "version: 2.20.2" in recorded and "integrity: sha512-" in recorded


def test_concurrent_previews_render_once_under_the_render_lock(flow, monkeypatch):
    """Two requests for the same preview at once: one renders (under the confirm path's render lock),
    the other waits and answers the cached file."""
    from geo_app.production import sheet_preview

    renders, real = [], sheet_preview._render

    def counting(version, paper):
        renders.append(paper)
        assert sheet_preview.workflow.RENDER_LOCK.locked(), "rendering holds the render lock"
        return real(version, paper)

    monkeypatch.setattr(sheet_preview, "_render", counting)
    v1 = flow["v1"]  # confirmed: its own preview file (no draft mark), not made by another test
    results = together(lambda: sheet_preview.sheet_preview(v1, "A4").read_bytes())
    assert renders == ["A4"] and len(results) == 2 and results[0] == results[1]
    assert sheet_preview.preview_path(v1, "A4").name.endswith("-final-" + (
        sheet_preview.workflow.store_fingerprint() or "none")[:12] + ".png")
