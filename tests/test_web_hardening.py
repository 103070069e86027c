"""Regression tests for the web review findings: response caches, numbers in URLs, sessions, the
proxy setting, the confirmed-version guarantee, refused uploads, API errors, ETags, bboxes, messages."""
import io
import json
import re
import sqlite3
import uuid
import zipfile

import pytest
from click.testing import CliRunner
from support.web import PASSWORD, csrf_token, ensure_users, isolated_home, login

PRODUCT = "rau-an-toan-bao-thang"
POLYGON = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "vùng thử"},
           "geometry": {"type": "Polygon", "coordinates": [[[104.10, 22.10], [104.16, 22.10], [104.16, 22.15],
                                                            [104.10, 22.15], [104.10, 22.10]]]}}]}
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _user(role: str) -> str:
    """A fresh account of its own (these tests change passwords and disable accounts)."""
    from geo_app.serve import accounts

    name = f"t-{role}-{uuid.uuid4().hex[:8]}"
    accounts.add_user(name, role, PASSWORD)
    return name


def _login_as(client, name: str):
    resp = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


# --- 2. response caches keyed on normalised values, bounded -------------------------------------------

def test_bounded_cache_keeps_its_byte_limit():
    from geo_app.serve.cache import BoundedCache

    cache = BoundedCache(max_bytes=1000, max_entry=300)
    for i in range(100):
        cache.get_or_make(i, lambda: b"x" * 200, len)
    assert cache.bytes <= 1000 and len(cache) == 5
    big = cache.get_or_make("big", lambda: b"y" * 301, len)
    assert len(big) == 301 and "big" not in cache._data, "too large to keep"
    assert cache.get_or_make(99, lambda: pytest.fail("cached"), len) == b"x" * 200


def test_ogc_items_cache_keyed_on_normalised_query(client):
    from geo_app.serve import ogcapi

    ogcapi._ITEMS_CACHE.clear()
    for i in range(15):  # limits above the cap are one query; so is noise below 1e-6° in a bbox
        assert client.get(f"/ogcapi/collections/peaks/items?limit={10000 + i}").status_code == 200
        boxed = client.get(f"/ogcapi/collections/communes/items?limit=5&bbox=103.8,22.3,{103.9 + i * 1e-9!r},22.4")
        assert boxed.status_code == 200
    assert len(ogcapi._ITEMS_CACHE) == 2, len(ogcapi._ITEMS_CACHE)
    # a whole layer is kept too: the cache is bounded by its total bytes, not by a per-entry cap
    ogcapi._ITEMS_CACHE.clear()
    whole = client.get("/ogcapi/collections/communes/items?limit=10000")
    assert whole.status_code == 200 and len(whole.data) < ogcapi.ITEMS_CACHE_MAX_ENTRY
    assert len(ogcapi._ITEMS_CACHE) == 1 and 0 < ogcapi._ITEMS_CACHE.bytes <= ogcapi.ITEMS_CACHE_BYTES


def test_data_cache_keyed_on_floored_zoom_and_snapped_bbox(client):
    from geo_app.serve.web import map_view

    map_view._DATA_CACHE.clear()
    for i in range(15):
        resp = client.get(f"/data/communes.geojson?zoom={21 + i / 100!r}"
                          f"&bbox=103.8,22.3,{103.8001 + i * 1e-7!r},22.3001")
        assert resp.status_code == 200
    assert len(map_view._DATA_CACHE) == 1
    assert map_view._DATA_CACHE.bytes <= map_view.DATA_CACHE_BYTES


# --- 3. numbers in URLs -----------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["99999999999999999999", "999999999999999999999999999999", "%D9%A1", "1_0",
                                    "%20%2B1", "0", "-1"])
def test_versions_in_urls_are_ascii_and_range_checked(client, number):
    ensure_users()
    resp = client.get(f"/products/{PRODUCT}/{number}/dossier.zip", headers=JSON)
    assert resp.status_code == 400, resp.data[:200]
    assert resp.get_json()["description"].startswith("version")
    login(client, "admin")
    token = csrf_token(client, "/")
    for action in ("submit", "return", "confirm"):
        resp = client.post(f"/products/{PRODUCT}/{number}/{action}", data={"csrf_token": token, "comment": "x"},
                           headers=JSON)
        assert resp.status_code == 400, (action, resp.data[:200])
        assert resp.get_json()["description"].startswith("version")


