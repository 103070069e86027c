import gzip
import json
import re

import pytest


def test_map_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/data/communes.geojson" in html
    urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert urls, "the page loads Leaflet"
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200
    assert "<script>" not in html, "no inline scripts (CSP script-src 'self')"
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()


def test_map_page_vietnamese_by_default_with_english_switch(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Lớp dữ liệu và chú giải" in html and "Tìm xã (không cần dấu)" in html
    html_en = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html_en and "Layers and legend" in html_en
    # the choice is remembered in the session
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in client.get("/?lang=vi").get_data(as_text=True)


def test_legend_uses_catalogue_styles(client):
    from geo_app import layers

    html = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S).group(1))
    by_id = {d["id"]: d for d in config["layers"]}
    for layer_id in ("communes", "former-districts", "province", "rivers", "peaks"):
        info = layers.info(layer_id)
        assert by_id[layer_id]["style"] == info.style
        assert by_id[layer_id]["title"]["vi"] == info.legend["vi"]
    assert config["basemap"].startswith("https://tile.openstreetmap.org/")


def test_offline_mode_loads_no_external_tiles(store_home):
    from geo_app.serve.web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "OFFLINE_MAP": True})
    resp = app.test_client().get("/")
    html = resp.get_data(as_text=True)
    config = json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))
    assert config["basemap"] is None
    assert "openstreetmap" not in resp.headers["Content-Security-Policy"]
    assert "http" not in resp.headers["Content-Security-Policy"]


def test_commune_layer_data(client):
    response = client.get("/data/communes.geojson?zoom=9")
    assert response.status_code == 200
    data = response.get_json()
    assert len(data["features"]) == 99
    props = {f["properties"]["full_name"]: f["properties"] for f in data["features"]}
    assert "Huyện Văn Bàn (cũ)" in props["Xã Bảo Hà"]["former_districts"]
    from shapely.geometry import shape

    west, south, east, north = shape(data["features"][0]["geometry"]).bounds
    assert 103 < west < east < 106 and 21 < south < north < 23.5


