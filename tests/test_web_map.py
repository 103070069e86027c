import re


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


def test_bad_layer_requests(client):
    assert client.get("/data/nope.geojson").status_code == 404
    assert client.get("/data/former-communes.geojson").status_code == 404
    assert client.get("/data/communes.geojson?zoom=abc").status_code == 400
    assert client.get("/data/communes.geojson?zoom=99").status_code == 400
