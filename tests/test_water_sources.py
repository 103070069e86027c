"""Water-source inventory, QA, protection zones, karst summary and water balance (issue 5 items 1–2),
on SYNTHETIC data the tests make (geo_app.water_sources.synthetic; every name says SYNTHETIC)."""
from __future__ import annotations

import hashlib
import os

import geopandas as gpd
import pytest
import yaml
from click.testing import CliRunner

from geo_app import water_sources as ws
from geo_app.water_sources import synthetic


@pytest.fixture(scope="module")
def communes(store_home):
    import geo_app.layers

    return geo_app.layers.read("communes")


@pytest.fixture(scope="module")
def inventory_csv(communes, tmp_path_factory):
    return synthetic.make_inventory(tmp_path_factory.mktemp("ws") / "nguon_nuoc.csv", communes)


@pytest.fixture(scope="module")
def inventory(inventory_csv):
    return ws.import_inventory(inventory_csv)


def test_import_maps_vietnamese_columns_to_the_schema(inventory):
    frame = inventory.frame
    assert frame.crs.to_epsg() == 9208
    assert set(ws.SCHEMA) <= set(frame.columns)
    assert set(frame["kind"].dropna()) <= set(ws.KINDS)
    assert set(frame["season"].dropna()) == {"dry", "wet"}
    assert frame["source_file"].eq("nguon_nuoc.csv").all() and frame["source_row"].min() == 2
    assert frame["name"].str.startswith("SYNTHETIC").all()


def test_qa_finds_every_planted_fault(inventory):
    report = ws.qa(inventory)
    checks = set(report.issues["check"])
    assert {"no_coordinates", "outside_province", "value_discharge_ls", "value_ph", "duplicate_nearby"} <= checks
    assert not report.ok
    rows = dict(zip(report.issues["check"], report.issues["source_row"]))
    ph = report.issues[report.issues["check"] == "value_ph"].iloc[0]
    assert "nguon_nuoc.csv" in ph["message"] and f"dòng {ph['source_row']}" in ph["message"] and "row" in ph["message"]
    assert rows["no_coordinates"] > 1


def test_qa_missing_fields_and_repeat_measurements(store_home, tmp_path):
    path = tmp_path / "mini.csv"
    path.write_text(
        "id,name,kind,lon,lat,discharge,date,season\n"
        "S1,SYNTHETIC mó 1,mó,104.15,22.70,0.5,15/03/2024,mùa khô\n"
        "S1,SYNTHETIC mó 1,mó,104.15,22.70,2.5,20/08/2024,mùa mưa\n"      # repeat measurement: fine
        "S2,,giếng khoan,104.30,22.60,1.0,01/01/2030,\n"                    # no name, future date
        "S3,SYNTHETIC ?,ao,104.31,22.61,1.0,,\n",                             # unknown kind, undated
        encoding="utf-8")
    report = ws.qa(ws.import_inventory(path))
    checks = report.issues.groupby("check")["source_row"].apply(list).to_dict()
    assert checks["missing_field"] == [4]
    assert checks["future_date"] == [4]
    assert checks["unknown_kind"] == [5]
    assert "duplicate" not in checks and "duplicate_nearby" not in checks


def test_protection_zones_follow_the_config_and_name_the_regulation(inventory):
    rules = ws.load_rules()
    assert all("24/2016/TT-BTNMT" in r["regulation"] for r in rules["rules"])
    zones = ws.protection_zones(inventory.frame)
    assert zones.crs.to_epsg() == 9208 and len(zones) == inventory.frame["id"].nunique()
    assert zones["regulation"].str.contains("24/2016").all() and (zones["status"] == "open").all()
    spring = zones[zones["kind"] == "spring"].iloc[0]
    assert spring["geometry"].area == pytest.approx(3.14159 * spring["radius_m"] ** 2, rel=0.01)
    custom = {"rules": [{"id": "r", "kinds": ["spring"], "radius_m": 7, "regulation": "test"}]}
    assert set(ws.protection_zones(inventory.frame, custom)["radius_m"]) == {7.0}


def test_karst_units_and_commune_summaries(inventory, communes, tmp_path):
    units = ws.import_units(synthetic.make_karst_units(tmp_path / "karst.gpkg", communes))
    by_unit = ws.summarise_by(inventory.frame, units, "unit")
    per = ws.per_source(inventory.frame)
    inside = per[per.within(units.union_all().buffer(1))]
    assert by_unit["n_sources"].sum() == len(inside)
    assert by_unit["dry_ls"].sum() == pytest.approx(inside["dry_ls"].fillna(0).sum())
    assert (by_unit["wet_ls"] >= by_unit["dry_ls"]).all()
    by_commune = ws.summarise_by(inventory.frame, communes, "code")
    assert len(by_commune) == 99 and by_commune["n_sources"].sum() == len(inside)


def test_water_balance_flags_short_communes(inventory, communes, tmp_path):
    pop = synthetic.make_population(tmp_path / "dan_so.csv", communes)
    balance = ws.water_balance(inventory.frame, pop, communes)
    frame = balance.frame
    known = frame[frame["population"].notna()]
    assert len(known) == 6
    expected = known["population"] * 60 / 86400
    assert known["demand_ls"].tolist() == pytest.approx(expected.tolist())
    assert ((known["supply_dry_ls"] < known["demand_ls"]) == (known["status"] == "short")).all()
    assert (frame[frame["population"].isna()]["status"] == "no-population").all()
    assert "open" in balance.norm_source and "60" in frame["norm"].iloc[0]
    generous = ws.water_balance(inventory.frame, pop, communes, norm_l_per_day=0.001)
    assert not (generous.frame["status"] == "short").any()


def test_cli_import_refuses_on_errors_then_saves_atomically(store_home, inventory_csv, tmp_path):
    from geo_app.cli import main

    runner = CliRunner()
    user_store = ws.user_store_path()
    before = hashlib.sha256(user_store.read_bytes()).hexdigest() if user_store.exists() else None
    result = runner.invoke(main, ["water-sources", "import", str(inventory_csv)])
    assert result.exit_code != 0 and "nothing saved" in result.output
    after = hashlib.sha256(user_store.read_bytes()).hexdigest() if user_store.exists() else None
    assert after == before
    result = runner.invoke(main, ["water-sources", "import", str(inventory_csv), "--accept-errors",
                                  "--report", str(tmp_path / "qa.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "qa.csv").exists()
    import geo_app.layers

    saved = geo_app.layers.read("water-sources")
    zones = geo_app.layers.read("water-protection-zones")
    assert len(saved) > 0 and len(zones) > 0 and saved.crs.to_epsg() == 9208
    assert not [f for f in os.listdir(user_store.parent) if f.startswith(".user-layers-")]
    info = geo_app.layers.info("water-sources")
    assert info.store == "user" and info.geometry and info.style and info.legend


def test_catalogue_entries_and_configs():
    for layer_id in ("water-sources", "water-protection-zones", "karst-units", "water-balance"):
        import geo_app.layers

        assert geo_app.layers.info(layer_id).store == "user"
    cfg = ws.security.load_balance_config()
    assert cfg["source"] and cfg["per_capita_l_per_day"] > 0
    text = (ws.zones.rules_path()).read_text(encoding="utf-8")
    assert "[open]" in text and yaml.safe_load(text)["status"] == "open"
