"""The project's hostile corpus: boundary files as officers and attackers bring them.

Built from the real 2025 commune polygons of the layer store (the mirror's sources) and, where noted,
small SYNTHETIC files. Each case is a folder with the file(s) to import and what must happen:
``ok`` (read as is), ``repaired`` (read, with the named repair reported) or ``refused`` (an
ImportFailed naming the user's file and the problem). Valid and repaired cases carry the expected
area and centroid in EPSG:9208.

Run it by hand to look at the files::

    GEO_APP_HOME=... python tests/hostile/generate.py OUT_DIR
"""
from __future__ import annotations

import json
import math
import shutil
import stat
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.affinity
from pyproj import CRS, Transformer

OK, REPAIRED, REFUSED = "ok", "repaired", "refused"
TM3 = "EPSG:9208"


@dataclass
class Case:
    name: str
    #: the files as the user sends them; the first is the one to import (the .shp of separate parts)
    files: list[Path]
    outcome: str
    #: words the error (refused) or the messages (ok/repaired) must contain, in English
    words: list[str] = field(default_factory=list)
    #: read_features options (crs, layer, clip, boundary_points)
    options: dict = field(default_factory=dict)
    #: expected area (m²) and centroid (x, y) in EPSG:9208 for ok/repaired
    area_m2: float | None = None
    centroid: tuple[float, float] | None = None
    #: expected share of the area outside the province (None: not checked)
    outside_share: float | None = None
    synthetic: bool = False

    @property
    def main(self) -> Path:
        return self.files[0]


def _vn6():
    from geo_app.importers import VN2000_6DEG

    return VN2000_6DEG


def _expect(geom):
    c = geom.centroid
    return float(geom.area), (float(c.x), float(c.y))


def _frame(geoms, crs=TM3, **cols):
    data = {"ten": cols.pop("ten", [f"vùng {i + 1}" for i in range(len(geoms))]), **cols}
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)


def _shapefile(frame, folder: Path, stem: str, prj: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8")
    if not prj:
        (folder / f"{stem}.prj").unlink()
    return sorted(p for p in folder.iterdir() if p.stem == stem)


def _zip(out: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return out


def _zip_shapefile(frame, folder: Path, stem: str, prj: bool = True) -> Path:
    parts = _shapefile(frame, folder / "parts", stem, prj)
    return _zip(folder / f"{stem}.zip", {p.name: p for p in parts})


def _geojson(path: Path, features: list[dict], crs_name: str | None = None, raw: str | None = None) -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path.write_text(raw if raw is not None else json.dumps(doc), encoding="utf-8")
    return path


def _feature(coords, kind="Polygon", props=None):
    return {"type": "Feature", "properties": props or {"ten": "vùng"}, "geometry": {"type": kind, "coordinates": coords}}


def _rings_lonlat(geom) -> list:
    """A polygon's rings as WGS 84 [lon, lat] lists."""
    t = Transformer.from_crs(TM3, "EPSG:4326", always_xy=True)
    poly = max(getattr(geom, "geoms", [geom]), key=lambda p: p.area)
    out = []
    for ring in [poly.exterior, *poly.interiors]:
        xs, ys = np.asarray(ring.coords).T
        lon, lat = t.transform(xs, ys)
        out.append([[round(a, 8), round(b, 8)] for a, b in zip(lon, lat)])
    return out


def _kml(path: Path, body: str) -> Path:
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body, encoding="utf-8")
    return path


def _kml_polygon(rings) -> str:
    coords = " ".join(f"{lon},{lat}" for lon, lat in rings[0])
    return ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>vùng</name><Polygon><outerBoundaryIs>'
            f'<LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>'
            '</Document></kml>')


def _zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2025, 7, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.create_system = 3  # Unix: the mode bits are meant
    return info


def _border_commune(communes, province):
    """The commune with the most vertices on the province's outer boundary (the province is the
    union of the communes, so they share those vertices exactly)."""
    outer = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(province)))
    outer = outer[:, 0] + 1j * outer[:, 1]
    shared = [int(np.isin(c[:, 0] + 1j * c[:, 1], outer).sum())
              for c in (shapely.get_coordinates(g) for g in communes.geometry)]
    return communes.iloc[int(np.argmax(shared))]


