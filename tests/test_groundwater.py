"""Groundwater: AHP (Saaty's published examples), reclass tables, the potential model end to end on
a DEM the test makes, level interpolation, and bad input (clear message, nothing overwritten)."""
from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine
from shapely.geometry import LineString, Point, box

from geo_app.water import groundwater as gw
from geo_app.water.groundwater import AhpError, ReclassError
from geo_app.water.terrain import DemError

# Saaty (1990), "How to make a decision: the Analytic Hierarchy Process", EJOR 48:9-26, house example.
SAATY_CRITERIA = [
    [1, 5, 3, 7, 6, 6, "1/3", "1/4"],
    ["1/5", 1, "1/3", 5, 3, 3, "1/5", "1/7"],
    ["1/3", 3, 1, 6, 3, 4, 6, "1/5"],
    ["1/7", "1/5", "1/6", 1, "1/3", "1/4", "1/7", "1/8"],
    ["1/6", "1/3", "1/3", 3, 1, "1/2", "1/5", "1/6"],
    ["1/6", "1/3", "1/4", 4, 2, 1, "1/5", "1/6"],
    [3, 5, "1/6", 7, 5, 5, 1, "1/2"],
    [4, 7, 5, 8, 6, 6, 2, 1],
]
SAATY_YARD = [[1, 5, 4], ["1/5", 1, "1/3"], ["1/4", 3, 1]]
SAATY_FINANCING = [[1, "1/7", "1/5"], [7, 1, 3], [5, "1/3", 1]]


def test_saaty_consistent_examples_give_the_published_weights():
    yard = gw.ahp_weights(SAATY_YARD, ["A", "B", "C"])
    assert yard.lambda_max == pytest.approx(3.086, abs=1e-3)
    assert yard.cr == pytest.approx(0.074, abs=1e-3)
    assert yard.weights == pytest.approx((0.674, 0.101, 0.226), abs=1e-3)
    fin = gw.ahp_weights(SAATY_FINANCING)
    assert fin.lambda_max == pytest.approx(3.065, abs=1e-3)
    assert fin.weights == pytest.approx((0.072, 0.649, 0.279), abs=1e-3)


def test_saaty_inconsistent_criteria_matrix_is_refused_with_its_numbers():
    # published: λmax = 9.669, CI = 0.238, CR = 0.169
    with pytest.raises(AhpError) as err:
        gw.ahp_weights(SAATY_CRITERIA)
    msg = str(err.value)
    assert "CR = 0.169 ≥ 0.10" in msg and "λmax = 9.669" in msg and "CI = 0.238" in msg and "RI = 1.41" in msg
    assert "consistency ratio" in msg
    # accepted when the user deliberately raises the limit, with the same figures
    res = gw.ahp_weights(SAATY_CRITERIA, cr_limit=0.2)
    assert res.weights == pytest.approx((0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333), abs=1e-3)


def test_bad_matrices_are_refused_clearly():
    with pytest.raises(AhpError, match="không nghịch đảo.*not reciprocal"):
        gw.ahp_weights([[1, 3], [3, 1]], ["slope", "twi"])
    with pytest.raises(AhpError, match=r"suy biến.*\[slope, twi\] = 0.0.*singular"):
        gw.ahp_weights([[1, 0], [0, 1]], ["slope", "twi"])
    with pytest.raises(AhpError, match="vuông.*square"):
        gw.ahp_weights([[1, 2, 3], [0.5, 1, 1]])
    with pytest.raises(AhpError, match="Đường chéo"):
        gw.ahp_weights([[2, 1], [1, 1]])


def test_default_files_are_valid_and_marked_open():
    res, raw = gw.load_ahp(gw.DEFAULT_AHP)
    assert raw["status"] == "open" and res.cr < 0.10
    assert sum(res.weights) == pytest.approx(1.0)
    tables = gw.load_reclass(gw.DEFAULT_RECLASS)
    assert set(res.factors) <= set(tables)


