"""The import matrix: every format, missing and wrong .prj, swapped axes, legacy
encodings, broken / empty / non-geometric files.

Test input is the real commune "Xã Pha Long" from the store (exported by the tests in each format),
plus a few names written in TCVN3 / VNI bytes by the tests themselves.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS, Transformer

from geo_app.importers import (
    CP1258,
    TCVN3,
    UTF8,
    VN2000_6DEG,
    VNI,
    ImportFailed,
    decode_tcvn3,
    decode_vni,
    encode_cp1258,
    encode_tcvn3,
    encode_vni,
    read_features,
)
from geo_app.importers.encodings import guess_bytes, is_vietnamese_syllable

NAMES = ["Xã Pha Long", "Mường Khương", "Tả Gia Khâu", "Lào Cai", "Bảo Yên", "Dìn Chin", "Nước ngầm"]


@pytest.fixture(scope="module")
def pha_long(store_home) -> gpd.GeoDataFrame:
    import geo_app.layers

    communes = geo_app.layers.read("communes")
    row = communes[communes["full_name"] == "Xã Pha Long"]
    assert len(row) == 1
    # simplified so the test files stay small; still a real 105 km² outline
    geom = shapely.simplify(row.geometry.iloc[0], 25)
    return gpd.GeoDataFrame({"ten": ["Xã Pha Long"], "huyen_cu": ["Mường Khương"], "geometry": [geom]}, crs="EPSG:9208")


def _same(result_frame: gpd.GeoDataFrame, expected: gpd.GeoDataFrame, tol: float = 1e-6) -> None:
    assert result_frame.crs.to_epsg() == 9208
    got = shapely.union_all(result_frame.geometry.values)
    want = shapely.union_all(expected.geometry.values)
    diff = got.symmetric_difference(want).area / want.area
    assert diff < tol, diff


def _zip(folder: Path, stem: str, out: Path, drop: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for f in sorted(folder.glob(stem + ".*")):
            if f.suffix.lower() not in drop:
                archive.write(f, f.name)
    return out


def _shapefile(frame, tmp_path: Path, name: str, drop=(), prj_text: str | None = None, encoding=None) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / f"{name}.shp", driver="ESRI Shapefile", encoding=encoding)
    if prj_text is not None:
        (folder / f"{name}.prj").write_text(prj_text)
    return _zip(folder, name, tmp_path / f"{name}.zip", drop=drop)


def _swap(frame):
    out = frame.copy()
    out["geometry"] = shapely.transform(out.geometry.values, lambda c: c[:, ::-1])
    return out


def _messages(result) -> str:
    return "\n".join(result.messages)


# --- encodings ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_legacy_tables_round_trip_known_names(name):
    assert decode_tcvn3(encode_tcvn3(name)) == name
    assert decode_vni(encode_vni(name)) == name


def test_legacy_bytes_of_known_words():
    # what these names look like in the old fonts, as seen in Vietnamese documents
    assert encode_tcvn3("Lào Cai").decode("latin-1") == "Lµo Cai"
    assert encode_tcvn3("Tả Gia Khâu").decode("latin-1") == "T¶ Gia Kh©u"
    assert encode_vni("Mường Khương").decode("latin-1") == "Möôøng Khöông"
    assert encode_vni("Bảo Yên").decode("latin-1") == "Baûo Yeân"


@pytest.mark.parametrize("encoder,expected", [(encode_tcvn3, TCVN3), (encode_vni, VNI), (encode_cp1258, CP1258),
                                              (str.encode, UTF8)])
def test_encoding_is_chosen_by_valid_syllables(encoder, expected):
    guess = guess_bytes([encoder(n) for n in NAMES])
    assert guess.encoding == expected, guess.scores


def test_syllable_check():
    assert all(is_vietnamese_syllable(w) for w in "Mường Khương Tả Gia Khâu nghiêng quyết".split())
    assert not any(is_vietnamese_syllable(w) for w in ["Lµo", "Möôøng", "Baûo", "bàut"])


# --- formats ------------------------------------------------------------------------------------------

def test_geopackage_in_store_crs(pha_long, tmp_path):
    path = tmp_path / "area.gpkg"
    pha_long.to_file(path, driver="GPKG")
    result = read_features(path, kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208" and not result.axis_swapped
    assert result.frame["ten"].iloc[0] == "Xã Pha Long"
    assert result.frame["source_file"].iloc[0] == "area.gpkg" and result.frame["source_row"].iloc[0] == 1
    assert result.encoding == UTF8


def test_geopackage_in_wgs84(pha_long, tmp_path):
    path = tmp_path / "area84.gpkg"
    pha_long.to_crs(4326).to_file(path, driver="GPKG")
    result = read_features(path, kind="polygon")
    _same(result.frame, pha_long, 1e-5)
    assert result.assumed_crs == "EPSG:4326"


def test_zipped_shapefile_with_prj(pha_long, tmp_path):
    result = read_features(_shapefile(pha_long, tmp_path, "with_prj"), kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208" and ".prj" in result.crs_reason and not result.crs_ambiguous


def test_shapefile_without_prj_is_decided_by_the_commune_edges(pha_long, tmp_path):
    """TM-3 and the 6° variant both put the commune in the province; its edges follow the 2025
    commune boundaries only under TM-3, and the reason says so with the figures."""
    result = read_features(_shapefile(pha_long, tmp_path, "no_prj", drop=(".prj",)), kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208" and not result.crs_ambiguous
    assert "2025 commune boundaries" in result.crs_reason and "under the 6° variant" in result.crs_reason
    assert "không có tệp .prj" in _messages(result)


def test_shapefile_with_wrong_prj(pha_long, tmp_path):
    wgs84_prj = CRS.from_epsg(4326).to_wkt("WKT1_ESRI")
    result = read_features(_shapefile(pha_long, tmp_path, "wrong_prj", prj_text=wgs84_prj), kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208"
    assert "EPSG:4326" in result.crs_reason and "outside the province" in result.crs_reason


def test_shapefile_with_swapped_axes(pha_long, tmp_path):
    result = read_features(_shapefile(_swap(pha_long), tmp_path, "swapped", drop=(".prj",)), kind="polygon")
    _same(result.frame, pha_long)
    assert result.axis_swapped and "swapped" in result.crs_reason


def test_shapefile_in_the_6_degree_variant(pha_long, tmp_path):
    six = pha_long.to_crs(VN2000_6DEG)
    with_prj = read_features(_shapefile(six, tmp_path, "six_prj"), kind="polygon")
    _same(with_prj.frame, pha_long, 1e-6)
    assert "0.9996" in with_prj.assumed_crs
    # without a .prj the commune edges tell the 6° variant from TM-3 (~0.7 km apart here)
    no_prj = _shapefile(six, tmp_path, "six_noprj", drop=(".prj",))
    decided = read_features(no_prj, kind="polygon")
    assert "0.9996" in decided.assumed_crs and not decided.crs_ambiguous
    _same(decided.frame, pha_long, 1e-6)
    forced = read_features(no_prj, kind="polygon", crs="VN2000_TM3")
    shift = forced.frame.geometry.iloc[0].centroid.distance(pha_long.geometry.iloc[0].centroid)
    assert 500 < shift < 1000  # what reading it as TM-3 would have cost
    explicit = read_features(no_prj, kind="polygon", crs=VN2000_6DEG)
    _same(explicit.frame, pha_long, 1e-6)


def test_prj_of_the_provincial_system_with_towgs84_is_replaced(pha_long, tmp_path):
    prj = ('PROJCS["VN2000_104_45",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137,298.257223563],'
           'TOWGS84[-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,0.252906278]],'
           'PRIMEM["Greenwich",0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
           'PARAMETER["False_Easting",500000],PARAMETER["False_Northing",0],PARAMETER["Central_Meridian",104.75],'
           'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0],UNIT["Meter",1]]')
    result = read_features(_shapefile(pha_long, tmp_path, "towgs", prj_text=prj), kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208" and "TOWGS84" in result.crs_reason


def test_kml_and_kmz(pha_long, tmp_path):
    kml = tmp_path / "area.kml"
    pyogrio.write_dataframe(pha_long.to_crs(4326).rename(columns={"ten": "Name"}), kml, driver="KML")
    result = read_features(kml, kind="polygon")
    _same(result.frame, pha_long, 1e-5)
    assert result.assumed_crs == "EPSG:4326" and "Xã Pha Long" in result.frame["Name"].tolist()
    kmz = tmp_path / "area.kmz"
    with zipfile.ZipFile(kmz, "w") as archive:
        archive.write(kml, "doc.kml")
    _same(read_features(kmz, kind="polygon").frame, pha_long, 1e-5)


def test_geojson_in_wgs84_and_in_metres(pha_long, tmp_path):
    path = tmp_path / "area.geojson"
    pha_long.to_crs(4326).to_file(path, driver="GeoJSON")
    _same(read_features(path, kind="polygon").frame, pha_long, 1e-5)
    # an old-style GeoJSON in VN-2000 metres with no crs member
    metres = tmp_path / "metres.geojson"
    metres.write_text(pha_long.to_json(drop_id=True).replace('"crs"', '"_crs"'), encoding="utf-8")
    result = read_features(metres, kind="polygon")
    _same(result.frame, pha_long)
    assert result.assumed_crs == "EPSG:9208"


def test_gpx_track_becomes_polygon_and_waypoints_points(pha_long, tmp_path):
    ring = pha_long.to_crs(4326).geometry.iloc[0]
    ring = max(getattr(ring, "geoms", [ring]), key=lambda p: p.area).exterior
    track = gpd.GeoDataFrame({"name": ["ranh giới"]}, geometry=[shapely.MultiLineString([ring.coords])], crs=4326)
    path = tmp_path / "walk.gpx"
    pyogrio.write_dataframe(track, path, driver="GPX", layer="tracks")
    with pytest.raises(ImportFailed, match="--boundary-points"):  # a line is not an area unless the user says so
        read_features(path, kind="polygon")
    result = read_features(path, kind="polygon", boundary_points=True)
    assert result.frame.geometry.iloc[0].geom_type == "Polygon"
    assert abs(result.frame.area.iloc[0] - pha_long.area.iloc[0]) / pha_long.area.iloc[0] < 0.02
    points = gpd.GeoDataFrame({"name": ["Mó Sín Chải", "Giếng bản Phố"]},
                              geometry=gpd.points_from_xy([104.15, 104.20], [22.70, 22.72]), crs=4326)
    wpt = tmp_path / "sources.gpx"
    pyogrio.write_dataframe(points, wpt, driver="GPX", layer="waypoints")
    result = read_features(wpt, kind="point")
    assert len(result.frame) == 2 and result.frame["name"].tolist() == ["Mó Sín Chải", "Giếng bản Phố"]


def _boundary_points(pha_long) -> pd.DataFrame:
    ring = pha_long.geometry.iloc[0]
    ring = max(getattr(ring, "geoms", [ring]), key=lambda p: p.area).exterior
    coords = np.asarray(ring.coords)[:-1]
    return pd.DataFrame({"STT": np.arange(1, len(coords) + 1), "X": coords[:, 1], "Y": coords[:, 0]})


def _outer(pha_long):
    geom = pha_long.geometry.iloc[0]
    return gpd.GeoDataFrame(geometry=[shapely.Polygon(max(getattr(geom, "geoms", [geom]), key=lambda p: p.area).exterior)],
                            crs="EPSG:9208")


def test_csv_of_boundary_points_vietnamese_convention(pha_long, tmp_path):
    table = _boundary_points(pha_long).sample(frac=1, random_state=1)  # STT, not the row order, gives the order
    text = "Bảng tọa độ điểm ranh giới\n" + "Số TT;X (m);Y (m)\n" + "\n".join(
        f"{r.STT};{r.X:.3f};{r.Y:.3f}".replace(".", ",") for r in table.itertuples())
    path = tmp_path / "diem.csv"
    path.write_text(text, encoding="utf-8")
    result = read_features(path, kind="polygon")
    _same(result.frame, _outer(pha_long), 1e-6)
    assert not result.axis_swapped and "northing" in _messages(result)
    assert result.points is not None and result.points["Số TT"].tolist()[:3] == [1, 2, 3]


def test_csv_in_gis_order_is_swapped(pha_long, tmp_path):
    table = _boundary_points(pha_long).rename(columns={"X": "Y", "Y": "X"})
    path = tmp_path / "gis.csv"
    table.to_csv(path, index=False)
    result = read_features(path, kind="polygon")
    _same(result.frame, _outer(pha_long), 1e-6)
    assert result.axis_swapped and "GIS order" in _messages(result)


def test_xlsx_lon_lat_with_title_rows(pha_long, tmp_path):
    pts = _boundary_points(pha_long)
    lon, lat = Transformer.from_crs("EPSG:9208", "EPSG:4326", always_xy=True).transform(pts.Y.values, pts.X.values)
    frame = pd.DataFrame({"STT": pts.STT, "Kinh độ": lon, "Vĩ độ": lat, "Ghi chú": "mốc"})
    path = tmp_path / "diem.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["Ranh giới vùng sản xuất bò vàng Mường Khương"]]).to_excel(writer, header=False, index=False)
        frame.to_excel(writer, startrow=2, index=False)
    result = read_features(path, kind="polygon")
    _same(result.frame, _outer(pha_long), 1e-5)
    assert result.assumed_crs == "EPSG:4326"


def test_csv_points_rows_without_coordinates_are_named(tmp_path):
    path = tmp_path / "nguon.csv"
    path.write_text("id,name,lon,lat\nA,Mó 1,104.15,22.70\nB,Mó 2,,\nC,Mó 3,abc,22.71\n", encoding="utf-8")
    result = read_features(path, kind="point")
    assert len(result.frame) == 1
    assert [r for r, _ in result.skipped_rows] == [3, 4]
    assert "nguon.csv" in result.skipped_rows[0][1] and "dòng 3" in result.skipped_rows[0][1]


def test_csv_in_tcvn3(tmp_path):
    path = tmp_path / "tcvn3.csv"
    rows = [f"{i},{n},104.2,22.6{i}" for i, n in enumerate(NAMES)]
    path.write_bytes(encode_tcvn3("stt,ten,lon,lat\n" + "\n".join(rows)))
    result = read_features(path, kind="point")
    assert result.encoding == TCVN3
    assert result.frame["ten"].tolist() == NAMES


# --- DBF encodings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("label,encoder", [(TCVN3, encode_tcvn3), (VNI, encode_vni), (CP1258, encode_cp1258)])
def test_dbf_in_legacy_encoding(pha_long, tmp_path, label, encoder):
    frame = gpd.GeoDataFrame(
        {"ten": [encoder(n).decode("latin-1") for n in NAMES]},
        geometry=[pha_long.geometry.iloc[0].centroid.buffer(100 + i) for i in range(len(NAMES))], crs="EPSG:9208")
    zipped = _shapefile(frame, tmp_path, f"legacy_{label}", drop=(".cpg",), encoding="latin1")
    result = read_features(zipped, kind="polygon")
    assert result.encoding == label
    assert result.frame["ten"].tolist() == NAMES
    assert label in _messages(result)


def test_dbf_in_utf8_with_cpg(pha_long, tmp_path):
    result = read_features(_shapefile(pha_long, tmp_path, "utf8"), kind="polygon")
    assert result.encoding == UTF8 and result.frame["huyen_cu"].iloc[0] == "Mường Khương"


# --- what cannot be read ----------------------------------------------------------------------------

def _store_hash(home: Path) -> str:
    return hashlib.sha256((home / "layers.gpkg").read_bytes()).hexdigest()


@pytest.mark.parametrize("name,content,words", [
    ("broken.zip", b"PK\x03\x04 this is not really a zip", "zip"),
    ("empty.gpkg", b"", "empty"),
    ("empty.csv", b"", "empty"),
    ("truncated.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feat', "it may be cut short"),
    ("notes.docx", b"whatever", "unsupported"),
    ("table.csv", "ten,dien_tich\nXã Pha Long,105\n".encode(), "no coordinate columns"),
    ("far.csv", b"x,y\n1,2\n3,4\n5,1\n", "cannot work out the CRS"),
])
def test_unreadable_files_give_one_clear_error(store_home, tmp_path, name, content, words):
    before = _store_hash(store_home)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as err:
        read_features(path, kind="polygon")
    text = str(err.value)
    assert name in text and words in text and "Không nhập được tệp" in text
    assert "Nothing stored has changed" in text
    assert _store_hash(store_home) == before


def test_zip_without_shapefile_and_gpkg_without_geometry(store_home, tmp_path):
    empty_zip = tmp_path / "docs.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "no shapefile here")
    with pytest.raises(ImportFailed, match="no .shp"):
        read_features(empty_zip)
    table_only = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"ten": ["Xã Pha Long"]}), table_only, driver="GPKG")
    with pytest.raises(ImportFailed, match="holds no feature layer"):
        read_features(table_only)


def _bomb(path: Path, name: str, size: int) -> Path:
    """A small zip holding ``size`` bytes of one repeated character (synthetic zip bomb), written in
    chunks so the test itself stays small in memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(name, "w", force_zip64=True) as out:
            out.write(b"x,y\n")
            chunk = b"0" * (1 << 20)
            for _ in range(size // len(chunk)):
                out.write(chunk)
    return path


@pytest.mark.parametrize("size, words", [
    (300 * 1024 * 1024, "uncompressed size exceeds 200 MB"),  # over the total, nothing extracted
    (20 * 1024 * 1024, "looks like a zip bomb"),  # under the total but ~1000:1
])
def test_zip_bomb_refused_before_extraction(tmp_path, monkeypatch, size, words):
    """Synthetic: a zip whose directory declares a huge or over-compressed member is refused from the
    directory alone; the member is never read (zipfile.ZipFile.open/read would be called)."""
    from geo_app.importers import integrity

    bomb = _bomb(tmp_path / "bomb.zip", "points.csv", size)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or real_open(self, *a, **k))
    with pytest.raises(ImportFailed) as err:
        read_features(bomb, kind="point")
    text = str(err.value)
    assert words in text and "bomb.zip" in text and "Không nhập được tệp" in text, text
    assert not opened, "nothing was decompressed"
    assert integrity.ZIP_MAX_TOTAL == 200 * 1024 * 1024 and integrity.ZIP_MAX_RATIO == 100


