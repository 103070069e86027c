"""The dossier (issue 3, item 5), on the real layer store: what the sheet shows is read back from
the PDF, the exports are read back through GDAL, and two runs give the same bytes."""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pdfplumber
import pyogrio
import pypdf
import pytest
import shapely
from click.testing import CliRunner

PT_TO_MM = 25.4 / 72.0
LARGEST = "lon-den-van-ban"


@pytest.fixture(scope="module")
def admin(store_home):
    from geo_app.production.area import AdminLayers

    return AdminLayers.from_store()


@pytest.fixture(scope="module")
def big(store_home, admin, tmp_path_factory):
    from geo_app.production.dossier import make_dossier

    out = tmp_path_factory.mktemp("dossier") / LARGEST
    return make_dossier(LARGEST, out, admin=admin)


@pytest.fixture(scope="module")
def small_product(admin):
    """A confirmed product of one small 2025 commune, so the sheet can be at 1:50 000."""
    from geo_app.production.dossier.layout import PAPERS
    from geo_app.production.products import parse_product

    frame = PAPERS["A3"]
    communes = admin.communes.copy()
    b = communes.geometry.bounds
    fits = communes[((b.maxx - b.minx) / 50 <= frame.frame_w - 10) & ((b.maxy - b.miny) / 50 <= frame.frame_h - 10)]
    code = sorted(fits["code"])[0]
    raw = {
        "id": "test-small", "name": {"vi": "Sản phẩm thử Đồng Tuyển", "en": "Test product"},
        "mark": {"kind": "collective", "text": {"vi": "Nhãn hiệu tập thể “Thử”", "en": "Collective mark “Test”"}},
        "status": "confirmed", "area": {"communes_2025": [code]},
    }
    return parse_product(raw, "test")


@pytest.fixture(scope="module")
def at_50k(small_product, admin, tmp_path_factory):
    from geo_app.production.dossier import make_dossier

    return make_dossier(small_product, tmp_path_factory.mktemp("d50k") / "small", scale=50_000, admin=admin)


def _words(pdf_path: Path, page_no: int = 0):
    with pdfplumber.open(pdf_path) as pdf:
        page = pdf.pages[page_no]
        return page.extract_words(keep_blank_chars=False, use_text_flow=False), page.height, page.extract_text(y_tolerance=1)


def _grid_labels(result):
    """Bottom-edge easting labels and left-edge northing labels, positions in mm from the lower-left."""
    p = result.manifest["parameters"]
    fx, fy, fw, fh = p["map_frame_mm"]
    words, height_pt, _ = _words(result.sheet)
    bottom, left = [], []
    for w in words:
        if not re.fullmatch(r"\d{6,7}", w["text"]):
            continue
        cx = (w["x0"] + w["x1"]) / 2 * PT_TO_MM
        cy = (height_pt - (w["top"] + w["bottom"]) / 2) * PT_TO_MM
        if cy < fy and fx < cx < fx + fw:
            bottom.append((int(w["text"]), cx))
        elif cx < fx and fy < cy < fy + fh:
            left.append((int(w["text"]), cy))
    return sorted(bottom), sorted(left)


# --- the sheet is true -------------------------------------------------------------------------

def test_one_km_is_20_mm_at_1_50000(at_50k):
    assert at_50k.scale == 50_000
    bottom, left = _grid_labels(at_50k)
    assert len(bottom) >= 5 and len(left) >= 5
    for labels in (bottom, left):
        values = [v for v, _ in labels]
        assert all(b - a == 1000 for a, b in zip(values, values[1:])), values
        gaps = [b - a for (_, a), (_, b) in zip(labels, labels[1:])]
        assert max(abs(g - 20.0) for g in gaps) < 0.05, gaps  # 1 km → 20 mm, read from the PDF


def test_grid_labels_are_the_coordinates_of_their_lines(at_50k, big):
    for result in (at_50k, big):
        p = result.manifest["parameters"]
        fx, fy, fw, fh = p["map_frame_mm"]
        e0, n0, e1, n1 = p["map_extent_m"]
        scale = p["scale"]
        # The frame is the extent at scale, exactly.
        assert (e1 - e0) * 1000 / scale == pytest.approx(fw, abs=1e-9)
        assert (n1 - n0) * 1000 / scale == pytest.approx(fh, abs=1e-9)
        bottom, left = _grid_labels(result)
        for value, x in bottom:
            assert value % p["grid_interval_m"] == 0
            assert x == pytest.approx(fx + (value - e0) * 1000 / scale, abs=0.05)
        for value, y in left:
            assert y == pytest.approx(fy + (value - n0) * 1000 / scale, abs=0.05)
        # And the grid lines drawn in the PDF sit under their labels.
        with pdfplumber.open(result.sheet) as pdf:
            page = pdf.pages[0]
            verticals = sorted({round(ln["x0"] * PT_TO_MM, 3) for ln in page.lines + page.curves
                                if abs(ln["x0"] - ln["x1"]) < 1e-3 and abs(ln["height"] * PT_TO_MM - fh) < 0.05})
        for _, x in bottom:
            assert min(abs(v - x) for v in verticals) < 0.05