def test_renormalise_drops_missing_factors():
    res = gw.ahp_weights(SAATY_YARD, ["lithology", "slope", "twi"])
    w = gw.renormalise(res, ["slope", "twi"])
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["slope"] / w["twi"] == pytest.approx(res.weights[1] / res.weights[2])


def test_reclass_gap_and_uncovered_values_name_factor_and_range():
    with pytest.raises(ReclassError, match=r"'slope'.*thiếu khoảng \[15, 20\).*misses the value range"):
        gw.parse_tables({"factors": {"slope": {"ranges": [[0, 15, 5], [20, 90, 1]]}}})
    table = gw.parse_tables({"factors": {"twi": {"ranges": [[0, 5, 1], [5, 10, 5]]}}})["twi"]
    with pytest.raises(ReclassError, match=r"'twi'.*giá trị 12–14.*fall in no range"):
        table.apply(np.array([1.0, 12.0, 14.0, np.nan], dtype=np.float32))
    litho = gw.parse_tables({"factors": {"lithology": {"classes": {1: {"score": 5}, 2: 3}}}})["lithology"]
    np.testing.assert_array_equal(litho.apply(np.array([1.0, 2.0, np.nan])), [5, 3, np.nan])
    with pytest.raises(ReclassError, match=r"'lithology'.*mã 7"):
        litho.apply(np.array([1.0, 7.0]))


def test_roc_auc_against_known_values():
    assert gw.roc_auc([3, 4], [1, 2]) == 1.0
    assert gw.roc_auc([1, 2], [3, 4]) == 0.0
    assert gw.roc_auc([2], [2]) == 0.5
    # hand count: pairs (pos > neg) for pos = [0.8, 0.4], neg = [0.1, 0.4, 0.6] → (3 + 1 + 0.5) / 6
    assert gw.roc_auc([0.8, 0.4], [0.1, 0.4, 0.6]) == pytest.approx(4.5 / 6)


# --------------------------------------------------------------------------------------- the model

ORIGIN_X, ORIGIN_Y, CELL = 399990.0, 2475000.0, 30.0


def _dem_file(path, rows=90, cols=110, hole=False):
    r, c = np.mgrid[0:rows, 0:cols]
    z = (1500 + 6 * np.hypot(r - 45, c - 55) + 30 * np.sin(c / 7.0) * np.cos(r / 5.0)).astype(np.float32)
    if hole:
        z[40:43, 50:53] = -9999
    with rasterio.open(path, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="float32",
                       crs="EPSG:9208", transform=Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y), nodata=-9999) as dst:
        dst.write(z, 1)
    return path


def _springs():
    pts = [Point(ORIGIN_X + CELL * (c + 0.5), ORIGIN_Y - CELL * (r + 0.5)) for r, c in [(10, 10), (45, 55), (80, 20), (30, 100)]]
    return gpd.GeoDataFrame({"kind": ["spring"] * 4}, geometry=pts, crs="EPSG:9208")


def _communes():
    return gpd.GeoDataFrame({"code": ["A", "B"], "full_name": ["Xã A", "Xã B"]},
                            geometry=[box(ORIGIN_X, ORIGIN_Y - 2700, ORIGIN_X + 1500, ORIGIN_Y),
                                      box(ORIGIN_X + 1500, ORIGIN_Y - 2700, ORIGIN_X + 3300, ORIGIN_Y)], crs="EPSG:9208")


def _run(tmp_path, out, **kw):
    kw.setdefault("springs", _springs())
    kw.setdefault("communes", _communes())
    return gw.groundwater_potential(_dem_file(tmp_path / "dem.tif", hole=kw.pop("hole", False)), out_dir=out,
                                    extent=(ORIGIN_X, ORIGIN_Y - 2700, ORIGIN_X + 3300, ORIGIN_Y), **kw)