def test_zipped_file_extracted_in_chunks(tmp_path, monkeypatch):
    """The one file inside a zip is streamed to disk, never read whole into memory."""
    path = tmp_path / "pts.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pts.csv", "Kinh độ,Vĩ độ\n103.95,22.60\n103.96,22.61\n")
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("ZipFile.read reads a member whole"))
    result = read_features(path, kind="point")
    assert len(result.frame) == 2


def test_points_where_a_polygon_is_needed(tmp_path, store_home):
    path = tmp_path / "two.csv"
    path.write_text("lon,lat\n104.15,22.70\n104.16,22.71\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="fewer than 3"):
        read_features(path, kind="polygon")


def test_detection_without_a_store_uses_the_fixed_bbox(pha_long, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "no_store"))
    zipped = _shapefile(_swap(pha_long), tmp_path, "nostore", drop=(".prj",))
    # no commune boundaries to tell TM-3 from the 6° variant: a question, never a silent default
    with pytest.raises(ImportFailed, match="no commune boundaries to compare with") as err:
        read_features(zipped, kind="polygon")
    assert "--crs VN2000_6DEG" in str(err.value) and "bounding box" in str(err.value)
    result = read_features(zipped, kind="polygon", crs="VN2000_TM3")
    _same(result.frame, pha_long)
    assert result.axis_swapped


