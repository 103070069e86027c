"""Groundwater distribution, the polygon lithology factor, and the inventory as the
springs of the ROC AUC — all on data the tests make: wells, aquifer and lithology polygons, a DEM."""
from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import Point, box

from geo_app.cli import main
from geo_app.water import groundwater as gw

OX, OY, CELL = 399990.0, 2475000.0, 30.0
EXTENT = (OX, OY - 2700, OX + 3300, OY)  # 110 × 90 cells
EXTENT_ARG = ",".join(str(v) for v in EXTENT)


def _wells(n=25, seed=1, field="muc_nuoc"):
    rng = np.random.default_rng(seed)
    xs = OX + rng.uniform(0, 3300, n)
    ys = OY - rng.uniform(0, 2700, n)
    return gpd.GeoDataFrame({"id": [f"GK{i:02d}" for i in range(n)], "name": [f"Giếng {i}" for i in range(n)],
                             field: 1500 + 0.01 * (xs - OX) - 0.005 * (OY - ys)},
                            geometry=[Point(x, y) for x, y in zip(xs, ys)], crs="EPSG:9208")


def _aquifers():
    # two hydrogeological units: Quaternary (west, two polygons) and Triassic limestone (east)
    return gpd.GeoDataFrame({"tang": ["qh", "t2", "qh"]},
                            geometry=[box(OX, OY - 2700, OX + 1500, OY - 1200), box(OX + 1500, OY - 2700, OX + 3300, OY),
                                      box(OX, OY - 1200, OX + 1500, OY)], crs="EPSG:9208")


def _dem_file(path, rows=90, cols=110):
    r, c = np.mgrid[0:rows, 0:cols]
    z = (1600 + 6 * np.hypot(r - 45, c - 55) + 30 * np.sin(c / 7.0) * np.cos(r / 5.0)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="float32",
                       crs="EPSG:9208", transform=Affine(CELL, 0, OX, 0, -CELL, OY), nodata=-9999) as dst:
        dst.write(z, 1)
    return path


def _files(tmp_path):
    wells, aq = tmp_path / "wells.gpkg", tmp_path / "aquifers.gpkg"
    _wells().to_file(wells)
    _aquifers().to_file(aq)
    return wells, aq


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------------ level distribution

def test_leave_one_out_matches_a_hand_computation():
    # four wells on the corners of a 1 km square: A left out is predicted from B, D (distance s) and
    # C (s√2) with IDW p=2 weights 1, 1, 1/2 → (b + d + c/2) / 2.5
    s = 1000.0
    pts = [Point(OX + 100, OY - 100), Point(OX + 100 + s, OY - 100), Point(OX + 100 + s, OY - 100 - s),
           Point(OX + 100, OY - 100 - s)]
    vals = [10.0, 20.0, 40.0, 30.0]  # A, B, C, D
    wells = gpd.GeoDataFrame({"level_m": vals}, geometry=pts, crs="EPSG:9208")
    res = gw.groundwater_distribution(wells, extent=(OX, OY - 1200, OX + 1200, OY))
    a, b, c, d = vals
    expected = [(b + d + c / 2) / 2.5, (a + c + d / 2) / 2.5, (b + d + a / 2) / 2.5, (a + c + b / 2) / 2.5]
    np.testing.assert_allclose(res.cv_table["loo_predicted_m"], np.round(expected, 4), atol=1e-4)
    errors = np.array(expected) - np.array(vals)
    assert res.cv["rmse_m"] == pytest.approx(np.sqrt(np.mean(errors ** 2)), abs=1e-4)
    assert res.cv["mae_m"] == pytest.approx(np.mean(np.abs(errors)), abs=1e-4)
    assert res.quantity == "level" and res.provenance["field"] == "level_m"
    # the surface honours the wells (IDW is exact at the data) and stays within their range
    assert np.nanmin(res.surface) >= 10 and np.nanmax(res.surface) <= 40


