"""End to end in a real browser: Playwright for Python driving Debian's Chromium (apt package
``chromium``; Playwright's own browser download is not used), against the app under waitress."""
from __future__ import annotations

import hashlib
import json

import pytest
from support.browser import launch
from support.web import PASSWORD, ROLE_USERS, ensure_users, live_server

PRODUCT = "lon-den-van-ban"
POLYGON = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"ten": "Vùng thử"},
           "geometry": {"type": "Polygon", "coordinates": [[[104.00, 21.95], [104.08, 21.95], [104.08, 22.01],
                                                            [104.00, 22.01], [104.00, 21.95]]]}}]}


@pytest.fixture(scope="module")
def browser():
    with launch() as browser:
        yield browser


def _login(page, base, role):
    page.goto(base + "/login")
    page.fill("#name", ROLE_USERS[role])
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#who")


def test_browser_map_search_upload_confirm_download(browser, store_home, tmp_path):
    ensure_users()
    polygon = tmp_path / "vung-thu.geojson"
    polygon.write_text(json.dumps(POLYGON), encoding="utf-8")
    with live_server(store_home) as base:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        requested, errors = [], []
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))

        # the map draws every layer, with the JS/CSS served by the app itself
        page.goto(base + "/")
        for layer_id in ("communes", "province", "former-districts"):
            page.wait_for_selector(f"body[data-loaded-{layer_id}]", state="attached", timeout=30000)
        assert page.get_attribute("body", "data-loaded-communes") == "99"
        assert page.locator(".leaflet-overlay-pane path, .leaflet-pane path").count() > 99
        assert "Lớp dữ liệu và chú giải" in page.content()

        # layer toggles
        page.uncheck("#toggle-communes")
        assert page.get_attribute("body", "data-visible-communes") == "false"
        page.check("#toggle-communes")
        assert page.get_attribute("body", "data-visible-communes") == "true"

        # search without diacritics; says which 2025 commune it went into
        page.fill("#search", "ta gia khau")
        hit = page.locator(".hit-former-commune", has_text="Tả Gia Khâu").first
        hit.wait_for(timeout=10000)
        assert "Xã Pha Long" in hit.inner_text()
        hit.click()
        page.wait_for_selector("body[data-selected='Xã Pha Long']", state="attached")

        # English switch
        page.click("#lang-en")
        page.wait_for_selector("text=Layers and legend")
        page.click("#lang-vi")
        page.wait_for_selector("text=Lớp dữ liệu và chú giải")

        # an officer uploads a polygon, sees the report, submits
        _login(page, base, "officer")
        page.goto(f"{base}/products/{PRODUCT}")
        page.set_input_files("#file", str(polygon))
        page.click("#save-draft")
        page.wait_for_selector("#report", timeout=60000)
        assert page.get_attribute("#status", "data-status") == "draft"
        page.click("#submit-version")
        page.wait_for_selector("#status[data-status=submitted]")
        page.click("#logout")

        # an approver confirms: the dossier is made and its hash shown; download it
        _login(page, base, "approver")
        page.goto(f"{base}/products/{PRODUCT}")
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))  # "are you sure?"
        page.click("#confirm-version", timeout=10000, no_wait_after=True)  # the dossier takes seconds; waited for below
        page.wait_for_selector("#status[data-status=confirmed]", timeout=180000)
        assert asked and "hồ sơ" in asked[0], "confirm asks first"
        assert page.is_visible("#dossier-download"), "the dossier is linked with its sha256"
        shown_hash = page.inner_text("#dossier-sha").strip()
        with page.expect_download() as info:
            page.click(".dossier-link")
        target = tmp_path / "dossier.zip"
        info.value.save_as(target)
        assert hashlib.sha256(target.read_bytes()).hexdigest() == shown_hash
        page.goto(f"{base}/products/{PRODUCT}/history")
        assert page.locator("#history .history-entry[data-action=confirm]", has_text="Confirmed").count() == 1

        external = [u for u in requested if not u.startswith(base) and not u.startswith("data:")]
        assert not external, external
        assert not errors, errors
        context.close()
