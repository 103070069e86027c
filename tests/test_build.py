"""The layer store built from the real mirrored sources."""
from __future__ import annotations

import os
import shutil

import pytest
from pyproj import Transformer

import geo_app.layers as layers
from geo_app import STORE_CRS
from geo_app.build import build
from geo_app.io.files import sha256_file
from geo_app.settings import settings
from geo_app.store.sources import SourceError


def test_check_value_lands_within_a_metre():
    # the VN-2000 check point: lon 103.8437, lat 22.3364 → E ≈ 406 447, N ≈ 2 471 192 in EPSG:9208
    e, n = Transformer.from_crs("EPSG:4326", STORE_CRS, always_xy=True).transform(103.8437, 22.3364)
    assert abs(e - 406_447) < 1 and abs(n - 2_471_192) < 1


def test_communes_2025(store_home):
    communes = layers.read("communes")
    assert communes.crs.to_epsg() == 9208
    assert len(communes) == 99
    assert communes["code"].is_unique
    assert (communes["kind"] == "xã").sum() == 89
    assert (communes["kind"] == "phường").sum() == 10
    total_km2 = communes.area.sum() / 1e6
    assert total_km2 == pytest.approx(13_262, rel=0.002)
    assert communes["area_ha"].sum() / 100 == pytest.approx(total_km2, rel=1e-4)
    assert communes.geometry.is_valid.all()
    assert (communes["legal_basis"].str.contains("1673/NQ-UBTVQH15")).all()


def test_every_former_commune_of_old_lao_cai_maps_to_one_2025_commune(store_home):
    former = layers.read("former-communes")
    old_lao_cai = former[former["former_province_code"] == "10"]
    assert len(old_lao_cai) == 151
    assert old_lao_cai["code"].is_unique
    assert old_lao_cai["new_code"].notna().all()
    codes_2025 = set(layers.read("communes")["code"])
    assert set(old_lao_cai["new_code"]) <= codes_2025


def test_bao_ha_takes_land_from_two_former_districts(store_home):
    communes = layers.read("communes").set_index("full_name")
    districts = communes.loc["Xã Bảo Hà", "former_districts"]
    assert "Huyện Bảo Yên (cũ)" in districts and "Huyện Văn Bàn (cũ)" in districts
    former = layers.read("former-communes")
    into_bao_ha = former[former["new_commune"] == "Xã Bảo Hà"]
    assert set(into_bao_ha["name"]) == {"Bảo Hà", "Cam Cọn", "Kim Sơn", "Tân An", "Tân Thượng"}


def test_pha_long_merges_the_karst_highland_communes(store_home):
    former = layers.read("former-communes")
    pha_long = former[former["new_commune"] == "Xã Pha Long"]
    assert set(pha_long["name"]) == {"Pha Long", "Dìn Chin", "Tả Gia Khâu", "Tả Ngải Chồ"}
    assert set(pha_long["former_district"]) == {"Huyện Mường Khương (cũ)"}


def test_former_districts(store_home):
    districts = layers.read("former-districts")
    assert len(districts) == 9
    assert set(districts["code"]) == {"080", "082", "083", "084", "085", "086", "087", "088", "089"}
    assert districts["label"].str.endswith("(cũ)").all()
    # the 48 communes wholly in old Lào Cai cover the old province (README of the mirror: ~0.4 %)
    communes = layers.read("communes")
    old_only = communes[communes["former_district_codes"].str.split(",").map(lambda c: all(x[:2] == "08" for x in c))]
    assert len(old_only) == 48
    assert old_only.area.sum() == pytest.approx(districts.area.sum(), rel=0.01)


def test_province_is_the_union_of_its_communes(store_home):
    province = layers.read("province")
    communes = layers.read("communes")
    assert len(province) == 1
    # communes overlap by ~10 km² in the source, so the union is slightly smaller than the sum
    assert province.area.iloc[0] == pytest.approx(communes.area.sum(), rel=0.001)


def test_context_layers(store_home):
    assert "Fan Si Pan" in set(layers.read("peaks")["name"])
    rivers = layers.read("rivers")
    assert "Hong" in set(rivers["name"])  # the Red River crosses the province


def test_crosswalks_are_compared_and_disagreements_pinned(store_home):
    from geo_app.store.layer_store import read_meta

    meta = read_meta(settings().store_path)
    pairs = {}
    for row in meta["crosswalk_disagreements"]:
        pairs.setdefault(row["new_code"], set()).add(row["old_name_splits"] or row["old_name_reference"])
    # After normalising case, diacritics, kind prefixes and "NT"/"N.T" = "Nông trường", the two
    # crosswalks disagree only on five spellings (s/x, l/r variants of minority-language names).
    assert pairs == {
        "02824": {"Xã Nàn Xín", "Xã Nàn Sín"},
        "03061": {"Xã Nậm Rạng", "Xã Nậm Dạng"},
        "04492": {"Xã Dế Su Phình", "Xã Dế Xu Phình"},
        "04585": {"Xã Hát Lìu", "Xã Hát Lừu"},
        "04603": {"Xã Tà Si Láng", "Xã Tà Xi Láng"},
    }
    assert (settings().reports_dir / "crosswalk-disagreements.csv").exists()


def test_second_build_is_a_no_op(store_home):
    before = os.stat(settings().store_path).st_mtime_ns
    result = build(progress=False)
    assert not result.built
    assert "nothing to build" in result.message
    assert os.stat(settings().store_path).st_mtime_ns == before


def test_corrupted_mirror_file_fails_clearly_and_keeps_the_store(store_home, mirror, tmp_path, monkeypatch):
    # A mirror of links to the real files, with one file corrupted.
    bad_mirror = tmp_path / "mirror"
    for src in mirror.rglob("*"):
        if src.is_file():
            dst = bad_mirror / src.relative_to(mirror)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src, dst)
    victim = next(bad_mirror.rglob("02989_bao_ha.geojson"))
    victim.unlink()
    shutil.copyfile(next(mirror.rglob("02989_bao_ha.geojson")), victim)
    with open(victim, "r+b") as fh:
        fh.seek(100)
        fh.write(b"CORRUPTED")
    monkeypatch.setenv("GEO_APP_DATA_MIRROR", str(bad_mirror))
    store = settings().store_path
    hash_before, mtime_before = sha256_file(store), os.stat(store).st_mtime_ns

    with pytest.raises(SourceError) as err:
        build(force=True, progress=False)
    message = str(err.value)
    assert "vn-2025-wards" in message and "02989_bao_ha.geojson" in message
    assert "expected" in message and "restore it from https://" in message

    assert sha256_file(store) == hash_before and os.stat(store).st_mtime_ns == mtime_before
    assert not list(store.parent.glob(".layers-*"))  # no half-written store left behind


def test_missing_source_offline_names_the_source(store_home, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_APP_DATA_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "home"))
    with pytest.raises(SourceError, match="GEO_APP_OFFLINE is set"):
        build(progress=False)
    assert not (tmp_path / "home" / "layers.gpkg").exists()


def test_read_with_bbox_and_crs(store_home):
    # Sa Pa area, given in lon/lat
    near_sapa = layers.read("communes", crs="EPSG:4326", bbox=(103.80, 22.30, 103.90, 22.36))
    assert 0 < len(near_sapa) < 15
    assert near_sapa.crs.to_epsg() == 4326
    assert "Phường Sa Pa" in set(near_sapa["full_name"])


def test_unknown_layer_message(store_home):
    with pytest.raises(KeyError, match="known layers"):
        layers.read("nope")
