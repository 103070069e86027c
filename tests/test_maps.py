"""Folium maps and the standalone offline map: presentation from the layer YAML, Leaflet inlined, nothing fetched."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from rasterio.transform import from_origin
from support.browser import launch

from geo_app import layers
from geo_app.serve.maps import MapError, folium_map, raster_overlay
from geo_app.serve.maps.export import export_map
from geo_app.serve.maps.folium_map import render_page
from geo_app.serve.maps.presentation import format_number, popup_html

#: anything a browser would fetch from elsewhere: scripts, styles, images, frames, CSS urls (a link one may click,
#: such as Leaflet's attribution, fetches nothing)
EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
                      re.I)


def test_popup_from_the_layer_yaml():
    """Rows, units, coded values in words and the number format of the web map, in the reader's language."""
    info = layers.info("water-balance")
    props = {"full_name": "Xã Bản Hồ", "status_code": "short", "population": 4321, "demand_ls": 3.0012}
    vi, en = popup_html(info, props, "vi"), popup_html(info, props, "en")
    assert "<b>Xã Bản Hồ</b>" in vi and "<th>Tình trạng</th><td>thiếu nước</td>" in vi
    assert "<td>4.321</td>" in vi and "<td>3 L/s</td>" in vi
    assert "<th>Status</th><td>short of water</td>" in en and "<td>4,321</td>" in en
    assert format_number(1234.56, 1, "vi") == "1.234,6" and format_number(0.5, 2, "en") == "0.5"
    # values are escaped: a name from a user's file cannot inject markup into the page
    assert "<script>" not in popup_html(info, {"full_name": "<script>x</script>"})


def test_web_map_keeps_its_shape(client):
    """The page gets the YAML's rows as [field, {vi, en}, unit, digits], and the production areas their
    status words and the dossier's colours from production-areas.yaml."""
    html = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))
    by_id = {entry["id"]: entry for entry in config["layers"]}
    assert by_id["communes"]["popup"][1] == ["area_ha", {"vi": "Diện tích", "en": "Area"}, "ha", 1]
    areas = by_id["production-areas"]
    assert areas["style"] == layers.info("production-areas").style
    assert areas["values"]["status"]["confirmed"] == {"vi": "đã xác nhận", "en": "confirmed"}


def test_folium_map_is_offline_and_styled(store_home):
    page = render_page(folium_map(["communes", "province", "peaks"], lang="en", synthetic={"peaks"}))
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "* Leaflet 1.9" in page  # Leaflet itself is in the page
    # the legend in the reader's language, the YAML's styles, only the made-up layer marked
    assert "2025 communes and wards" in page and "Peak (SYNTHETIC)" in page and "SYNTHETIC —" in page
    assert "2025 communes and wards (SYNTHETIC)" not in page
    assert '"fillColor":"#f2efe9"' in page  # communes.yaml style
    # every commune is drawn, simplified, with its popup and no other property
    features = re.findall(r'\{"type":"Feature","properties":\{"p":', page)
    assert len(features) == 99 + 1 + 1
    assert '"code":' not in page


def test_the_same_inputs_give_the_same_page(store_home):
    one = render_page(folium_map(["province", "rivers"]))
    two = render_page(folium_map(["province", "rivers"]))
    assert one == two


def test_class_raster_overlay_has_the_class_colours_and_legend(store_home):
    """A SYNTHETIC five-class raster over Sa Pa: warped to Web Mercator, coloured as the class polygons."""
    classes = np.repeat(np.arange(0, 6, dtype=np.uint8)[None, :], 4, axis=0).repeat(10, axis=1)
    transform = from_origin(380000, 2475000, 30, 30)
    overlay = raster_overlay("potential-class", classes, transform, "EPSG:9208", synthetic=True)
    page = render_page(folium_map([], rasters=[overlay]))
    assert page.count("data:image/png;base64,") >= 1
    styles = layers.info("groundwater-potential").classes["classes"]
    for entry in styles:
        assert entry["style"]["fillColor"] in page  # one legend line per class
    assert "rất cao" in page and "SYNTHETIC" in page
    box = re.search(r'L\.imageOverlay\(\s*"data:[^"]+",\s*(\[\[.*?\]\])', page, re.S).group(1)
    south, west, north, east = (float(v) for v in re.findall(r"-?\d+\.?\d*", box))
    assert 21 < south < north < 23.5 and 103 < west < east < 105.5


