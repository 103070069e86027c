import io
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
BOX = "103.80,22.30,103.90,22.40"


def _first_ring(feature) -> np.ndarray:
    return np.array(feature["geometry"]["coordinates"][0][0])


def test_landing_conformance_collections(client):
    landing = client.get("/ogcapi?f=json").get_json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc", "service-doc"} <= rels
    conf = client.get("/ogcapi/conformance").get_json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text"):
        assert f"http://www.opengis.net/spec/{cls}" in conf, cls
    # only what is implemented: no temporal, arithmetic or case-insensitive CQL2, no CQL2 JSON
    assert not [c for c in conf if c.endswith(("temporal-functions", "arithmetic", "case-insensitive-comparison",
                                               "cql2-json"))]
    cols = client.get("/ogcapi/collections").get_json()["collections"]
    ids = {c["id"] for c in cols}
    assert {"province", "communes", "former-districts", "former-communes", "rivers", "peaks"} <= ids
    for c in cols:
        assert c["storageCrs"] == EPSG + "9208", c["id"]
        assert set(c["crs"]) == {CRS84, EPSG + "4326", EPSG + "9208", EPSG + "4756"}, c["id"]
    communes = client.get("/ogcapi/collections/communes").get_json()
    west, south, east, north = communes["extent"]["spatial"]["bbox"][0]
    assert 103 < west < east < 106 and 21 < south < north < 23.5
    easting0, northing0, easting1, northing1 = communes["storageCrsBbox"]
    assert 300_000 < easting0 < easting1 < 600_000 and 2_300_000 < northing0 < northing1 < 2_600_000


@pytest.mark.parametrize("url", [
    "/ogcapi", "/ogcapi/conformance", "/ogcapi/collections", "/ogcapi/collections/communes",
    "/ogcapi/collections/communes/queryables", "/ogcapi/openapi", "/ogcapi/collections/communes/items",
    "/ogcapi/collections/communes/items/3", "/ogcapi/collections/nope", "/ogcapi/collections/communes/items?limit=x",
])
def test_content_crs_on_every_response(client, url):
    resp = client.get(url)
    assert resp.headers["Content-Crs"] == f"<{CRS84}>", url
    html = client.get(url + ("&" if "?" in url else "?") + "f=html")
    assert html.headers["Content-Crs"] == f"<{CRS84}>", url


def test_epsg_9208_is_exactly_the_store(client):
    from geo_app import layers

    store = layers.read("communes")
    resp = client.get(f"/ogcapi/collections/communes/items?crs={EPSG}9208&limit=3")
    assert resp.status_code == 200 and resp.headers["Content-Crs"] == f"<{EPSG}9208>"
    for feature, geom in zip(resp.get_json()["features"], store.geometry.values[:3]):
        served = shapely.geometry.shape(feature["geometry"])
        assert shapely.equals_exact(served, geom, tolerance=0), "no round trip through WGS 84"
    one = client.get("/ogcapi/collections/peaks/items/1?crs=EPSG:9208")
    assert one.headers["Content-Crs"] == f"<{EPSG}9208>"
    x, y = one.get_json()["geometry"]["coordinates"][:2]
    store_peak = layers.read("peaks").geometry.values[0]
    assert (x, y) == (store_peak.x, store_peak.y)


@pytest.mark.parametrize("code, lat_first", [("4326", True), ("4756", True), ("CRS84", False)])
def test_geographic_crs_axis_order_and_values(client, code, lat_first):
    from geo_app import layers

    uri = CRS84 if code == "CRS84" else EPSG + code
    resp = client.get("/ogcapi/collections/communes/items", query_string={"crs": uri, "limit": 1})
    assert resp.headers["Content-Crs"] == f"<{uri}>"
    ring = _first_ring(resp.get_json()["features"][0])
    store_ring = np.array(layers.read("communes").geometry.values[0].geoms[0].exterior.coords)
    target = "OGC:CRS84" if code == "CRS84" else f"EPSG:{code}"
    lon, lat = Transformer.from_crs("EPSG:9208", target, always_xy=True).transform(store_ring[:, 0], store_ring[:, 1])
    expected = np.column_stack([lat, lon] if lat_first else [lon, lat])
    assert np.abs(ring - expected).max() < 1e-8, "within 1 mm of the store"
    assert 21 < ring[0][0 if lat_first else 1] < 23.5, "latitude first in EPSG:4326/4756"