# --- review findings: crs= as text, invalid polygons, message wording --------------------------------

@pytest.mark.parametrize("given", ["VN2000_6DEG", "vn2000-6deg", "VN2000_TM3", "EPSG:9208", "9208", "WGS84"])
def test_crs_names_given_as_text(pha_long, tmp_path, given):
    six = _shapefile(pha_long.to_crs(VN2000_6DEG), tmp_path, "six_text", drop=(".prj",))
    metres = _shapefile(pha_long, tmp_path, "tm3_text", drop=(".prj",))
    if "6" in given and "9208" not in given:
        result = read_features(six, kind="polygon", crs=given)
        _same(result.frame, pha_long, 1e-6)
        assert "0.9996" in result.assumed_crs and not result.crs_ambiguous
    elif given == "WGS84":
        lonlat = tmp_path / "ll.geojson"
        lonlat.write_text(pha_long.to_crs(4326).to_json(drop_id=True).replace('"crs"', '"_crs"'), encoding="utf-8")
        assert read_features(lonlat, kind="polygon", crs=given).assumed_crs == "EPSG:4326"
    else:
        result = read_features(metres, kind="polygon", crs=given)
        _same(result.frame, pha_long)
        assert result.assumed_crs == "EPSG:9208" and "caller" in result.crs_reason