def test_layer_data_per_view_simplified_and_cached(client):
    coarse = client.get("/data/communes.geojson?zoom=8")
    fine = client.get("/data/communes.geojson?zoom=13")
    assert len(coarse.data) < len(fine.data) / 3, "simplified per zoom"
    view = client.get("/data/communes.geojson?zoom=13&bbox=103.80,22.30,103.90,22.40")
    assert 0 < len(view.get_json()["features"]) < 15, "only the communes in the view"
    assert len(view.data) < len(fine.data) / 4
    etag = coarse.headers["ETag"]
    assert "max-age" in coarse.headers["Cache-Control"]
    again = client.get("/data/communes.geojson?zoom=8", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    zipped = client.get("/data/communes.geojson?zoom=8", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == coarse.get_json()
    assert len(zipped.data) < len(coarse.data) / 2


@pytest.mark.parametrize(
    "url, field",
    [
        ("/data/communes.geojson?zoom=abc", "zoom"),
        ("/data/communes.geojson?zoom=99", "zoom"),
        ("/data/communes.geojson?zoom=nan", "zoom"),
        ("/data/communes.geojson?bbox=1,2,3", "bbox"),
        ("/data/communes.geojson?bbox=a,b,c,d", "bbox"),
        ("/data/communes.geojson?bbox=104,23,103,22", "bbox"),
        ("/api/search?limit=0&q=x", "limit"),
        ("/api/search?limit=x&q=x", "limit"),
        ("/api/search?q=" + "a" * 200, "q"),
    ],
)
def test_bad_query_parameters_name_the_field(client, url, field):
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["description"].startswith(field)


def test_bad_layer_requests(client):
    assert client.get("/data/nope.geojson").status_code == 404
    assert client.get("/data/former-communes.geojson").status_code == 404


def test_search_without_diacritics(client):
    results = client.get("/api/search?q=ta gia khau").get_json()["results"]
    first = results[0]
    assert first["name"] == "Xã Tả Gia Khâu" and first["kind"] == "former-commune"
    assert first["new_commune"] == "Xã Pha Long"
    assert first["bbox"] and 103 < first["bbox"][0] < 105
    results = client.get("/api/search?q=PHA LONG").get_json()["results"]
    assert results[0]["kind"] == "commune" and results[0]["name"] == "Xã Pha Long"
    assert any(r["kind"] == "former-commune" and r["name"] == "Xã Pha Long" for r in results)
    assert client.get("/api/search?q=").get_json()["results"] == []
    assert client.get("/api/search?q=zzzzqqq").get_json()["results"] == []


def test_search_core_is_framework_free(store_home):
    from geo_app.serve.search import search

    hits = search("Din Chin")
    assert hits[0].name == "Xã Dìn Chin" and hits[0].new_commune == "Xã Pha Long"
    assert [h.name for h in search("bao ha")][0] == "Xã Bảo Hà"


def test_security_headers(client):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_every_ui_string_has_an_english_translation():
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    import geo_app.serve.web as web

    root = Path(web.__file__).parent
    po = read_po((root / "translations/en/LC_MESSAGES/messages.po").open("rb"))
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    # extract_from_dir yields (file name, line number, message, comments, context)
    messages = [(name, line, text) for name, line, text, *_ in extract_from_dir(str(root), method_map)]
    ids = {text for _, _, text in messages if isinstance(text, str)}
    assert len(ids) > 100, "the extraction found the user-interface strings"
    missing = sorted(i for i in ids if i and (i not in po or not po[i].string))
    assert not missing, missing


def test_draft_production_areas_are_not_public(client):
    # the store's production-areas layer holds drafts: not served as map data; the OGC API's
    # production-areas collection comes from the workflow and holds confirmed versions only
    assert client.get("/data/production-areas.geojson?zoom=9").status_code == 404
    collections = client.get("/ogcapi/collections?f=json").get_json()["collections"]
    assert "production-areas" in {c["id"] for c in collections}
    features = client.get("/ogcapi/collections/production-areas/items?f=json").get_json()["features"]
    assert all(f["properties"]["dossier_sha256"] and f["properties"]["confirmed_at"] for f in features)
    assert "status" not in (features[0]["properties"] if features else {})


def test_static_assets_gzip_etag_and_long_cache_for_versioned_urls(client):
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert {u.split("?")[0] for u in urls} >= {"/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css",
                                               "/static/map.js", "/static/app.css"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        plain = client.get(url)
        zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert plain.status_code == zipped.status_code == 200
        assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(zipped.data) == plain.data and len(zipped.data) < len(plain.data) / 2
        assert zipped.headers["Vary"] == "Accept-Encoding"
        assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert zipped.headers["ETag"] == plain.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "gzip"})
        assert again.status_code == 304 and not again.data
    # the same file without (or with a stale) version is cached briefly, then revalidated
    for url in ("/static/map.js", "/static/map.js?v=000000000000"):
        assert client.get(url).headers["Cache-Control"] == "public, max-age=3600"
    assert client.get("/vendor/leaflet/leaflet.js").mimetype in ("application/javascript", "text/javascript")
    image = client.get("/vendor/leaflet/images/marker-icon.png", headers={"Accept-Encoding": "gzip"})
    assert image.status_code == 200 and "Content-Encoding" not in image.headers
    for bad in ("/static/../__init__.py", "/static/%2e%2e/__init__.py", "/vendor/leaflet/../../x", "/static/nope.js"):
        assert client.get(bad).status_code == 404, bad


def test_static_assets_compressed_once(client):
    from geo_app.serve.web import assets

    url = re.search(r'src="(/static/map.js[^"]*)"', client.get("/").get_data(as_text=True)).group(1)
    client.get(url, headers={"Accept-Encoding": "gzip"})
    first = assets.load("static", "map.js")
    client.get(url, headers={"Accept-Encoding": "gzip"})
    assert assets.load("static", "map.js") is first, "kept in memory, not compressed again"
