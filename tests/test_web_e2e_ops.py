"""In Debian's Chromium (Playwright): an admin adds a user and resets a password; the basemap falls back
to the offline base once when its tiles cannot load; each layer is fetched once for the first view;
on a 390×844 phone the map keeps the screen, the panel is a drawer, popups stay clear of the controls.
No fixed sleeps: every wait is for a state the page announces (data-* attributes on <body>)."""
from __future__ import annotations

import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest
from support.servers import app_server, free_port
from support.web import PASSWORD, ROLE_USERS, ensure_users
from test_web_e2e import browser  # noqa: F401  (the module's Chromium fixture)

LAYERS_LOADED = "() => document.querySelectorAll('#layer-list input:checked').length > 0 && " \
    "Array.from(document.querySelectorAll('#layer-list input:checked')).every(" \
    "i => document.body.hasAttribute('data-loaded-' + i.id.slice(7)))"


@pytest.fixture(scope="module")
def site(store_home, tmp_path_factory):
    ensure_users()
    # a tile server that is not there: connections to this port are refused
    config = {"OFFLINE_MAP": False, "BASEMAP_URL": f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"}
    with app_server(store_home, tmp_path_factory.mktemp("e2e-ops"), config) as (port, _):
        yield f"http://127.0.0.1:{port}", urlsplit(config["BASEMAP_URL"]).netloc


def _login(page, base, name, password):
    page.goto(base + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_load_state()


def test_admin_adds_user_and_resets_password(browser, site):  # noqa: F811
    base, _ = site
    admin_ctx, user_ctx = browser.new_context(), browser.new_context()
    admin, user = admin_ctx.new_page(), user_ctx.new_page()
    admin.set_default_timeout(120000)
    user.set_default_timeout(120000)
    errors = []
    admin.on("pageerror", lambda e: errors.append(str(e)))
    _login(admin, base, ROLE_USERS["admin"], PASSWORD)
    admin.click("#nav-admin-users")
    admin.wait_for_selector("#add-user-form")
    name = f"can-bo-{uuid.uuid4().hex[:6]}"
    admin.fill("#new-name", name)
    admin.select_option("#new-role", "officer")
    admin.click("#add-user")
    first = admin.inner_text("#temporary-password").strip()
    assert len(first) == 12
    assert admin.locator(f"tr[data-user='{name}'] .state").inner_text().strip() == "Chờ đổi mật khẩu tạm"

    # the newcomer must choose a password before anything else
    _login(user, base, name, first)
    user.wait_for_selector("#must-change")
    user.fill("#current_password", first)
    user.fill("#new_password", "mat-khau-moi-1")
    user.fill("#new_password_again", "mat-khau-moi-1")
    user.click("#change-password")
    user.wait_for_selector("#who")
    assert name in user.inner_text("#who") and urlsplit(user.url).path == "/"

    # the admin resets it: a new temporary password, shown once; the user's session ends
    admin.goto(base + "/admin/users")
    admin.click(f"tr[data-user='{name}'] .reset-password")
    second = admin.inner_text("#temporary-password").strip()
    assert second != first and len(second) == 12
    assert admin.locator("#account-audit td.action[data-action='reset-password']").count() >= 1
    admin.goto(base + "/admin/users")
    assert admin.locator("#temporary-password").count() == 0, "shown once"
    user.reload()
    assert user.locator("#who").count() == 0
    _login(user, base, name, second)
    user.wait_for_selector("#must-change")
    assert not errors, errors
    admin_ctx.close()
    user_ctx.close()


def test_basemap_falls_back_once_and_each_layer_is_fetched_once(browser, site):  # noqa: F811
    base, tile_host = site
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120000)  # a busy 2-core machine: a bound, not a pace
    requests, console_errors, page_errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("body[data-basemap-fallback='true']", state="attached")
    assert page.is_visible("#basemap-note")
    assert page.get_attribute("body", "data-basemap") == "none"
    assert page.is_checked("#basemap-none")
    page.wait_for_function(LAYERS_LOADED)
    page.wait_for_load_state("networkidle")
    tiles = [u for u in requests if urlsplit(u).netloc == tile_host]
    assert len(tiles) == 1, tiles  # the one probe, not one per tile
    assert len(console_errors) <= 1, console_errors
    assert not page_errors, page_errors
    data = Counter(urlsplit(u).path for u in requests if urlsplit(u).path.startswith("/data/"))
    assert data and set(data.values()) == {1}, data
    icon = page.request.get(base + "/favicon.ico")  # what browsers ask for on their own
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    context.close()


def test_phone_layout_map_keeps_the_screen(browser, site):  # noqa: F811
    base, _ = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(120000)
    page.goto(base + "/")
    page.wait_for_function(LAYERS_LOADED)
    box = page.locator("#map").bounding_box()
    share = box["width"] * box["height"] / (390 * 844)
    assert share >= 0.85, share
    assert not page.is_visible("#panel") and page.get_attribute("body", "data-panel") == "closed"
    # a popup opened right beside the zoom buttons (the first view is still: it is not animated) is moved
    # clear of every control
    page.evaluate("""() => { const m = window.geoAppMap;
        L.popup().setLatLng(m.containerPointToLatLng([30, 30]))
          .setContent('<div class="popup"><b>Xã thử</b><table>' + '<tr><th>Mã</th><td>00000</td></tr>'.repeat(8)
                      + '</table></div>').openOn(m); }""")
    page.wait_for_selector("body[data-popup='open']", state="attached")
    page.wait_for_function("() => !window.geoAppMap._panAnim || !window.geoAppMap._panAnim._inProgress")
    overlaps = page.evaluate("""() => {
        const p = document.querySelector('.leaflet-popup').getBoundingClientRect();
        const hit = r => r.width && !(r.right <= p.left || r.left >= p.right || r.bottom <= p.top || r.top >= p.bottom);
        return Array.from(document.querySelectorAll('.leaflet-control, #panel-toggle'))
          .filter(c => hit(c.getBoundingClientRect())).map(c => c.className || c.id); }""")
    assert not overlaps, overlaps
    page.click("#panel-toggle")
    page.wait_for_selector("#panel", state="visible")
    page.fill("#search", "ta gia khau")
    hit = page.locator(".hit-former-commune", has_text="Tả Gia Khâu").first
    hit.click()
    page.wait_for_selector("body[data-panel='closed']", state="attached")
    assert not page.is_visible("#panel")
    context.close()
