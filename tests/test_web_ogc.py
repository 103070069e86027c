import io
import json

import pytest
from test_web_support import live_server


def test_landing_conformance_collections(client):
    landing = client.get("/ogcapi?f=json").get_json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    conf = client.get("/ogcapi/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    cols = client.get("/ogcapi/collections").get_json()["collections"]
    ids = {c["id"] for c in cols}
    assert {"province", "communes", "former-districts", "former-communes", "rivers", "peaks"} <= ids
    communes = client.get("/ogcapi/collections/communes").get_json()
    assert communes["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    west, south, east, north = communes["extent"]["spatial"]["bbox"][0]
    assert 103 < west < east < 106 and 21 < south < north < 23.5
    assert client.get("/ogcapi/openapi").status_code == 200


def test_html_representations(client):
    for url in ["/ogcapi", "/ogcapi/conformance", "/ogcapi/collections", "/ogcapi/collections/communes",
                "/ogcapi/collections/communes/items", "/ogcapi/collections/communes/items/1"]:
        resp = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert resp.status_code == 200 and resp.mimetype == "text/html", url
        assert client.get(url + "?f=html").mimetype == "text/html"
        assert client.get(url, headers={"Accept": "application/json"}).mimetype in ("application/json", "application/geo+json")
    html = client.get("/ogcapi/collections/communes/items?f=html&limit=5").get_data(as_text=True)
    assert "Xã" in html and 'id="number-matched">99<' in html


def test_items_paging_and_bbox(client):
    page = client.get("/ogcapi/collections/communes/items?limit=40").get_json()
    assert page["numberMatched"] == 99 and page["numberReturned"] == 40
    assert page["features"][0]["id"] == 1
    links = {link["rel"]: link["href"] for link in page["links"]}
    assert "next" in links and "prev" not in links
    second = client.get(links["next"].replace("http://localhost", "")).get_json()
    assert second["features"][0]["id"] == 41
    assert "prev" in {link["rel"] for link in second["links"]}
    last = client.get("/ogcapi/collections/communes/items?limit=40&offset=80").get_json()
    assert last["numberReturned"] == 19 and "next" not in {link["rel"] for link in last["links"]}
    boxed = client.get("/ogcapi/collections/communes/items?bbox=103.80,22.30,103.90,22.40&limit=100").get_json()
    assert 0 < boxed["numberMatched"] < 15 and boxed["numberReturned"] == boxed["numberMatched"]
    lon, lat = boxed["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 103 < lon < 105 and 21 < lat < 23.5, "GeoJSON in CRS84 (lon, lat)"
    table = client.get("/ogcapi/collections/former-communes/items?limit=1000").get_json()
    assert table["numberMatched"] == 151 + 168 and table["features"][0]["geometry"] is None
    one = client.get("/ogcapi/collections/communes/items/5")
    assert one.status_code == 200 and one.mimetype == "application/geo+json"
    assert one.get_json()["id"] == 5 and one.get_json()["properties"]["code"]


def test_items_etag(client):
    first = client.get("/ogcapi/collections/peaks/items")
    again = client.get("/ogcapi/collections/peaks/items", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "url, status, field",
    [
        ("/ogcapi/collections/nope", 404, ""),
        ("/ogcapi/collections/nope/items", 404, ""),
        ("/ogcapi/collections/communes/items/0", 404, "featureId"),
        ("/ogcapi/collections/communes/items/abc", 404, "featureId"),
        ("/ogcapi/collections/communes/items?limit=abc", 400, "limit"),
        ("/ogcapi/collections/communes/items?limit=0", 400, "limit"),
        ("/ogcapi/collections/communes/items?offset=-1", 400, "offset"),
        ("/ogcapi/collections/communes/items?bbox=1,2,3", 400, "bbox"),
        ("/ogcapi/collections/communes/items?bbox=x,2,3,4", 400, "bbox"),
        ("/ogcapi/collections/communes/items?bbox-crs=EPSG:4326&bbox=1,2,3,4", 400, "bbox-crs"),
        ("/ogcapi/collections/former-communes/items?bbox=103,22,104,23", 400, "bbox"),
        ("/ogcapi/collections/communes/items?f=xml", 400, "f"),
        ("/ogcapi/collections?f=xml", 400, "f"),
    ],
)
def test_bad_requests(client, url, status, field):
    resp = client.get(url)
    assert resp.status_code == status, resp.data[:200]
    assert resp.get_json()["description"].startswith(field)


def test_downloads(client):
    import geopandas as gpd
    import pandas as pd

    gpkg = client.get("/ogcapi/collections/communes/items?f=gpkg")
    assert gpkg.status_code == 200 and "attachment" in gpkg.headers["Content-Disposition"]
    frame = gpd.read_file(io.BytesIO(gpkg.data))
    assert len(frame) == 99 and frame.crs.to_epsg() == 9208
    gj = client.get("/ogcapi/collections/communes/items?f=geojson&bbox=103.80,22.30,103.90,22.40")
    assert 0 < len(json.loads(gj.data)["features"]) < 15
    csv = client.get("/ogcapi/collections/former-communes/items?f=csv")
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype=str)
    assert len(table) == 319 and "new_commune" in table.columns
    assert "Xã Pha Long" in set(table.loc[table.full_name == "Xã Tả Gia Khâu", "new_commune"])
    csv = client.get("/ogcapi/collections/peaks/items?f=csv")
    assert "wkt_crs84" in csv.get_data(as_text=True).splitlines()[0]


def test_gdal_oapif_opens_every_public_layer(store_home):
    """GDAL's OGC API – Features driver, against the app under waitress."""
    import pyogrio

    from geo_app.serve import ogcapi

    with live_server(store_home) as base:
        url = f"OAPIF:{base}/ogcapi"
        names = {name for name, _ in pyogrio.list_layers(url)}
        public = set(ogcapi.public_layers())
        assert public <= names, (public, names)
        for layer_id in public:
            frame = pyogrio.read_dataframe(url, layer=layer_id)
            assert len(frame) == ogcapi._collection(layer_id).ids.size, layer_id
        communes = pyogrio.read_dataframe(url, layer="communes")
        assert len(communes) == 99 and communes.crs.to_epsg() == 4326
        assert "Xã Pha Long" in set(communes["full_name"])