def test_distribution_outputs_with_cv_beside_the_surface(tmp_path):
    wells, aq = _files(tmp_path)
    out = tmp_path / "out"
    res = gw.groundwater_distribution(wells, out_dir=out, extent=EXTENT, aquifers=aq, aquifer_field="tang")
    assert set(res.files) == {"groundwater_level.tif", "groundwater_distribution.gpkg", "level_cv.csv",
                              "level_cv.json", "level_report.json"}
    assert res.cv["n_wells"] == 25 and 0 < res.cv["mae_m"] <= res.cv["rmse_m"] < 5
    with rasterio.open(out / "groundwater_level.tif") as src:
        assert src.crs.to_epsg() == 9208 and src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.shape == (90, 110) and src.dtypes[0] == "float32"
        tags = src.tags()
        assert float(tags["CV_RMSE_M"]) == pytest.approx(res.cv["rmse_m"], abs=1e-4)
        prov = json.loads(tags["provenance"])
    assert prov["cross_validation"]["mae_m"] == res.cv["mae_m"]
    assert len(prov["inputs_sha256"]["wells:wells.gpkg"]) == 64 and "aquifers:aquifers.gpkg" in prov["inputs_sha256"]
    assert prov["software"].startswith("geo-app ") and prov["crs"] == "EPSG:9208"
    # aquifer units: the two 'qh' polygons merged, areas in EPSG:9208, wells and surface per unit
    units = gpd.read_file(out / "groundwater_distribution.gpkg", layer="aquifer_units")
    assert list(units["unit"]) == ["qh", "t2"] and units.crs.to_epsg() == 9208
    assert units["area_km2"].tolist() == pytest.approx([1.5 * 2.7, 1.8 * 2.7])
    assert units["n_wells"].sum() == 25
    used = gpd.read_file(out / "groundwater_distribution.gpkg", layer="wells")
    assert len(used) == 25 and {"observed_m", "loo_predicted_m", "loo_error_m", "aquifer_unit"} <= set(used.columns)
    provenance = gpd.read_file(out / "groundwater_distribution.gpkg", layer="provenance")
    assert "cross_validation" in set(provenance["key"])
    # the CV table: one row per well, errors = predicted − observed; summary in the JSON
    table = pd.read_csv(out / "level_cv.csv")
    assert len(table) == 25 and table["well_id"].iloc[0] == "GK00"
    np.testing.assert_allclose(table["loo_error_m"], table["loo_predicted_m"] - table["observed_m"], atol=2e-4)
    assert np.sqrt((table["loo_error_m"] ** 2).mean()) == pytest.approx(res.cv["rmse_m"], abs=1e-3)
    summary = json.loads((out / "level_cv.json").read_text(encoding="utf-8"))
    assert summary["summary"]["rmse_m"] == res.cv["rmse_m"] and len(summary["wells"]) == 25


def test_distribution_is_byte_identical_and_atomic(tmp_path):
    wells, aq = _files(tmp_path)
    for name in ("a", "b"):
        gw.groundwater_distribution(wells, out_dir=tmp_path / name, extent=EXTENT, aquifers=aq, aquifer_field="tang")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    before = _digests(tmp_path / "a")
    with pytest.raises(gw.LevelError, match="'nope'.*no field 'nope'"):
        gw.groundwater_distribution(wells, out_dir=tmp_path / "a", extent=EXTENT, level_field="nope")
    with pytest.raises(gw.LevelError, match="trường 'rock'.*no field 'rock'"):
        gw.groundwater_distribution(wells, out_dir=tmp_path / "a", extent=EXTENT, aquifers=aq, aquifer_field="rock")
    with pytest.raises(gw.LevelError, match="ít nhất 3 giếng.*inside the study area"):
        gw.groundwater_distribution(wells, out_dir=tmp_path / "a", extent=(OX, OY - 300, OX + 300, OY))
    assert _digests(tmp_path / "a") == before
    assert not list(tmp_path.glob(".groundwater-level-*"))


def test_depth_field_and_depth_from_dem(tmp_path):
    dem = _dem_file(tmp_path / "dem.tif")
    wells = _wells()
    res = gw.groundwater_distribution(wells, out_dir=tmp_path / "lvl", dem=dem, extent=EXTENT)
    assert set(res.files) >= {"groundwater_level.tif", "groundwater_depth.tif"}
    with rasterio.open(dem) as src:
        z = src.read(1)
    np.testing.assert_allclose(res.depth, z - res.surface, atol=1e-3)
    # wells that give a depth to water: the surface is that depth, and no level file is left behind
    deep = _wells(field="depth_to_water_m")
    deep["depth_to_water_m"] = 12.0 + 0.001 * (deep.geometry.x - OX)
    res = gw.groundwater_distribution(deep, out_dir=tmp_path / "lvl", extent=EXTENT)
    assert res.quantity == "depth" and res.provenance["unit"] == "m below ground"
    assert sorted(p.name for p in (tmp_path / "lvl").iterdir()) == [
        "groundwater_depth.tif", "groundwater_distribution.gpkg", "level_cv.csv", "level_cv.json", "level_report.json"]


def _save_inventory(tmp_path, monkeypatch):
    from geo_app.water import sources as ws

    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "home"))
    frame = _wells(12, seed=4, field="level_m")
    frame["kind"] = ["borehole", "well", "spring", "intake"] * 3
    path = tmp_path / "nguon_nuoc.gpkg"
    frame.to_file(path)
    inventory = ws.import_inventory(path)
    ws.save(inventory.frame)
    return inventory.frame


