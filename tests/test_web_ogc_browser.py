"""The OGC API's HTML pages in a real browser (Debian's Chromium through Playwright): the small
maps draw the collection's and the feature's geometry, with no script error or CSP violation, and
every link on the landing page leads to an HTML page."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.web import live_server

CHROMIUM = os.environ.get("GEO_APP_CHROMIUM", "/usr/bin/chromium")


def test_ogc_html_maps_and_links_in_a_browser(store_home):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (make install-test installs it)")
    with live_server(store_home) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            problems = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "404" not in m.text else None)
            # a missing resource is named by its URL (the console message does not say which)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            for url in ("/ogcapi/collections/communes?f=html", "/ogcapi/collections/communes/items/7?f=html",
                        "/ogcapi/collections/peaks/items?f=html&limit=20"):
                page.goto(base + url)
                page.wait_for_selector("#ogc-map path.leaflet-interactive, #ogc-map .leaflet-interactive",
                                       timeout=30_000)
            assert not problems, problems
            page.goto(base + "/ogcapi?f=html")
            hrefs = page.eval_on_selector_all("main ul a", "els => els.map(e => e.href)")
            assert len(hrefs) == len(set(hrefs)) >= 4
            for href in hrefs:
                if "openapi?f=json" in href:
                    continue
                resp = page.goto(href)
                assert resp.status == 200 and "text/html" in resp.headers["content-type"], href
        finally:
            browser.close()