@pytest.mark.parametrize("fid", ["%D9%A1", "1_0", "%20%2B1", "+1", "99999999999999999999999"])
def test_ogc_feature_ids_are_ascii_digits(client, fid):
    resp = client.get(f"/ogcapi/collections/communes/items/{fid}")
    assert resp.status_code == 404 and resp.get_json()["description"].startswith("featureId")
    assert client.get("/ogcapi/collections/communes/items?limit=1_0").status_code == 400
    assert client.get("/ogcapi/collections/communes/items?limit=%D9%A1").status_code == 400


# --- 4. sessions end on logout, password change and deactivation ------------------------------------

def _draft_post(client, token):
    return client.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "communes_2025": "x"}, headers=JSON)


def test_cookie_replayed_after_logout_is_refused(app):
    name = _user("officer")
    client = app.test_client()
    _login_as(client, name)
    token = csrf_token(client, "/")
    saved = client.get_cookie("session").value
    assert _draft_post(client, token).status_code == 400, "logged in: the request reaches the view"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    client.set_cookie("session", saved)  # the cookie kept from before the logout
    resp = _draft_post(client, token)
    assert resp.status_code == 401, resp.data[:200]
    assert name not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("how", ["passwd", "disable"])
def test_password_change_and_disable_end_sessions(app, how):
    from geo_app.cli import main
    from geo_app.serve import accounts

    name = _user("officer")
    client = app.test_client()
    _login_as(client, name)
    token = csrf_token(client, "/")
    assert _draft_post(client, token).status_code == 400
    if how == "passwd":
        result = CliRunner().invoke(main, ["users", "passwd", name, "--password-stdin"], input="another-pass-1\n")
        assert result.exit_code == 0, result.output
        assert accounts.authenticate(name, "another-pass-1") is not None
    else:
        result = CliRunner().invoke(main, ["users", "disable", name])
        assert result.exit_code == 0, result.output
        assert accounts.authenticate(name, PASSWORD) is None
        assert "(disabled)" in CliRunner().invoke(main, ["users", "list"]).output
    assert _draft_post(client, token).status_code == 401
    unknown = CliRunner().invoke(main, ["users", "disable", "no-such-user"])
    assert unknown.exit_code != 0 and "no user" in unknown.output


def test_old_session_format_is_refused(app):
    """A cookie holding only the user id (before session versions) no longer logs anyone in."""
    from geo_app.serve import accounts

    name = _user("officer")
    client = app.test_client()
    user = next(u for u in accounts.list_users() if u.name == name)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    assert _draft_post(client, csrf_token(client, "/")).status_code == 401


# --- 5. behind an HTTPS proxy -------------------------------------------------------------------------

def test_behind_proxy_opt_in(store_home):
    from geo_app.serve.web import create_app

    ensure_users()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gis.example.vn", "X-Forwarded-For": "203.0.113.5"}
    plain = create_app({"TESTING": True, "SECRET_KEY": "t"}).test_client()
    assert "Strict-Transport-Security" not in plain.get("/login", headers=forwarded).headers
    proxied = create_app({"TESTING": True, "SECRET_KEY": "t", "BEHIND_PROXY": True}).test_client()
    page = proxied.get("/login", headers=forwarded)
    assert "Strict-Transport-Security" in page.headers
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = proxied.post("/login", data={"name": "u-viewer", "password": PASSWORD, "csrf_token": token},
                        headers={**forwarded, "Referer": "https://gis.example.vn/login"})
    assert resp.status_code == 302 and "Secure" in resp.headers["Set-Cookie"]
    links = proxied.get("/ogcapi?f=json", headers=forwarded).get_json()["links"]
    assert links[0]["href"].startswith("https://gis.example.vn/ogcapi")


# --- 6. a confirmed version cannot be replaced -------------------------------------------------------

def _versions_db(tmp_path):
    from geo_app.io.sqlite import transaction
    from geo_app.production import workflow

    path = tmp_path / "wf.sqlite3"
    with transaction(path, workflow.SCHEMA) as con:
        for number, status in ((1, "confirmed"), (2, "draft")):
            con.execute("INSERT INTO versions (product_id, version, status, area_json, created_by, created_at, "
                        "updated_at) VALUES ('p', ?, ?, '{}', 'u', 't', 't')", (number, status))
    return path


