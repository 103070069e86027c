"""The command line as a user runs it: parse, call the core, print; clear errors, exit codes."""
from __future__ import annotations

import pyogrio
import pytest
from click.testing import CliRunner

import geo_app.layers as layers
from geo_app.cli import main


@pytest.fixture()
def runner():
    return CliRunner()


def test_layers_lists_counts_and_sources(runner, store_home):
    result = runner.invoke(main, ["layers"])
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if l.startswith("communes "))
    assert " 99 " in line
    assert "sources: vn-2025-wards" in result.output


def test_build_twice_says_nothing_to_do(runner, store_home):
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 0 and "nothing to build" in result.output


def test_check_exit_codes(runner, store_home):
    ok = runner.invoke(main, ["check", "sa-bao-yen"])
    assert ok.exit_code == 0 and "Xã Bảo Hà" in ok.output and "một phần" in ok.output
    incomplete = runner.invoke(main, ["check", "bo-vang-muong-khuong"])
    assert incomplete.exit_code == 1 and "needs the boundary of former commune" in incomplete.output
    unknown = runner.invoke(main, ["check", "ca-phe"])
    assert unknown.exit_code == 1 and "No product 'ca-phe'" in unknown.output and "Traceback" not in unknown.output


def test_import_reports_and_writes_epsg9208(runner, store_home, tmp_path):
    nghia_do = layers.read("communes").query("full_name == 'Xã Nghĩa Đô'")[["code", "full_name", "geometry"]]
    kml = tmp_path / "nghia_do.kml"
    nghia_do.to_crs("EPSG:4326").to_file(kml, driver="KML")
    out = tmp_path / "out.gpkg"
    result = runner.invoke(main, ["import", str(kml), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "EPSG:4326" in result.output and "15,940" in result.output
    back = pyogrio.read_dataframe(out)
    assert back.crs.to_epsg() == 9208
    assert back.area.sum() == pytest.approx(nghia_do.area.sum(), rel=1e-6)


def test_import_of_a_broken_file_is_one_clear_message(runner, store_home, tmp_path):
    bad = tmp_path / "vung.geojson"
    bad.write_text('{"type": "Feat', encoding="utf-8")
    out = tmp_path / "out.gpkg"
    result = runner.invoke(main, ["import", str(bad), "--out", str(out)])
    assert result.exit_code == 2  # ImportFailed is an InputError
    assert "vung.geojson" in result.output and "Nothing stored has changed" in result.output
    assert "Traceback" not in result.output and not out.exists()
