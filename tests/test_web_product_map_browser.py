"""In a real browser (Debian's Chromium through Playwright): an officer draws an area on the product map,
cuts a hole in it, saves it with the draft, the product map shows the version's frozen boundary, and the sheet preview of it
appears before submitting."""
from __future__ import annotations

import json

import pytest
import shapely
from support.browser import launch
from support.web import PASSWORD, ROLE_USERS, ensure_users, isolated_home, live_server

PRODUCT = "rau-an-toan-bao-thang"


@pytest.fixture(scope="module")
def browser():
    with launch() as browser:
        yield browser


def _loaded(page, *names):
    for name in names:
        page.wait_for_selector(f"#product-map[data-loaded~={name}]", state="attached", timeout=60000)


def test_officer_draws_saves_and_sees_the_area(browser, store_home, tmp_path):
    with isolated_home(store_home, tmp_path / "home") as home:
        ensure_users()
        with live_server(home) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            requested, errors = [], []
            page.on("request", lambda r: requested.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/login")
            page.fill("#name", ROLE_USERS["officer"])
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("#who")

            page.goto(f"{base}/products/{PRODUCT}")
            _loaded(page, "communes", "districts", "area", "points", "compare")
            # the seeded draft's frozen area and its numbered points are on the map
            assert page.locator(".leaflet-p-area-pane path").count() >= 1
            assert page.locator(".point-label").count() >= 3

            # only the drawn area this time: no commune from the list
            for select in ("#communes_2025", "#former_communes", "#former_districts"):
                page.select_option(select, [])
            page.locator("#product-map").scroll_into_view_if_needed()
            box = page.locator("#product-map").bounding_box()  # after scrolling: mouse positions are in the viewport
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            # a click on a commune selects it in the list, a second click deselects it
            selected = "Array.from(document.querySelectorAll('#communes_2025 option:checked')).map(o => o.value)"
            page.mouse.click(cx, cy)
            page.wait_for_function(f"{selected}.length === 1", timeout=10000)
            page.mouse.click(cx, cy)
            page.wait_for_function(f"{selected}.length === 0", timeout=10000)
            # draw a square of 120 px around the map's centre (inside Bảo Thắng, inside the province)
            page.click(".leaflet-pm-icon-polygon")
            corners = [(cx - 60, cy - 60), (cx + 60, cy - 60), (cx + 60, cy + 60), (cx - 60, cy + 60)]
            for x, y in corners:
                page.mouse.click(x, y)
            # "Xong / Finish" closes it (a click on the first vertex may miss it when snapping moved that vertex)
            page.click(".leaflet-pm-toolbar .action-finish >> visible=true")
            page.wait_for_selector("#product-map[data-drawn='1']", state="attached", timeout=10000)
            # cut a hole of 40 px in its middle
            page.click(".leaflet-pm-icon-cut")
            for x, y in [(cx - 20, cy - 20), (cx + 20, cy - 20), (cx + 20, cy + 20), (cx - 20, cy + 20)]:
                page.mouse.click(x, y)
            page.click(".leaflet-pm-toolbar .action-finish >> visible=true")
            page.wait_for_function("JSON.parse(document.getElementById('drawn').value || '{\"features\": []}')"
                                   ".features.some(f => f.geometry.coordinates.length === 2)", timeout=10000)
            drawn = json.loads(page.input_value("#drawn"))
            assert len(drawn["features"]) == 1 and drawn["features"][0]["geometry"]["type"] == "Polygon"
            drawn_shape = shapely.geometry.shape(drawn["features"][0]["geometry"])

            page.click("#save-draft")
            page.wait_for_selector("#saved-notice", timeout=120000)
            assert page.get_attribute("#status", "data-status") == "draft"
            assert "vung-ve-tren-ban-do.geojson" in page.content(), "the drawn area is the version's file"
            assert page.get_attribute("#report", "class") == "ok", page.inner_text("#report")
            _loaded(page, "area", "points")
            assert page.locator(".leaflet-p-area-pane path").count() >= 1

            # the map shows the frozen boundary, which is the drawn square (moved into EPSG:9208 and back)
            area_url = page.get_attribute("#product-map", "data-area")
            frozen = page.request.get(base + area_url).json()["features"][0]
            shown = shapely.geometry.shape(frozen["geometry"])
            assert shown.symmetric_difference(drawn_shape).area / drawn_shape.area < 0.01
            assert len(shown.interiors) == 1, "the hole is kept"
            assert page.inner_text("#geometry-sha").rstrip("…") == frozen["properties"]["geometry_sha256"][:16]

            # before submitting: page 1 of the sheet for this boundary, on A4
            page.select_option("#preview-paper", "A4")
            page.click("#preview-show")
            page.wait_for_selector("#preview-link:not([hidden])", timeout=180000)
            width, height = page.evaluate("[document.getElementById('preview-image').naturalWidth,"
                                          " document.getElementById('preview-image').naturalHeight]")
            assert max(width, height) > 1100 and min(width, height) > 800, (width, height)  # A4 at 100 dpi

            external = [u for u in requested if not u.startswith(base) and not u.startswith("data:")]
            assert not external, external
            assert not errors, errors
            context.close()