def test_distribution_and_auc_from_the_saved_inventory(tmp_path, monkeypatch):
    frame = _save_inventory(tmp_path, monkeypatch)
    res = gw.groundwater_distribution("inventory", extent=EXTENT)
    assert res.cv["n_wells"] == 6  # the wells and boreholes only
    assert set(res.wells["kind"]) == {"well", "borehole"}
    assert any(k.startswith("wells:inventory") for k in res.provenance["inputs_sha256"])
    pts = gw.inventory_points()
    assert sorted(pts["kind"].unique()) == ["borehole", "spring", "well"] and len(pts) == 9
    pot = gw.groundwater_potential(_dem_file(tmp_path / "dem.tif"), extent=EXTENT, springs="inventory",
                                   communes=gpd.GeoDataFrame(geometry=[], crs="EPSG:9208"))
    assert 0 <= pot.auc <= 1
    assert any(k.startswith("springs:inventory (spring/well/borehole, 9 points)") for k in pot.provenance["inputs_sha256"])
    assert len(frame) == 12


def test_no_saved_inventory_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "empty"))
    with pytest.raises(gw.LevelError, match="geo-app water-sources import"):
        gw.groundwater_distribution("inventory", extent=EXTENT)


def test_cli_groundwater_level(tmp_path, monkeypatch):
    wells, aq = _files(tmp_path)
    out = tmp_path / "cli"
    args = ["groundwater-level", "--wells", str(wells), "--aquifers", str(aq), "--aquifer-field", "tang",
            "--extent", EXTENT_ARG, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "level_report.json").read_text(encoding="utf-8"))
    assert f"RMSE = {report['cross_validation']['rmse_m']:.2f} m" in result.output
    assert "GK00" in result.output and "tầng / unit qh" in result.output
    both = CliRunner().invoke(main, ["groundwater-level", "--wells", str(wells), "--from-inventory", "--out", str(out)])
    assert both.exit_code != 0 and "--from-inventory" in both.output
    _save_inventory(tmp_path, monkeypatch)
    inv = CliRunner().invoke(main, ["groundwater-level", "--from-inventory", "--extent", EXTENT_ARG,
                                    "--out", str(tmp_path / "inv")])
    assert inv.exit_code == 0, inv.output
    assert "6 giếng / wells" in inv.output
    pot = CliRunner().invoke(main, ["groundwater", "--dem", str(_dem_file(tmp_path / "dem.tif")), "--extent", EXTENT_ARG,
                                    "--springs", "inventory", "--out", str(tmp_path / "pot")])
    assert pot.exit_code == 0, pot.output
    assert "ROC AUC = " in pot.output


# ------------------------------------------------------------------------- polygon lithology factor

def _dem():
    from geo_app.water.terrain import Dem

    r, c = np.mgrid[0:90, 0:110]
    z = (1500 + 6 * np.hypot(r - 45, c - 55) + 30 * np.sin(c / 7.0) * np.cos(r / 5.0)).astype(np.float32)
    return Dem(z, Affine(CELL, 0, OX, 0, -CELL, OY), rasterio.crs.CRS.from_epsg(9208))


def _lithology(tmp_path):
    # the boundary at x = OX + 1510 m cuts column 50 (centre OX + 1515): cell centres decide, so
    # column 50 is granite, not limestone as all_touched would make it
    frame = gpd.GeoDataFrame({"rock": ["Đá vôi", "granite", None]},
                             geometry=[box(OX - 100, OY - 2800, OX + 1510, OY + 100),
                                       box(OX + 1510, OY - 2800, OX + 3400, OY + 100),
                                       box(OX + 5000, OY - 100, OX + 5100, OY)], crs="EPSG:9208")
    path = tmp_path / "thach_hoc.gpkg"
    frame.to_file(path)
    return path


def test_lithology_polygons_rasterised_at_cell_centres(tmp_path):
    table = gw.load_reclass(gw.DEFAULT_RECLASS)["lithology"]
    notes = []
    codes = gw.rasterize_factor("lithology", gw.VectorFactor(_lithology(tmp_path), "rock"), _dem(), table, {}, notes)
    assert codes.dtype == np.float32 and not np.isnan(codes).any()
    assert (codes[:, :50] == 1).all() and (codes[:, 50:] == 5).all()
    assert "covering 100.0 %" in notes[0]
    np.testing.assert_array_equal(table.apply(codes)[0, [0, 49, 50, 109]], [5, 5, 1, 1])