@pytest.mark.parametrize("given", ["EPSG:9999999", "FOO", "EPSG:5703", ""])
def test_bad_crs_is_one_clear_error_listing_accepted_values(pha_long, store_home, tmp_path, given):
    before = _store_hash(store_home)
    path = tmp_path / "area.gpkg"
    pha_long.to_file(path, driver="GPKG")
    with pytest.raises(ImportFailed) as err:
        read_features(path, kind="polygon", crs=given)
    text = str(err.value)
    assert f"crs='{given}'" in text and "không dùng được" in text and "cannot be used" in text
    assert "VN2000_6DEG" in text and "VN2000_TM3" in text and "EPSG:9208" in text
    assert "Giá trị được chấp nhận" in text and "Accepted values" in text and "Nothing stored has changed" in text
    assert _store_hash(store_home) == before


def test_cli_import_with_a_bad_crs_gives_no_traceback(pha_long, store_home, tmp_path):
    from click.testing import CliRunner

    from geo_app.cli import main

    path = tmp_path / "area.gpkg"
    pha_long.to_file(path, driver="GPKG")
    for crs in ("FOO", "EPSG:9999999"):
        result = CliRunner().invoke(main, ["import", str(path), "--crs", crs])
        assert result.exit_code == 2, result.output  # ImportFailed is an InputError
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output and "CRSError" not in result.output
        assert "Accepted values" in result.output and "VN2000_6DEG" in result.output
    ok = CliRunner().invoke(main, ["import", str(path), "--crs", "VN2000_TM3"])
    assert ok.exit_code == 0, ok.output


