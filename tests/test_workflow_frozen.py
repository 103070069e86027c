"""The production-area workflow on real data (the mirror's store): the boundary frozen at save, strict
JSON, stale saves, four eyes, the audit chain and `geo-app audit verify`, recovery at start."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import time

import pytest
import shapely
from support.web import csrf_token, isolated_home
from support.workflow import commune_code, ensure_people, login_as, submitted

from geo_app.io.jsontext import loads_strict

PRODUCT = "rau-an-toan-bao-thang"
JSON = {"Accept": "application/json"}


@pytest.fixture()
def home(store_home, tmp_path):
    with isolated_home(store_home, tmp_path / "home") as target:
        yield target


@pytest.fixture()
def app(home):
    from geo_app.serve.web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "t"})


def _client(app, name):
    return login_as(app.test_client(), name)


# --- 1. the boundary is data, frozen at save -----------------------------------------------------------

def test_boundary_frozen_at_save_and_read_without_resolving(app, monkeypatch):
    from geo_app.production import workflow

    officer = _client(app, "u-officer")
    token = csrf_token(officer, "/")
    seeded = workflow.latest(PRODUCT)
    resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "revision": seeded.token,
                                                            "communes_2025": commune_code("Xã Bảo Thắng")})
    assert resp.status_code == 302 and "saved=" in resp.headers["Location"]
    version = workflow.latest(PRODUCT)
    geometry = shapely.from_wkb(version.geometry_wkb)
    assert version.geometry_sha256 == hashlib.sha256(version.geometry_wkb).hexdigest()
    assert abs(geometry.area / 1e4 - version.area_ha) < 0.01 and abs(geometry.length - version.perimeter_m) < 0.1
    points = version.frozen().points
    assert len(points) >= 3 and list(points["no"]) == list(range(1, len(points) + 1))
    # the tolerance comes from the area's size and is stated; the same geometry always gives the same table
    from geo_app.production.boundary import derive_points

    _, again, meta = derive_points(geometry)
    assert meta["tolerance_m"] == version.resolution["points"]["tolerance_m"] > 0
    assert again.equals(points)
    assert version.resolution["complete"] and version.resolution["legal_basis"]
    assert version.resolution["pieces"][0]["commune_code"] == commune_code("Xã Bảo Thắng")

    # Nothing re-resolves while requests are answered: resolving now fails loudly, every page still works.
    def refuse(*args, **kwargs):
        raise AssertionError("resolved during a request")

    monkeypatch.setattr("geo_app.production.area.resolve", refuse)
    monkeypatch.setattr("geo_app.production.boundary.resolve", refuse)
    page = officer.get(f"/products/{PRODUCT}?saved={version.version}").get_data(as_text=True)
    assert 'id="saved-notice"' in page and version.geometry_sha256[:16] in page
    for path in ("/products/", f"/products/{PRODUCT}/history", "/products/areas.geojson", "/products/areas.geojson?zoom=9"):
        assert officer.get(path).status_code == 200, path
    areas = officer.get("/products/areas.geojson").get_json()["features"]
    mine = next(f for f in areas if f["properties"]["product_id"] == PRODUCT)
    assert mine["properties"]["geometry_sha256"] == version.geometry_sha256
    assert mine["properties"]["area_ha"] == round(version.area_ha, 2)


def test_areas_geojson_simplified_per_zoom_gzipped_with_etag(app):
    client = app.test_client()
    coarse = client.get("/products/areas.geojson?zoom=7", headers={"Accept-Encoding": "gzip"})
    assert coarse.status_code == 200 and coarse.headers["Content-Encoding"] == "gzip"
    etag = coarse.headers["ETag"]
    assert client.get("/products/areas.geojson?zoom=7", headers={"If-None-Match": etag}).status_code == 304
    officer = _client(app, "u-officer")
    low = officer.get("/products/areas.geojson?zoom=7").get_json()["features"]
    high = officer.get("/products/areas.geojson?zoom=15").get_json()["features"]

    def vertices(features):
        return sum(len(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))) for f in features)

    assert low and vertices(low) < vertices(high)
    assert officer.get("/products/areas.geojson?zoom=99").status_code == 400
    # drafts never reach anonymous visitors
    assert all(f["properties"]["status"] == "confirmed" for f in client.get("/products/areas.geojson").get_json()["features"])


def test_drafts_re_resolved_after_a_store_rebuild_confirmed_kept(app, home):
    from geo_app.production import workflow

    version = workflow.latest("sa-bao-yen")
    with sqlite3.connect(workflow.db_path()) as con:  # as if frozen on an earlier store
        con.execute("UPDATE versions SET store_fingerprint = 'old-store', area_ha = 1.0 WHERE product_id = 'sa-bao-yen'")
    changed = workflow.refreeze_drafts()
    assert ("sa-bao-yen", version.version) in changed
    after = workflow.latest("sa-bao-yen")
    assert after.store_fingerprint == workflow.store_fingerprint() and after.area_ha == version.area_ha
    entry = workflow.history("sa-bao-yen")[-1]
    assert entry["action"] == "re-resolve" and entry["detail"]["area_ha_before"] == 1.0
    assert workflow.refreeze_drafts() == []
    page = _client(app, "u-officer").get("/products/sa-bao-yen").get_data(as_text=True)
    assert re.search(r'id="re-resolved".*1[.,]00 ha →', page), "the officer sees what changed"


# --- 2. valid JSON everywhere ----------------------------------------------------------------------------

def test_every_stored_report_is_strict_json(app):
    from click.testing import CliRunner

    from geo_app.cli import main
    from geo_app.production import workflow

    for pid in workflow.products():  # seeds all four, including former communes (the annex's empty cells)
        workflow.latest(pid)
    with sqlite3.connect(workflow.db_path()) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT * FROM versions").fetchall()
        assert len(rows) == 4
        for row in rows:
            for column in ("area_json", "report_json", "resolution_json", "points_json", "file_names_json"):
                if row[column] is not None:
                    loads_strict(row[column])
        for row in con.execute("SELECT detail_json, hashes_json FROM audit"):
            loads_strict(row[0])
            loads_strict(row[1])
        # SQLite reads them too (it refuses NaN)
        assert con.execute("SELECT COUNT(json_extract(report_json, '$.ok')) FROM versions").fetchone()[0] == 4
    result = CliRunner().invoke(main, ["check", "sa-bao-yen", "--json"])
    assert result.exit_code == 0, result.output
    report = loads_strict(result.output)
    assert any(r["area_ha_2025_part"] is None for r in report["former_communes"]), "missing values are null"
    body = app.test_client().get("/products/areas.geojson").get_data()
    loads_strict(body)


# --- 4. no lost update ------------------------------------------------------------------------------------

def test_stale_save_is_409_naming_who_and_keeps_the_input(app):
    from geo_app.production import workflow

    first, second = _client(app, "u-officer"), _client(app, "u-officer2")
    opened = workflow.latest(PRODUCT).token  # both opened the page at this revision
    code_a, code_b = commune_code("Xã Bảo Thắng"), commune_code("Xã Phong Hải")
    resp = first.post(f"/products/{PRODUCT}/draft", data={"csrf_token": csrf_token(first, "/"), "revision": opened,
                                                          "communes_2025": code_a})
    assert resp.status_code == 302
    before = workflow.history(PRODUCT)
    resp = second.post(f"/products/{PRODUCT}/draft", data={"csrf_token": csrf_token(second, "/"), "revision": opened,
                                                           "communes_2025": code_b})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert 'id="conflict"' in page and "u-officer</strong>" in page
    assert f'<option value="{code_b}" selected>' in page, "the second officer's choice is kept in the form"
    assert f'<option value="{code_a}" selected>' not in page
    assert f'value="{workflow.latest(PRODUCT).token}"' in page, "saving again from here is not stale"
    assert workflow.history(PRODUCT) == before and workflow.latest(PRODUCT).area["communes_2025"] == [code_a]
    resp = second.post(f"/products/{PRODUCT}/draft", data={"csrf_token": csrf_token(second, "/"), "revision": opened,
                                                           "communes_2025": code_b}, headers=JSON)
    assert resp.status_code == 409 and resp.get_json()["description"].startswith("revision")
    assert "u-officer" in resp.get_json()["description"]


def test_submit_disabled_while_the_check_has_errors(app):
    officer = _client(app, "u-officer")
    page = officer.get("/products/bo-vang-muong-khuong").get_data(as_text=True)  # seeded draft is incomplete
    assert 'id="submit-blocked"' in page and 'id="submit-version" disabled' in page
    assert "needs the boundary of former commune" in page
    resp = officer.post("/products/bo-vang-muong-khuong/1/submit", data={"csrf_token": csrf_token(officer, "/")},
                        headers=JSON)
    assert resp.status_code == 409 and "needs the boundary" in resp.get_json()["description"]


# --- 5. four eyes -------------------------------------------------------------------------------------------

def test_four_eyes_admins_included(app):
    from geo_app.production import workflow

    admin, approver = _client(app, "u-admin"), _client(app, "u-approver")
    token = csrf_token(admin, "/")
    current = workflow.latest(PRODUCT)
    assert admin.post(f"/products/{PRODUCT}/draft", data={"csrf_token": token, "revision": current.token,
                                                          "communes_2025": commune_code("Xã Bảo Thắng")}).status_code == 302
    number = workflow.latest(PRODUCT).version
    assert admin.post(f"/products/{PRODUCT}/{number}/submit", data={"csrf_token": token}).status_code == 302
    before = workflow.history(PRODUCT)
    for action, data in (("confirm", {"paper": "A4"}), ("return", {"comment": "tự trả lại"})):
        resp = admin.post(f"/products/{PRODUCT}/{number}/{action}", data={"csrf_token": token, **data}, headers=JSON)
        assert resp.status_code == 403 and resp.get_json()["description"].startswith("four_eyes"), action
    assert workflow.history(PRODUCT) == before and workflow.latest(PRODUCT).status == "submitted"
    assert 'id="four-eyes"' in admin.get(f"/products/{PRODUCT}").get_data(as_text=True)
    resp = approver.post(f"/products/{PRODUCT}/{number}/return", data={"csrf_token": csrf_token(approver, "/"),
                                                                       "comment": "Thiếu bản đồ"})
    assert resp.status_code == 302
    entry = workflow.history(PRODUCT)[-1]
    assert entry["user"] == "u-approver" and entry["detail"]["authors"] == ["system", "u-admin"], "the audit names both"
    history = approver.get(f"/products/{PRODUCT}/history").get_data(as_text=True)
    assert "Trả lại để sửa" in history and "Returned for changes" in history and "u-admin" in history


def test_core_four_eyes_covers_an_editor_who_did_not_submit(home):
    from geo_app.production import workflow

    ensure_people()
    version = submitted(PRODUCT, commune_code("Xã Bảo Thắng"), officer="u-officer")
    with pytest.raises(workflow.WorkflowError) as refused:
        workflow.return_version(PRODUCT, version.version, "u-officer", "x")
    assert refused.value.status == 403
    assert workflow.authors_of(PRODUCT, version.version) == {"system", "u-officer"}


# --- 6. tamper-evident audit ---------------------------------------------------------------------------------

def test_audit_chain_refuses_replace_and_a_tampered_copy_fails_verify(app, home, tmp_path):
    from click.testing import CliRunner

    from geo_app.cli import main
    from geo_app.production import workflow

    workflow.seed_all()
    path = workflow.db_path()
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 0 and "OK" in result.output, result.output
    with sqlite3.connect(path) as con:  # recursive_triggers off, as the sqlite3 shell has it
        assert con.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
        row = con.execute("SELECT * FROM audit ORDER BY id LIMIT 1").fetchone()
        last_hash = con.execute("SELECT row_sha256 FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0]
        # linked to the chain's end, so only the "no replacing" trigger can refuse it
        with pytest.raises(sqlite3.DatabaseError, match="cannot be replaced"):
            con.execute("INSERT OR REPLACE INTO audit (id, at, user, product_id, version, action, detail_json, "
                        "hashes_json, prev_sha256, row_sha256) VALUES (?, ?, 'evil', ?, ?, ?, '{}', '{}', ?, ?)",
                        (row[0], row[1], row[3], row[4], row[5], last_hash, row[9]))
        with pytest.raises(sqlite3.DatabaseError, match="previous row"):
            con.execute("INSERT INTO audit (at, user, product_id, version, action, detail_json, hashes_json, "
                        "prev_sha256, row_sha256) VALUES ('t', 'evil', 'p', 1, 'confirm', '{}', '{}', ?, ?)",
                        ("0" * 64, "0" * 64))
        assert con.execute("SELECT user FROM audit WHERE id = ?", (row[0],)).fetchone()[0] == row[2]
    # a copy whose audit row is rewritten with the triggers out of the way
    copy = tmp_path / "tampered"
    with isolated_home(home, copy):
        shutil.copy(path, workflow.db_path())
        with sqlite3.connect(workflow.db_path()) as con:
            con.execute("DROP TRIGGER audit_no_update")
            con.execute("UPDATE audit SET user = 'mallory' WHERE id = 2")
        result = CliRunner().invoke(main, ["audit", "verify"])
        assert result.exit_code == 1 and "audit row 2" in result.output, result.output
        verification = workflow.verify()
        assert not verification.ok and verification.first.startswith("audit row 2")


def test_broken_chain_at_start_serves_reads_refuses_writes(store_home, tmp_path):
    from geo_app.production import workflow
    from geo_app.production.workflow import repository
    from geo_app.serve.web import create_app

    with isolated_home(store_home, tmp_path / "home"):
        workflow.seed_all()
        with sqlite3.connect(workflow.db_path()) as con:
            con.execute("DROP TRIGGER audit_no_delete")
            con.execute("DELETE FROM audit WHERE id = 1")
        try:
            app = create_app({"TESTING": True, "SECRET_KEY": "t"})
            officer = _client(app, "u-officer")
            page = officer.get(f"/products/{PRODUCT}")
            assert page.status_code == 200 and 'id="writes-refused"' in page.get_data(as_text=True)
            resp = officer.post(f"/products/{PRODUCT}/draft", data={"csrf_token": csrf_token(officer, "/"),
                                                                    "communes_2025": commune_code("Xã Bảo Thắng")},
                                headers=JSON)
            assert resp.status_code == 503 and "audit" in resp.get_json()["description"]
        finally:
            repository.refuse_writes(None)


def test_forged_confirmed_version_fails_verify(home):
    from geo_app.production import workflow

    workflow.seed_all()
    with sqlite3.connect(workflow.db_path()) as con:
        con.execute("INSERT INTO versions (product_id, version, status, area_json, created_by, created_at, updated_at, "
                    "dossier_file, dossier_sha256) VALUES ('sa-bao-yen', 9, 'confirmed', '{}', 'x', 't', 't', '/x', 'ab')")
    assert "no confirm row" in workflow.verify().first


# --- 7. recovery at start ------------------------------------------------------------------------------------

def test_recovery_removes_what_a_crash_left(home, caplog):
    from geo_app.production import workflow

    workflow.seed_all()
    old = time.time() - 3600
    staging = workflow.home() / "dossiers" / PRODUCT / ".v1.tmp-abc123"
    staging.mkdir(parents=True)
    (staging / "sheet.pdf").write_bytes(b"half")
    files = workflow.home() / "files"
    files.mkdir(parents=True, exist_ok=True)
    half = files / ".upload-xyz.geojson"
    orphan = files / ("0" * 64 + ".geojson")
    fresh = files / ".upload-now.geojson"  # a request is writing it (it holds its lock)
    store_tmp = home / ".layers-abc.tmp.gpkg"
    young_store_tmp = home / ".layers-young.tmp.gpkg"  # a build may be running now
    for path in (half, orphan, fresh, store_tmp, young_store_tmp):
        path.write_bytes(b"x")
    from geo_app.production.workflow.repository import LOCK_NAME, hold

    writing = hold(fresh)
    running = workflow.home() / "dossiers" / PRODUCT / ".v2.tmp-running"
    running.mkdir()
    confirming = hold(running / LOCK_NAME)  # a confirm in progress, whatever its age
    crashed = workflow.home() / "dossiers" / PRODUCT / ".v3.tmp-crashed"
    crashed.mkdir()
    (crashed / LOCK_NAME).write_bytes(b"")  # its process died: nobody holds the lock
    unreferenced_zip = workflow.home() / "dossiers" / PRODUCT / f"{PRODUCT}-v7.zip"
    unreferenced_zip.write_bytes(b"zip")
    for path in (staging, half, orphan, store_tmp, unreferenced_zip):
        os.utime(path, (old, old))
    with caplog.at_level(logging.INFO, logger="geo_app.production.workflow.recovery"):
        done = workflow.clean()
    assert not staging.exists() and not half.exists() and not store_tmp.exists()
    assert not orphan.exists() and not unreferenced_zip.exists()
    assert list((workflow.home() / "quarantine").rglob(orphan.name)), "an orphaned upload is kept aside"
    assert fresh.exists() and running.exists() and young_store_tmp.exists(), "work in progress is left alone"
    assert not crashed.exists(), "a crashed confirm's staging goes at once, whatever its age"
    assert len(done) == 6 and str(staging) in caplog.text
    os.close(writing)
    os.close(confirming)
    done = workflow.clean()
    assert not fresh.exists() and not running.exists() and len(done) == 2


# --- 8. confirmed areas are public data ------------------------------------------------------------------------

def test_confirmed_areas_in_the_ogc_api_drafts_never(app):
    from geo_app.production import workflow

    anonymous, approver = app.test_client(), _client(app, "u-approver")
    items = "/ogcapi/collections/production-areas/items?f=json"
    assert anonymous.get(items).get_json()["features"] == [], "drafts only: nothing public"
    etag = anonymous.get(items).headers["ETag"]
    version = submitted(PRODUCT, commune_code("Xã Bảo Thắng"))
    resp = approver.post(f"/products/{PRODUCT}/{version.version}/confirm",
                         data={"csrf_token": csrf_token(approver, "/"), "paper": "A4"})
    assert resp.status_code == 302 and "confirmed=" in resp.headers["Location"]
    page = approver.get(resp.headers["Location"]).get_data(as_text=True)
    confirmed = workflow.get_version(PRODUCT, version.version)
    assert 'id="confirmed-notice"' in page and confirmed.dossier_sha256 in page and 'id="dossier-download"' in page
    resp = anonymous.get(items)
    assert resp.headers["ETag"] != etag, "a confirm changes the collection's ETag"
    (feature,) = resp.get_json()["features"]
    props = feature["properties"]
    assert (props["product_id"], props["version"], props["dossier_sha256"], props["dossier_id"]) == (
        PRODUCT, version.version, confirmed.dossier_sha256, confirmed.dossier_id)
    assert props["confirmed_at"] == confirmed.confirmed_at and "1673/NQ-UBTVQH15" in props["legal_basis"]
    # a new draft of the same product stays out of the public data, on every path
    workflow.save_draft(PRODUCT, "u-officer", {"communes_2025": [commune_code("Xã Phong Hải")]},
                        edited_from=workflow.latest(PRODUCT).token)
    assert [f["properties"]["version"] for f in anonymous.get(items).get_json()["features"]] == [version.version]
    csv_text = anonymous.get("/ogcapi/collections/production-areas/items?f=csv").get_data(as_text=True)
    assert csv_text.count("\n") == 2 and confirmed.dossier_sha256 in csv_text
    public = anonymous.get("/products/areas.geojson").get_json()["features"]
    assert [(f["properties"]["version"], f["properties"]["dossier_sha256"]) for f in public] == [
        (version.version, confirmed.dossier_sha256)]


def _takes_frozen_boundary() -> bool:
    import inspect

    from geo_app.production.dossier import make_dossier

    return "boundary" in inspect.signature(make_dossier).parameters


@pytest.mark.skipif(not _takes_frozen_boundary(), reason="the dossier module does not take a frozen boundary yet")
def test_a3_and_a4_dossiers_of_one_version_list_the_same_boundary(home, tmp_path):
    from geo_app.production import workflow
    from geo_app.production.workflow.packaging import _make_dossier

    version = workflow.latest("sa-bao-yen")
    product = workflow.product_for(version.area, "sa-bao-yen", "draft")
    sheets = {paper: _make_dossier(product, tmp_path / paper, paper, version) for paper in ("A3", "A4")}
    tables = {paper: (tmp_path / paper / "boundary-points.csv").read_bytes() for paper in sheets}
    assert tables["A3"] == tables["A4"]
    manifests = {paper: json.loads((tmp_path / paper / "manifest.json").read_text()) for paper in sheets}
    assert {m["area"].get("boundary_sha256") for m in manifests.values()} == {version.geometry_sha256}