def test_confirmed_version_cannot_be_replaced_at_sql_level(tmp_path):
    from geo_app.io.sqlite import transaction
    from geo_app.production import workflow

    path = _versions_db(tmp_path)
    replace = ("INSERT OR REPLACE INTO versions (product_id, version, status, area_json, created_by, created_at, "
               "updated_at) VALUES ('p', 1, 'draft', '{\"x\": 1}', 'evil', 't', 't')")
    # a plain connection (recursive_triggers off, as sqlite3 defaults): the INSERT trigger refuses it
    with pytest.raises(sqlite3.DatabaseError, match="confirmed"):
        with sqlite3.connect(path) as con:
            con.execute(replace)
    with pytest.raises(sqlite3.DatabaseError, match="confirmed"):
        with sqlite3.connect(path) as con:
            con.execute("UPDATE OR REPLACE versions SET version = 1 WHERE version = 2")
    # the application's transactions
    with pytest.raises(sqlite3.DatabaseError, match="confirmed"):
        with transaction(path, workflow.SCHEMA) as con:
            con.execute(replace)
    with transaction(path, workflow.SCHEMA) as con:
        assert con.execute("PRAGMA recursive_triggers").fetchone()[0] == 1
        rows = con.execute("SELECT version, status, area_json FROM versions ORDER BY version").fetchall()
    assert [tuple(r) for r in rows] == [(1, "confirmed", "{}"), (2, "draft", "{}")]
    # a draft can still be replaced (the workflow never does, but the trigger targets confirmed rows only)
    with sqlite3.connect(path) as con:
        con.execute("INSERT OR REPLACE INTO versions (product_id, version, status, area_json, created_by, created_at, "
                    "updated_at) VALUES ('p', 2, 'draft', '{}', 'u', 't', 't')")


# --- 7 and 11. refused uploads leave nothing behind and name the user's file -------------------------

def _files(home):
    folder = home / "workflow" / "files"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _upload(client, token, name="area.geojson", content=None, **fields):
    content = content if content is not None else json.dumps(POLYGON).encode()
    return client.post(f"/products/{PRODUCT}/draft",
                       data={"csrf_token": token, "file": (io.BytesIO(content), name), **fields},
                       content_type="multipart/form-data", headers=JSON)


def test_refused_upload_is_not_stored(store_home, tmp_path):
    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home") as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        officer = app.test_client()
        login(officer, "officer")
        token = csrf_token(officer, "/")
        before = _files(home)
        resp = _upload(officer, token, communes_2025="99999")  # a valid polygon, an unknown commune code
        assert resp.status_code == 400 and resp.get_json()["description"].startswith("communes_2025")
        assert _files(home) == before
        # wrong state: the draft is submitted
        from geo_app import layers

        communes = layers.read("communes")
        code = communes.loc[communes.full_name == "Xã Bảo Thắng", "code"].iloc[0]
        assert officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "communes_2025": code}).status_code == 302
        number = workflow.latest(PRODUCT).version
        assert officer.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}).status_code == 302
        before = _files(home)
        resp = _upload(officer, token)
        assert resp.status_code == 409 and resp.get_json()["description"].startswith("status")
        assert _files(home) == before
        # the state named in words of each language
        resp = officer.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}, headers=JSON)
        message = resp.get_json()["description"]
        assert resp.status_code == 409 and "«đã trình»" in message and "«bản nháp»" in message, message
        vi, en = message.split(" / ", 1)
        assert "submitted" not in vi and "'submitted'" in en


def test_upload_errors_name_the_users_file_not_the_server(store_home, tmp_path):
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home") as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        officer = app.test_client()
        login(officer, "officer")
        token = csrf_token(officer, "/")
        for name, content in (("ranh-gioi.geojson", b"{not json"), ("ranh.zip", b"PK\x03\x04 broken")):
            resp = _upload(officer, token, name=name, content=content)
            assert resp.status_code == 400
            message = resp.get_json()["description"]
            assert message.startswith("file") and name in message, message
            assert ".upload-" not in message and str(home) not in message and "/tmp" not in message, message
        assert _files(home) == []