def _bow_tie(x0=440000.0, y0=2520000.0, size=1000.0):
    return shapely.Polygon([(x0, y0), (x0 + size, y0 + size), (x0 + size, y0), (x0, y0 + size)])


def test_invalid_polygon_is_repaired_and_reported(store_home, tmp_path):
    square = shapely.box(442000, 2520000, 443000, 2521000)
    frame = gpd.GeoDataFrame({"ten": ["vuông", "nơ"]}, geometry=[square, _bow_tie()], crs="EPSG:9208")
    path = tmp_path / "bowtie.gpkg"
    frame.to_file(path, driver="GPKG")
    result = read_features(path, kind="polygon")
    assert result.frame.geometry.is_valid.all() and len(result.frame) == 2  # nothing dropped
    assert result.frame.area.tolist() == pytest.approx([1e6, 5e5])          # the bow-tie's two lobes, not 0 ha
    assert len(result.repairs) == 1
    repair = result.repairs[0]
    assert repair.source_row == 2 and repair.reason.startswith("Self-intersection")
    assert repair.area_before_m2 == pytest.approx(0) and repair.area_after_m2 == pytest.approx(5e5)
    text = _messages(result)
    assert repair.message in result.messages and str(repair) == repair.message
    assert "bowtie.gpkg" in repair.message and "make_valid" in repair.message and "Self-intersection" in repair.message
    assert "0,00 ha → 50,00 ha" in text and "0.00 ha → 50.00 ha" in text