def test_potential_with_polygon_lithology_and_unknown_rock(tmp_path):
    dem = _dem_file(tmp_path / "dem.tif")
    litho = gw.VectorFactor(_lithology(tmp_path), "rock")
    none = gpd.GeoDataFrame(geometry=[], crs="EPSG:9208")
    res = gw.groundwater_potential(dem, extent=EXTENT, factors={"lithology": litho}, communes=none)
    assert "lithology" in res.weights and "lithology" not in res.dropped
    assert "lithology:thach_hoc.gpkg" in res.provenance["inputs_sha256"]
    # limestone (score 5) raises the index against granite (score 1) by the lithology weight × 4
    west, east = np.nanmean(res.index[:, :50]), np.nanmean(res.index[:, 50:])
    assert west > east
    bad = gpd.GeoDataFrame({"rock": ["đá vôi", "bazan"]}, geometry=[box(*EXTENT), box(OX, OY - 100, OX + 100, OY)],
                           crs="EPSG:9208")
    with pytest.raises(gw.PotentialError, match=r"'bazan' \(dòng/row 2\).*have no class"):
        gw.groundwater_potential(dem, extent=EXTENT, factors={"lithology": gw.VectorFactor(bad, "rock")}, communes=none)
    with pytest.raises(gw.PotentialError, match="no field 'kind'"):
        gw.groundwater_potential(dem, extent=EXTENT, factors={"lithology": gw.VectorFactor(bad, "kind")}, communes=none)


def test_cli_groundwater_lithology_option(tmp_path):
    dem = _dem_file(tmp_path / "dem.tif")
    args = ["groundwater", "--dem", str(dem), "--extent", EXTENT_ARG, "--lithology", str(_lithology(tmp_path)),
            "--lithology-field", "rock", "--out", str(tmp_path / "pot")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "lithology" in result.output.split("Trọng số / weights:")[1].splitlines()[0]
    half = CliRunner().invoke(main, ["groundwater", "--dem", str(dem), "--lithology", str(_lithology(tmp_path)),
                                     "--out", str(tmp_path / "p3")])
    assert half.exit_code != 0 and "--lithology-field" in half.output


def test_default_study_area_is_former_sa_pa_town(store_home):
    # wells around the Sa Pa check point (lon 103.8437, lat 22.3364); no extent, no DEM → district 088, masked
    rng = np.random.default_rng(2)
    xs, ys = 406447 + rng.uniform(-2000, 2000, 8), 2471192 + rng.uniform(-2000, 2000, 8)
    wells = gpd.GeoDataFrame({"level_m": 1400 + rng.uniform(0, 50, 8)}, geometry=[Point(x, y) for x, y in zip(xs, ys)],
                             crs="EPSG:9208")
    res = gw.groundwater_distribution(wells, resolution=250)
    assert any("former Sa Pa town" in n for n in res.provenance["notes"])
    inside = np.isfinite(res.surface)
    assert 0.3 < inside.mean() < 1.0  # the outline, not its bounding box
    assert inside.sum() * 0.0625 == pytest.approx(680, rel=0.25)  # km², thị xã Sa Pa ≈ 680 km²


def test_vietnamese_headers_give_well_ids_names_and_kinds(tmp_path):
    # the review's wells.csv: ids and names were lost (level_cv.csv showed 1–5 and empty names)
    wells = tmp_path / "wells.csv"
    rows = ["Mã,Tên,Loại,X,Y,Mực nước (m)"]
    for i, (dx, dy) in enumerate([(300, 300), (2900, 500), (1600, 1400), (500, 2400), (3000, 2500)]):
        rows.append(f"GK{i + 1},Giếng {i + 1},giếng khoan,{OY - dy},{OX + dx},{1500 + 3 * i}")
    wells.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["groundwater-level", "--wells", str(wells), "--extent", EXTENT_ARG,
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    cv = pd.read_csv(out / "level_cv.csv", dtype=str)
    assert list(cv["well_id"]) == ["GK1", "GK2", "GK3", "GK4", "GK5"]
    assert list(cv["name"]) == [f"Giếng {i}" for i in range(1, 6)]
    assert set(cv["kind"]) == {"giếng khoan"}
    assert "GK3" in result.output
    # other spellings: "Số hiệu", "Tên giếng", "Loại giếng" (without diacritics too)
    assert gw.well_columns(["So hieu", "TÊN GIẾNG", "loai_gieng", "muc_nuoc"]) == {
        "id": "So hieu", "name": "TÊN GIẾNG", "kind": "loai_gieng"}
    assert gw.well_columns(["id", "Mã", "name"]) == {"id": "id", "name": "name"}