def test_bbox_crs(client):
    plain = client.get(f"/ogcapi/collections/communes/items?bbox={BOX}").get_json()
    assert 0 < plain["numberMatched"] < 15
    lon0, lat0, lon1, lat1 = BOX.split(",")
    latlon = client.get(f"/ogcapi/collections/communes/items?bbox={lat0},{lon0},{lat1},{lon1}"
                        f"&bbox-crs={EPSG}4326").get_json()
    assert [f["id"] for f in latlon["features"]] == [f["id"] for f in plain["features"]]
    # a box in the store's metres around one commune's stored bounds selects it
    from geo_app import layers

    geom = layers.read("communes").geometry.values[10]
    x0, y0, x1, y1 = geom.bounds
    inner = f"{(x0 + x1) / 2 - 10},{(y0 + y1) / 2 - 10},{(x0 + x1) / 2 + 10},{(y0 + y1) / 2 + 10}"
    boxed = client.get(f"/ogcapi/collections/communes/items?bbox={inner}&bbox-crs=EPSG:9208").get_json()
    if shapely.intersects(geom, shapely.box(*map(float, inner.split(",")))):
        assert 11 in [f["id"] for f in boxed["features"]]
    assert 1 <= boxed["numberMatched"] <= 3
    # the links keep the bbox-crs
    assert any("bbox-crs=" in link["href"] for link in boxed["links"] if link["rel"] == "self")


def test_unknown_parameters_are_refused_by_name(client):
    for url in ["/ogcapi?foo=bar", "/ogcapi/conformance?foo=bar", "/ogcapi/collections?foo=bar",
                "/ogcapi/collections/communes?foo=bar", "/ogcapi/collections/communes/items?foo=bar",
                "/ogcapi/collections/communes/items/1?foo=bar", "/ogcapi/collections/communes/queryables?foo=bar",
                "/ogcapi/openapi?foo=bar"]:
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert resp.get_json()["description"].startswith("foo"), url
    # a queryable property is a filter, not an unknown parameter; a property of another layer is
    assert client.get("/ogcapi/collections/peaks/items?code=02647").status_code == 400


def test_queryables_and_property_filters(client):
    q = client.get("/ogcapi/collections/communes/queryables")
    assert q.status_code == 200 and q.mimetype == "application/schema+json"
    props = q.get_json()["properties"]
    assert {"code", "name", "kind", "former_districts", "geometry"} <= set(props)
    assert props["area_ha"]["type"] == "number" and props["code"]["type"] == "string"
    everything = client.get("/ogcapi/collections/communes/items?limit=200").get_json()["features"]
    code = everything[5]["properties"]["code"]
    one = client.get(f"/ogcapi/collections/communes/items?code={code}").get_json()
    assert one["numberMatched"] == 1 and one["features"][0]["id"] == 6
    wards = client.get("/ogcapi/collections/communes/items", query_string={"kind": "phường"}).get_json()
    assert wards["numberMatched"] == sum(f["properties"]["kind"] == "phường" for f in everything) == 10
    both = client.get("/ogcapi/collections/communes/items", query_string={"kind": "phường", "code": code}).get_json()
    assert both["numberMatched"] == (1 if everything[5]["properties"]["kind"] == "phường" else 0)


@pytest.mark.parametrize("expr, expected", [
    ("kind = 'phường'", lambda f: f["kind"] == "phường"),
    ("kind <> 'phường' AND area_ha > 20000", lambda f: f["kind"] != "phường" and f["area_ha"] > 20000),
    ("area_ha BETWEEN 1000 AND 5000", lambda f: 1000 <= f["area_ha"] <= 5000),
    ("name LIKE 'B%'", lambda f: f["name"].startswith("B")),
    ("former_districts LIKE '%Bảo Yên%'", lambda f: "Bảo Yên" in (f["former_districts"] or "")),
    ("kind IN ('phường') OR area_ha < 3000", lambda f: f["kind"] == "phường" or f["area_ha"] < 3000),
    ("NOT (kind = 'xã')", lambda f: f["kind"] != "xã"),
])
def test_cql2_comparisons(client, expr, expected):
    everything = client.get("/ogcapi/collections/communes/items?limit=200").get_json()["features"]
    want = [f["id"] for f in everything if expected(f["properties"])]
    got = client.get("/ogcapi/collections/communes/items", query_string={"filter": expr, "limit": 200}).get_json()
    assert [f["id"] for f in got["features"]] == want and want, expr


