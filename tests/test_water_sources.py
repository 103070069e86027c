"""Water-source inventory, QA, protection zones, karst summary and water balance,
on SYNTHETIC data the tests make (geo_app.water.sources.synthetic; every name says SYNTHETIC)."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from geo_app.water import sources as ws
from geo_app.water.sources import synthetic


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
    assert ((known["supply_dry_ls"] < known["demand_ls"]) == (known["status_code"] == "short")).all()
    assert (frame[frame["population"].isna()]["status_code"] == "no-population").all()
    assert set(frame["status"]) <= {"thiếu / short", "đủ / ok", "chưa có số dân / no population"}
    assert ((frame["status"] == "thiếu / short") == (frame["status_code"] == "short")).all()
    assert "open" in balance.norm_source and "60" in frame["norm"].iloc[0]
    generous = ws.water_balance(inventory.frame, pop, communes, norm_l_per_day=0.001)
    assert not (generous.frame["status_code"] == "short").any()
    assert "0,001 L/người/ngày" in generous.messages[-1] and "0.001 L/person/day" in generous.messages[-1]


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


# --- review findings -----------------------------------------------------------------------------------

MINI = ("id,name,kind,lon,lat,discharge,date,season\n"
        "S1,SYNTHETIC mó 1,mó,104.15,22.70,0.5,15/03/2024,mùa khô\n"
        ",SYNTHETIC mó không mã,mó,104.16,22.71,2.0,15/03/2024,mùa khô\n"
        ",SYNTHETIC mó không mã 2,mó,104.17,22.72,3.0,15/03/2024,mùa khô\n"
        "S4,SYNTHETIC mó lưu lượng âm,mó,104.18,22.73,-3,15/03/2024,mùa khô\n")


@pytest.fixture()
def mini(store_home, tmp_path):
    path = tmp_path / "mini.csv"
    path.write_text(MINI, encoding="utf-8")
    return path


def test_impossible_discharge_is_left_out_of_supply_and_counted(mini, communes, tmp_path):
    inv = ws.import_inventory(mini)
    per = ws.per_source(inv.frame).set_index("id")
    assert per.loc["S4", "n_excluded"] == 1 and np.isnan(per.loc["S4", "dry_ls"])   # not −3 L/s
    assert (per["dry_ls"].dropna() >= 0).all()
    summary = ws.summarise_by(inv.frame, communes, "code")
    assert summary["dry_ls"].sum() == pytest.approx(0.5 + 2.0 + 3.0)
    assert summary["n_excluded"].sum() == 1
    pop = tmp_path / "pop.csv"
    code = summary.loc[summary["n_sources"] > 0, "code"].iloc[0]
    pop.write_text(f"Mã xã,Dân số\n{code},100\n", encoding="utf-8")
    balance = ws.water_balance(inv.frame, pop, communes)
    assert (balance.frame["supply_dry_ls"] >= 0).all() and balance.frame["n_excluded"].sum() == 1
    text = "\n".join(balance.messages)
    assert "Bỏ 1 giá trị lưu lượng không thể có" in text and "Left 1 impossible (negative) discharge value " in text
    # a zone is not sized by an impossible discharge
    rules = {"rules": [{"id": "r", "kinds": ["spring"], "radius_m": 7, "regulation": "test",
                        "by_discharge_m3_per_day": [{"below": 100, "radius_m": 5}, {"below": float("inf"), "radius_m": 9}]}]}
    zones = ws.protection_zones(inv.frame, rules).set_index("source_id")
    assert zones.loc["S4", "radius_m"] == 7      # as for an unknown discharge, not the class of −259 m³/day
    assert zones.loc["S1", "radius_m"] == 5


def test_sources_without_id_are_kept_with_a_generated_id(mini, communes):
    inv = ws.import_inventory(mini)
    ws.save(inv.frame, ws.protection_zones(inv.frame))
    saved = ws.load()                                   # ids come back as NaN: groupby used to drop them
    per = ws.per_source(saved)
    assert len(per) == 4 and {"mini.csv#3", "mini.csv#4"} <= set(per["id"])
    assert per.set_index("id").loc["mini.csv#3", "id_generated"]
    zones = ws.protection_zones(saved)
    assert {"mini.csv#3", "mini.csv#4"} <= set(zones["source_id"]) and zones["id_generated"].sum() == 2
    summary = ws.summarise_by(saved, communes, "code")
    assert summary["n_sources"].sum() == 4 and summary["n_generated_ids"].sum() == 2
    assert any("2 nguồn không có mã" in m and "2 sources without an id" in m for m in summary.attrs["messages"])
    missing = ws.qa(inv).issues.query("check == 'missing_field'")
    assert missing["message"].str.contains("mã tạm 'mini.csv#3'").any()


def test_qa_messages_use_vietnamese_field_labels_and_decimal_comma(mini, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("id,name,kind,lon,lat,discharge,ph\n,SYNTHETIC a,mó,104.15,22.70,-3.5,15.5\n", encoding="utf-8")
    messages = ws.qa(ws.import_inventory(path)).issues.set_index("check")["message"]
    assert "thiếu trường bắt buộc mã nguồn (id)" in messages["missing_field"]
    assert "required field source id (id) is missing" in messages["missing_field"]
    vi, _, en = messages["value_discharge_ls"].partition(" / ")
    assert "lưu lượng (discharge_ls) = −3,5 L/s không thể có (< 0)" in vi
    assert "discharge (discharge_ls) = -3.5 L/s is impossible (< 0)" in en
    assert "độ pH (ph) = 15,5 không thể có (> 14)" in messages["value_ph"]


def test_norm_and_population_are_validated(mini, communes, tmp_path):
    inv = ws.import_inventory(mini)
    pop = tmp_path / "pop.csv"
    pop.write_text("Mã xã,Dân số\n02752,100\n", encoding="utf-8")
    for bad in (-5, 0, float("nan")):
        with pytest.raises(ValueError, match="positive number"):
            ws.water_balance(inv.frame, pop, communes, norm_l_per_day=bad)
    negative = tmp_path / "dan_so_loi.csv"
    negative.write_text("Mã xã,Dân số\n02752,100\n02764,-20\n02767,abc\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        ws.water_balance(inv.frame, negative, communes)
    text = str(err.value)
    assert "tệp 'dan_so_loi.csv', dòng 3" in text and "−20" in text and "row 3" in text and "≥ 0" in text
    assert "dòng 4" in text and "'abc'" in text and "not a number" in text


def test_cli_balance_rejects_a_negative_norm_and_prints_vietnamese_status(mini, communes, tmp_path):
    from geo_app.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["water-sources", "import", str(mini), "--accept-errors"]).exit_code == 0
    pop = synthetic.make_population(tmp_path / "dan_so.csv", communes)
    store = ws.user_store_path()
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    result = runner.invoke(main, ["water-sources", "balance", "--population", str(pop), "--norm", "-5"])
    assert result.exit_code != 0 and "positive number" in result.output and "Traceback" not in result.output
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    result = runner.invoke(main, ["water-sources", "balance", "--population", str(pop), "--no-save"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.rstrip().endswith("L/s")]
    assert len(rows) == 6 and all("thiếu / short" in r or "đủ / ok" in r for r in rows)
    assert "Tình trạng / status" in result.output


def test_cli_water_sources_import_with_a_bad_crs(mini):
    from geo_app.cli import main

    result = CliRunner().invoke(main, ["water-sources", "import", str(mini), "--crs", "FOO", "--dry-run"])
    assert result.exit_code == 1 and "Traceback" not in result.output and "VN2000_6DEG" in result.output
    ok = CliRunner().invoke(main, ["water-sources", "import", str(mini), "--crs", "WGS84", "--dry-run"])
    assert ok.exit_code == 0, ok.output


def test_cli_karst_imports_units_atomically_and_prints_per_unit(mini, communes, tmp_path):
    import geo_app.layers
    from geo_app.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["water-sources", "import", str(mini), "--accept-errors"]).exit_code == 0
    karst = synthetic.make_karst_units(tmp_path / "karst.gpkg", communes)
    result = runner.invoke(main, ["water-sources", "karst", str(karst), "--field", "unit"])
    assert result.exit_code == 0, result.output
    units = geo_app.layers.read("karst-units")
    assert units.crs.to_epsg() == 9208 and set(units["unit"]) == {"SYNTHETIC karst (đá vôi)", "SYNTHETIC không karst"}
    assert "SYNTHETIC karst (đá vôi)" in result.output and "Mùa khô / dry" in result.output
    assert "5,50 L/s" in result.output  # 0,5 + 2 + 3; the −3 L/s measurement is left out
    assert "Bỏ 1 giá trị lưu lượng" in result.output
    store = ws.user_store_path()
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    bad_field = runner.invoke(main, ["water-sources", "karst", str(karst), "--field", "khong_co"])
    assert bad_field.exit_code == 1 and "khong_co" in bad_field.output and "unit" in bad_field.output
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    failed = runner.invoke(main, ["water-sources", "karst", str(broken), "--field", "unit"])
    assert failed.exit_code == 1 and "Nothing saved" in failed.output
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
