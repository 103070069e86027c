import hashlib
import io
import json
import re
import sqlite3

import pytest
from support.web import csrf_token, ensure_users, login

PRODUCT = "rau-an-toan-bao-thang"
ACTIONS = {
    # route (POST) → roles allowed (admin may do everything)
    f"/products/{PRODUCT}/draft": {"officer", "admin"},
    f"/products/{PRODUCT}/1/submit": {"officer", "admin"},
    f"/products/{PRODUCT}/1/return": {"approver", "admin"},
    f"/products/{PRODUCT}/1/confirm": {"approver", "admin"},
}
ROLES = [None, "viewer", "officer", "approver", "admin"]
POLYGON = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "vùng thử"},
           "geometry": {"type": "Polygon", "coordinates": [[[104.10, 22.10], [104.16, 22.10], [104.16, 22.15],
                                                            [104.10, 22.15], [104.10, 22.10]]]}}]}


@pytest.fixture()
def as_role(app):
    def make(role):
        client = app.test_client()
        login(client, role)
        return client
    ensure_users()
    return make


@pytest.mark.parametrize("route, role", [(r, role) for r in sorted(ACTIONS) for role in ROLES if role not in ACTIONS[r]])
def test_role_matrix_refuses_state_changes(as_role, route, role):
    """Every state-changing route, for every role not allowed (allowed ones: the workflow test)."""
    client = as_role(role)
    from geo_app.production import workflow

    before = workflow.history(PRODUCT)
    resp = client.post(route, data={"csrf_token": csrf_token(client, "/"), "comment": "x", "communes_2025": "08170"},
                        headers={"Accept": "application/json"})
    if role is None:
        assert resp.status_code in (302, 401) and (resp.status_code == 401 or "/login" in resp.headers["Location"])
    else:
        assert resp.status_code == 403, resp.data[:200]
        assert role in resp.get_data(as_text=True)
    assert workflow.history(PRODUCT) == before, "nothing changed"


@pytest.mark.parametrize("action", ["confirm", "return"])
def test_role_matrix_four_eyes_binds_admins(store_home, tmp_path, action):
    """An admin holds every role, yet may not confirm or return a version they edited or submitted."""
    from support.web import isolated_home

    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home"):
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        admin = app.test_client()
        login(admin, "admin")
        token = csrf_token(admin, "/")
        assert admin.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "revision": workflow.latest(PRODUCT).token,
                                                              "communes_2025": _commune_code("Xã Bảo Thắng")}).status_code == 302
        number = workflow.latest(PRODUCT).version
        assert admin.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}).status_code == 302
        before = workflow.history(PRODUCT)
        resp = admin.post(f"/products/{PRODUCT}/{number}/{action}", data={"csrf_token": token, "paper": "A3",
                                                                          "comment": "x"},
                          headers={"Accept": "application/json"})
        assert resp.status_code == 403 and resp.get_json()["description"].startswith("four_eyes")
        assert workflow.history(PRODUCT) == before