def test_boundary_points_out_of_order_are_repaired_with_a_hint(store_home, tmp_path):
    # four corners in bow-tie order: X = northing, Y = easting (Vietnamese convention)
    corners = [(2520000, 440000), (2521000, 441000), (2520000, 441000), (2521000, 440000)]
    path = tmp_path / "diem_sai_thu_tu.csv"
    path.write_text("STT,X,Y\n" + "\n".join(f"{i + 1},{x},{y}" for i, (x, y) in enumerate(corners)), encoding="utf-8")
    result = read_features(path, kind="polygon", crs="VN2000_TM3")
    assert result.frame.geometry.is_valid.all() and result.frame.area.iloc[0] == pytest.approx(5e5)
    assert len(result.repairs) == 1 and result.repairs[0].source_row == 2
    assert "thứ tự điểm" in result.repairs[0].message and "out of order" in result.repairs[0].message


def test_polygon_that_cannot_be_repaired_fails_naming_its_row(store_home, tmp_path):
    flat = shapely.Polygon([(440000, 2520000), (441000, 2520000), (442000, 2520000), (440000, 2520000)])
    frame = gpd.GeoDataFrame({"ten": ["vuông", "dẹt"]}, geometry=[shapely.box(442000, 2520000, 443000, 2521000), flat],
                             crs="EPSG:9208")
    path = tmp_path / "flat.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(ImportFailed) as err:
        read_features(path, kind="polygon")
    text = str(err.value)
    assert "flat.gpkg" in text and "đối tượng số 2" in text and "feature 2" in text and "cannot be repaired" in text