def test_zip_bomb_upload_refused(store_home, tmp_path):
    from geo_app.serve.web import create_app

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("area.csv", "w", force_zip64=True) as out:
            for _ in range(300):
                out.write(b"0" * (1 << 20))
    with isolated_home(store_home, tmp_path / "home") as home:
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        officer = app.test_client()
        login(officer, "officer")
        resp = _upload(officer, csrf_token(officer, "/"), name="bomb.zip", content=buf.getvalue())
        assert resp.status_code == 400 and "200 MB" in resp.get_json()["description"]
        assert _files(home) == []


# --- 8. API errors are JSON (OGC exceptions on /ogcapi) and 401 without anonymous access -------------

@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_api_errors_are_json(client, accept):
    headers = {"Accept": accept} if accept else {}
    for url, status in (("/ogcapi/collections/nope", 404), ("/ogcapi/nope", 404),
                        ("/ogcapi/collections/communes/items?limit=x", 400)):
        resp = client.get(url, headers=headers)
        assert resp.status_code == status and resp.mimetype == "application/json", url
        body = resp.get_json()
        assert set(body) == {"code", "description"} and isinstance(body["code"], str), body
    assert client.get("/ogcapi/collections/nope", headers=headers).get_json()["code"] == "NotFound"
    assert client.get("/ogcapi/collections/communes/items?limit=x", headers=headers).get_json()["code"] \
        == "InvalidParameterValue"
    assert client.post("/ogcapi/collections", headers=headers).status_code in (400, 405)
    for url in ("/data/nope.geojson", "/api/search?limit=0", "/api/nope"):
        resp = client.get(url, headers=headers)
        assert 400 <= resp.status_code < 500 and resp.mimetype == "application/json", url


def test_api_errors_html_only_when_preferred(client):
    assert client.get("/ogcapi/collections/nope", headers=BROWSER).mimetype == "text/html"
    assert client.get("/ogcapi/collections/nope?f=html").mimetype == "text/html"
    assert client.get("/data/nope.geojson", headers=BROWSER).mimetype == "text/html"


@pytest.mark.parametrize("url", ["/ogcapi/collections", "/ogcapi", "/data/province.geojson?zoom=8", "/api/search?q=pha"])
@pytest.mark.parametrize("accept", [None, "*/*", BROWSER["Accept"]])
def test_api_without_anonymous_access_is_401(store_home, url, accept):
    from geo_app.serve.web import create_app

    closed = create_app({"TESTING": True, "SECRET_KEY": "t", "ANONYMOUS_ACCESS": "none"}).test_client()
    resp = closed.get(url, headers={"Accept": accept} if accept else {})
    assert resp.status_code == 401, (resp.status_code, resp.headers.get("Location"))
    assert closed.get("/").status_code == 302, "pages still go to the login form"


# --- 9. ETags differ per representation; Vary: Accept ------------------------------------------------

def test_items_etag_per_format_and_vary_accept(client):
    url = "/ogcapi/collections/peaks/items"
    as_json = client.get(url, headers=JSON)
    as_html = client.get(url, headers=BROWSER)
    assert as_json.mimetype == "application/geo+json" and as_html.mimetype == "text/html"
    assert as_json.headers["ETag"] != as_html.headers["ETag"]
    for resp in (as_json, as_html):
        assert "Accept" in [v.strip() for v in resp.headers["Vary"].split(",")], resp.headers.get("Vary")
    # the JSON ETag does not validate the HTML page
    again = client.get(url, headers={**BROWSER, "If-None-Match": as_json.headers["ETag"]})
    assert again.status_code == 200 and again.mimetype == "text/html"
    assert client.get(url, headers={**JSON, "If-None-Match": as_json.headers["ETag"]}).status_code == 304


# --- 10. bbox ranges ---------------------------------------------------------------------------------

def test_whole_world_bbox(client):
    data = client.get("/data/communes.geojson?zoom=8&bbox=-180,-90,180,90").get_json()
    assert len(data["features"]) == 99
    items = client.get("/ogcapi/collections/communes/items?bbox=-180,-90,180,90&limit=1").get_json()
    assert items["numberMatched"] == 99
    assert len(client.get("/data/communes.geojson?zoom=8&bbox=0,0,10,10").get_json()["features"]) == 0