def test_state_changes_need_csrf(as_role):
    client = as_role("officer")
    resp = client.post(f"/products/{PRODUCT}/draft", data={"communes_2025": "08170"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def test_pages_for_each_role(as_role):
    for role in ROLES:
        client = as_role(role)
        assert client.get("/products/").status_code == 200
        assert client.get(f"/products/{PRODUCT}").status_code == 200
        history = client.get(f"/products/{PRODUCT}/history")
        assert history.status_code == (200 if role in ("officer", "approver", "admin") else 403)
    assert as_role(None).get("/products/nope").status_code == 404


def _commune_code(name):
    from geo_app import layers

    communes = layers.read("communes")
    return communes.loc[communes.full_name == name, "code"].iloc[0]


def test_workflow_draft_submit_return_confirm_download(as_role):
    from geo_app.production import workflow

    officer, approver, viewer = as_role("officer"), as_role("approver"), as_role("viewer")
    token = csrf_token(officer, "/")
    code = _commune_code("Xã Bảo Thắng")
    resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "communes_2025": code})
    assert resp.status_code == 302, resp.data[:300]
    version = workflow.latest(PRODUCT)
    number = version.version
    assert version.status == "draft" and version.report["ok"], version.report
    page = officer.get(f"/products/{PRODUCT}").get_data(as_text=True)
    assert 'data-status="draft"' in page and "Báo cáo kiểm tra" in page
    # drafts are for officers and approvers only
    assert 'data-status="draft"' not in viewer.get(f"/products/{PRODUCT}").get_data(as_text=True)
    assert 'data-status="draft"' in approver.get(f"/products/{PRODUCT}").get_data(as_text=True)

    assert officer.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}).status_code == 302
    # editing a submitted version is refused, naming the state
    resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "communes_2025": code},
                        headers={"Accept": "application/json"})
    assert resp.status_code == 409 and "status" in resp.get_data(as_text=True)
    atoken = csrf_token(approver, "/")
    resp = approver.post(f"/products/{PRODUCT}/{number}/return", data={"csrf_token": atoken, "comment": ""})
    assert resp.status_code == 400 and "comment" in resp.get_data(as_text=True)
    assert approver.post(f"/products/{PRODUCT}/{number}/return",
                         data={"csrf_token": atoken, "comment": "Thiếu xã lân cận"}).status_code == 302
    assert workflow.latest(PRODUCT).status == "draft" and workflow.latest(PRODUCT).comment == "Thiếu xã lân cận"
    assert officer.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}).status_code == 302
    resp = approver.post(f"/products/{PRODUCT}/{number}/confirm", data={"csrf_token": atoken, "paper": "A4"})
    assert resp.status_code == 302, resp.data[:300]
    confirmed = workflow.get_version(PRODUCT, number)
    assert confirmed.status == "confirmed" and len(confirmed.dossier_sha256) == 64

    # anyone allowed to see the product downloads the confirmed dossier, with the stored hash
    download = viewer.get(f"/products/{PRODUCT}/{number}/dossier.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert hashlib.sha256(download.data).hexdigest() == confirmed.dossier_sha256
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "sheet.pdf" in names and "manifest.json" in names

    # frozen: the database refuses to change it; editing starts a new version
    with pytest.raises(sqlite3.DatabaseError):
        with sqlite3.connect(workflow.db_path()) as con:
            con.execute("UPDATE versions SET area_json = '{}' WHERE product_id = ? AND version = ?", (PRODUCT, number))
    with pytest.raises(sqlite3.DatabaseError):
        with sqlite3.connect(workflow.db_path()) as con:
            con.execute("DELETE FROM audit")
    resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "communes_2025": code})
    assert resp.status_code == 302
    assert workflow.latest(PRODUCT).version == number + 1
    assert workflow.get_version(PRODUCT, number).dossier_sha256 == confirmed.dossier_sha256

    history = workflow.history(PRODUCT)
    actions = [e["action"] for e in history]
    assert actions[-5:] == ["submit", "return", "submit", "confirm", "create-draft"]
    confirm_entry = next(e for e in history if e["action"] == "confirm" and e["version"] == number)
    assert confirm_entry["user"] == "u-approver" and confirm_entry["hashes"]["dossier_zip_sha256"] == confirmed.dossier_sha256
    page = officer.get(f"/products/{PRODUCT}/history").get_data(as_text=True)
    assert "u-approver" in page and "Thiếu xã lân cận" in page and "confirm" in page