def test_overlay_kind_must_exist():
    with pytest.raises(MapError, match="overlay kind"):
        raster_overlay("no-such", np.zeros((2, 2)), from_origin(0, 0, 1, 1), "EPSG:9208")


def test_export_map_is_small_and_says_when_nothing_is_confirmed(store_home, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_APP_HOME", str(store_home))
    out = tmp_path / "ban-do.html"
    result = export_map(out, ["communes", "former-districts", "rivers", "peaks"])
    page = out.read_text(encoding="utf-8")
    assert result.bytes == len(page.encode("utf-8"))
    assert not EXTERNAL.search(page)
    if result.confirmed_areas == 0:
        assert "Chưa có vùng sản xuất nào được xác nhận" in page
    # the same layers through GeoDataFrame.explore() (full geometry, every property, CDN scripts)
    pytest.importorskip("mapclassify")  # explore() needs it; installed by `make test` ([test] extra)
    fmap = None
    for layer_id in ("province", "communes", "former-districts", "rivers", "peaks"):
        frame = layers.read(layer_id)
        fmap = frame.explore(m=fmap, name=layer_id) if fmap is not None else frame.explore(name=layer_id)
    explore_bytes = len(fmap.get_root().render().encode("utf-8"))
    assert result.bytes * 10 <= explore_bytes, (result.bytes, explore_bytes)


def test_export_map_refuses_drafts_and_tables(store_home, tmp_path):
    with pytest.raises(MapError, match="là bảng"):
        export_map(tmp_path / "x.html", ["former-communes"])
    assert not (tmp_path / "x.html").exists()
    # asking for the production areas gives the confirmed ones only: no draft leaves the system
    result = export_map(tmp_path / "y.html", ["production-areas"])
    page = (tmp_path / "y.html").read_text(encoding="utf-8")
    assert result.layers == ("province",) and "bản nháp" not in page and "Vùng sản xuất đã xác nhận" in page


@pytest.fixture(scope="module")
def browser():
    with launch() as browser:
        yield browser


def test_offline_file_draws_and_popups_work(browser, store_home, tmp_path):
    """Opened from file:// with every network request refused: it draws, and a click opens a popup."""
    out = tmp_path / "ban-do.html"
    export_map(out, ["communes", "rivers", "peaks"], lang="vi")
    context = browser.new_context()
    refused, errors = [], []
    context.route(re.compile(r"^(?!file:|data:).*"), lambda route: (refused.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached", timeout=30000)
    assert page.locator(".leaflet-overlay-pane path").count() >= 99
    assert page.locator(".geo-legend").count() == 1
    assert "Ranh giới tỉnh" in page.inner_text(".geo-legend")
    # a commune in the middle of the map: its popup names it and gives its code
    page.evaluate("""() => { var m = Object.values(window).find(v => v instanceof L.Map);
                             var hit = null;
                             m.eachLayer(l => { if (!hit && l.feature && /Xã|Phường/.test(l.feature.properties.p)) hit = l; });
                             hit.openPopup(hit.getBounds().getCenter()); }""")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10000)
    assert "Mã" in popup.inner_text() and "Diện tích" in popup.inner_text()
    page.locator(".leaflet-popup-close-button").click()
    # and a real click on a drawn path opens one too
    box = page.locator(".leaflet-overlay-pane path").nth(5).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert errors == [] and refused == []
    context.close()
