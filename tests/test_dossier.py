"""The dossier, on the real layer store: what the sheet shows is read back from
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
    larger = SCALE_SERIES[SCALE_SERIES.index(big.scale) - 1]
    for frame in (PAPERS["A3"], PAPERS["A3"].turned()):  # neither landscape nor portrait holds it larger
        assert (maxx - minx) * 1000 / larger + 2 * FIT_MARGIN_MM > frame.frame_w or \
            (maxy - miny) * 1000 / larger + 2 * FIT_MARGIN_MM > frame.frame_h


def test_sheet_text_is_vietnamese_and_says_what_it_must(big):
    _, _, text = _words(big.sheet)
    flat = " ".join(text.split())
    for expected in (
        "BẢN ĐỒ KHU VỰC ĐỊA LÝ", "LỢN ĐEN BẢN ĐỊA VĂN BÀN", "Tỉnh Lào Cai", f"Tỉ lệ 1:{big.scale:,}".replace(",", " "),
        "Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208)",
        "XÁC NHẬN CỦA ỦY BAN", "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "ĐƠN VỊ THÀNH LẬP",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "NQ 202/2025/QH15", "1673/NQ-UBTVQH15", "sapnhap.bando.com.vn",
        "Thống kê", "Chủ sở hữu nhãn hiệu", "Huyện Văn Bàn (cũ)", "Xã Văn Bàn", "CHÚ GIẢI",
        big.dossier_id, big.package_hash[:12],
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
        for stem in ("production-area", "boundary-points"):
            assert {f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert zf.read("production-area.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    shp = pyogrio.read_dataframe(f"/vsizip/{out / 'production-area-shp.zip'}/production-area.shp")
    assert shp.crs.to_epsg() == 9208
    assert shp["Name"].iloc[0] == "Lợn đen bản địa Văn Bàn"
    assert _area_ha(shp) == pytest.approx(big.area_ha, rel=1e-9)
    shp_points = pyogrio.read_dataframe(f"/vsizip/{out / 'production-area-shp.zip'}/boundary-points.shp")
    assert shp_points.crs.to_epsg() == 9208 and list(shp_points["no"]) == list(pts["no"])
    assert np.allclose(shp_points.geometry.x, pts.geometry.x) and np.allclose(shp_points.geometry.y, pts.geometry.y)

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
    # What would resolve it: the file (polygons, GSO code and name columns, where they come from)…
    for expected in ("area.former_commune_boundaries", "bo-vang-muong-khuong.yaml", "'code'", "'name'",
                     "land office", "Văn phòng đăng ký đất đai"):
        assert expected in message, expected
    # …and the definition that resolves today: the whole 2025 xã Pha Long, which also holds Tả Ngải Chồ.
    assert 'communes_2025: ["02752"]' in message and "Tả Ngải Chồ" in message and "10 533 ha" in message
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


# --- what a reviewer checks on the printed sheet ------------------------------------------------

@pytest.fixture(scope="module")
def big_a4(store_home, admin, tmp_path_factory):
    from geo_app.production.dossier import make_dossier

    return make_dossier(LARGEST, tmp_path_factory.mktemp("dossier-a4") / LARGEST, paper="A4", admin=admin)


def _upright_words(pdf_path: Path, page_no: int = 0):
    """Words of a page as a reader boxes them, without the draft watermark (rotated, 47–64 pt)."""

    def not_watermark(obj):
        return obj.get("object_type") != "char" or (obj.get("upright", True) and obj["size"] < 30)

    with pdfplumber.open(pdf_path) as pdf:
        page = pdf.pages[page_no].filter(not_watermark)
        return page.extract_words(keep_blank_chars=False, use_text_flow=False, x_tolerance=1.0, y_tolerance=1.0)


def test_nothing_is_printed_below_6_pt(big, big_a4):
    for result in (big, big_a4):
        with pdfplumber.open(result.sheet) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                small = [(c["text"], round(c["size"], 2)) for c in page.chars if c["size"] < 6.0 - 1e-6]
                assert not small, (result.paper, number, small[:10])


def test_no_two_labels_overlap_on_the_map_page(big, big_a4, at_50k):
    for result in (big, big_a4, at_50k):
        words = _upright_words(result.sheet)
        boxes = np.array([(w["x0"], w["top"], w["x1"], w["bottom"]) for w in words])
        assert len(boxes) > 100
        # Pairs whose boxes share area (touching edges are not an overlap).
        ix = (np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0]))
        iy = (np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1]))
        overlapping = np.argwhere(np.triu((ix > 0.05) & (iy > 0.05), k=1))
        pairs = [(words[i]["text"], words[j]["text"]) for i, j in overlapping]
        assert not pairs, (result.paper, len(pairs), pairs[:10])


def test_point_numbers_are_whole_words_on_the_sheet(big):
    """Numbers placed apart read as themselves: every number printed is a point that exists."""
    points = pd.read_csv(big.out_dir / "boundary-points.csv")
    p = big.manifest["parameters"]
    fx, fy, fw, fh = p["map_frame_mm"]
    with pdfplumber.open(big.sheet) as pdf:
        height = pdf.pages[0].height
    inside = [w for w in _upright_words(big.sheet) if fx < w["x0"] * PT_TO_MM < fx + fw
              and fy < (height - w["bottom"]) * PT_TO_MM < fy + fh and w["text"].isdigit()]
    numbers = {int(w["text"]) for w in inside}
    assert numbers and numbers <= set(points["no"])


def test_a3_and_a4_list_the_same_boundary_points(big, big_a4):
    assert big.scale != big_a4.scale  # different scales, one boundary
    a3 = (big.out_dir / "boundary-points.csv").read_bytes()
    a4 = (big_a4.out_dir / "boundary-points.csv").read_bytes()
    assert a3 == a4
    assert big.manifest["area"]["boundary_sha256"] == big_a4.manifest["area"]["boundary_sha256"]


def test_boundary_points_do_not_depend_on_the_scale(admin):
    from geo_app.production.area import resolve
    from geo_app.production.dossier.points import boundary_points
    from geo_app.production.products import get_product

    geometry = resolve(get_product(LARGEST), admin).geometry
    tables = [boundary_points(geometry, scale).table for scale in (50_000, 250_000, 500_000)]
    assert all(t.equals(tables[0]) for t in tables[1:])


def test_the_whole_former_district_is_its_drawn_outline(admin):
    """Văn Bàn, Bảo Thắng, Bảo Yên: the outline drawn as "Huyện … (cũ)" is the area to 1 m²."""
    from geo_app.production.area import resolve
    from geo_app.production.dossier.content import former_district_outlines
    from geo_app.production.products import get_product

    outlines = former_district_outlines(admin).set_index("code")["geometry"]
    for product_id in ("lon-den-van-ban", "rau-an-toan-bao-thang", "sa-bao-yen"):
        product = get_product(product_id)
        area = resolve(product, admin).geometry
        (district,) = product.area.former_districts
        assert shapely.symmetric_difference(area, outlines[district]).area < 1.0, product_id
    # and no outline spills out of the province
    province = admin.province_outline()
    spill = shapely.difference(shapely.union_all(outlines.values), province).area
    assert spill < 1.0


def test_annex_1_rows_add_up_to_the_total(big):
    table = pd.read_csv(big.out_dir / "communes.csv", dtype={"commune_code": str, "former_code": str})
    per_commune = table.drop_duplicates("commune_code")
    assert round(per_commune["commune_area_ha"].sum(), 2) == round(big.area_ha, 2)
    with pdfplumber.open(big.sheet) as pdf:
        annex1 = " ".join(" ".join((pg.extract_text(y_tolerance=1) or "").split()) for pg in pdf.pages
                          if "PHỤ LỤC 1" in (pg.extract_text() or ""))
    assert "″" not in annex1  # no ditto marks
    assert "N.T" not in annex1  # full official names


def test_annex_1_says_which_2025_communes_are_only_partly_in(admin, tmp_path):
    from geo_app.production.dossier import make_dossier

    result = make_dossier("sa-bao-yen", tmp_path / "sa", paper="A3", admin=admin)
    table = pd.read_csv(result.out_dir / "communes.csv", dtype={"commune_code": str, "former_code": str})
    partly = set(table.loc[table["commune_inclusion_en"] == "partly", "commune_2025"])
    assert "Xã Bảo Hà" in partly
    # each former commune listed is wholly in (the whole former district), its 2025 commune maybe not
    assert set(table["inclusion_en"]) == {"wholly"}
    with pdfplumber.open(result.sheet) as pdf:
        text = " ".join(" ".join((pg.extract_text(y_tolerance=1) or "").split()) for pg in pdf.pages[1:3])
    assert "Xã Bảo Hà" in text and "một phần / partly" in text


def test_no_hole_under_1_m2_in_any_export(big):
    out = big.out_dir
    assert big.manifest["area"]["notes"]  # Văn Bàn's 1.8e-9 m² hole was removed, and the sheet says so
    for name in ("production-area.gpkg", "production-area.kml", "production-area.geojson"):
        layer = {"layer": "production_area"} if name.endswith(".gpkg") else {}
        frame = pyogrio.read_dataframe(out / name, **layer).to_crs("EPSG:9208")
        for poly in shapely.get_parts(frame.geometry.values):
            assert all(shapely.Polygon(r).area >= 1.0 for r in poly.interiors), name
            assert len(poly.exterior.coords) >= 4


def test_the_sheet_is_georeferenced_for_gdal(big, big_a4):
    import shutil
    import subprocess

    gdalinfo = shutil.which("gdalinfo")
    assert gdalinfo, "gdalinfo (Debian gdal-bin, installed by `make install-test`) is needed to read the PDF back"
    for result in (big, big_a4):
        info = json.loads(subprocess.run([gdalinfo, "-json", str(result.sheet)], check=True, capture_output=True,
                                         text=True).stdout)
        wkt = info["coordinateSystem"]["wkt"]
        assert 'ID["EPSG",9208]' in wkt
        neatline = shapely.from_wkt(info["metadata"][""]["NEATLINE"])
        e0, n0, e1, n1 = result.manifest["parameters"]["map_extent_m"]
        corners = np.asarray(neatline.exterior.coords)[:-1]
        for corner in ((e0, n0), (e0, n1), (e1, n1), (e1, n0)):
            assert np.min(np.hypot(*(corners - corner).T)) < 1.0, corner


def test_the_national_border_is_drawn_where_the_outline_meets_china(big, admin, tmp_path):
    from geo_app import layers
    from geo_app.production.dossier import make_dossier

    border = layers.read("national-border")
    assert border.length.sum() > 100_000  # Lào Cai borders China for ~180 km
    # Every metre of it lies on the province outline (it is the outline, not Natural Earth's line).
    outline = admin.province_outline().boundary
    assert shapely.difference(shapely.union_all(border.geometry.values), outline.buffer(0.01)).length < 1.0
    result = make_dossier("rau-an-toan-bao-thang", tmp_path / "bt", paper="A3", admin=admin)
    _, _, text = _words(result.sheet)
    assert "TRUNG QUỐC" in text and "Biên giới quốc gia" in text
    # The border symbol (a broad band under a dash-dot line) is drawn along the border's stretch in the frame.
    from geo_app.production.dossier.sheet import COLOURS

    band = tuple(int(COLOURS["border_band"][i:i + 2], 16) / 255 for i in (1, 3, 5))
    with pdfplumber.open(result.sheet) as pdf:
        page = pdf.pages[0]
        strokes = [c for c in page.curves + page.lines
                   if isinstance(c.get("stroking_color"), (tuple, list)) and len(c["stroking_color"]) >= 3
                   and np.allclose(c["stroking_color"][:3], band, atol=0.01)]
        drawn_mm = sum(np.hypot(*np.diff(np.asarray(c["pts"]), axis=0).T).sum() for c in strokes) * PT_TO_MM
    e0, n0, e1, n1 = result.manifest["parameters"]["map_extent_m"]
    in_frame = shapely.intersection(shapely.union_all(border.geometry.values), shapely.box(e0, n0, e1, n1)).length
    expected_mm = in_frame * 1000 / result.scale
    assert expected_mm > 50 and drawn_mm == pytest.approx(expected_mm, rel=0.1)
    assert "TRUNG QUỐC" not in _words(big.sheet)[2]  # Văn Bàn's frame does not reach China


def test_a_tall_area_gets_a_portrait_sheet(admin, tmp_path):
    """The whole 2025 xã Pha Long at 1:50 000 needs about 221 × 310 mm: only A3 portrait holds it."""
    from geo_app.production.dossier import make_dossier
    from geo_app.production.products import parse_product

    product = parse_product({"id": "pha-long", "name": {"vi": "Xã Pha Long (thử)", "en": "Test"},
                             "mark": {"kind": "collective"}, "status": "draft",
                             "area": {"communes_2025": ["02752"]}}, "test")
    result = make_dossier(product, tmp_path / "pl", paper="A3", scale=50_000, admin=admin)
    assert result.manifest["parameters"]["orientation"] == "portrait"
    with pdfplumber.open(result.sheet) as pdf:
        assert pdf.pages[0].height > pdf.pages[0].width


def test_a_frozen_boundary_is_drawn_as_given_without_resolving(at_50k, small_product, admin, tmp_path, monkeypatch):
    """The workflow passes the boundary of a version; the dossier draws and lists exactly it."""
    from dataclasses import dataclass

    from geo_app.production import area as area_module
    from geo_app.production.dossier import core, make_dossier
    from geo_app.production.dossier.points import boundary_points, geometry_sha256

    @dataclass(frozen=True)
    class Version:  # the workflow's own frozen record, not the dossier's class
        geometry: object
        points: pd.DataFrame
        sha256: str
        area_ha: float
        perimeter_m: float

    commune = admin.communes.set_index("code").at[small_product.area.communes_2025[0], "geometry"]
    # SYNTHETIC: the commune shrunk by 50 m, a geometry no definition resolves to.
    geometry = commune.buffer(-50)
    table = boundary_points(geometry).table
    version = Version(geometry, table, geometry_sha256(geometry), geometry.area / 1e4, geometry.length)

    def no_resolving(*args, **kwargs):
        raise AssertionError("resolved again")

    monkeypatch.setattr(core, "resolve", no_resolving)
    monkeypatch.setattr(area_module, "resolve", no_resolving)
    result = make_dossier(small_product, tmp_path / "v", scale=50_000, admin=admin, boundary=version)
    listed = pd.read_csv(result.out_dir / "boundary-points.csv")
    assert listed[["no", "ring", "x_north", "y_east"]].equals(table)
    assert result.manifest["area"]["boundary_sha256"] == version.sha256
    assert result.area_ha == pytest.approx(version.area_ha)
    drawn = pyogrio.read_dataframe(result.out_dir / "production-area.gpkg", layer="production_area").geometry.iloc[0]
    assert shapely.equals_exact(drawn, geometry, 1e-6)


def test_refused_options_are_answered_before_the_work(store_home, admin, tmp_path, monkeypatch):
    """A wrong paper or an odd scale is refused before anything is resolved or checked."""
    from geo_app.production.dossier import LayoutError, core, make_dossier

    def no_work(*args, **kwargs):
        raise AssertionError("the work started")

    monkeypatch.setattr(core, "resolve", no_work)
    monkeypatch.setattr(core.AdminLayers, "from_store", no_work)
    with pytest.raises(LayoutError, match="A3"):
        make_dossier(LARGEST, tmp_path / "x", paper="A2")
    with pytest.raises(LayoutError, match="standard series"):
        make_dossier(LARGEST, tmp_path / "x", paper="A3", scale=333_333)
    monkeypatch.undo()
    monkeypatch.setattr(core, "check", no_work)  # a scale too large for the paper: refused before the check
    with pytest.raises(LayoutError, match="A4"):
        make_dossier(LARGEST, tmp_path / "x", paper="A4", scale=50_000, admin=admin)
