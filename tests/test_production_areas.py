"""Products: definitions, resolution to geometry, and validation, on the real layer store."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

import geo_app.layers as layers
from geo_app.production.area import AdminLayers, ResolutionError, resolve
from geo_app.production.products import ProductDefinitionError, load_products, parse_product
from geo_app.production.validation import check

PRODUCT_IDS = {"sa-bao-yen", "bo-vang-muong-khuong", "lon-den-van-ban", "rau-an-toan-bao-thang"}


@pytest.fixture(scope="module")
def admin(store_home):
    return AdminLayers.from_store()


def make(area: dict, pid: str = "test-product", status: str = "draft"):
    return parse_product({"id": pid, "name": {"vi": "Thử", "en": "Test"}, "mark": {"kind": "collective"},
                          "status": status, "area": area}, "test")


def commune(admin, full_name):
    row = admin.communes[admin.communes["full_name"] == full_name]
    assert len(row) == 1, full_name
    return row.iloc[0]


def test_four_products_all_draft(store_home):
    products = load_products()
    assert set(products) == PRODUCT_IDS
    assert all(p.status == "draft" for p in products.values())
    assert products["bo-vang-muong-khuong"].owner["vi"] == "Hội Nông dân huyện Mường Khương"


def test_area_is_exactly_the_sum_of_its_pieces(admin):
    for pid in ("sa-bao-yen", "lon-den-van-ban", "rau-an-toan-bao-thang"):
        resolved = resolve(load_products()[pid], admin)
        assert resolved.is_complete
        assert resolved.area_ha == pytest.approx(sum(p.area_ha for p in resolved.pieces), rel=1e-6)


def test_former_district_gives_whole_communes_and_cuts_the_straddling_one(admin):
    resolved = resolve(load_products()["sa-bao-yen"], admin)
    by_commune = {p.commune_name: p for p in resolved.pieces}
    assert set(by_commune) == {"Xã Bảo Yên", "Xã Nghĩa Đô", "Xã Xuân Hoà", "Xã Thượng Hà", "Xã Bảo Hà", "Xã Phúc Khánh"}
    # whole communes are taken exactly
    nghia_do = commune(admin, "Xã Nghĩa Đô")
    assert by_commune["Xã Nghĩa Đô"].geometry.equals(nghia_do.geometry)
    # Bảo Hà straddles former Bảo Yên and Văn Bàn: the two cuts share it between the two products
    bao_ha = commune(admin, "Xã Bảo Hà").geometry
    van_ban = {p.commune_name: p for p in resolve(load_products()["lon-den-van-ban"], admin).pieces}
    bao_yen_part, van_ban_part = by_commune["Xã Bảo Hà"].geometry, van_ban["Xã Bảo Hà"].geometry
    # an exact partition: no overlap, and nothing of the commune left in neither product
    assert shapely.intersection(bao_yen_part, van_ban_part).area < 1.0
    assert bao_yen_part.area + van_ban_part.area == pytest.approx(bao_ha.area, rel=1e-9)
    assert set(by_commune["Xã Bảo Hà"].former_codes) == set(
        admin.former_communes.query("new_commune == 'Xã Bảo Hà' and former_district_code == '087'")["code"]
    )


def test_former_communes_making_a_whole_2025_commune(admin):
    codes = list(admin.former_communes.query("new_commune == 'Xã Pha Long'")["code"])
    assert len(codes) == 4
    resolved = resolve(make({"former_communes": codes}), admin)
    assert resolved.is_complete
    assert resolved.geometry.equals(commune(admin, "Xã Pha Long").geometry)


def test_former_communes_of_one_district_inside_a_straddling_commune(admin):
    codes = list(admin.former_communes.query("name in ['Tân An', 'Tân Thượng'] and new_commune == 'Xã Bảo Hà'")["code"])
    resolved = resolve(make({"former_communes": codes}), admin)
    assert resolved.is_complete and len(resolved.pieces) == 1
    assert "former district outline" in resolved.pieces[0].method
    assert 0.1 < resolved.geometry.area / commune(admin, "Xã Bảo Hà").geometry.area < 0.5


def test_part_of_a_commune_needs_former_commune_boundaries(admin, tmp_path):
    product = load_products()["bo-vang-muong-khuong"]
    resolved = resolve(product, admin)
    assert not resolved.is_complete and resolved.geometry is None
    assert {p.former_codes[0] for p in resolved.unresolved} == {"02752", "02764", "02767"}
    assert any("needs the boundary of former commune Xã Dìn Chin (02764)" in m for m in resolved.messages)
    report = check(product, admin)
    assert not report.ok and {f.code for f in report.findings} >= {"unresolved", "empty"}

    # SYNTHETIC former-commune boundaries made by the test: xã Pha Long cut into four strips.
    pha_long = commune(admin, "Xã Pha Long").geometry
    minx, miny, maxx, maxy = pha_long.bounds
    step = (maxx - minx) / 4
    strips = [shapely.box(minx + i * step, miny, minx + (i + 1) * step, maxy) for i in range(4)]
    codes = ["02752", "02764", "02767", "02761"]
    boundaries = gpd.GeoDataFrame({"code": codes, "note": ["SYNTHETIC"] * 4}, geometry=strips, crs="EPSG:9208")
    path = tmp_path / "former_communes_synthetic.gpkg"
    boundaries.to_file(path)
    spec = {"former_communes": ["02752", "02764", "02767"], "former_commune_boundaries": str(path)}
    resolved = resolve(make(spec), admin)
    assert resolved.is_complete
    expected = shapely.intersection(pha_long, shapely.union_all(strips[:3]))
    assert resolved.geometry.area == pytest.approx(expected.area, rel=1e-6)


def test_self_intersecting_polygon_file_is_an_error(admin, tmp_path):
    nghia_do = commune(admin, "Xã Nghĩa Đô").geometry
    minx, miny, maxx, maxy = nghia_do.bounds
    bowtie = shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])  # SYNTHETIC
    assert not bowtie.is_valid
    path = tmp_path / "bowtie.gpkg"
    gpd.GeoDataFrame({"note": ["SYNTHETIC"]}, geometry=[bowtie], crs="EPSG:9208").to_file(path)
    product = make({"files": [str(path)]})
    report = check(product, admin, others={})
    assert not report.ok and not report.valid
    assert any(f.code == "invalid" and "Self-intersection" in f.message for f in report.findings)


def test_annex_rows_sum_to_the_area(admin):
    resolved = resolve(load_products()["lon-den-van-ban"], admin)
    rows = resolved.former_rows
    assert len(rows) == 22  # every former commune of Văn Bàn
    assert rows["area_ha_2025_part"].sum() == pytest.approx(resolved.area_ha, rel=1e-6)


def test_former_commune_boundaries_beat_the_district_outline(admin, tmp_path):
    bao_ha = commune(admin, "Xã Bảo Hà").geometry
    codes = list(admin.former_communes.query("name in ['Tân An', 'Tân Thượng'] and new_commune == 'Xã Bảo Hà'")["code"])
    minx, miny, maxx, maxy = bao_ha.bounds
    west = shapely.box(minx, miny, (minx + maxx) / 2, maxy)  # SYNTHETIC boundary: the west half
    path = tmp_path / "former_synthetic.gpkg"
    gpd.GeoDataFrame({"code": codes, "note": ["SYNTHETIC"] * 2}, geometry=[west, west], crs="EPSG:9208").to_file(path)
    resolved = resolve(make({"former_communes": codes, "former_commune_boundaries": str(path)}), admin)
    assert resolved.is_complete
    assert all("user-supplied" in p.method for p in resolved.pieces)
    assert resolved.geometry.area == pytest.approx(shapely.intersection(bao_ha, west).area, rel=1e-6)


def test_unknown_codes_are_refused(admin):
    with pytest.raises(ResolutionError, match="99999"):
        resolve(make({"former_communes": ["99999"]}), admin)
    with pytest.raises(ProductDefinitionError, match="5-digit"):
        make({"former_communes": ["12ab"]})
    with pytest.raises(ProductDefinitionError, match="mark.kind"):
        parse_product({"id": "x", "name": {}, "mark": {"kind": "brand"}, "status": "draft", "area": {}}, "x.yaml")


def test_check_reports_area_communes_and_overlap(admin):
    products = load_products()
    report = check(products["sa-bao-yen"], admin, others=products)
    assert report.ok and report.valid
    assert report.area_ha == pytest.approx(sum(c["area_ha"] for c in report.communes), rel=1e-4)
    inclusion = {c["commune_2025"]: c["inclusion"] for c in report.communes}
    assert inclusion["Xã Bảo Hà"].startswith("một phần") and inclusion["Xã Nghĩa Đô"].startswith("toàn bộ")
    assert {r["former_district"] for r in report.former_communes} == {"Huyện Bảo Yên (cũ)"}
    assert not report.overlaps  # the Bảo Hà cut keeps Bảo Yên and Văn Bàn apart

    overlapping = make({"communes_2025": [commune(admin, "Xã Nghĩa Đô").code]}, pid="overlap-test")
    report = check(overlapping, admin, others=products)
    assert [o["product_id"] for o in report.overlaps] == ["sa-bao-yen"]
    assert report.overlaps[0]["area_ha"] == pytest.approx(report.area_ha, rel=1e-6)


def test_check_finds_outside_slivers_and_holes(admin):
    import pandas as pd

    from geo_app.production.area import ResolvedArea

    nghia_do = commune(admin, "Xã Nghĩa Đô").geometry
    cx, cy = nghia_do.centroid.x, nghia_do.centroid.y
    holed = shapely.difference(nghia_do, shapely.box(cx, cy, cx + 50, cy + 50))  # a 0.25 ha hole
    far = shapely.box(0, 0, 10_000, 10_000)  # 10 000 ha far west of the province
    sliver = shapely.box(cx, cy - 20_000, cx + 60, cy - 19_940)  # 0.36 ha
    geometry = shapely.union_all([holed, far, sliver])
    resolved = ResolvedArea("geom-test", geometry, [], pd.DataFrame(columns=["former_district"]))
    report = check(make({}, pid="geom-test"), admin, others={}, resolved=resolved)
    codes = [f.code for f in report.findings]
    assert "outside-province" in codes and not report.ok
    assert "hole" in codes and "sliver" in codes


def test_production_areas_layer(store_home):
    frame = layers.read("production-areas")
    assert set(frame["product_id"]) == PRODUCT_IDS
    assert (frame["status"] == "draft").all()
    row = frame.set_index("product_id").loc["bo-vang-muong-khuong"]
    assert not row["complete"] and "02764" in row["unresolved"]
    van_ban = frame.set_index("product_id").loc["lon-den-van-ban"]
    assert van_ban["area_ha"] == pytest.approx(frame.set_index("product_id").loc["lon-den-van-ban", "geometry"].area / 1e4, rel=1e-6)


def test_unresolved_area_is_null_geometry_in_geojson(store_home):
    from geo_app.serve.features import feature_collection

    data = feature_collection("production-areas", tolerance_m=50)
    by_id = {f["properties"]["product_id"]: f for f in data["features"]}
    assert by_id["bo-vang-muong-khuong"]["geometry"] is None
    assert by_id["sa-bao-yen"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