def test_potential_end_to_end_outputs_provenance_and_areas(tmp_path):
    lines = gpd.GeoDataFrame(geometry=[LineString([(400100, 2474900), (403000, 2472400)])], crs="EPSG:9208")
    rain = np.full((90, 110), 2800.0, dtype=np.float32)
    res = _run(tmp_path, tmp_path / "out", lineaments=lines, factors={"rainfall": rain})
    assert set(res.weights) == {"slope", "drainage_density", "twi", "lineament_density", "rainfall"}
    assert sum(res.weights.values()) == pytest.approx(1.0)
    assert res.dropped == ["lithology", "land_use", "soil"]
    assert any("dropped for lack of data: lithology, land_use, soil" in n for n in res.provenance["notes"])
    assert set(np.unique(res.classes)) == {1, 2, 3, 4, 5}
    assert 0.0 <= res.auc <= 1.0
    # class areas per commune add up to the study area
    total_ha = res.commune_areas["area_ha"].sum()
    assert total_ha == pytest.approx(90 * 110 * 0.09, rel=1e-6)
    assert set(res.commune_areas["commune_code"]) == {"A", "B"}
    with rasterio.open(res.files["potential_index.tif"]) as src:
        assert src.crs.to_epsg() == 9208 and src.profile["tiled"]
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        prov = json.loads(src.tags()["provenance"])
    assert prov["ahp"]["CR"] == pytest.approx(res.ahp.cr, abs=1e-6)
    assert prov["software"].startswith("geo-app ")
    assert len(prov["inputs_sha256"]["dem:dem.tif"]) == 64
    classes = gpd.read_file(res.files["potential_classes.gpkg"], layer="potential_classes")
    assert list(classes["class"]) == [1, 2, 3, 4, 5]
    assert classes.crs.to_epsg() == 9208
    assert classes["class_name"].iloc[-1] == "rất cao / very high"
    prov_table = gpd.read_file(res.files["potential_classes.gpkg"], layer="provenance")
    assert "weights_used" in set(prov_table["key"])