def _shift_out(geom, province, target_share: float):
    """The polygon moved straight away from the province centre until ``target_share`` of it lies outside."""
    c, p = geom.centroid, province.centroid
    dx, dy = c.x - p.x, c.y - p.y
    norm = math.hypot(dx, dy)
    lo, hi = 0.0, 5_000.0
    minx, miny, maxx, maxy = geom.bounds
    province = shapely.clip_by_rect(province, minx - hi, miny - hi, maxx + hi, maxy + hi)  # the part that matters
    for _ in range(20):
        mid = (lo + hi) / 2
        moved = shapely.affinity.translate(geom, dx / norm * mid, dy / norm * mid)
        share = moved.difference(province).area / moved.area
        lo, hi = (mid, hi) if share < target_share else (lo, mid)
    return shapely.affinity.translate(geom, dx / norm * lo, dy / norm * lo)


def generate(out: Path, communes: gpd.GeoDataFrame, province: gpd.GeoDataFrame | None = None) -> list[Case]:
    """Write every case under ``out`` (emptied first) and return them. ``province``: the store's
    province layer (the union of the communes, computed when not given)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    communes = communes.to_crs(TM3).reset_index(drop=True)
    province = (shapely.union_all(communes.geometry.values) if province is None
                else shapely.union_all(province.to_crs(TM3).geometry.values))
    # simplified (Douglas-Peucker keeps original vertices, so edges still lie on commune boundaries)
    # so the files stay small; one commune with one part
    simple = [shapely.simplify(g, 20) for g in communes.geometry]
    singles = [i for i, g in enumerate(simple) if g.geom_type == "Polygon" and g.is_valid and not g.interiors]
    a_idx, b_idx = singles[len(singles) // 3], singles[2 * len(singles) // 3]
    A, B = simple[a_idx], simple[b_idx]
    A_area, A_c = _expect(A)
    cases: list[Case] = []

    def folder(name):
        path = out / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(name, files, outcome, words=(), geom=None, synthetic=False, **options):
        area, centroid = _expect(geom) if geom is not None else (None, None)
        outside = options.pop("outside_share", None)
        cases.append(Case(name, list(files), outcome, list(words), options, area, centroid, outside, synthetic))

    fa = _frame([A], ten=["Xã thử A"])
    # --- valid --------------------------------------------------------------------------------------
    d = folder("gpkg_tm3")
    pyogrio.write_dataframe(fa, d / "vung_a.gpkg", driver="GPKG")
    add("gpkg_tm3", [d / "vung_a.gpkg"], OK, ["GeoPackage"], A)
    d = folder("gpkg_wgs84")
    pyogrio.write_dataframe(fa.to_crs(4326), d / "vung_a_wgs84.gpkg", driver="GPKG")
    add("gpkg_wgs84", [d / "vung_a_wgs84.gpkg"], OK, ["EPSG:4326"], A)
    d = folder("gpkg_two_polygons")
    two = shapely.MultiPolygon([A, B])
    pyogrio.write_dataframe(_frame([A, B]), d / "hai_vung.gpkg", driver="GPKG")
    add("gpkg_two_polygons", [d / "hai_vung.gpkg"], OK, ["Read 2 features"], two)
    d = folder("shp_zip_prj")
    add("shp_zip_prj", [_zip_shapefile(fa, d, "vung_prj")], OK, ["from the .prj file"], A)
    d = folder("shp_zip_no_prj_tm3")
    add("shp_zip_no_prj_tm3", [_zip_shapefile(fa, d, "vung_khong_prj", prj=False)], OK,
        ["2025 commune boundaries", "chose EPSG:9208"], A)
    d = folder("shp_zip_no_prj_6deg")
    add("shp_zip_no_prj_6deg", [_zip_shapefile(fa.to_crs(_vn6()), d, "vung_mui6", prj=False)], OK,
        ["2025 commune boundaries", "chose VN-2000 6°"], A)
    d = folder("shp_zip_6deg_prj")
    add("shp_zip_6deg_prj", [_zip_shapefile(fa.to_crs(_vn6()), d, "vung_mui6_prj")], OK, ["0.9996"], A)
    d = folder("shp_zip_swapped")
    swapped = fa.copy()
    swapped["geometry"] = shapely.transform(fa.geometry.values, lambda c: c[:, ::-1])
    add("shp_zip_swapped", [_zip_shapefile(swapped, d, "vung_dao_truc", prj=False)], OK, ["swapped"], A)
    d = folder("shp_parts")
    parts = _shapefile(fa, d, "ranh_gioi")
    shp = next(p for p in parts if p.suffix == ".shp")
    add("shp_parts", [shp, *[p for p in parts if p != shp]], OK, ["Shapefile"], A)
    d = folder("geojson_wgs84")
    add("geojson_wgs84", [_geojson(d / "vung.geojson", [_feature(_rings_lonlat(A))])], OK, ["EPSG:4326"], A)
    d = folder("kml")
    add("kml", [_kml(d / "vung.kml", _kml_polygon(_rings_lonlat(A)))], OK, ["KML"], A)
    d = folder("kmz")
    kml_text = '<?xml version="1.0" encoding="UTF-8"?>\n' + _kml_polygon(_rings_lonlat(A))
    add("kmz", [_zip(d / "vung.kmz", {"doc.kml": kml_text.encode()})], OK, ["KMZ"], A)
    d = folder("csv_xy")
    ring = np.asarray(A.exterior.coords)[:-1]
    lines = ["STT,X,Y"] + [f"{i + 1},{y:.3f},{x:.3f}" for i, (x, y) in enumerate(ring)]
    (d / "diem_moc.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    add("csv_xy", [d / "diem_moc.csv"], OK, ["northing", "2025 commune boundaries"], A)
    d = folder("xlsx_lonlat")
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Diem moc"
    sheet.append(["BẢNG TỌA ĐỘ ĐIỂM MỐC"])
    sheet.append(["STT", "Kinh độ", "Vĩ độ"])
    for i, (lon, lat) in enumerate(_rings_lonlat(A)[0][:-1]):
        sheet.append([i + 1, lon, lat])
    book.save(d / "diem_moc.xlsx")
    add("xlsx_lonlat", [d / "diem_moc.xlsx"], OK, ["XLSX"], A)
    d = folder("zip_with_gpkg")
    pyogrio.write_dataframe(fa, d / "inner.gpkg", driver="GPKG")
    add("zip_with_gpkg", [_zip(d / "goi.zip", {"vung.gpkg": d / "inner.gpkg"})], OK, ["GeoPackage"], A)
    d = folder("gpkg_layer_chosen")
    pyogrio.write_dataframe(fa, d / "hai_lop.gpkg", driver="GPKG", layer="vung_a")
    pyogrio.write_dataframe(_frame([B]), d / "hai_lop.gpkg", driver="GPKG", layer="vung_b", append=False)
    add("gpkg_layer_chosen", [d / "hai_lop.gpkg"], OK, [], A, layer="vung_a")
    d = folder("zip_two_shapefiles_chosen")
    pa = _shapefile(fa, d / "p", "vung_a")
    pb = _shapefile(_frame([B]), d / "p", "vung_b")
    zipped = _zip(d / "hai_shp.zip", {p.name: p for p in pa + pb})
    add("zip_two_shapefiles_chosen", [zipped], OK, [], B, layer="vung_b")
    d = folder("explicit_crs")
    add("explicit_crs", [_zip_shapefile(fa.to_crs(_vn6()), d, "vung_chi_dinh", prj=False)], OK, ["given by the caller"], A,
        crs="VN2000_6DEG")
    d = folder("gpx_track_as_boundary")
    track = gpd.GeoDataFrame({"name": ["ranh giới"]}, geometry=[shapely.MultiLineString([A.exterior.coords])], crs=TM3)
    pyogrio.write_dataframe(track.to_crs(4326), d / "di_bo.gpx", driver="GPX", layer="tracks")
    add("gpx_track_as_boundary", [d / "di_bo.gpx"], OK, ["closed into"], A, boundary_points=True)
    d = folder("points_as_boundary")
    pts = gpd.GeoDataFrame({"STT": range(1, len(ring) + 1)}, geometry=gpd.points_from_xy(ring[:, 0], ring[:, 1]), crs=TM3)
    pyogrio.write_dataframe(pts, d / "diem_ranh_gioi.gpkg", driver="GPKG")
    add("points_as_boundary", [d / "diem_ranh_gioi.gpkg"], OK, ["built from"], A, boundary_points=True)

    d = folder("shp_zip_upper_case")  # CAD exports write .SHP/.SHX/.DBF
    parts = _shapefile(fa, d / "p", "CAD_EXPORT")
    add("shp_zip_upper_case", [_zip(d / "CAD_EXPORT.ZIP", {p.stem + p.suffix.upper(): p for p in parts})], OK, [], A)
    d = folder("geojson_latlon_swapped")
    add("geojson_latlon_swapped", [_geojson(d / "vi_do_truoc.geojson", [_feature([[[b, a] for a, b in _rings_lonlat(A)[0]]])])],
        OK, ["latitude came before longitude"], A)
    # --- repairable ---------------------------------------------------------------------------------
    d = folder("geojson_unclosed_ring")
    rings = _rings_lonlat(A)
    add("geojson_unclosed_ring", [_geojson(d / "vong_ho.geojson", [_feature([rings[0][:-1]])])], REPAIRED,
        ["without the closing vertex", "feature 1"], A)
    d = folder("geojson_repeated_vertices")
    doubled = [rings[0][0]] + [p for p in rings[0][1:-1] for _ in (0, 1)] + [rings[0][-1]]
    add("geojson_repeated_vertices", [_geojson(d / "dinh_lap.geojson", [_feature([doubled])])], REPAIRED,
        ["repeated vert"], A)
    d = folder("gpkg_with_z")
    z = _frame([shapely.force_3d(A, 1250.0)])
    pyogrio.write_dataframe(z, d / "co_do_cao.gpkg", driver="GPKG")
    add("gpkg_with_z", [d / "co_do_cao.gpkg"], REPAIRED, ["dropped Z heights", "feature 1"], A)
    d = folder("geojson_3d")
    add("geojson_3d", [_geojson(d / "toa_do_3d.geojson", [_feature([[[*p, 900.5] for p in rings[0]]])])], REPAIRED,
        ["dropped Z"], A)
    d = folder("sliver_part")
    far = shapely.box(A.bounds[0] - 300, A.bounds[1] - 300, A.bounds[0] - 299.5, A.bounds[1] - 299)  # 0.5 m² away
    pyogrio.write_dataframe(_frame([shapely.MultiPolygon([A, far])]), d / "manh_vun.gpkg", driver="GPKG")
    add("sliver_part", [d / "manh_vun.gpkg"], REPAIRED, ["dropped 1 part smaller than 1 m²", "feature 1"], A)
    d = folder("tiny_hole")
    cx, cy = A.representative_point().coords[0]
    hole = shapely.box(cx, cy, cx + 0.5, cy + 0.5)
    holed = shapely.Polygon(A.exterior, [hole.exterior])
    pyogrio.write_dataframe(_frame([holed]), d / "lo_nho.gpkg", driver="GPKG")
    add("tiny_hole", [d / "lo_nho.gpkg"], REPAIRED, ["dropped 1 hole"], A)
    d = folder("bow_tie")  # SYNTHETIC: a square drawn with two corners swapped, inside the province
    px, py = A.representative_point().coords[0]
    bow = shapely.Polygon([(px, py), (px + 400, py + 400), (px + 400, py), (px, py + 400)])
    fixed = shapely.make_valid(bow)
    pyogrio.write_dataframe(_frame([bow]), d / "no_hinh_no.gpkg", driver="GPKG")
    add("bow_tie", [d / "no_hinh_no.gpkg"], REPAIRED, ["Self-intersection", "repaired with make_valid"], fixed, True)
    border = _border_commune(communes, province)
    moved = _shift_out(shapely.simplify(border.geometry, 20), province, 0.059)
    d = folder("outside_reported")
    pyogrio.write_dataframe(_frame([moved]), d / "vuot_ranh_gioi.gpkg", driver="GPKG")
    share = moved.difference(province).area / moved.area
    add("outside_reported", [d / "vuot_ranh_gioi.gpkg"], OK, ["lies outside Lào Cai province", "--clip"], moved,
        outside_share=share)
    d = folder("outside_clipped")
    pyogrio.write_dataframe(_frame([moved]), d / "cat_ranh_gioi.gpkg", driver="GPKG")
    add("outside_clipped", [d / "cat_ranh_gioi.gpkg"], REPAIRED, ["clipped to the province"], moved.intersection(province),
        clip=True, outside_share=share)

    # --- hostile or broken: refused ------------------------------------------------------------------
    d = folder("shp_truncated")
    parts = _shapefile(fa, d / "p", "cat_cut")
    shp = next(p for p in parts if p.suffix == ".shp")
    shp.write_bytes(shp.read_bytes()[: 100 + (shp.stat().st_size - 100) // 2])
    add("shp_truncated", [_zip(d / "cat_cut.zip", {p.name: p for p in parts})], REFUSED, ["cut short", "cat_cut.shp"])
    d = folder("dbf_bad_count")
    parts = _shapefile(_frame([A, B]), d / "p", "dbf_hong")
    dbf = next(p for p in parts if p.suffix == ".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[4:8] = struct.pack("<I", 4_000_000_000)
    dbf.write_bytes(bytes(raw))
    add("dbf_bad_count", [_zip(d / "dbf_hong.zip", {p.name: p for p in parts})], REFUSED, ["header of 'dbf_hong.dbf'",
                                                                                          "4000000000 records"])
    d = folder("dbf_other_set")
    pa = _shapefile(fa, d / "a", "mot")
    pb = _shapefile(_frame([A, B]), d / "b", "mot")
    mixed = {p.name: p for p in pa if p.suffix != ".dbf"} | {p.name: p for p in pb if p.suffix == ".dbf"}
    add("dbf_other_set", [_zip(d / "lan_bo.zip", mixed)], REFUSED, ["not from the same set"])
    d = folder("shx_other_set")  # the index of a two-shape export beside the .shp of a one-shape one
    sa = _shapefile(fa, d / "a", "chi_muc")
    sb = _shapefile(_frame([A, B]), d / "b", "chi_muc")
    mixed = {p.name: p for p in sa if p.suffix != ".shx"} | {p.name: p for p in sb if p.suffix == ".shx"}
    add("shx_other_set", [_zip(d / "chi_muc.zip", mixed)], REFUSED, ["'chi_muc.shx' points feature 2 outside 'chi_muc.shp'"])
    d = folder("shp_missing_shx")
    parts = _shapefile(fa, d / "p", "thieu_shx")
    add("shp_missing_shx", [_zip(d / "thieu_shx.zip", {p.name: p for p in parts if p.suffix != ".shx"})], REFUSED,
        ["lacks thieu_shx.shx"])
    d = folder("shp_parts_missing_dbf")
    parts = _shapefile(fa, d, "thieu_dbf")
    for p in parts:
        if p.suffix == ".dbf":
            p.unlink()
    parts = [p for p in parts if p.suffix != ".dbf"]
    shp = next(p for p in parts if p.suffix == ".shp")
    add("shp_parts_missing_dbf", [shp, *[p for p in parts if p != shp]], REFUSED, ["lacks thieu_dbf.dbf"])
    d = folder("points_given_as_area")
    pyogrio.write_dataframe(pts, d / "moc_ranh_gioi.gpkg", driver="GPKG")
    add("points_given_as_area", [d / "moc_ranh_gioi.gpkg"], REFUSED, ["holds only Point", "table of boundary points"])
    d = folder("lines_given_as_area")
    pyogrio.write_dataframe(track, d / "duong.gpkg", driver="GPKG")
    add("lines_given_as_area", [d / "duong.gpkg"], REFUSED, ["MultiLineString", "--boundary-points"])
    d = folder("gpkg_two_polygon_layers")
    pyogrio.write_dataframe(fa, d / "hai_lop_vung.gpkg", driver="GPKG", layer="vung_a")
    pyogrio.write_dataframe(_frame([B]), d / "hai_lop_vung.gpkg", driver="GPKG", layer="vung_b", append=False)
    add("gpkg_two_polygon_layers", [d / "hai_lop_vung.gpkg"], REFUSED, ["2 polygon layers", "'vung_a'", "'vung_b'", "--layer"])
    d = folder("zip_two_shapefiles")
    add("zip_two_shapefiles", [_zip(d / "hai_shp.zip", {p.name: p for p in pa + _shapefile(_frame([B]), d / "q", "hai")})],
        REFUSED, ["2 polygon layers", "'mot'", "'hai'"])
    d = folder("xlsx_formulas")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["STT", "X", "Y"])
    for i, (x, y) in enumerate(ring[:6]):
        sheet.append([i + 1, f"={y:.3f}+0", f"={x:.3f}*1"])
    book.save(d / "cong_thuc.xlsx")
    add("xlsx_formulas", [d / "cong_thuc.xlsx"], REFUSED, ["12 cells holding formulas", "B2", "C7", "Paste Special"])
    d = folder("xlsx_xxe")  # a real workbook with an entity declaration slipped into one part
    with zipfile.ZipFile(out / "xlsx_lonlat" / "diem_moc.xlsx") as src, zipfile.ZipFile(d / "thuc_the.xlsx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                data = data.replace(b"?>", b"?>" + doctype, 1) if data.startswith(b"<?xml") else doctype + data
            dst.writestr(info, data)
    add("xlsx_xxe", [d / "thuc_the.xlsx"], REFUSED, ["DOCTYPE/entity declaration", "xl/worksheets/sheet1.xml"])
    d = folder("csv_formulas")  # SYNTHETIC: CSV injection
    (d / "cong_thuc.csv").write_text("STT,X,Y\n1,2520000,440000\n2,=HYPERLINK(\"http://x\"),441000\n3,2521000,@SUM(1)\n",
                                     encoding="utf-8")
    add("csv_formulas", [d / "cong_thuc.csv"], REFUSED, ["2 cells holding formulas", "B3", "C4"], synthetic=True)
    d = folder("zip_symlink_prj")
    parts = _shapefile(fa, d / "p", "lien_ket")
    with zipfile.ZipFile(d / "lien_ket.zip", "w") as archive:
        for p in parts:
            if p.suffix != ".prj":
                archive.writestr(p.name, p.read_bytes())
        archive.writestr(_zip_info("lien_ket.prj", stat.S_IFLNK | 0o777), "/etc/passwd")
    add("zip_symlink_prj", [d / "lien_ket.zip"], REFUSED, ["'lien_ket.prj' is a symbolic link", "none was extracted"])
    d = folder("zip_climbing")
    add("zip_climbing", [_zip(d / "leo_ra.zip", {"../../etc/evil.shp": b"x" * 200, "ok.txt": b"x"})], REFUSED,
        ["'../../etc/evil.shp' has a path climbing out"], synthetic=True)
    d = folder("zip_absolute")
    add("zip_absolute", [_zip(d / "tuyet_doi.zip", {"/var/evil.shp": b"x" * 200})], REFUSED, ["has an absolute path"],
        synthetic=True)
    d = folder("zip_device")
    with zipfile.ZipFile(d / "thiet_bi.zip", "w") as archive:
        archive.writestr(_zip_info("vung.shp", stat.S_IFCHR | 0o644), b"")
    add("zip_device", [d / "thiet_bi.zip"], REFUSED, ["is a device or pipe"], synthetic=True)
    d = folder("zip_duplicate_names")
    with zipfile.ZipFile(d / "trung_ten.zip", "w") as archive:
        for p in _shapefile(fa, d / "p", "trung"):
            archive.writestr(p.name, p.read_bytes())
        archive.writestr(_zip_info("TRUNG.PRJ", stat.S_IFREG | 0o644), CRS.from_epsg(4326).to_wkt("WKT1_ESRI"))
    add("zip_duplicate_names", [d / "trung_ten.zip"], REFUSED, ["two members named"])
    d = folder("zip_bomb")  # SYNTHETIC: 50 MB of zeros in a few kB
    with zipfile.ZipFile(d / "bom.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("vung.csv", "w") as member:
            for _ in range(50):
                member.write(b"0" * (1 << 20))
    add("zip_bomb", [d / "bom.zip"], REFUSED, ["looks like a zip bomb"], synthetic=True)
    d = folder("geojson_nan")
    nan_text = json.dumps({"type": "FeatureCollection", "features": [_feature(rings)]}).replace(
        str(rings[0][2][0]), "NaN", 1)
    add("geojson_nan", [_geojson(d / "nan.geojson", [], raw=nan_text)], REFUSED, ["'NaN'", "not a finite number"])
    d = folder("geojson_infinity")
    inf_text = json.dumps({"type": "FeatureCollection", "features": [_feature(rings)]}).replace(
        str(rings[0][3][1]), "-Infinity", 1)
    add("geojson_infinity", [_geojson(d / "vo_cuc.geojson", [], raw=inf_text)], REFUSED, ["'-Infinity'"])
    d = folder("geojson_huge_number")  # 1e400 is parsed as inf by JSON readers
    huge = json.dumps({"type": "FeatureCollection", "features": [_feature(rings)]}).replace(str(rings[0][3][1]), "1e400", 1)
    add("geojson_huge_number", [_geojson(d / "so_lon.geojson", [], raw=huge)], REFUSED, ["not a pair of finite numbers"])
    d = folder("geojson_deep")  # SYNTHETIC
    deep = '{"type": "FeatureCollection", "features": [' + "[" * 5000 + "]" * 5000 + "]}"
    add("geojson_deep", [_geojson(d / "sau.geojson", [], raw=deep)], REFUSED, ["nests"], synthetic=True)
    d = folder("kml_two_folders")  # Google Earth "My Places" with two folders of polygons
    placemark = _kml_polygon(rings).split("<Document>")[1].split("</Document>")[0]
    add("kml_two_folders", [_kml(d / "hai_thu_muc.kml", '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                                 f'<Folder><name>Lop A</name>{placemark}</Folder><Folder><name>Lop B</name>{placemark}'
                                 '</Folder></Document></kml>')], REFUSED, ["2 polygon layers", "'Lop A'", "'Lop B'"])
    d = folder("gpx_waypoints_as_area")
    wpts = gpd.GeoDataFrame({"name": [f"M{i}" for i in range(len(ring))]},
                            geometry=gpd.points_from_xy(ring[:, 0], ring[:, 1]), crs=TM3).to_crs(4326)
    pyogrio.write_dataframe(wpts, d / "moc_gps.gpx", driver="GPX", layer="waypoints")
    add("gpx_waypoints_as_area", [d / "moc_gps.gpx"], REFUSED, ["holds only Point", "--boundary-points"])
    d = folder("kml_malformed")
    add("kml_malformed", [_kml(d / "hong.kml", _kml_polygon(rings)[:-40])], REFUSED, ["not well-formed XML", "line"])
    d = folder("kml_xxe")  # SYNTHETIC: external entity reading a local file
    add("kml_xxe", [_kml(d / "xxe.kml", '<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&x;</name></Document></kml>')],
        REFUSED, ["DOCTYPE/entity declaration"], synthetic=True)
    d = folder("kml_billion_laughs")  # SYNTHETIC
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "lol"}">' for i in range(10))
    add("kml_billion_laughs", [_kml(d / "cuoi.kml", f"<!DOCTYPE kml [{lol}]><kml><Document><name>&l9;</name></Document></kml>")],
        REFUSED, ["DOCTYPE"], synthetic=True)
    d = folder("kml_network_link")  # SYNTHETIC: makes a reader fetch another document
    add("kml_network_link", [_kml(d / "lien_mang.kml", '<kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink><Link>'
                                                      '<href>http://169.254.169.254/latest</href></Link></NetworkLink></kml>')],
        REFUSED, ["NetworkLink"], synthetic=True)
    d = folder("kml_deep")  # SYNTHETIC
    add("kml_deep", [_kml(d / "sau.kml", "<kml>" + "<Folder>" * 200 + "</Folder>" * 200 + "</kml>")], REFUSED,
        ["more than 64 levels"], synthetic=True)
    d = folder("kmz_xxe")  # SYNTHETIC
    add("kmz_xxe", [_zip(d / "xxe.kmz", {"doc.kml": b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM '
                                                    b'"file:///etc/passwd">]><kml><name>&x;</name></kml>'})],
        REFUSED, ["DOCTYPE"], synthetic=True)
    d = folder("gpx_xxe")  # SYNTHETIC
    add("gpx_xxe", [_kml(d / "xxe.gpx", '<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                        '<gpx version="1.1"><wpt lat="22.5" lon="104.0"><name>&x;</name></wpt></gpx>')],
        REFUSED, ["DOCTYPE"], synthetic=True)
    d = folder("gpkg_empty_sqlite")  # SYNTHETIC: an SQLite database that is not a GeoPackage
    import sqlite3

    con = sqlite3.connect(d / "rong.gpkg")
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    add("gpkg_empty_sqlite", [d / "rong.gpkg"], REFUSED, ["not a GeoPackage (no gpkg_contents table)"], synthetic=True)
    d = folder("gpkg_no_features")
    pyogrio.write_dataframe(pd.DataFrame({"ten": ["Xã thử A"]}), d / "chi_bang.gpkg", driver="GPKG")
    add("gpkg_no_features", [d / "chi_bang.gpkg"], REFUSED, ["holds no feature layer"])
    d = folder("gpkg_corrupt")
    pyogrio.write_dataframe(_frame([A, B]), d / "hong.gpkg", driver="GPKG")
    raw = bytearray((d / "hong.gpkg").read_bytes())
    page = 4096
    for i in range(2 * page, min(len(raw), 6 * page)):
        raw[i] = 0xA5
    (d / "hong.gpkg").write_bytes(bytes(raw))
    add("gpkg_corrupt", [d / "hong.gpkg"], REFUSED, ["damaged"])
    d = folder("not_a_gpkg")  # SYNTHETIC
    (d / "gia.gpkg").write_bytes(b"PK\x03\x04 not sqlite at all")
    add("not_a_gpkg", [d / "gia.gpkg"], REFUSED, ["not an SQLite database"], synthetic=True)
    d = folder("empty_file")
    (d / "rong.geojson").write_bytes(b"")
    add("empty_file", [d / "rong.geojson"], REFUSED, ["empty (0 bytes)"], synthetic=True)
    d = folder("unsupported")
    (d / "ban_ve.dwg").write_bytes(b"AC1027 binary")
    add("unsupported", [d / "ban_ve.dwg"], REFUSED, ["unsupported format '.dwg'"], synthetic=True)
    d = folder("far_away")  # SYNTHETIC: WGS 84 coordinates in Europe
    add("far_away", [_geojson(d / "chau_au.geojson", [_feature([[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.0]]])])],
        REFUSED, ["cannot work out the CRS"], synthetic=True)
    d = folder("crs_tie")  # SYNTHETIC: a square that follows no commune boundary, no .prj
    sq = _frame([shapely.box(px - 300, py - 300, px + 300, py + 300)])
    add("crs_tie", [_zip_shapefile(sq, d, "o_vuong", prj=False)], REFUSED, ["equally", "--crs VN2000_6DEG"], synthetic=True)
    d = folder("csv_nan")  # SYNTHETIC
    (d / "nan.csv").write_text("STT,X,Y\n1,2520000,440000\n2,nan,441000\n3,2521000,441000\n", encoding="utf-8")
    add("csv_nan", [d / "nan.csv"], REFUSED, ["row 3", "not finite"], synthetic=True)
    d = folder("wholly_outside_clipped")  # SYNTHETIC: a square 20 km outside the province, clip asked
    minx, miny, maxx, maxy = province.bounds
    out_sq = _frame([shapely.box(maxx + 15_000, miny + 40_000, maxx + 16_000, miny + 41_000)])
    pyogrio.write_dataframe(out_sq, d / "ngoai_tinh.gpkg", driver="GPKG")
    add("wholly_outside_clipped", [d / "ngoai_tinh.gpkg"], REFUSED, ["nothing is left after clipping"], clip=True,
        synthetic=True)
    return cases


if __name__ == "__main__":  # pragma: no cover - by hand
    from geo_app import layers

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    made = generate(target, layers.read("communes"), layers.read("province"))
    for case in made:
        print(f"{case.outcome:<9} {case.name:<28} {', '.join(p.name for p in case.files)}")
    print(f"{len(made)} cases in {target}")