@pytest.mark.parametrize(
    "data, field",
    [
        ({"communes_2025": "12ab"}, "communes_2025"),
        ({"communes_2025": "99999"}, "communes_2025"),
        ({"former_communes": "1"}, "former_communes"),
        ({}, "communes_2025"),
        ({"file": (io.BytesIO(b"MZ..."), "virus.exe")}, "file"),
        ({"file": (io.BytesIO(b"{not json"), "broken.geojson")}, "file"),
        ({"file": (io.BytesIO(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
          "geometry": {"type": "Point", "coordinates": [104.1, 22.1]}}]}).encode()), "point.geojson")}, "file"),
    ],
)
def test_bad_draft_input_is_4xx_naming_the_field(as_role, data, field):
    from geo_app.production import workflow

    client = as_role("officer")
    before = workflow.history("bo-vang-muong-khuong")
    resp = client.post("/products/bo-vang-muong-khuong/draft", data={"csrf_token": csrf_token(client, "/"), **data},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert resp.status_code == 400, resp.data[:300]
    assert resp.get_json()["description"].startswith(field)
    assert workflow.history("bo-vang-muong-khuong") == before, "an invalid upload changes nothing"


def test_bad_routes(as_role):
    officer = as_role("officer")
    token = csrf_token(officer, "/")
    assert officer.post("/products/nope/draft", data={"csrf_token": token, "communes_2025": "08170"}).status_code == 404
    assert officer.post(f"/products/{PRODUCT}/abc/submit", data={"csrf_token": token}).status_code == 400
    assert officer.post(f"/products/{PRODUCT}/999/submit", data={"csrf_token": token}).status_code == 404
    assert as_role(None).get(f"/products/{PRODUCT}/999/dossier.zip").status_code == 404


def test_oversized_upload_refused_before_reading(store_home):
    from geo_app.serve.web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "MAX_CONTENT_LENGTH": 1024})
    client = app.test_client()
    login(client, "officer")
    token = csrf_token(client, "/")
    resp = client.post("/products/bo-vang-muong-khuong/draft",
                       data={"csrf_token": token, "file": (io.BytesIO(b"x" * 200_000), "big.geojson")},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert resp.status_code == 413, resp.get_data(as_text=True)
    assert "file" in resp.get_data(as_text=True)


def test_production_areas_on_the_map(as_role):
    """Drafts only for officers and approvers; the layer is on the map page with the sheet's colours."""
    anonymous, officer = as_role(None), as_role("officer")
    html = anonymous.get("/").get_data(as_text=True)
    assert "/products/areas.geojson" in html and "#c0281b" in html
    drafts = officer.get("/products/areas.geojson").get_json()["features"]
    public = anonymous.get("/products/areas.geojson").get_json()["features"]
    assert drafts, "officers see the draft areas"
    assert all(f["properties"]["status"] == "confirmed" for f in public)
    assert any(f["properties"]["status"] == "draft" for f in drafts)
    lon, lat = drafts[0]["geometry"]["coordinates"][0][0][0] if drafts[0]["geometry"]["type"] == "MultiPolygon" \
        else drafts[0]["geometry"]["coordinates"][0][0]
    assert 103 < lon < 105.5 and 21 < lat < 23.5


# --- version 1 seeded from the definition ------------------------------------------------------------

def test_seeded_drafts_once_per_product_under_concurrency(store_home, tmp_path):
    """Every product starts with version 1, a draft from layers/products/<id>.yaml, seeded once by
    "system" even when several requests arrive together."""
    import threading

    from support.web import isolated_home

    from geo_app.production import workflow

    with isolated_home(store_home, tmp_path / "home"):
        barrier, errors = threading.Barrier(4), []

        def worker():
            try:
                barrier.wait()
                workflow.versions("sa-bao-yen")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        workflow._SEEDED.clear()  # the in-process shortcut off: the database decides
        assert workflow.seed_all() == ["bo-vang-muong-khuong", "lon-den-van-ban", "rau-an-toan-bao-thang"]
        workflow._SEEDED.clear()
        assert workflow.seed_all() == [], "idempotent"
        for pid in workflow.products():
            versions = workflow.versions(pid)
            assert [(v.version, v.status, v.created_by) for v in versions] == [(1, "draft", "system")]
            assert versions[0].area == workflow.default_area(pid)
            seeds = [e for e in workflow.history(pid) if e["action"] == "seed"]
            assert len(seeds) == 1 and seeds[0]["user"] == "system"
            assert seeds[0]["detail"]["note"] == "khởi tạo từ định nghĩa / seeded from the definition"
        assert workflow.versions("sa-bao-yen")[0].area["former_districts"] == ["087"]
        assert workflow.latest("sa-bao-yen").report["ok"]
        # Mường Khương: the three former communes have no public boundary, so the draft stays incomplete
        cattle = workflow.latest("bo-vang-muong-khuong")
        assert cattle.area["former_communes"] == ["02752", "02764", "02767"] and not cattle.report["ok"]


def test_seeded_draft_pages(store_home, tmp_path):
    from support.web import isolated_home

    from geo_app.production import workflow
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home"):
        app = create_app({"TESTING": True, "SECRET_KEY": "t"})
        anonymous, viewer, officer = app.test_client(), app.test_client(), app.test_client()
        login(viewer, "viewer")
        login(officer, "officer")
        for client in (anonymous, viewer):
            page = client.get("/products/sa-bao-yen").get_data(as_text=True)
            assert 'data-status="none"' in page and 'data-status="draft"' not in page
            assert "Bản nháp chỉ hiển thị cho cán bộ và người phê duyệt." in page
            assert "Chưa có phiên bản nào" not in page
        english = anonymous.get("/products/sa-bao-yen?lang=en").get_data(as_text=True)
        assert "Drafts are shown only to officers and approvers." in english
        assert "Bản nháp chỉ hiển thị" in anonymous.get("/products/?lang=vi").get_data(as_text=True)

        page = officer.get("/products/sa-bao-yen").get_data(as_text=True)
        assert 'data-status="draft"' in page and "Báo cáo kiểm tra" in page and "Chưa có phiên bản" not in page
        assert re.search(r'<option value="087" selected>', page), "the seeded former district is pre-selected"
        history = officer.get("/products/sa-bao-yen/history").get_data(as_text=True)
        assert "khởi tạo từ định nghĩa / seeded from the definition" in history and "system" in history
        # the officer edits the seeded draft (same version); nothing is seeded again
        token = csrf_token(officer, "/")
        resp = officer.post("/products/sa-bao-yen/draft", data={"csrf_token": token, "former_districts": "087",
                                                               "communes_2025": _commune_code("Xã Bảo Yên")})
        assert resp.status_code == 302, resp.data[:300]
        assert [v.version for v in workflow.versions("sa-bao-yen")] == [1]
        assert [e["action"] for e in workflow.history("sa-bao-yen")] == ["seed", "edit-draft"]
        resp = officer.post("/products/sa-bao-yen/draft", data={"csrf_token": token, "former_districts": "999"},
                            headers={"Accept": "application/json"})
        assert resp.status_code == 400 and resp.get_json()["description"].startswith("former_districts")
        assert anonymous.get("/products/sa-bao-yen/1/dossier.zip").status_code == 404