def test_scale_is_from_the_series_and_the_largest_that_fits(big, admin):
    from geo_app.production.area import resolve
    from geo_app.production.dossier import SCALE_SERIES
    from geo_app.production.dossier.layout import FIT_MARGIN_MM, PAPERS
    from geo_app.production.products import get_product

    assert big.scale in SCALE_SERIES
    minx, miny, maxx, maxy = resolve(get_product(LARGEST), admin).geometry.bounds
    frame = PAPERS["A3"]
    larger = SCALE_SERIES[SCALE_SERIES.index(big.scale) - 1]
    assert (maxx - minx) * 1000 / larger + 2 * FIT_MARGIN_MM > frame.frame_w or \
        (maxy - miny) * 1000 / larger + 2 * FIT_MARGIN_MM > frame.frame_h


def test_sheet_text_is_vietnamese_and_says_what_it_must(big):
    _, _, text = _words(big.sheet)
    flat = " ".join(text.split())
    for expected in (
        "BẢN ĐỒ KHU VỰC ĐỊA LÝ", "LỢN ĐEN BẢN ĐỊA VĂN BÀN", "Tỉnh Lào Cai", f"Tỉ lệ 1:{big.scale:,}".replace(",", " "),
        "Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208)",
        "XÁC NHẬN CỦA ỦY BAN NHÂN DÂN TỈNH LÀO CAI", "Sở Khoa học và Công nghệ tỉnh Lào Cai",
        "Huyện Văn Bàn (cũ)", "Xã Văn Bàn", "CHÚ GIẢI", big.dossier_id, big.package_hash[:12],
    ):
        assert expected in flat, expected
    # The product is a draft: the (rotated) watermark is there, read in content order by pypdf.
    assert "BẢN NHÁP / DRAFT" in pypdf.PdfReader(big.sheet).pages[0].extract_text()


def test_confirmed_product_has_no_watermark(at_50k):
    text = pypdf.PdfReader(at_50k.sheet).pages[0].extract_text()
    assert "DRAFT" not in text and "BẢN NHÁP" not in text and "SẢN PHẨM THỬ ĐỒNG TUYỂN" in text