@pytest.mark.parametrize("bbox", ["-181,-90,180,90", "103,22,190,23", "103,-91,104,23", "104,22,103,23"])
def test_bbox_out_of_range_or_reversed_is_400(client, bbox):
    for url in (f"/data/communes.geojson?zoom=8&bbox={bbox}", f"/ogcapi/collections/communes/items?bbox={bbox}",
                f"/ogcapi/collections/communes/items?f=geojson&bbox={bbox}"):
        resp = client.get(url)
        assert resp.status_code == 400 and resp.get_json()["description"].startswith("bbox"), url


# --- 12. Vietnamese first ----------------------------------------------------------------------------

def test_messages_vietnamese_first(client, store_home):
    from geo_app.serve.web import create_app

    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Không tìm thấy" in page and page.index("Không tìm thấy") < page.index("Not found")
    resp = client.post("/")
    assert resp.status_code == 405 and "không dùng được" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"name": "x", "password": "y"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "CSRF: thiếu hoặc sai mã CSRF" in text and text.index("thiếu") < text.index("missing")
    desc = client.get("/data/former-communes.geojson").get_json()["description"]
    assert desc.startswith("Lớp 'former-communes' không có hình học") and "has no geometry" in desc

    limited = create_app({"TESTING": True, "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "1 per minute"}).test_client()
    token = csrf_token(limited)
    name = f"x-{uuid.uuid4().hex[:8]}"
    limited.post("/login", data={"name": name, "password": "y", "csrf_token": token})
    resp = limited.post("/login", data={"name": name, "password": "y", "csrf_token": token})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 429
    m = re.search(r"thử lại sau (\d+) giây", text)
    assert m and f"try again in {m.group(1)} s" in text and text.index("thử lại") < text.index("try again"), text
    assert 1 <= int(m.group(1)) <= 61 and resp.headers["Retry-After"]


# --- 13 and 14. confirmed versions; the same 404 for drafts and missing versions ---------------------

def test_confirmed_version_hides_the_draft_finding():
    from geo_app.production import workflow

    report = {"ok": True, "findings": [{"level": "warning", "code": "sliver", "message": "m"},
                                       {"level": "info", "code": "draft", "message": "Bản nháp, chưa được UBND tỉnh xác nhận."}]}
    base = workflow.Version("p", 1, "draft", {}, report, None, "u", "", "", None, None, None, None, None, None)
    import dataclasses

    assert [f["code"] for f in workflow.shown_findings(base)] == ["sliver", "draft"]
    confirmed = dataclasses.replace(base, status="confirmed", confirmed_by="a", confirmed_at="2025-08-01T00:00:00+00:00")
    assert [f["code"] for f in workflow.shown_findings(confirmed)] == ["sliver"]


def test_dossier_404_does_not_tell_drafts_from_missing_versions(store_home, tmp_path):
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home"):
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        anonymous = app.test_client()
        draft = anonymous.get("/products/sa-bao-yen/1/dossier.zip", headers=JSON)
        missing = anonymous.get("/products/sa-bao-yen/99/dossier.zip", headers=JSON)
        assert draft.status_code == missing.status_code == 404
        assert draft.get_json()["description"].replace(" 1", " N") == missing.get_json()["description"].replace(" 99", " N")


# --- 15. downloads validate limit and offset ---------------------------------------------------------

def test_downloads_validate_and_apply_limit_offset(client):
    for f in ("csv", "gpkg", "geojson"):
        for bad, field in (("limit=abc", "limit"), ("limit=0", "limit"), ("offset=-1", "offset"), ("offset=x", "offset")):
            resp = client.get(f"/ogcapi/collections/communes/items?f={f}&{bad}")
            assert resp.status_code == 400 and resp.get_json()["description"].startswith(field), (f, bad)
    gj = json.loads(client.get("/ogcapi/collections/communes/items?f=geojson&limit=5&offset=3").data)
    assert len(gj["features"]) == 5 and gj["features"][0]["id"] == 4
    csv = client.get("/ogcapi/collections/former-communes/items?f=csv&limit=7").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 1 + 7
    assert len(json.loads(client.get("/ogcapi/collections/communes/items?f=geojson").data)["features"]) == 99