def test_cql2_spatial_predicates_in_crs84_and_the_store_crs(client):
    from geo_app import layers

    store = layers.read("communes")
    point84 = (103.97, 22.49)
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:9208", always_xy=True).transform(*point84)
    want = [i + 1 for i, g in enumerate(store.geometry.values) if g.intersects(shapely.Point(x, y))]
    assert len(want) == 1
    for filt, crs in [(f"S_INTERSECTS(geometry, POINT({point84[0]} {point84[1]}))", None),
                      (f"S_INTERSECTS(geometry, POINT({x} {y}))", "EPSG:9208"),
                      (f"S_CONTAINS(geometry, POINT({point84[1]} {point84[0]}))", EPSG + "4326")]:
        args = {"filter": filt, **({"filter-crs": crs} if crs else {})}
        got = client.get("/ogcapi/collections/communes/items", query_string=args).get_json()
        assert [f["id"] for f in got["features"]] == want, filt
    lon0, lat0, lon1, lat1 = map(float, BOX.split(","))
    box9208 = layers.bbox_to_store((lon0, lat0, lon1, lat1), "EPSG:4326")
    within = client.get("/ogcapi/collections/peaks/items", query_string={
        "filter": f"S_WITHIN(geometry, BBOX({lon0},{lat0},{lon1},{lat1}))", "limit": 1000}).get_json()
    peaks = layers.read("peaks", crs="EPSG:4326")
    inside = [i + 1 for i, g in enumerate(peaks.geometry.values) if shapely.box(lon0, lat0, lon1, lat1).contains(g)]
    assert [f["id"] for f in within["features"]] == inside
    assert box9208[0] < box9208[2]


@pytest.mark.parametrize("expr, field", [
    ("kind = ", "filter"), ("nosuch = 1", "filter"), ("name < 5", "filter"),
    ("T_AFTER(name, TIMESTAMP('2020-01-01T00:00:00Z'))", "filter"), ("CASEI(name) = 'x'", "filter"),
    ("area_ha + 1 > 5", "filter"),
])
def test_cql2_errors_are_400_naming_filter(client, expr, field):
    resp = client.get("/ogcapi/collections/communes/items", query_string={"filter": expr})
    assert resp.status_code == 400 and resp.get_json()["description"].startswith(field), expr
    lang = client.get("/ogcapi/collections/communes/items", query_string={"filter": "kind = 'xã'",
                                                                          "filter-lang": "cql2-json"})
    assert lang.status_code == 400 and lang.get_json()["description"].startswith("filter-lang")


def test_sortby(client):
    desc = client.get("/ogcapi/collections/communes/items?sortby=-area_ha&limit=200").get_json()["features"]
    areas = [f["properties"]["area_ha"] for f in desc]
    assert areas == sorted(areas, reverse=True) and len(areas) == 99
    names = [f["properties"]["name"] for f in client.get(
        "/ogcapi/collections/communes/items?sortby=kind,name&limit=200").get_json()["features"]]
    assert names[:10] == sorted(names[:10])
    assert client.get("/ogcapi/collections/communes/items?sortby=nosuch").status_code == 400