def test_identical_inputs_give_byte_identical_outputs(tmp_path):
    def digests(out):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}

    _run(tmp_path, tmp_path / "a")
    _run(tmp_path, tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_bad_inputs_leave_earlier_outputs_untouched(tmp_path):
    out = tmp_path / "out"
    _run(tmp_path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad_ahp = tmp_path / "ahp.yaml"
    bad_ahp.write_text(yaml.safe_dump({"factors": ["slope", "twi", "drainage_density"],
                                       "matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]}))
    with pytest.raises(AhpError, match="CR = .* ≥ 0.10"):
        _run(tmp_path, out, ahp=bad_ahp)
    bad_reclass = tmp_path / "reclass.yaml"
    tables = yaml.safe_load(gw.DEFAULT_RECLASS.read_text(encoding="utf-8"))
    tables["factors"]["slope"]["ranges"] = [[0, 5, 5], [5, 15, 4]]  # nothing above 15°
    bad_reclass.write_text(yaml.safe_dump(tables, allow_unicode=True))
    with pytest.raises(ReclassError, match="'slope'.*fall in no range"):
        _run(tmp_path, out, reclass=bad_reclass)
    with pytest.raises(DemError, match="outside the DEM"):
        gw.groundwater_potential(_dem_file(tmp_path / "dem.tif"), out_dir=out, extent=(0, 0, 1000, 1000))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".groundwater-*"))  # no temporary left behind


def test_nodata_hole_is_filled_and_reported(tmp_path):
    res = _run(tmp_path, None, hole=True)
    assert any("filled 9 nodata cells" in n for n in res.provenance["notes"])
    assert not np.isnan(res.index).any()


def test_default_extent_is_former_sa_pa_town(store_home):
    bounds, geom = gw.default_extent()
    assert geom.area / 1e6 == pytest.approx(680, rel=0.25)  # thị xã Sa Pa ≈ 680 km²
    # the VN-2000 check point (Sa Pa) lies within
    assert bounds[0] < 406447 < bounds[2] and bounds[1] < 2471192 < bounds[3]


def test_level_surface_idw_with_leave_one_out(tmp_path):
    # wells on a plane: level = 0.01·x; IDW of a plane is not exact, but LOO error stays small
    rng = np.random.default_rng(1)
    xs = ORIGIN_X + rng.uniform(0, 3000, 25)
    ys = ORIGIN_Y - rng.uniform(0, 3000, 25)
    wells = gpd.GeoDataFrame({"level_m": 0.01 * (xs - ORIGIN_X)}, geometry=[Point(x, y) for x, y in zip(xs, ys)],
                             crs="EPSG:9208")
    wells.loc[3, "level_m"] = np.nan  # no level: ignored
    surf = gw.interpolate_level(wells, Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y), (100, 100))
    assert surf.n_wells == 24 and surf.residuals.shape == (24,)
    assert 0 < surf.loo_rmse < 6 and surf.loo_mae <= surf.loo_rmse
    assert surf.array.dtype == np.float32 and 0 <= surf.array.min() and surf.array.max() <= 30
    with pytest.raises(gw.LevelError, match="ít nhất 3 giếng.*at least 3"):
        gw.interpolate_level(wells.iloc[:2], Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y), (10, 10))


def test_cli_groundwater(tmp_path):
    from click.testing import CliRunner

    from geo_app.cli import main

    springs = tmp_path / "springs.gpkg"
    _springs().to_file(springs)
    dem = _dem_file(tmp_path / "dem.tif")
    out = tmp_path / "cli-out"
    args = ["groundwater", "--dem", str(dem), "--extent", f"{ORIGIN_X},{ORIGIN_Y - 2700},{ORIGIN_X + 3300},{ORIGIN_Y}",
            "--springs", str(springs), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "CR = 0.010" in result.output and "ROC AUC" in result.output
    assert (out / "potential_class.tif").exists()
    bad = CliRunner().invoke(main, args[:-2] + ["--extent", "1,2,3", "--out", str(out)])
    assert bad.exit_code != 0 and "--extent" in bad.output


# ------------------------------------------------------------------------ review findings

def _cli(args):
    from click.testing import CliRunner

    from geo_app.cli import main

    return CliRunner().invoke(main, args)


def test_dem_that_is_not_a_raster_gives_one_clear_message_and_writes_nothing(tmp_path):
    kml = tmp_path / "area.kml"
    kml.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
                   "<Polygon><outerBoundaryIs><LinearRing><coordinates>103.8,22.3 103.9,22.3 103.9,22.4 103.8,22.3"
                   "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>",
                   encoding="utf-8")
    good = _dem_file(tmp_path / "good.tif").read_bytes()
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(good[: len(good) // 3])
    text = tmp_path / "notes.tif"
    text.write_text("không phải raster", encoding="utf-8")
    extent = f"{ORIGIN_X},{ORIGIN_Y - 2700},{ORIGIN_X + 3300},{ORIGIN_Y}"
    for bad in (kml, truncated, text):
        with pytest.raises(DemError, match=f"Không đọc được DEM {bad.name}.*Cannot read the DEM {bad.name}"):
            gw.groundwater_potential(bad, extent=(ORIGIN_X, ORIGIN_Y - 2700, ORIGIN_X + 3300, ORIGIN_Y))
        out = tmp_path / f"out-{bad.stem}"
        result = _cli(["groundwater", "--dem", str(bad), "--extent", extent, "--out", str(out)])
        assert result.exit_code != 0
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output and "RasterioIOError" not in result.output
        assert f"Không đọc được DEM {bad.name}" in result.output and "GeoTIFF" in result.output
        assert not out.exists()
        assert not list(tmp_path.glob(".groundwater-*"))
    result = _cli(["groundwater", "--dem", str(kml), "--extent", extent, "--out", str(tmp_path / "o")])
    assert "tệp vector" in result.output and "vector file" in result.output


def test_stepped_index_still_gets_five_strictly_increasing_classes():
    # as in the Sa Pa run, where a third of the cells at 3.0 made the breaks [3.0, 3.0, 3.30, 3.60]
    index = np.repeat(np.array([2.7, 3.0, 3.05, 3.1, 3.3, 3.35, 3.6, 3.9], dtype=np.float32),
                      [100, 350, 100, 90, 130, 60, 100, 70]).reshape(20, 50)
    mask = np.ones(index.shape, bool)
    old = np.quantile(index[mask].astype(np.float64), [0.2, 0.4, 0.6, 0.8])
    assert old[0] == old[1] == pytest.approx(3.0)  # what the old code used as breaks
    res = gw.classify(index, mask)
    assert all(a < b for a, b in zip(res.breaks, res.breaks[1:]))
    assert res.empty == [] and all(c > 0 for c in res.cells) and sum(res.cells) == index.size
    assert res.adjusted and res.method_used == "quantile, unique-value-aware"
    assert any("Ngưỡng phân vị" in n and "unique-value-aware" in n for n in res.notes)
    # class k holds breaks[k-2] <= index < breaks[k-1]
    for k in range(1, 6):
        vals = index[res.classes == k]
        if k > 1:
            assert vals.min() >= np.float32(res.breaks[k - 2])
        if k < 5:
            assert vals.max() < np.float32(res.breaks[k - 1])
    # fewer distinct values than classes: breaks still increase, and the empty classes are named
    few = np.array([[1.0, 1.0, 2.0, 3.0]], dtype=np.float32)
    res = gw.classify(few, np.ones(few.shape, bool))
    assert all(a < b for a, b in zip(res.breaks, res.breaks[1:]))
    assert len(res.empty) == 2 and res.cells[0] == 2 and res.cells[-1] == 1
    assert any("Lớp không có ô nào" in n and "empty classes" in n for n in res.notes)
    d = res.as_dict()
    assert d["empty_classes"] == [2, 4] and d["breaks_adjusted"] is True


def test_empty_class_and_adjusted_breaks_are_in_the_report(tmp_path, monkeypatch):
    from geo_app.water.groundwater import potential

    def stepped(index, mask, method="quantile", n=5):
        # a factor set whose overlay is stepped: 60 % of the cells on the lowest value
        stepped_index = np.where(index < np.nanquantile(index, 0.6), np.float32(1.0), index).astype(np.float32)
        return original(stepped_index, mask, method, n)

    original = potential.classify
    monkeypatch.setattr(potential, "classify", stepped)
    res = _run(tmp_path, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["classes"]["breaks_adjusted"] is True
    assert all(a < b for a, b in zip(report["classes"]["breaks"], report["classes"]["breaks"][1:]))
    assert report["classes"]["empty_classes"] == [] and min(report["classes"]["cells"]) > 0
    assert any("Ngưỡng phân vị" in n for n in report["notes"]) and res.warnings
    classes = gpd.read_file(res.files["potential_classes.gpkg"], layer="potential_classes")
    assert list(classes["class"]) == [1, 2, 3, 4, 5]


def test_classify_keeps_to_float32_memory():
    import tracemalloc

    rng = np.random.default_rng(3)
    index = rng.normal(3, 0.5, (1000, 1000)).astype(np.float32)
    mask = np.ones(index.shape, bool)
    tracemalloc.start()
    try:
        gw.classify(index, mask)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the float32 copy of the valid cells (4 B) + uint8 classes (1 B) + bool temporaries (2 B); the old
    # code made a float64 copy (8 B), np.quantile's own copy (8 B) and int64 class numbers (8 B)
    assert peak < 10 * index.size, f"{peak / index.size:.1f} bytes per cell"


def test_class_polygons_need_no_dissolve_and_match_the_raster(tmp_path, monkeypatch):
    import shapely

    monkeypatch.setattr(gpd.GeoDataFrame, "dissolve", lambda *a, **k: pytest.fail("dissolve is too slow (52 s on Sa Pa)"))
    monkeypatch.setattr(shapely, "unary_union", lambda *a, **k: pytest.fail("no union needed"))
    rng = np.random.default_rng(5)
    classes = rng.integers(0, 6, (60, 70)).astype(np.uint8)  # fragmented: many regions, holes, corner touches
    transform = Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y)
    polys = gw.class_polygons(classes, transform)
    assert [k for k, _ in polys] == [1, 2, 3, 4, 5]
    for k, geom in polys:
        assert geom.geom_type == "MultiPolygon" and geom.is_valid
        assert geom.area == pytest.approx((classes == k).sum() * CELL * CELL)
    res = _run(tmp_path, tmp_path / "out")
    frame = gpd.read_file(res.files["potential_classes.gpkg"], layer="potential_classes")
    for k, geom, ha in zip(frame["class"], frame.geometry, frame["area_ha"]):
        assert geom.area / 1e4 == pytest.approx(ha, abs=0.01) and ha == pytest.approx((res.classes == k).sum() * 0.09)


def test_commune_slivers_are_left_out_and_named(tmp_path):
    # C: a large commune of which the study area holds one column of cells (8.1 ha, < 2 % of C);
    # D: touches the study area by 0.45 ha (< 1 ha)
    communes = gpd.GeoDataFrame(
        {"code": ["A", "B", "C", "D"], "full_name": ["Xã A", "Xã B", "Xã Cát", "Xã Đá"]},
        geometry=[box(ORIGIN_X, ORIGIN_Y - 2700, ORIGIN_X + 1500, ORIGIN_Y),
                  box(ORIGIN_X + 1500, ORIGIN_Y - 2700, ORIGIN_X + 3270, ORIGIN_Y),
                  box(ORIGIN_X + 3270, ORIGIN_Y - 2700, ORIGIN_X + 20000, ORIGIN_Y + 20000),
                  box(ORIGIN_X - 5000, ORIGIN_Y - 150, ORIGIN_X + 30, ORIGIN_Y + 5000)], crs="EPSG:9208")
    communes.loc[0, "geometry"] = communes.geometry[0].difference(communes.geometry[3])
    res = _run(tmp_path, tmp_path / "out", communes=communes)
    assert set(res.commune_areas["commune_code"]) == {"A", "B"}
    left = res.provenance["communes_left_out"]
    assert left["rule"] == {"min_overlap_ha": 1.0, "min_overlap_fraction": 0.02}
    assert [(c["commune_code"], c["overlap_ha"]) for c in left["communes"]] == [("C", 8.1), ("D", 0.45)]
    note = next(n for n in res.provenance["notes"] if "lệch ranh giới" in n)
    assert "Xã Cát 8.1 ha" in note and "Xã Đá 0.45 ha" in note and "boundary slivers" in note
    gpkg = gpd.read_file(res.files["potential_classes.gpkg"], layer="commune_class_areas")
    assert set(gpkg["commune_code"]) == {"A", "B"}


def test_report_notes_are_vietnamese_first_with_english_beside(tmp_path):
    lines = gpd.GeoDataFrame(geometry=[LineString([(400100, 2474900), (403000, 2472400)])], crs="EPSG:9208")
    _run(tmp_path, tmp_path / "out", lineaments=lines, hole=True)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert len(report["notes"]) >= 5
    for note in report["notes"]:
        vi, sep, en = note.partition(" / ")
        assert sep, note
        assert any(ord(ch) > 127 for ch in vi), f"not Vietnamese first: {note}"
        assert en.isascii() or "≥" in en or "→" in en or "β" in en or "ε" in en, f"English part: {en}"
    assert set(report) >= {"classes", "notes", "weights_used", "inputs_sha256"}  # keys stay English
    result = _cli(["groundwater", "--dem", str(_dem_file(tmp_path / "dem.tif")), "--extent",
                   f"{ORIGIN_X},{ORIGIN_Y - 2700},{ORIGIN_X + 3300},{ORIGIN_Y}", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert "Ngưỡng lớp / class breaks (quantile)" in result.output


def _overlay_inputs(shape, seed=7):
    from geo_app.water.groundwater import DEFAULT_AHP, DEFAULT_RECLASS, load_ahp, load_reclass, renormalise

    rng = np.random.default_rng(seed)
    layers = {"slope": rng.uniform(0, 60, shape).astype(np.float32),
              "twi": rng.uniform(2, 20, shape).astype(np.float32),
              "drainage_density": rng.uniform(0, 4, shape).astype(np.float32)}
    layers["twi"][rng.random(shape) < 0.02] = np.nan  # cells lacking a factor leave the mask
    mask = rng.random(shape) > 0.05
    ahp, _ = load_ahp(DEFAULT_AHP)
    return layers, load_reclass(DEFAULT_RECLASS), renormalise(ahp, list(layers)), mask


def test_blockwise_overlay_equals_whole_array(tmp_path):
    from geo_app.water.groundwater.potential import weighted_overlay
    from geo_app.water.terrain.blocks import TempRaster, read_all

    layers, tables, weights, mask = _overlay_inputs((300, 200))
    # the whole-array computation the model used before it went block by block
    ref_mask = mask.copy()
    ref = np.zeros(mask.shape, dtype=np.float32)
    for name in layers:
        scores = tables[name].apply(np.where(ref_mask, layers[name], np.nan))
        ref_mask &= ~np.isnan(scores)
        ref += np.float32(weights[name]) * np.nan_to_num(scores, nan=0.0)
    ref[~ref_mask] = np.nan
    # 64 × 64 blocks on 300 × 200 cells (ragged last blocks); one factor read from a tiled GeoTIFF
    with TempRaster(tmp_path / "slope.tif", mask.shape, np.float32, np.nan) as t:
        t.write(layers["slope"], 0, 0)
    from_file = dict(layers, slope=tmp_path / "slope.tif")
    m1 = mask.copy()
    got = weighted_overlay(from_file, tables, weights, m1, block=64)
    assert np.array_equal(got, ref, equal_nan=True) and np.array_equal(m1, ref_mask)
    m2 = mask.copy()
    path = weighted_overlay(layers, tables, weights, m2, out=tmp_path / "index.tif", block=64)
    assert np.array_equal(read_all(path), ref, equal_nan=True) and np.array_equal(m2, ref_mask)
    # the classes, block by block from the GeoTIFF, equal those of the array and np.quantile's breaks
    whole = gw.classify(ref, ref_mask, block=10_000)
    blocks = gw.classify(path, ref_mask, out=tmp_path / "classes.tif", block=64)
    assert np.array_equal(read_all(blocks.classes), whole.classes) and blocks.breaks == whole.breaks
    expected = np.quantile(ref[ref_mask], [0.2, 0.4, 0.6, 0.8])
    assert whole.breaks == [float(np.float32(b)) for b in expected]


def test_blockwise_overlay_memory_does_not_grow_with_the_grid(tmp_path):
    import tracemalloc

    from geo_app.water.groundwater.potential import weighted_overlay

    peaks = {}
    for n in (512, 1024):
        layers, tables, weights, mask = _overlay_inputs((n, n), seed=n)
        tracemalloc.start()
        try:
            weighted_overlay(layers, tables, weights, mask, out=tmp_path / f"index{n}.tif", block=128)
            _, peaks[n] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # a few 128² blocks (64 KB each as float32), not the grid (1 MB / 4 MB of float32 per array)
    assert peaks[1024] < 1.25 * peaks[512] + 64 * 1024, peaks
    assert peaks[1024] < 1024 * 1024, f"{peaks[1024] / 1e6:.2f} MB"


# ------------------------------------------------------------------------ outputs, memory-bounded

def test_commune_counts_block_by_block_equal_one_rasterisation_of_the_grid():
    import shapely
    from rasterio.features import rasterize

    from geo_app.water.groundwater.areas import commune_class_counts

    rng = np.random.default_rng(11)
    rows, cols = 173, 211
    transform = Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y)
    classes = rng.integers(0, 6, (rows, cols)).astype(np.uint8)
    ext = (ORIGIN_X, ORIGIN_Y - rows * CELL, ORIGIN_X + cols * CELL, ORIGIN_Y)
    seeds = shapely.multipoints(np.c_[rng.uniform(ext[0], ext[2], 12), rng.uniform(ext[1], ext[3], 12)])
    geoms = list(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=shapely.box(*ext).buffer(3000))))
    geoms[0] = geoms[0].difference(geoms[0].centroid.buffer(500))  # a hole
    geoms.append(shapely.Point(ext[0] + 2000, ext[1] + 2000).buffer(1700))  # overlaps others: drawn last
    geoms.append(shapely.box(ext[2] + 100, ext[1], ext[2] + 900, ext[3]))  # outside the grid
    ids = rasterize(((g, i + 1) for i, g in enumerate(geoms)), out_shape=classes.shape, transform=transform,
                    fill=0, dtype="int32")
    expected = np.zeros((len(geoms) + 1, 6), dtype=np.int64)
    for k in range(1, 6):
        expected[:, k] = np.bincount(ids[classes == k], minlength=len(geoms) + 1)
    for block in (29, 64, 512):
        assert np.array_equal(commune_class_counts(classes, transform, geoms, 5, block=block), expected), block


def test_roc_auc_at_points_equals_the_auc_of_the_arrays():
    from geo_app.water.groundwater.potential import roc_auc_at_points

    rng = np.random.default_rng(3)
    index = rng.integers(0, 7, (300, 260)).astype(np.float32) / 2  # ties between positives and negatives
    mask = rng.random(index.shape) > 0.1
    transform = Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y)
    r, c = rng.integers(0, 300, 80), rng.integers(0, 260, 80)
    r[1], c[1] = r[0], c[0]  # two springs in one cell count once
    pts = gpd.GeoDataFrame(geometry=[Point(ORIGIN_X + CELL * (cc + 0.3), ORIGIN_Y - CELL * (rr + 0.6))
                                     for rr, cc in zip(r, c)], crs="EPSG:9208")
    positive = np.zeros(index.shape, dtype=bool)
    positive[r, c] = True
    positive &= mask
    auc, n = roc_auc_at_points(index, transform, pts, mask)
    assert n == positive.sum()
    assert auc == gw.roc_auc(index[positive], index[mask & ~positive])


def test_class_polygon_wkb_is_the_wkb_of_the_multipolygon_of_the_regions(monkeypatch):
    import shapely
    from rasterio.features import shapes

    from geo_app.water.groundwater import polygons

    rng = np.random.default_rng(8)
    classes = rng.integers(0, 4, (90, 120)).astype(np.uint8)  # fragmented: holes, many regions
    classes[20:60, 30:90] = 2
    classes[30:50, 40:80] = 1  # a region with a hole of another class inside it
    transform = Affine(CELL, 0, ORIGIN_X, 0, -CELL, ORIGIN_Y)
    monkeypatch.setattr(polygons, "_RING_BATCH_POINTS", 500)  # many batches
    for k in (1, 2, 3):
        cells = classes == k
        parts = [shapely.geometry.shape(g) for g, _ in shapes(cells.view(np.uint8), mask=cells, transform=transform)]
        expected = shapely.to_wkb(shapely.multipolygons(parts))
        assert bytes(polygons._class_polygon_wkb(classes, k, transform)) == expected
    assert polygons._class_polygon_wkb(classes, 5, transform) is None


def test_the_run_caps_gdal_block_cache(tmp_path, monkeypatch):
    from rasterio._env import get_gdal_config

    from geo_app.water.groundwater import potential
    from geo_app.water.terrain.blocks import SCRATCH_CACHE_MB

    seen = []
    real = potential.weighted_overlay
    monkeypatch.setattr(potential, "weighted_overlay",
                        lambda *a, **k: seen.append(get_gdal_config("GDAL_CACHEMAX")) or real(*a, **k))
    _run(tmp_path, tmp_path / "out")
    assert seen == [SCRATCH_CACHE_MB]
    assert get_gdal_config("GDAL_CACHEMAX") != SCRATCH_CACHE_MB  # restored after the run