def test_messages_keep_each_half_in_one_language(pha_long, tmp_path):
    kml = tmp_path / "area.kml"
    pyogrio.write_dataframe(pha_long.to_crs(4326).rename(columns={"ten": "Name"}), kml, driver="KML")
    result = read_features(kml, kind="polygon")
    text = _messages(result)
    assert "theo tệp KML" in text and "from the KML file" in text
    assert "from the tệp" not in text and "the tệp" not in text
    assert text.endswith("Read 1 feature") and "1 features" not in text
    for message in result.messages:
        vi, _, en = message.partition(" / ")
        assert not any(word in en for word in ("tệp", "điểm", "tỉnh")), message
    prj = read_features(_shapefile(pha_long, tmp_path, "halves"), kind="polygon")
    assert "theo tệp .prj" in prj.crs_reason and "from the .prj file" in prj.crs_reason
    assert "% số điểm nằm trong tỉnh" in prj.crs_reason


def test_csv_formula_cells_are_found_but_text_and_numbers_are_not():
    """SYNTHETIC rows: formulas (including the DDE and HYPERLINK injections) are named by cell; a
    bullet note, a phone number, a negative DMS angle and decimal commas stay data."""
    from geo_app.importers.integrity import column_letter, csv_formula_cells

    rows = [["STT", "X", "ghi chu"], ["1", "2520000,5", "- ghi chú"], ["2", "=1+1", "+84 912 345 678"],
            ["3", "-2+3", "-22°30'15\""], ["4", "@SUM(A1)", "-cmd|' /C calc'!A0"], ["5", "\t=x", "+HYPERLINK(\"x\")"]]
    assert csv_formula_cells(rows) == ["B3", "B4", "B5", "C5", "B6", "C6"]
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