def test_items_paging_and_bbox(client):
    default = client.get("/ogcapi/collections/communes/items").get_json()
    assert default["numberReturned"] == 99, "default page size 100: one request per commune layer"
    page = client.get("/ogcapi/collections/communes/items?limit=40").get_json()
    assert page["numberMatched"] == 99 and page["numberReturned"] == 40
    assert page["features"][0]["id"] == 1
    links = {link["rel"]: link["href"] for link in page["links"]}
    assert "next" in links and "prev" not in links and "version=" in links["next"]
    second = client.get(links["next"].replace("http://localhost", "")).get_json()
    assert second["features"][0]["id"] == 41
    assert "prev" in {link["rel"] for link in second["links"]}
    last = client.get("/ogcapi/collections/communes/items?limit=40&offset=80").get_json()
    assert last["numberReturned"] == 19 and "next" not in {link["rel"] for link in last["links"]}
    boxed = client.get(f"/ogcapi/collections/communes/items?bbox={BOX}&limit=100").get_json()
    assert 0 < boxed["numberMatched"] < 15 and boxed["numberReturned"] == boxed["numberMatched"]
    lon, lat = boxed["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 103 < lon < 105 and 21 < lat < 23.5, "GeoJSON in CRS84 (lon, lat)"
    table = client.get("/ogcapi/collections/former-communes/items?limit=1000").get_json()
    assert table["numberMatched"] == 151 + 168 and table["features"][0]["geometry"] is None
    huge = client.get("/ogcapi/collections/former-communes/items?limit=50000").get_json()
    assert huge["numberReturned"] == 319, "limit above 10 000 is lowered to 10 000"
    one = client.get("/ogcapi/collections/communes/items/5")
    assert one.status_code == 200 and one.mimetype == "application/geo+json"
    assert one.get_json()["id"] == 5 and one.get_json()["properties"]["code"]
    gone = client.get("/ogcapi/collections/communes/items?limit=40&offset=40&version=0")
    assert gone.status_code == 409 and gone.get_json()["description"].startswith("version")


def test_items_etag(client):
    first = client.get("/ogcapi/collections/peaks/items")
    again = client.get("/ogcapi/collections/peaks/items", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = client.get("/ogcapi/collections/peaks/items?crs=EPSG:9208", headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200, "another CRS is another representation"


def _synthetic_provider(version: dict):
    """SYNTHETIC: a collection of 250 generated points whose data version the test controls."""
    from geo_app.serve import ogcapi

    def read():
        n = 250 + version["extra"]
        xs = 420_000 + np.arange(n) * 10.0
        return gpd.GeoDataFrame({"name": [f"điểm {i}" for i in range(n)], "rank": np.arange(n)},
                                geometry=gpd.points_from_xy(xs, np.full(n, 2_480_000.0)), crs="EPSG:9208")

    return ogcapi.Provider(
        "synthetic-points", {"vi": "Điểm thử", "en": "Test points"}, {"vi": "", "en": "SYNTHETIC"},
        {"name": "Tên / name", "rank": "Thứ tự / rank"}, "Point", read, lambda: f"v{version['extra']}")


def test_a_plugged_provider_is_a_collection_and_paging_stays_on_its_version(client):
    from geo_app.serve import ogcapi

    version = {"extra": 0}
    ogcapi.register(_synthetic_provider(version))
    try:
        ids = [c["id"] for c in client.get("/ogcapi/collections").get_json()["collections"]]
        assert ids[-1] == "synthetic-points"
        assert "/collections/synthetic-points/items" in client.get("/ogcapi/openapi").get_json()["paths"]
        first = client.get("/ogcapi/collections/synthetic-points/items?limit=100").get_json()
        assert first["numberMatched"] == 250
        nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
        version["extra"] = 5  # the data changes between two pages
        second = client.get(nxt.replace("http://localhost", "")).get_json()
        assert second["numberMatched"] == 250 and second["features"][0]["properties"]["rank"] == 100
        fresh = client.get("/ogcapi/collections/synthetic-points/items?limit=100").get_json()
        assert fresh["numberMatched"] == 255
        version["extra"] = 9
        client.get("/ogcapi/collections/synthetic-points/items?limit=1")
        version["extra"] = 12
        client.get("/ogcapi/collections/synthetic-points/items?limit=1")
        stale = client.get(nxt.replace("http://localhost", ""))
        assert stale.status_code == 409, "a version no longer held: start again"
    finally:
        ogcapi.unregister("synthetic-points")
    assert client.get("/ogcapi/collections/synthetic-points").status_code == 404


def test_whole_layer_pages_are_cached_by_total_bytes(client):
    from geo_app.serve import ogcapi

    first = ogcapi.items("communes", "http://x/ogcapi", {"limit": "10000"})
    assert len(first.json_bytes) > 4 * 1024 * 1024, "the whole layer is several MB"
    again = ogcapi.items("communes", "http://x/ogcapi", {"limit": "10000"})
    assert again is first, "kept although large"
    assert ogcapi._ITEMS_CACHE.bytes <= ogcapi.ITEMS_CACHE_BYTES
    resp = client.get("/ogcapi/collections/communes/items?limit=10000", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip" and len(resp.data) < len(first.json_bytes) / 2


def test_html_representations(client):
    for url in ["/ogcapi", "/ogcapi/conformance", "/ogcapi/collections", "/ogcapi/collections/communes",
                "/ogcapi/collections/communes/items", "/ogcapi/collections/communes/items/1",
                "/ogcapi/collections/communes/queryables", "/ogcapi/openapi"]:
        resp = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert resp.status_code == 200 and resp.mimetype == "text/html", url
        assert client.get(url + "?f=html").mimetype == "text/html"
        assert client.get(url, headers={"Accept": "application/json"}).mimetype in (
            "application/json", "application/geo+json", "application/schema+json",
            "application/vnd.oai.openapi+json"), url
    html = client.get("/ogcapi/collections/communes/items?f=html&limit=5").get_data(as_text=True)
    assert "Xã" in html and 'id="number-matched">99<' in html


def test_html_links_go_to_html_once(client):
    import re

    html = client.get("/ogcapi?f=html").get_data(as_text=True)
    hrefs = re.findall(r'<li><a href="([^"]+)"', html)
    assert len(hrefs) == len(set(hrefs)), "no duplicates"
    assert any("/conformance?f=html" in h for h in hrefs) and any("/collections?f=html" in h for h in hrefs)
    assert not [h for h in hrefs if "f=json" in h and "openapi" not in h], hrefs
    assert 'id="json-alternate"' in html
    api = client.get("/ogcapi/openapi?f=html").get_data(as_text=True)
    assert "/collections/communes/items" in api and "filter-crs" in api
    collection = client.get("/ogcapi/collections/communes?f=html").get_data(as_text=True)
    assert 'id="ogc-map"' in collection and "ogc-map.js" in collection
    item = client.get("/ogcapi/collections/communes/items/1?f=html").get_data(as_text=True)
    assert 'id="ogc-map-feature"' in item
    js = client.get(re.search(r'src="([^"]*ogc-map\.js[^"]*)"', item).group(1))
    assert js.status_code == 200


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
        ("/ogcapi/collections/communes/items?bbox=100,22,101,21", 400, "bbox"),
        ("/ogcapi/collections/communes/items?bbox-crs=EPSG:3857&bbox=1,2,3,4", 400, "bbox-crs"),
        ("/ogcapi/collections/communes/items?crs=EPSG:3405", 400, "crs"),
        ("/ogcapi/collections/communes/items/1?crs=EPSG:3405", 400, "crs"),
        ("/ogcapi/collections/communes/items?filter-crs=EPSG:1", 400, "filter-crs"),
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
    import pandas as pd

    gpkg = client.get("/ogcapi/collections/communes/items?f=gpkg")
    assert gpkg.status_code == 200 and "attachment" in gpkg.headers["Content-Disposition"]
    assert gpkg.headers["Content-Crs"] == f"<{EPSG}9208>"
    frame = gpd.read_file(io.BytesIO(gpkg.data))
    assert len(frame) == 99 and frame.crs.to_epsg() == 9208
    gj = client.get(f"/ogcapi/collections/communes/items?f=geojson&bbox={BOX}")
    assert 0 < len(json.loads(gj.data)["features"]) < 15
    wards = client.get("/ogcapi/collections/communes/items", query_string={"f": "gpkg", "filter": "kind = 'phường'"})
    assert len(gpd.read_file(io.BytesIO(wards.data))) == 10
    csv = client.get("/ogcapi/collections/former-communes/items?f=csv")
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype=str)
    assert len(table) == 319 and "new_commune" in table.columns
    assert "Xã Pha Long" in set(table.loc[table.full_name == "Xã Tả Gia Khâu", "new_commune"])
    csv = client.get("/ogcapi/collections/peaks/items?f=csv")
    assert "wkt_crs84" in csv.get_data(as_text=True).splitlines()[0]


def test_a_provider_without_a_version_is_versioned_by_its_content(client):
    """SYNTHETIC: a reader of its own (as the confirmed production areas have) and no version."""
    from geo_app.serve import ogcapi

    rows = {"n": 3}

    def read():
        return gpd.GeoDataFrame({"name": ["Vùng"] * rows["n"]}, crs="EPSG:9208",
                                geometry=[shapely.box(420_000 + i * 100, 2_480_000, 420_050 + i * 100, 2_480_050)
                                          for i in range(rows["n"])])

    ogcapi.register(ogcapi.Provider.from_layer("communes", read=read))
    try:
        assert client.get("/ogcapi/collections/communes/items").get_json()["numberMatched"] == 3
        rows["n"] = 4
        assert client.get("/ogcapi/collections/communes/items").get_json()["numberMatched"] == 4
    finally:
        ogcapi.unregister("communes")
    assert client.get("/ogcapi/collections/communes/items").get_json()["numberMatched"] == 99
    too_long = client.get("/ogcapi/collections/communes/items", query_string={"filter": "kind = 'x' OR " * 1000 + "1=1"})
    assert too_long.status_code == 400 and too_long.get_json()["description"].startswith("filter")


@pytest.mark.parametrize("op, predicate", [
    ("S_INTERSECTS", shapely.intersects), ("S_DISJOINT", shapely.disjoint), ("S_CONTAINS", shapely.contains),
    ("S_WITHIN", shapely.within), ("S_TOUCHES", shapely.touches), ("S_CROSSES", shapely.crosses),
    ("S_OVERLAPS", shapely.overlaps), ("S_EQUALS", shapely.equals),
])
def test_every_declared_spatial_function(client, op, predicate):
    """CQL2 spatial-functions: each S_ function as shapely computes it in the store CRS."""
    from geo_app import layers

    store = layers.read("communes")
    x0, y0, x1, y1 = store.geometry.values[0].bounds
    literal = shapely.box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    want = [i + 1 for i, g in enumerate(store.geometry.values) if predicate(g, literal)]
    got = client.get("/ogcapi/collections/communes/items", query_string={
        "filter": f"{op}(geometry, {literal.wkt})", "filter-crs": "EPSG:9208", "limit": 200}).get_json()
    assert [f["id"] for f in got["features"]] == want, op


def test_an_empty_plugged_collection(client):
    """SYNTHETIC: a provider with nothing to publish yet (no confirmed version) is an empty collection."""
    from geo_app.serve import ogcapi

    def read():
        return gpd.GeoDataFrame({"product_id": [], "name": []}, geometry=[], crs="EPSG:9208")

    real = ogcapi._PLUGGED.get("production-areas")  # the workflow's provider, put back afterwards
    ogcapi.register(ogcapi.Provider.from_layer("production-areas", read=read, version=lambda: "none",
                                               description={"vi": "Đã xác nhận", "en": "Confirmed"}))
    try:
        doc = client.get("/ogcapi/collections/production-areas").get_json()
        assert doc["numberOfFeatures"] == 0 and doc["description"] == "Đã xác nhận / Confirmed"
        page = client.get("/ogcapi/collections/production-areas/items?crs=EPSG:9208&bbox=103,21,105,23").get_json()
        assert page["numberMatched"] == 0 and page["features"] == []
        assert client.get("/ogcapi/collections/production-areas/queryables").status_code == 200
        assert client.get("/ogcapi/collections/production-areas?f=html").status_code == 200
        assert "/collections/production-areas/items" in client.get("/ogcapi/openapi").get_json()["paths"]
    finally:
        ogcapi.unregister("production-areas")
        if real is not None:
            ogcapi.register(real)
    assert client.get("/ogcapi/collections/production-areas").get_json()["description"] != "Đã xác nhận / Confirmed"


@pytest.mark.parametrize("value, status", [
    ("2025-07-01T00:00:00Z", 200), ("2025-07-01", 200), ("2025-07-01/..", 200), ("../2025-07-01T00:00:00+07:00", 200),
    ("yesterday", 400), ("../..", 400), ("2025-13", 400), ("2025-02-30", 400),
])
def test_datetime_is_validated(client, value, status):
    resp = client.get("/ogcapi/collections/peaks/items", query_string={"datetime": value})
    assert resp.status_code == status, value
    if status == 200:
        assert resp.get_json()["numberMatched"] == client.get("/ogcapi/collections/peaks/items").get_json()["numberMatched"]
    else:
        assert resp.get_json()["description"].startswith("datetime")