def test_annex_lists_communes_and_boundary_points(big):
    with pdfplumber.open(big.sheet) as pdf:
        pages = [" ".join((pg.extract_text(y_tolerance=1) or "").split()) for pg in pdf.pages]
        sizes = {(round(pg.width * PT_TO_MM), round(pg.height * PT_TO_MM)) for pg in pdf.pages[1:]}
    assert sizes == {(210, 297)}
    annex1 = next(t for t in pages if "PHỤ LỤC 1" in t)
    for commune in pd.read_csv(big.out_dir / "communes.csv", dtype=str)["former_commune"]:
        assert commune in annex1
    points = pd.read_csv(big.out_dir / "boundary-points.csv")
    annex2 = " ".join(t for t in pages if "PHỤ LỤC 2" in t)
    assert "chiều kim đồng hồ" in annex2 and "cực bắc" in annex2
    for row in points.iloc[[0, len(points) // 2, -1]].itertuples():
        assert f"{row.x_north:.2f}" in annex2 and f"{row.y_east:.2f}" in annex2


def test_boundary_points_clockwise_from_the_northernmost(big):
    points = pd.read_csv(big.out_dir / "boundary-points.csv")
    assert list(points["no"]) == list(range(1, len(points) + 1))
    ring = points[points["ring"] == 1]
    assert ring["x_north"].iloc[0] == ring["x_north"].max()
    e, n = ring["y_east"].to_numpy(), ring["x_north"].to_numpy()
    assert np.dot(e, np.roll(n, -1)) - np.dot(np.roll(e, -1), n) < 0  # clockwise in east/north


# --- exports ---------------------------------------------------------------------------------

def _area_ha(frame):
    return float(frame.to_crs("EPSG:9208").geometry.area.sum() / 1e4)


def test_exports_read_back_in_their_crs_with_the_resolved_area(big):
    out = big.out_dir
    gpkg = pyogrio.read_dataframe(out / "production-area.gpkg", layer="production_area")
    assert gpkg.crs.to_epsg() == 9208
    assert _area_ha(gpkg) == pytest.approx(big.area_ha, rel=1e-12)
    pts = pyogrio.read_dataframe(out / "production-area.gpkg", layer="boundary_points")
    assert pts.crs.to_epsg() == 9208 and len(pts) == big.manifest["area"]["boundary_points"]

    with zipfile.ZipFile(out / "production-area-shp.zip") as zf:
        names = set(zf.namelist())
        assert {f"production-area.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert zf.read("production-area.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    shp = pyogrio.read_dataframe(f"/vsizip/{out / 'production-area-shp.zip'}/production-area.shp")
    assert shp.crs.to_epsg() == 9208
    assert shp["Name"].iloc[0] == "Lợn đen bản địa Văn Bàn"
    assert _area_ha(shp) == pytest.approx(big.area_ha, rel=1e-9)

    for name in ("production-area.kml", "production-area.geojson"):
        frame = pyogrio.read_dataframe(out / name)
        assert frame.crs.to_epsg() == 4326, name
        assert _area_ha(frame) == pytest.approx(big.area_ha, rel=1e-5), name
    geojson = json.loads((out / "production-area.geojson").read_text(encoding="utf-8"))
    assert "crs" not in geojson  # RFC 7946: WGS 84 implied, no crs member
    lon, lat = np.asarray(shapely.geometry.shape(geojson["features"][0]["geometry"]).exterior.coords).T[:, 0]
    assert 103 < lon < 106 and 21 < lat < 23


def test_manifest_hashes_verify(big):
    manifest = json.loads((big.out_dir / "manifest.json").read_text(encoding="utf-8"))
    files = {p.name for p in big.out_dir.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((big.out_dir / name).read_bytes()).hexdigest() == digest, name
    covered = "".join(f"{manifest['files'][n]}  {n}\n" for n in manifest["package_sha256_covers"])
    assert hashlib.sha256(covered.encode()).hexdigest() == manifest["package_sha256"]
    from geo_app import __version__

    assert manifest["software_version"] == __version__
    assert manifest["sources"]["ne-rivers"] and manifest["product"]["definition_sha256"]
    assert manifest["parameters"]["paper"] == "A3" and manifest["parameters"]["scale"] == big.scale


def test_two_runs_give_identical_bytes(big, admin, tmp_path):
    from geo_app.production.dossier import make_dossier

    again = make_dossier(LARGEST, tmp_path / "again", admin=admin)
    assert again.dossier_id == big.dossier_id
    names = sorted(p.name for p in big.out_dir.iterdir())
    assert names == sorted(p.name for p in again.out_dir.iterdir())
    for name in names:
        assert (big.out_dir / name).read_bytes() == (again.out_dir / name).read_bytes(), name


# --- refusals and failures -------------------------------------------------------------------

def test_incomplete_product_is_refused_naming_what_is_missing(store_home, tmp_path):
    from geo_app.production.dossier import DossierError, make_dossier

    with pytest.raises(DossierError) as err:
        make_dossier("bo-vang-muong-khuong", tmp_path / "bv")
    message = str(err.value)
    assert "needs the boundary of former commune" in message and "cần ranh giới xã cũ" in message
    for name in ("Pha Long", "Dìn Chin", "Tả Gia Khâu"):
        assert name in message
    assert not (tmp_path / "bv").exists()


def test_a_failure_leaves_nothing_half_written(at_50k, small_product, admin, tmp_path, monkeypatch):
    from geo_app.production.dossier import make_dossier, pdf

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pdf, "write_pdf", broken)
    with pytest.raises(RuntimeError):
        make_dossier(small_product, tmp_path / "pkg", scale=50_000, admin=admin)
    assert list(tmp_path.iterdir()) == []


def test_scale_too_large_for_the_paper_is_refused(store_home, admin, tmp_path):
    from geo_app.production.dossier import LayoutError, make_dossier

    with pytest.raises(LayoutError, match="A4"):
        make_dossier(LARGEST, tmp_path / "x", paper="A4", scale=50_000, admin=admin)


def test_scale_outside_the_standard_series_is_refused(store_home, admin, tmp_path):
    from geo_app.production.dossier import LayoutError, make_dossier

    with pytest.raises(LayoutError, match="standard series"):
        make_dossier(LARGEST, tmp_path / "x", paper="A3", scale=333_333, admin=admin)
    assert not (tmp_path / "x").exists()


def test_cli_dossier(store_home, tmp_path):
    from geo_app.cli import main

    runner = CliRunner()
    refused = runner.invoke(main, ["dossier", "bo-vang-muong-khuong", "--out", str(tmp_path / "bv")])
    assert refused.exit_code == 1 and "needs the boundary of former commune" in refused.output
    made = runner.invoke(main, ["dossier", "sa-bao-yen", "--out", str(tmp_path / "sa"), "--paper", "A4"])
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "sa" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["paper"] == "A4" and manifest["dossier_id"] in made.output
    with pdfplumber.open(tmp_path / "sa" / "sheet.pdf") as pdf:
        w, h = pdf.pages[0].width * PT_TO_MM, pdf.pages[0].height * PT_TO_MM
    assert (round(w), round(h)) == (297, 210)
