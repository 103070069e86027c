"""``read_features``: one entry point for the user's own files, whatever the format.

Reads only: it never writes to the layer store, so a file that fails leaves everything as it was.
Everything it assumed (CRS, axis order, text encoding, dropped rows) goes into ``messages``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import struct
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry import Point, Polygon

from geo_app import STORE_CRS
from geo_app.errors import GeoAppError
from geo_app.importers import encodings as enc
from geo_app.importers import integrity as ig
from geo_app.importers import tables as tb
from geo_app.importers.crs import (
    ACCEPTED_CRS_EN,
    ACCEPTED_CRS_VI,
    CrsInvalid,
    CrsTie,
    CrsUndetermined,
    decide_crs,
    parse_crs,
    province_outline,
)
from geo_app.importers.errors import ImportFailed
from geo_app.importers.integrity import ZIP_MAX_TOTAL, check_zip
from geo_app.importers.text import count_en, msg, num_en, num_vi

log = logging.getLogger(__name__)

POLYGON, POINT = "polygon", "point"
FORMATS = {
    ".gpkg": "GeoPackage", ".zip": "Shapefile (zip)", ".shp": "Shapefile", ".kml": "KML", ".kmz": "KMZ",
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpx": "GPX", ".csv": "CSV", ".txt": "CSV", ".xlsx": "XLSX",
}
_SUPPORTED = "GeoPackage (.gpkg), Shapefile (.zip/.shp), KML/KMZ, GeoJSON, GPX, CSV, XLSX"
_ZIP_CHUNK = 1 << 20


@dataclass(frozen=True)
class GeometryRepair:
    """An invalid polygon of the file, and what was done about it (always also in ``messages``)."""

    #: the row (table) or feature number (vector layer) in the file, as ``source_row`` gives it
    source_row: int | None
    #: the layer of a multi-layer file, or None
    layer: str | None
    #: why it was invalid (``shapely.is_valid_reason``, e.g. "Self-intersection[...]")
    reason: str
    #: area in m² (EPSG:9208) as the file's rings give it (a bow-tie's lobes cancel out), and after repair
    area_before_m2: float
    area_after_m2: float
    #: True when replaced by ``shapely.make_valid``'s polygonal part
    repaired: bool = True
    #: the message (vi / en)
    message: str = ""

    def __str__(self) -> str:
        return self.message


@dataclass
class ImportResult:
    """What was read, in EPSG:9208, and everything that was assumed to read it."""

    frame: gpd.GeoDataFrame
    assumed_crs: str
    crs_reason: str
    encoding: str
    messages: list[str]
    source: Path
    format: str
    axis_swapped: bool = False
    #: True when the coordinates could not decide between equally plausible CRSs (see crs_reason)
    crs_ambiguous: bool = False
    #: rows of a table left out: (row number in the file, message)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    #: for polygons built from a table of boundary points: those points, in order, in EPSG:9208
    points: gpd.GeoDataFrame | None = None
    #: what was repaired (invalid polygons, unclosed rings, repeated vertices, Z/M values, parts and holes
    #: below the minimum, clipping), each also in ``messages``; validation reports them so the officer
    #: corrects the source file
    repairs: list[GeometryRepair] = field(default_factory=list)
    #: polygons: the area outside the province (ha) and its share of the whole, before any clipping
    outside_ha: float = 0.0
    outside_share: float = 0.0
    #: True when ``clip=True`` cut the polygons to the province
    clipped: bool = False


_msg = msg


def _project(path: Path, coords, frame, built_points, **decide_args):
    """Decide the CRS from the coordinates (and what the file declares), then project the features
    and any boundary points to EPSG:9208."""
    try:
        decision = decide_crs(coords[:, 0], coords[:, 1], **decide_args)
    except CrsUndetermined as exc:
        raise _crs_failure(path, exc) from None
    except CrsTie as exc:
        raise ImportFailed(path, f"không xác định chắc chắn được hệ tọa độ: {exc.vi}", f"the CRS cannot be decided: {exc.en}",
                           "Cho biết hệ tọa độ: dòng lệnh --crs VN2000_TM3 hoặc --crs VN2000_6DEG, Python crs=..., "
                           "trên web chọn ở ô 'Hệ tọa độ'; hoặc gửi kèm tệp .prj.",
                           "Say which CRS it is: --crs VN2000_TM3 or --crs VN2000_6DEG on the command line, crs=... in "
                           "Python, the 'CRS' choice on the web; or send the .prj with it.") from None
    frame = _to_store(frame, decision)
    if built_points is not None:
        built_points = _to_store(built_points, decision)
    return decision, frame, built_points


def read_features(
    path: str | Path,
    *,
    kind: str | None = None,
    crs: str | CRS | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    order_col: str | None = None,
    group_col: str | None = None,
    clip: bool = False,
    boundary_points: bool = False,
) -> ImportResult:
    """Read a user's file into a GeoDataFrame in EPSG:9208.

    ``kind``: "polygon" (production areas, karst units; a table of boundary points becomes a polygon,
    in the order of its STT column or else of the rows), "point" (water sources), or None (whatever
    the file holds). ``crs``: override the detection: a pyproj CRS (e.g. ``geo_app.importers.VN2000_6DEG``),
    a name ("VN2000_6DEG", "VN2000_TM3" = EPSG:9208, "WGS84"), an EPSG code, WKT or a PROJ string; one
    that names no usable CRS raises :class:`ImportFailed` listing the accepted values.
    ``encoding``: override the text-encoding detection ("UTF-8", "CP1258", "TCVN3", "VNI").
    ``x_col``/``y_col`` name the table's X (northing) and Y (easting) columns, ``lon_col``/``lat_col``
    its longitude and latitude; found by name when not given (X, Y, Kinh độ, Vĩ độ, lon, lat...).
    ``order_col``: the order of boundary points (default STT); ``group_col``: one polygon per value.

    ``layer``: the layer to read when the file holds several that could be meant (a GeoPackage with two
    polygon layers, a zip with two shapefiles): without it such a file is refused, listing them.
    ``clip``: cut polygons to the province (the part outside is reported either way).
    ``boundary_points``: with ``kind="polygon"``, read the points (or lines) of a vector file as the
    boundary, in order; without it points or lines where an area is expected are refused.

    Before any reader sees the file its bytes are checked (:mod:`geo_app.importers.integrity`); what
    is certain is repaired and reported in ``repairs`` and ``messages``.

    Raises :class:`ImportFailed` (one message naming the file, the problem and what to do).
    """
    if kind not in (None, POLYGON, POINT):  # the caller's mistake, not the file's: a plain ValueError
        raise ValueError(f"kind must be 'polygon', 'point' or None, not {kind!r}")
    if encoding is not None and encoding not in enc.DECODERS:
        raise ValueError(f"encoding must be one of {', '.join(enc.DECODERS)}, not {encoding!r}")
    try:
        return _read_features(Path(path), kind=kind, crs=crs, encoding=encoding, layer=layer, sheet=sheet, x_col=x_col,
                              y_col=y_col, lon_col=lon_col, lat_col=lat_col, order_col=order_col, group_col=group_col,
                              clip=clip, boundary_points=boundary_points)
    except GeoAppError:
        raise
    except RecursionError:
        raise ImportFailed(path, "tệp lồng nhau quá sâu để đọc", "the file nests too deeply to be read",
                           "Xuất lại tệp từ phần mềm gốc.", "Export the file again from the original software.") from None
    except Exception as exc:  # a reader's or GEOS's own error: never shown alone, never a traceback
        log.info("import of %s failed unexpectedly", path, exc_info=True)  # shown with -v; never to the user
        raise ImportFailed(path, f"tệp có dữ liệu không đọc hay xử lý được ({type(exc).__name__}: {_short(exc)})",
                           f"the file holds data that cannot be read or processed ({type(exc).__name__}: {_short(exc)})",
                           "Mở tệp bằng QGIS, chạy 'Sửa hình học' (Fix geometries), xuất lại và gửi lại.",
                           "Open it in QGIS, run 'Fix geometries', export it again and resend.") from None


def _read_features(path: Path, *, kind, crs, encoding, layer, sheet, x_col, y_col, lon_col, lat_col, order_col,
                   group_col, clip, boundary_points) -> ImportResult:
    result = _read_any(path, kind=kind, crs=crs, encoding=encoding, layer=layer, sheet=sheet, x_col=x_col, y_col=y_col,
                       lon_col=lon_col, lat_col=lat_col, order_col=order_col, group_col=group_col,
                       boundary_points=boundary_points)
    if kind == POLYGON:
        _tidy_polygons(result)
        _against_province(result, clip)
    return result


def _read_any(path: Path, *, kind, crs, encoding, layer, sheet, x_col, y_col, lon_col, lat_col, order_col,
              group_col, boundary_points) -> ImportResult:
    if not path.exists():
        raise ImportFailed(path, "không tìm thấy tệp", "file not found", "Kiểm tra đường dẫn.", "Check the path.")
    if path.is_dir():
        raise ImportFailed(path, "đây là thư mục, không phải tệp", "this is a folder, not a file",
                           "Nén Shapefile thành .zip rồi nhập tệp zip.", "Zip the shapefile and import the zip.")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ImportFailed(path, f"không hỗ trợ định dạng '{suffix or '(không có đuôi)'}'",
                           f"unsupported format '{suffix or '(no extension)'}'",
                           f"Các định dạng được hỗ trợ: {_SUPPORTED}.", f"Supported formats: {_SUPPORTED}.")
    if path.stat().st_size == 0:
        raise ImportFailed(path, "tệp rỗng (0 byte)", "the file is empty (0 bytes)",
                           "Xuất lại dữ liệu từ phần mềm gốc.", "Export the data again from the original software.")
    if crs is not None:
        try:
            crs = parse_crs(crs)
        except CrsInvalid as exc:
            why_vi = ("đây không phải hệ tọa độ phẳng hay địa lý (ví dụ hệ độ cao)" if exc.readable
                      else "pyproj không nhận ra tên hay mã này")
            raise ImportFailed(path, f"hệ tọa độ crs='{exc.given}' không dùng được ({why_vi})",
                               f"the CRS crs='{exc.given}' cannot be used ({exc.detail})",
                               f"Giá trị được chấp nhận: {ACCEPTED_CRS_VI}. Bỏ trống để tự xác định từ tọa độ.",
                               f"Accepted values: {ACCEPTED_CRS_EN}. Leave it out to detect it from the coordinates.") from None
    if suffix in (".kmz", ".xlsx"):  # zip containers too: refuse a zip bomb before a reader expands it
        try:
            with zipfile.ZipFile(path) as archive:
                check_zip(path, archive)
                if suffix == ".kmz":
                    for member in archive.namelist():
                        if member.lower().endswith(".kml"):
                            with archive.open(member) as src:
                                ig.check_xml(path, src.read(ZIP_MAX_TOTAL), "KML")
                else:
                    ig.check_office_xml(path, archive)
        except zipfile.BadZipFile:
            raise ImportFailed(path, f"không phải tệp {FORMATS[suffix]} hợp lệ (tệp zip bên trong bị hỏng hoặc bị cắt cụt)",
                               f"not a valid {FORMATS[suffix]} file (its zip container is damaged or cut short)",
                               "Lưu lại tệp từ phần mềm gốc và gửi lại.", "Save it again from the original software and resend.") from None
    elif suffix in (".kml", ".gpx"):
        ig.check_xml(path, path.read_bytes(), FORMATS[suffix])
    elif suffix == ".gpkg":
        ig.check_geopackage(path)
    elif suffix == ".shp":
        ig.check_shapefile(path, ig.shapefile_parts_from_folder(path))
    options = dict(kind=kind, crs=crs, encoding=encoding, layer=layer, boundary_points=boundary_points)
    if suffix in (".geojson", ".json") and path.stat().st_size <= ig.GEOJSON_PARSE_MAX:
        doc, closed = ig.check_geojson(path, path.read_bytes())
        if doc is not None:  # rings closed: GDAL reads the repaired text, under the user's file name
            with tempfile.TemporaryDirectory() as tmp:
                fixed = Path(tmp) / path.name
                fixed.write_text(json.dumps(doc), encoding="utf-8")
                result = _read_vector(fixed, FORMATS[suffix], str(fixed), order_col=order_col, group_col=group_col,
                                      **options)
            result.source = path
            _report_closed_rings(result, closed)
            return result
    if suffix in (".csv", ".txt", ".xlsx"):
        overrides = {role: name for role, name in ((tb.X, x_col), (tb.Y, y_col), (tb.LON, lon_col), (tb.LAT, lat_col),
                                                     (tb.ORDER, order_col), (tb.GROUP, group_col)) if name}
        return _read_table(path, sheet=sheet, overrides=overrides, kind=kind, crs=crs, encoding=encoding, layer=layer)
    if suffix == ".zip":
        return _read_zip(path, order_col=order_col, group_col=group_col, **options)
    return _read_vector(path, FORMATS[suffix], str(path), order_col=order_col, group_col=group_col, **options)


def original_names(stored: str | Path) -> list[str]:
    """The file names the user sent, for a file stored from a web upload (the ``source`` member the
    upload form writes into its GeoJSON); the file's own name for any other file."""
    path = Path(stored)
    try:
        if path.suffix.lower() == ".geojson" and path.stat().st_size <= ig.GEOJSON_PARSE_MAX:
            doc = json.loads(path.read_bytes())
            return [str(f["name"]) for f in doc["source"]["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return [path.name]


# --- vector formats ----------------------------------------------------------------------------------

def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def _extract(path: Path, archive: zipfile.ZipFile, name: str, target: Path, limit: int = ZIP_MAX_TOTAL) -> None:
    """Stream one member to ``target`` in chunks, never more than ``limit`` bytes (the directory's
    sizes were checked already; this guards against a directory that lies)."""
    written = 0
    with archive.open(name) as src, target.open("wb") as out:
        for chunk in iter(lambda: src.read(_ZIP_CHUNK), b""):
            written += len(chunk)
            if written > limit:
                raise ImportFailed(path, f"dung lượng giải nén vượt quá {_mb(limit)}",
                                   f"its uncompressed size exceeds {_mb(limit)}",
                                   "Chia dữ liệu thành các tệp nhỏ hơn.", "Split the data into smaller files.")
            out.write(chunk)


def _read_small(archive: zipfile.ZipFile, name: str, limit: int = 1024 * 1024) -> bytes:
    with archive.open(name) as src:
        return src.read(limit)


def _read_zip(path: Path, **options) -> ImportResult:
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(path, archive)
            bad = archive.testzip()
            names = [n for n in archive.namelist() if not n.startswith("__MACOSX") and not n.endswith("/")]
            if bad is not None:
                raise ImportFailed(path, f"tệp zip hỏng (lỗi CRC ở '{bad}')", f"the zip is damaged (CRC error in '{bad}')",
                                   "Nén lại và gửi lại tệp.", "Zip the files again and resend.")
            shps = [n for n in names if n.lower().endswith(".shp")]
            if not shps:
                others = [n for n in names if Path(n).suffix.lower() in FORMATS and Path(n).suffix.lower() not in (".zip", ".txt")]
                if len(others) == 1:  # a zipped GeoPackage / KML / CSV: read the one file inside
                    with tempfile.TemporaryDirectory() as tmp:
                        inner = Path(tmp) / Path(others[0]).name
                        _extract(path, archive, others[0], inner)
                        try:  # the inner file's own checks; tidying and the province test follow on the result
                            result = _read_any(inner, sheet=None, x_col=None, y_col=None, lon_col=None, lat_col=None,
                                               **options)
                        except ImportFailed as exc:
                            raise ImportFailed(path, f"{others[0]}: {exc.problem_vi}", f"{others[0]}: {exc.problem_en}",
                                               exc.hint_vi, exc.hint_en) from None
                    result.source = path
                    result.frame["source_file"] = f"{path.name}/{others[0]}"
                    return result
                listing = ", ".join(names[:10]) or "(trống / empty)"
                raise ImportFailed(path, f"trong tệp zip không có tệp .shp (có: {listing})",
                                   f"the zip holds no .shp file (it holds: {listing})",
                                   "Một Shapefile gồm .shp, .shx, .dbf và nên có .prj, .cpg; nén tất cả vào một tệp zip.",
                                   "A shapefile is .shp, .shx, .dbf and should have .prj and .cpg; zip them all together.")
            lower = {n.lower(): n for n in names}
            shape_types = {}
            for shp in shps:
                parts = ig.shapefile_parts_from_zip(archive, shp, lower)
                ig.check_shapefile(path, parts)
                shape_types[shp] = struct.unpack("<i", parts.shp_head[32:36])[0]
            shps = _choose_shapefiles(path, shps, shape_types, options["layer"], options["kind"])
            sidecars = {}
            for shp in shps:
                stem = shp[:-4].lower()
                # only the small text sidecars are read; .dbf and .shx are read by GDAL through /vsizip
                sidecars[shp] = {ext: (_read_small(archive, lower[stem + ext]) if ext in (".prj", ".cpg") else b"")
                                 if stem + ext in lower else None
                                 for ext in (".prj", ".cpg", ".dbf", ".shx")}
    except zipfile.BadZipFile as exc:
        raise ImportFailed(path, f"không phải tệp zip hợp lệ hoặc tệp bị hỏng ({exc})",
                           f"not a valid zip file, or a damaged one ({exc})",
                           "Nén lại Shapefile (.shp, .shx, .dbf, .prj, .cpg) và gửi lại.",
                           "Zip the shapefile (.shp, .shx, .dbf, .prj, .cpg) again and resend.") from None
    sources = [(f"/vsizip/{path.resolve()}/{shp}", shp, sidecars[shp]) for shp in shps]
    return _read_shapefiles(path, "Shapefile (zip)", sources, **options)


#: Shapefile shape types (ESRI Shapefile Technical Description) by the kind of feature they hold.
_SHAPE_KINDS = {POLYGON: {5, 15, 25}, POINT: {1, 8, 11, 18, 21, 28}}


def _choose_shapefiles(path: Path, shps: list[str], shape_types: dict[str, int], layer: str | None, kind: str | None):
    """The shapefile(s) of a zip to read: the one named by ``layer``, else the only candidate for
    ``kind``; several candidates are a question for the user, never a silent choice."""
    if layer is not None:
        chosen = [s for s in shps if Path(s).stem == layer or s == layer]
        if not chosen:
            names = ", ".join(Path(s).stem for s in shps)
            raise ImportFailed(path, f"không có lớp '{layer}' (có: {names})", f"no layer '{layer}' (layers: {names})",
                               "Chọn một trong các lớp trên.", "Choose one of the layers above.")
        return chosen
    wanted = _SHAPE_KINDS.get(kind)
    candidates = [s for s in shps if wanted is None or shape_types[s] in wanted] or shps
    if len(candidates) > 1:
        raise _several_layers(path, [Path(s).stem for s in candidates], kind)
    return candidates


def _several_layers(path: Path, names: list[str], kind: str | None) -> ImportFailed:
    what_vi = {"polygon": "lớp vùng", "point": "lớp điểm"}.get(kind, "lớp có hình học")
    what_en = {"polygon": "polygon layers", "point": "point layers"}.get(kind, "layers with geometry")
    listing = ", ".join(f"'{n}'" for n in names)
    return ImportFailed(path, f"tệp có {len(names)} {what_vi} ({listing}) nên không biết lấy lớp nào",
                        f"the file holds {len(names)} {what_en} ({listing}), so which one is meant is unclear",
                        "Chọn một lớp: dòng lệnh --layer TÊN, Python layer='TÊN', trên web chọn ở ô 'Lớp'.",
                        "Choose one: --layer NAME on the command line, layer='NAME' in Python, the 'Layer' choice on the web.",
                        choices=names)


def _read_vector(path: Path, fmt: str, gdal_path: str, **options) -> ImportResult:
    if path.suffix.lower() == ".shp":
        side = {ext: (path.with_suffix(ext).read_bytes() if path.with_suffix(ext).exists() else None)
                for ext in (".prj", ".cpg", ".dbf", ".shx")}
        return _read_shapefiles(path, fmt, [(gdal_path, path.name, side)], **options)
    frames, declared = _read_layers(path, fmt, gdal_path, options["layer"], options["kind"], encoding=None)
    text_values = _text_values(frames)
    guess = enc.EncodingGuess(options["encoding"], {}) if options["encoding"] else enc.guess_strings(text_values)
    notes = []
    if guess.encoding != enc.UTF8:
        frames = [_recode_frame(f, guess.encoding) for f in frames]
        notes.append(_msg(f"văn bản trong tệp Unicode được gõ bằng phông {guess.encoding} cũ; đã chuyển sang Unicode",
                          f"text in this Unicode file was typed with a legacy {guess.encoding} font; converted to Unicode"))
    label = guess.encoding if guess.encoding != enc.UTF8 else "UTF-8"
    return _finish(path, fmt, frames, declared, label, notes, guess, **options)


def _read_shapefiles(path: Path, fmt: str, sources, **options) -> ImportResult:
    frames, notes, samples, declared = [], [], [], None
    cpgs = set()
    for gdal_path, name, side in sources:
        if side[".dbf"] is None:
            notes.append(_msg(f"'{name}' thiếu tệp .dbf: chỉ có hình học, không có thuộc tính",
                              f"'{name}' has no .dbf: geometry only, no attributes"))
        if side[".shx"] is None:
            raise ImportFailed(path, f"'{name}' thiếu tệp .shx", f"'{name}' has no .shx file",
                               "Gửi kèm đủ .shp, .shx, .dbf (và .prj, .cpg).", "Send .shp, .shx, .dbf (and .prj, .cpg) together.")
        if side[".prj"] is None:
            notes.append(_msg(f"'{name}' không có tệp .prj: hệ tọa độ được xác định từ tọa độ",
                              f"'{name}' has no .prj: the CRS is worked out from the coordinates"))
        if side[".cpg"]:
            cpgs.add(side[".cpg"].decode("latin-1").strip())
        # Latin-1 keeps every DBF byte as one code point, so the real encoding can be chosen afterwards.
        layer_frames, layer_declared = _read_layers(path, fmt, gdal_path, None, options["kind"], encoding="latin1")
        for f in layer_frames:
            f.attrs["source_layer"] = Path(name).stem
        frames += layer_frames
        declared = declared or layer_declared
        if side[".prj"] is not None and layer_declared is None:
            notes.append(_msg(f"tệp .prj của '{name}' không đọc được; hệ tọa độ được xác định từ tọa độ",
                              f"the .prj of '{name}' could not be parsed; the CRS is worked out from the coordinates"))
    for f in frames:
        samples += [str(c).encode("latin-1", errors="replace") for c in f.columns]
        samples += [v.encode("latin-1", errors="replace") for v in _text_values([f])]
    if options["encoding"]:
        guess = enc.EncodingGuess(options["encoding"], {})
        notes.append(_msg(f"bảng mã DBF do người dùng chỉ định: {guess.encoding}",
                          f"DBF encoding given by the caller: {guess.encoding}"))
    else:
        guess = enc.guess_bytes(samples)
    frames = [_recode_frame(f, guess.encoding, columns=True) for f in frames]
    if cpgs and not guess.ascii_only:
        cpg = ", ".join(sorted(cpgs))
        notes.append(_msg(f"tệp .cpg ghi '{cpg}'; bảng mã dùng theo nội dung: {guess.encoding}",
                          f"the .cpg says '{cpg}'; encoding used, from the content: {guess.encoding}"))
    return _finish(path, fmt, frames, declared, guess.encoding, notes, guess, declared_by=("tệp .prj", ".prj file"), **options)


def _read_layers(path: Path, fmt: str, gdal_path: str, layer: str | None, kind: str | None, encoding: str | None):
    """Every layer with geometry (or the one asked for); returns frames and the declared CRS."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            listed = pyogrio.list_layers(gdal_path)
    except Exception as exc:  # GDAL's own message says what is wrong; keep it
        raise ImportFailed(path, f"GDAL không mở được tệp {fmt} ({_short(exc)})", f"GDAL cannot open this {fmt} file ({_short(exc)})",
                           f"Kiểm tra tệp có đúng định dạng {fmt} và không bị cắt cụt.",
                           f"Check that it really is {fmt} and not truncated.") from None
    names = [str(n) for n, _ in listed]
    if layer is not None:
        if layer not in names:
            raise ImportFailed(path, f"không có lớp '{layer}' (có: {', '.join(names)})", f"no layer '{layer}' (layers: {', '.join(names)})")
        wanted = [layer]
    else:
        wanted = [str(n) for n, g in listed if g]
    if fmt == "GPX" and layer is None:
        # the waypoints are the water sources / boundary points; tracks and routes are lines
        order = {"waypoints": 0, "tracks": 1, "routes": 2}
        wanted = sorted((n for n in wanted if n in order), key=order.get)
    elif layer is None and len(wanted) > 1:
        types = {str(n): str(g or "").upper() for n, g in listed}
        generic = ("", "UNKNOWN", "GEOMETRY", "GEOMETRYCOLLECTION", "NONE")
        token = {POLYGON: "POLYGON", POINT: "POINT"}.get(kind)
        candidates = [n for n in wanted if token is None or token in types[n] or types[n] in generic] or wanted
        if len(candidates) > 1:
            raise _several_layers(path, candidates, kind)
        wanted = candidates
    frames, declared = [], None
    for name in wanted:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = pyogrio.read_dataframe(gdal_path, layer=name, encoding=encoding)
        except Exception as exc:
            raise ImportFailed(path, f"không đọc được lớp '{name}' ({_short(exc)})", f"cannot read layer '{name}' ({_short(exc)})",
                               "Mở tệp bằng QGIS để kiểm tra, rồi xuất lại.", "Open it in QGIS to check, and export it again.") from None
        if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame:
            continue
        frame = frame.dropna(axis=1, how="all") if fmt == "GPX" else frame
        if "geometry" not in frame:
            continue
        frame.attrs["source_layer"] = name
        frame["source_row"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
        if declared is None and frame.crs is not None:
            declared = frame.crs
    if not frames or all(f.geometry.isna().all() or f.geometry.is_empty.all() for f in frames):
        raise ImportFailed(path, "tệp không có đối tượng hình học nào", "the file holds no geometry",
                           "Tệp chỉ có bảng thuộc tính hoặc rỗng; xuất lại kèm hình học (vùng hoặc điểm).",
                           "It is empty or a table only; export it again with its geometry (polygons or points).")
    return frames, declared


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _text_values(frames) -> list[str]:
    values = []
    for f in frames:
        for col in f.columns:
            if col == "geometry" or f[col].dtype.kind not in "OUS" and str(f[col].dtype) not in ("string", "str"):
                continue
            values += [v for v in f[col].dropna().unique().tolist()[:500] if isinstance(v, str)]
    return values


def _recode_frame(frame, encoding: str, columns: bool = False):
    frame = frame.copy()
    for col in frame.columns:
        if col == "geometry":
            continue
        if frame[col].dtype.kind in "OUS" or str(frame[col].dtype) in ("string", "str"):
            frame[col] = frame[col].map(lambda v: enc.recode_string(v, encoding) if isinstance(v, str) else v)
    if columns:
        frame.columns = [c if c == "geometry" else enc.recode_string(str(c), encoding) for c in frame.columns]
        frame = frame.set_geometry("geometry")
    return frame


def _finish(path, fmt, frames, declared, encoding_label, notes, guess, *, kind, crs, layer, encoding,
            declared_by=None, order_col=None, group_col=None, boundary_points=False):
    """Check the geometry kind, decide the CRS, reproject to EPSG:9208, and write the messages."""
    messages = [_msg(f"Định dạng: {fmt}", f"Format: {fmt}")]
    parts = []
    for f in frames:
        f = f.copy()
        if len(frames) > 1:
            f["source_layer"] = f.attrs.get("source_layer")
        f = f[~(f.geometry.isna() | f.geometry.is_empty)]
        if len(f):
            parts.append(f)
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=parts[0].crs)
    _refuse_non_finite(path, frame, table=False)
    dimension_repairs = _dropped_dimensions(path, frame, table=False)
    frame["geometry"] = shapely.force_2d(frame.geometry.values)
    dropped = sum(len(f) for f in frames) - len(frame)
    if dropped:
        messages.append(_msg(f"bỏ qua {dropped} đối tượng không có hình học",
                             f"skipped {count_en(dropped, 'feature')} without geometry"))

    frame, built_points = _apply_kind(path, frame, kind, messages, order_col, group_col, boundary_points)
    built = built_points is not None or bool(frame.attrs.get("closed_lines"))

    coords = shapely.get_coordinates(frame.geometry.values)
    decision, frame, built_points = _project(path, coords, frame, built_points, declared=declared, explicit=crs,
                                             declared_by=declared_by or (f"tệp {fmt}", f"{fmt} file"),
                                             areas=kind == POLYGON)
    frame["source_file"] = path.name
    messages.append(_msg(f"Hệ tọa độ: {decision.reason_vi}", f"CRS: {decision.reason_en}"))
    vi_note, en_note = guess.note()
    messages.append(_msg(vi_note, en_note))
    messages += notes
    frame, repairs = _repair_invalid(path, frame, messages, built=built, table=False)
    messages += list(dict.fromkeys(r.message for r in dimension_repairs))
    # dropping Z/M leaves the plane area as it is: before = after = the feature's area in EPSG:9208
    area_of = dict(zip(zip(*_rows_and_layers(frame)), frame.geometry.area))
    dimension_repairs = [dataclasses.replace(r, area_before_m2=float(area_of.get((r.source_row, r.layer), float("nan"))),
                                             area_after_m2=float(area_of.get((r.source_row, r.layer), float("nan"))))
                         for r in dimension_repairs]
    repairs = dimension_repairs + repairs
    messages.append(_msg(f"Đã đọc {len(frame)} đối tượng", f"Read {count_en(len(frame), 'feature')}"))
    return ImportResult(frame=frame, assumed_crs=decision.label, crs_reason=decision.reason, encoding=encoding_label,
                        messages=messages, source=path, format=fmt, axis_swapped=decision.swapped,
                        crs_ambiguous=decision.ambiguous, points=built_points, repairs=repairs)


def _crs_failure(path, exc) -> ImportFailed:
    return ImportFailed(path, f"không xác định được hệ tọa độ: tọa độ ({exc.vi}) không nằm trong hay gần tỉnh Lào Cai "
                              f"theo WGS 84, VN-2000 TM-3 104°45' hay múi 6°, kể cả khi đảo trục",
                        f"cannot work out the CRS: the coordinates ({exc}) are not in or near Lào Cai province as "
                        f"WGS 84, VN-2000 TM-3 104°45' or the 6° variant, even with the axes swapped",
                        f"Cho biết hệ tọa độ bằng tham số crs= hoặc --crs (ví dụ 'EPSG:3405'; chấp nhận: {ACCEPTED_CRS_VI}), "
                        f"hoặc kiểm tra lại số liệu.",
                        f"Give the CRS with crs= or --crs (e.g. 'EPSG:3405'; accepted: {ACCEPTED_CRS_EN}), or check the numbers.")


def _to_store(frame: gpd.GeoDataFrame, decision) -> gpd.GeoDataFrame:
    geoms = np.array(frame.geometry.values, dtype=object)  # drop the declared CRS; the decision sets it
    if decision.swapped:
        geoms = shapely.transform(geoms, lambda c: c[:, ::-1])
    out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=gpd.GeoSeries(geoms, index=frame.index),
                           crs=decision.crs)
    return out.to_crs(STORE_CRS)


def _apply_kind(path, frame, kind, messages, order_col, group_col, boundary_points=False):
    types = frame.geometry.geom_type
    if kind is None:
        return frame, None
    if kind == POINT:
        if types.isin(["MultiPoint"]).any():
            frame = frame.explode(index_parts=False, ignore_index=True)
            types = frame.geometry.geom_type
        points = frame[types == "Point"]
        if points.empty:
            found = ", ".join(sorted(set(types)))
            raise ImportFailed(path, f"cần các điểm nhưng tệp chỉ có {found}", f"points were expected but the file holds {found}",
                               "Xuất các nguồn nước thành điểm.", "Export the water sources as points.")
        if len(points) < len(frame):
            n = len(frame) - len(points)
            messages.append(_msg(f"bỏ qua {n} đối tượng không phải điểm",
                                 f"skipped {count_en(n, 'feature')} that {'is' if n == 1 else 'are'} not points"))
        return points.reset_index(drop=True), None
    polys = frame[types.isin(["Polygon", "MultiPolygon"])]
    if not polys.empty:
        if len(polys) < len(frame):
            n = len(frame) - len(polys)
            messages.append(_msg(f"bỏ qua {n} đối tượng không phải vùng",
                                 f"skipped {count_en(n, 'feature')} that {'is' if n == 1 else 'are'} not polygons"))
        return polys.reset_index(drop=True), None
    found = ", ".join(sorted(set(types))) or "—"
    if not boundary_points and not types.empty:
        raise ImportFailed(path, f"cần một vùng (polygon) nhưng tệp chỉ có {found} — không tự dựng vùng từ điểm hay đường",
                           f"an area (polygon) was expected but the file holds only {found} — no area is built from points or lines unasked",
                           "Vẽ ranh giới thành vùng khép kín; hoặc gửi bảng điểm ranh giới (CSV/XLSX có cột STT, X, Y); "
                           "hoặc, nếu các điểm/đường này đúng là ranh giới theo thứ tự, chọn 'đọc như điểm ranh giới' "
                           "(dòng lệnh --boundary-points, Python boundary_points=True).",
                           "Draw the boundary as a closed polygon; or send a table of boundary points (CSV/XLSX with STT, X, Y "
                           "columns); or, if these points/lines are the boundary in order, choose 'read as boundary points' "
                           "(--boundary-points on the command line, boundary_points=True in Python).")
    lines = frame[types.isin(["LineString", "MultiLineString", "LinearRing"])]
    if not lines.empty:
        rings = []
        for geom in lines.geometry:
            coords = [c for part in getattr(geom, "geoms", [geom]) for c in part.coords]
            rings.append(Polygon(coords) if len(coords) >= 3 else None)
        out = lines.copy()
        out["geometry"] = rings
        out = out[out.geometry.notna()]
        if out.empty:
            raise ImportFailed(path, "đường ranh giới có ít hơn 3 điểm", "the boundary line has fewer than 3 points")
        messages.append(_msg(f"{len(out)} đường ranh giới (track/đường) được khép thành vùng",
                             f"{count_en(len(out), 'boundary line')} (tracks/lines) closed into "
                             f"{count_en(len(out), 'polygon')}"))
        out = out.reset_index(drop=True)
        out.attrs["closed_lines"] = True
        return out, None
    points = frame[types == "Point"]
    if len(points) >= 3:
        order = order_col or next((c for c in points.columns if tb.normalise_header(c) in tb._ROLE_NAMES[tb.ORDER]), None)
        poly, pts = _polygons_from_points(path, points, order, group_col, messages)
        return poly, pts
    raise ImportFailed(path, f"cần một vùng (polygon) nhưng tệp chỉ có {found}", f"a polygon was expected but the file holds {found}",
                       "Vẽ ranh giới thành vùng khép kín, hoặc gửi bảng điểm ranh giới có cột STT.",
                       "Draw the boundary as a closed polygon, or send a table of boundary points with an STT column.")


def _polygons_from_points(path, points: gpd.GeoDataFrame, order_col, group_col, messages):
    points = points.copy()
    if order_col:
        try:
            points["_order"] = [tb.parse_number(v) for v in points[order_col]]
        except ValueError:
            points["_order"] = points[order_col].astype(str)
        points = points.sort_values("_order", kind="stable").drop(columns="_order")
        how = (f"theo cột '{order_col}'", f"in the order of column '{order_col}'")
    else:
        how = ("theo thứ tự các dòng trong tệp", "in the order of the rows in the file")
    groups = points.groupby(group_col, sort=False) if group_col else [(None, points)]
    rows = []
    for key, grp in groups:
        coords = [(g.x, g.y) for g in grp.geometry]
        if len(coords) > 1 and coords[0] == coords[-1]:
            coords = coords[:-1]
        label = f" '{key}'" if key is not None else ""
        if len(set(coords)) < 3:
            raise ImportFailed(path, f"vùng{label} có ít hơn 3 điểm ranh giới khác nhau", f"polygon{label} has fewer than 3 distinct boundary points",
                               "Mỗi vùng cần ít nhất 3 điểm.", "Each polygon needs at least 3 points.")
        row = {"n_points": len(coords), "geometry": Polygon(coords)}
        if group_col:
            row[group_col] = key
        rows.append(row)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=points.crs)
    out["source_row"] = [int(grp["source_row"].min()) for _, grp in groups] if group_col else [int(points["source_row"].min())]
    messages.append(_msg(f"{len(out)} vùng được dựng từ {len(points)} điểm ranh giới, nối {how[0]}",
                         f"{count_en(len(out), 'polygon')} built from {count_en(len(points), 'boundary point')}, "
                         f"joined {how[1]}"))
    return out, gpd.GeoDataFrame(points.reset_index(drop=True), geometry="geometry", crs=points.crs)


def _polygonal_part(geom):
    """The polygons of a make_valid result (a collection may also hold collapsed lines and points)."""
    if geom is None or geom.is_empty:
        return None, 0
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom, 0
    parts = list(getattr(geom, "geoms", [geom]))
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    if not polys:
        return None, len(parts)
    merged = shapely.union_all(polys)
    return merged, len(parts) - len(polys)


def _repair_invalid(path: Path, frame: gpd.GeoDataFrame, messages: list[str], *, built: bool = False,
                    table: bool = True):
    """Repair invalid polygons with make_valid when the repair keeps polygonal area; say so for each.

    A polygon whose repair leaves no area (all its points on a line, a ring of 2 distinct points)
    cannot be used: the import fails naming its row, rather than dropping it or keeping a zero-area
    shape. Runs in EPSG:9208, so the areas are in the store's metres. ``table``: rows of a table
    (``source_row`` is the file's line) rather than features of a vector layer.
    """
    geoms = frame.geometry.values
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    invalid = polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return frame, []
    rows = frame["source_row"].tolist() if "source_row" in frame else list(range(1, len(frame) + 1))
    layers = frame["source_layer"].tolist() if "source_layer" in frame else [None] * len(frame)
    hint_vi = " — thứ tự điểm ranh giới có thể sai (ranh giới tự cắt)" if built else ""
    hint_en = " — the boundary points may be out of order (the boundary crosses itself)" if built else ""
    new_geoms = list(geoms)
    repairs = []
    for i in np.flatnonzero(invalid):
        geom = geoms[i]
        reason = shapely.is_valid_reason(geom)
        before = float(geom.area)
        fixed, dropped_parts = _polygonal_part(shapely.make_valid(geom))
        row, layer = rows[i], layers[i]
        where_vi = (f"dòng {row}" if table else f"đối tượng số {row}") + (f" (lớp '{layer}')" if layer else "")
        where_en = (f"row {row}" if table else f"feature {row}") + (f" (layer '{layer}')" if layer else "")
        if fixed is None or fixed.area <= 0:
            raise ImportFailed(
                path, f"vùng ở {where_vi} không hợp lệ ({reason}) và không sửa được: make_valid không còn diện tích "
                      f"(mọi điểm gần như thẳng hàng){hint_vi}",
                f"the polygon in {where_en} is invalid ({reason}) and cannot be repaired: make_valid leaves no "
                f"area (its points are almost on one line){hint_en}",
                "Vẽ lại ranh giới của vùng đó thành vùng khép kín.", "Draw that boundary again as a closed polygon.")
        after = float(fixed.area)
        extra_vi = f"; bỏ {dropped_parts} phần đã suy biến thành đường/điểm" if dropped_parts else ""
        extra_en = f"; {count_en(dropped_parts, 'part')} collapsed to lines/points dropped" if dropped_parts else ""
        text = _msg(
            f"CẢNH BÁO: tệp '{path.name}', vùng ở {where_vi} không hợp lệ ({reason}){hint_vi}; đã sửa bằng make_valid: diện tích "
            f"{num_vi(before / 1e4, 2)} ha → {num_vi(after / 1e4, 2)} ha{extra_vi}. Kiểm tra và sửa tệp nguồn",
            f"WARNING: file '{path.name}', the polygon in {where_en} is invalid ({reason}){hint_en}; repaired with make_valid: area "
            f"{num_en(before / 1e4, 2)} ha → {num_en(after / 1e4, 2)} ha{extra_en}. Check and correct the source file")
        messages.append(text)
        new_geoms[i] = fixed
        repairs.append(GeometryRepair(int(row) if row is not None and row == row else None, layer, reason,
                                      before, after, True, text))
    out = frame.copy()
    out["geometry"] = gpd.GeoSeries(new_geoms, index=frame.index, crs=frame.crs)
    return out, repairs


# --- checks and certain repairs shared by every format -------------------------------------------------

#: Polygon parts and holes smaller than this (m², EPSG:9208) are dropped: slivers left by snapping or
#: digitising, far below what a boundary survey can tell (1 m² is a square of 1 m side).
MIN_PART_M2 = 1.0
#: Consecutive vertices closer than this (m) are one vertex repeated.
REPEATED_VERTEX_M = 0.001
#: Features named one by one in a repair or refusal message; the rest are counted.
LISTED = 12


def _where(row, layer, table: bool) -> tuple[str, str]:
    vi = (f"dòng {row}" if table else f"đối tượng số {row}") + (f" (lớp '{layer}')" if layer else "")
    en = (f"row {row}" if table else f"feature {row}") + (f" (layer '{layer}')" if layer else "")
    return vi, en


def _rows_and_layers(frame):
    rows = frame["source_row"].tolist() if "source_row" in frame else list(range(1, len(frame) + 1))
    layers = frame["source_layer"].tolist() if "source_layer" in frame else [None] * len(frame)
    return rows, layers


def _listing(items: list) -> str:
    text = ", ".join(str(i) for i in items[:LISTED])
    return text + (f" (+{len(items) - LISTED})" if len(items) > LISTED else "")


def _refuse_non_finite(path: Path, frame, table: bool) -> None:
    """NaN or infinite coordinates (a GeoJSON's NaN token, a broken export) are refused by feature:
    GEOS cannot compute with them, and no repair would be certain."""
    geoms = frame.geometry.values
    bad = []
    rows, layers = _rows_and_layers(frame)
    for i, geom in enumerate(geoms):
        if geom is None:
            continue
        coords = shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom)))
        if coords.size and not np.isfinite(coords).all():
            bad.append(_where(rows[i], layers[i], table))
    if bad:
        raise ImportFailed(path, f"tọa độ không phải số hữu hạn (NaN/Infinity) ở {_listing([b[0] for b in bad])}",
                           f"coordinates that are not finite numbers (NaN/Infinity) in {_listing([b[1] for b in bad])}",
                           "Sửa hoặc xoá các đối tượng đó trong phần mềm gốc rồi xuất lại.",
                           "Correct or delete those features in the original software and export again.")


def _dropped_dimensions(path: Path, frame, table: bool) -> list[GeometryRepair]:
    """Z (heights) and M (measures) are not part of a boundary: they are dropped, and said so."""
    geoms = frame.geometry.values
    has_z, has_m = shapely.has_z(geoms), shapely.has_m(geoms)
    if not (has_z.any() or has_m.any()):
        return []
    rows, layers = _rows_and_layers(frame)
    which = np.flatnonzero(has_z | has_m)
    what_vi = " và ".join(w for w, f in (("độ cao Z", has_z.any()), ("giá trị M", has_m.any())) if f)
    what_en = " and ".join(w for w, f in (("Z heights", has_z.any()), ("M values", has_m.any())) if f)
    places = [_where(rows[i], layers[i], table) for i in which]
    text = _msg(f"ĐÃ SỬA: tệp '{path.name}': bỏ {what_vi} ở {len(which)} đối tượng ({_listing([p[0] for p in places])}); "
                "ranh giới chỉ dùng tọa độ phẳng, diện tích không đổi",
                f"REPAIRED: file '{path.name}': dropped {what_en} from {count_en(len(which), 'feature')} "
                f"({_listing([p[1] for p in places])}); a boundary uses plane coordinates only, the area is unchanged")
    return [GeometryRepair(_int_row(rows[i]), layers[i], "Z/M dropped", float("nan"), float("nan"), True, text)
            for i in which]


def _int_row(row):
    return int(row) if row is not None and row == row else None


def _report_closed_rings(result: ImportResult, closed) -> None:
    """Rings a GeoJSON wrote without their closing vertex, closed before reading; areas in EPSG:9208."""
    frame = result.frame
    rows = frame["source_row"].tolist() if "source_row" in frame else list(range(1, len(frame) + 1))
    for repair in closed:
        area = float(frame.geometry.values[rows.index(repair.feature)].area) if repair.feature in rows else float("nan")
        text = _msg(f"ĐÃ SỬA: tệp '{result.source.name}', đối tượng số {repair.feature}: {repair.rings_closed} vòng ranh giới "
                    f"thiếu điểm khép kín, đã nối về điểm đầu; diện tích {num_vi(area / 1e4, 4)} ha → {num_vi(area / 1e4, 4)} ha",
                    f"REPAIRED: file '{result.source.name}', feature {repair.feature}: {count_en(repair.rings_closed, 'ring')} "
                    f"without the closing vertex, closed back to the first one; area {num_en(area / 1e4, 4)} ha → "
                    f"{num_en(area / 1e4, 4)} ha")
        result.messages.insert(-1, text)
        result.repairs.append(GeometryRepair(repair.feature, None, "unclosed ring", area, area, True, text))


def _drop_small(geom, minimum: float):
    """The polygon without parts and holes below ``minimum`` m²; (geometry, parts dropped, holes dropped)."""
    polys = list(getattr(geom, "geoms", [geom]))
    kept, parts, holes = [], 0, 0
    for poly in polys:
        if poly.area < minimum:
            parts += 1
            continue
        inner = [r for r in poly.interiors if Polygon(r).area >= minimum]
        holes += len(poly.interiors) - len(inner)
        kept.append(Polygon(poly.exterior, inner) if len(inner) != len(poly.interiors) else poly)
    if not parts and not holes:
        return geom, 0, 0
    if not kept:
        return None, parts, holes
    return (kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)), parts, holes


def _tidy_polygons(result: ImportResult) -> None:
    """Certain repairs on the polygons in EPSG:9208, each reported with its feature and area before
    and after: repeated vertices removed, parts and holes below ``MIN_PART_M2`` dropped."""
    frame, path = result.frame, result.source
    table = result.format in ("CSV", "XLSX")
    rows, layers = _rows_and_layers(frame)
    geoms = list(frame.geometry.values)
    repeated = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        before_n = shapely.get_num_coordinates(geom)
        fixed = shapely.remove_repeated_points(geom, REPEATED_VERTEX_M)
        removed = before_n - shapely.get_num_coordinates(fixed)
        if removed and fixed.is_valid and not fixed.is_empty:
            repeated.append((i, removed, geom.area, fixed.area))
            geoms[i] = fixed
        small, parts, holes = _drop_small(geoms[i], MIN_PART_M2)
        if parts or holes:
            where_vi, where_en = _where(rows[i], layers[i], table)
            if small is None:
                raise ImportFailed(path, f"vùng ở {where_vi} nhỏ hơn {num_vi(MIN_PART_M2)} m²", f"the polygon in {where_en} is smaller than {MIN_PART_M2:g} m²",
                                   "Kiểm tra đơn vị tọa độ (mét) và vẽ lại vùng đó.", "Check the coordinate units (metres) and draw it again.")
            before, after = float(geoms[i].area), float(small.area)
            what_vi = ", ".join(t for t in (f"{parts} phần" if parts else "", f"{holes} lỗ" if holes else "") if t)
            what_en = ", ".join(t for t in (count_en(parts, "part") if parts else "", count_en(holes, "hole") if holes else "") if t)
            text = _msg(f"ĐÃ SỬA: tệp '{path.name}', {where_vi}: bỏ {what_vi} nhỏ hơn {num_vi(MIN_PART_M2)} m² (mảnh vụn); "
                        f"diện tích {num_vi(before, 2)} m² → {num_vi(after, 2)} m²",
                        f"REPAIRED: file '{path.name}', {where_en}: dropped {what_en} smaller than {MIN_PART_M2:g} m² (slivers); "
                        f"area {num_en(before, 2)} m² → {num_en(after, 2)} m²")
            result.messages.insert(-1, text)
            result.repairs.append(GeometryRepair(_int_row(rows[i]), layers[i], "parts/holes below minimum", before, after, True, text))
            geoms[i] = small
    if repeated:
        places = [_where(rows[i], layers[i], table) for i, *_ in repeated]
        total = sum(r[1] for r in repeated)
        text = _msg(f"ĐÃ SỬA: tệp '{path.name}': bỏ {total} đỉnh lặp lại liên tiếp ở {_listing([p[0] for p in places])}; "
                    "diện tích không đổi",
                    f"REPAIRED: file '{path.name}': removed {count_en(total, 'repeated vertex', 'repeated vertices')} in "
                    f"{_listing([p[1] for p in places])}; the area is unchanged")
        result.messages.insert(-1, text)
        for i, _removed, before, after in repeated:
            result.repairs.append(GeometryRepair(_int_row(rows[i]), layers[i], "repeated vertices", float(before), float(after),
                                                 True, text))
    frame["geometry"] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)


def _against_province(result: ImportResult, clip: bool) -> None:
    """The area outside the province (ha, %), from the geometry; cut to the province with ``clip``."""
    outline = province_outline()
    path, frame = result.source, result.frame
    if outline is None:
        result.messages.insert(-1, _msg("chưa dựng kho lớp: không tính được phần diện tích nằm ngoài tỉnh",
                                        "no layer store built: the area outside the province was not computed"))
        if clip:
            raise ImportFailed(path, "không cắt theo ranh giới tỉnh được vì chưa dựng kho lớp", "cannot clip to the province: "
                               "the layer store is not built", "Chạy `geo-app build` trước.", "Run `geo-app build` first.")
        return
    geoms = frame.geometry.values
    total = float(shapely.area(geoms).sum())
    inside = shapely.intersection(geoms, outline)
    outside_m2 = max(total - float(shapely.area(inside).sum()), 0.0)
    share = outside_m2 / total if total else 0.0
    result.outside_ha, result.outside_share = outside_m2 / 1e4, share
    if outside_m2 < MIN_PART_M2:
        result.messages.insert(-1, _msg("toàn bộ diện tích nằm trong tỉnh Lào Cai", "the whole area lies inside Lào Cai province"))
        return
    vi = f"{num_vi(outside_m2 / 1e4, 2)} ha ({num_vi(share * 100, 1)} %) diện tích nằm ngoài tỉnh Lào Cai"
    en = f"{num_en(outside_m2 / 1e4, 2)} ha ({num_en(share * 100, 1)} %) of the area lies outside Lào Cai province"
    if not clip:
        result.messages.insert(-1, _msg(f"CẢNH BÁO: tệp '{path.name}': {vi}; có thể cắt theo ranh giới tỉnh (dòng lệnh --clip, "
                                        "Python clip=True, trên web chọn 'Cắt theo ranh giới tỉnh')",
                                        f"WARNING: file '{path.name}': {en}; it can be clipped to the province (--clip on the "
                                        "command line, clip=True in Python, 'Clip to the province' on the web)"))
        return
    rows, layers = _rows_and_layers(frame)
    kept = []
    for i, (geom, cut) in enumerate(zip(geoms, inside)):
        polygonal, _ = _polygonal_part(cut)
        if polygonal is not None:
            polygonal, _, _ = _drop_small(polygonal, MIN_PART_M2)
        if abs(geom.area - (polygonal.area if polygonal is not None else 0.0)) >= MIN_PART_M2:
            after = float(polygonal.area) if polygonal is not None else 0.0
            where_vi, where_en = _where(rows[i], layers[i], result.format in ("CSV", "XLSX"))
            text = _msg(f"ĐÃ SỬA: tệp '{path.name}', {where_vi}: cắt theo ranh giới tỉnh; diện tích "
                        f"{num_vi(geom.area / 1e4, 4)} ha → {num_vi(after / 1e4, 4)} ha",
                        f"REPAIRED: file '{path.name}', {where_en}: clipped to the province; area "
                        f"{num_en(geom.area / 1e4, 4)} ha → {num_en(after / 1e4, 4)} ha")
            result.messages.insert(-1, text)
            result.repairs.append(GeometryRepair(_int_row(rows[i]), layers[i], "clipped to the province", float(geom.area),
                                                 after, True, text))
        kept.append(polygonal)
    if all(g is None for g in kept):
        raise ImportFailed(path, "toàn bộ vùng nằm ngoài tỉnh Lào Cai: cắt theo ranh giới tỉnh thì không còn gì",
                           "the whole area lies outside Lào Cai province: nothing is left after clipping",
                           "Kiểm tra hệ tọa độ (--crs) và tệp nguồn.", "Check the CRS (--crs) and the source file.")
    frame["geometry"] = gpd.GeoSeries(kept, index=frame.index, crs=frame.crs)
    result.frame = frame[frame.geometry.notna()].reset_index(drop=True)
    result.clipped = True
    result.messages.insert(-1, _msg(f"đã cắt theo ranh giới tỉnh: bỏ {vi}", f"clipped to the province: removed {en}"))


# --- tables ------------------------------------------------------------------------------------------

def _read_table(path: Path, *, sheet, overrides, kind, crs, encoding, layer) -> ImportResult:
    notes = []
    if path.suffix.lower() == ".xlsx":
        sheets = _xlsx_sheets(path, sheet)
        guess = enc.EncodingGuess(encoding or enc.UTF8, {})
        table = None
        for name, rows, formulas in sheets:
            table = tb.make_table(rows, overrides, sheet=name)
            if table is not None:
                ig.refuse_formulas(path, formulas, name)
                break
        fmt = "XLSX"
        if table is not None:
            cells = [c for row in table.rows for c in row if isinstance(c, str)] + table.header
            guess = enc.EncodingGuess(encoding, {}) if encoding else enc.guess_strings(cells)
            if guess.encoding != enc.UTF8:
                table.rows = [[enc.recode_string(c, guess.encoding) if isinstance(c, str) else c for c in r] for r in table.rows]
                table.header = [enc.recode_string(h, guess.encoding) for h in table.header]
                notes.append(_msg(f"văn bản trong bảng tính được gõ bằng phông {guess.encoding} cũ; đã chuyển sang Unicode",
                                  f"the spreadsheet text was typed with a legacy {guess.encoding} font; converted to Unicode"))
    else:
        raw = path.read_bytes()
        lines = raw.splitlines()
        guess = enc.EncodingGuess(encoding, {}) if encoding else enc.guess_bytes(lines)
        text = enc.DECODERS[guess.encoding](raw) if guess.encoding != enc.UTF8 else raw.decode("utf-8-sig", errors="replace")
        rows = tb.rows_from_csv(unicodedata.normalize("NFC", text))
        ig.refuse_formulas(path, ig.csv_formula_cells(rows))
        table = tb.make_table(rows, overrides)
        fmt = "CSV"
    if table is None:
        accepted = "X/Y (X = tung độ), Kinh độ/Vĩ độ, lon/lat, Easting/Northing"
        raise ImportFailed(path, "không tìm thấy cột tọa độ trong bảng", "no coordinate columns found in the table",
                           f"Cần một cặp cột {accepted}, hoặc chỉ định x_col/y_col, lon_col/lat_col.",
                           f"It needs a pair of columns {accepted}, or give x_col/y_col, lon_col/lat_col.")
    return _table_to_result(path, fmt, table, guess, notes, kind=kind, crs=crs)


def _xlsx_sheets(path: Path, sheet: str | None):
    try:
        import openpyxl

        # data_only=False: a formula cell gives its formula, never a cached value (refused below)
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise ImportFailed(path, f"không mở được bảng tính ({_short(exc)})", f"cannot open the spreadsheet ({_short(exc)})",
                           "Lưu lại thành .xlsx bằng Excel hoặc LibreOffice.", "Save it again as .xlsx from Excel or LibreOffice.") from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise ImportFailed(path, f"không có trang tính '{sheet}' (có: {', '.join(names)})", f"no sheet '{sheet}' (sheets: {', '.join(names)})")
        out = []
        for n in ([sheet] if sheet else names):
            rows, formulas = [], []
            for r, cells in enumerate(book[n].iter_rows(), start=1):
                row = []
                for c, cell in enumerate(cells):
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append(f"{ig.column_letter(c)}{r}")
                        row.append(None)
                    else:
                        row.append(getattr(cell, "value", None))
                rows.append(row)
            out.append((n, rows, formulas))
        return out
    finally:
        book.close()


def _table_to_result(path, fmt, table: tb.Table, guess, notes, *, kind, crs) -> ImportResult:
    roles = table.roles
    # X/Y first: a survey table that carries both keeps its VN-2000 metres, the more exact of the two
    if {tb.X, tb.Y} <= roles.keys():
        # Vietnamese survey convention: X is the northing, so (easting, northing) = (Y, X)
        first, second, axis = roles[tb.Y], roles[tb.X], "XY"
    elif {tb.EASTING, tb.NORTHING} <= roles.keys():
        first, second, axis = roles[tb.EASTING], roles[tb.NORTHING], "EN"
    else:
        first, second, axis = roles[tb.LON], roles[tb.LAT], "LONLAT"
    header = table.header
    skipped, xs, ys, keep = [], [], [], []
    for row, number in zip(table.rows, table.row_numbers):
        try:
            a, b = tb.parse_number(row[first]), tb.parse_number(row[second])
        except ValueError:
            bad = row[first] if not _is_number(row[first]) else row[second]
            skipped.append((number, _msg(f"tệp '{path.name}', dòng {number}: tọa độ '{bad}' không phải là số",
                                         f"file '{path.name}', row {number}: coordinate '{bad}' is not a number")))
            continue
        if a is not None and b is not None and not (math.isfinite(a) and math.isfinite(b)):
            raise ImportFailed(path, f"dòng {number}: tọa độ ({row[first]}, {row[second]}) không phải số hữu hạn",
                               f"row {number}: the coordinates ({row[first]}, {row[second]}) are not finite numbers",
                               "Sửa tọa độ của dòng đó rồi gửi lại.", "Correct that row's coordinates and send it again.")
        if a is None or b is None:
            skipped.append((number, _msg(f"tệp '{path.name}', dòng {number}: thiếu tọa độ ({header[first]}, {header[second]})",
                                         f"file '{path.name}', row {number}: no coordinates ({header[first]}, {header[second]})")))
            continue
        xs.append(a)
        ys.append(b)
        keep.append((row, number))
    if not keep:
        raise ImportFailed(path, "không dòng nào có tọa độ đọc được", "no row has readable coordinates",
                           f"Kiểm tra các cột {header[second]} và {header[first]}.", f"Check the columns {header[second]} and {header[first]}.")
    records = []
    for row, number in keep:
        rec = {h: _clean_cell(v) for h, v in zip(header, row)}
        rec["source_row"] = number
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for col in header:
        frame[col] = _maybe_numeric(frame[col])
    frame = gpd.GeoDataFrame(frame, geometry=[Point(a, b) for a, b in zip(xs, ys)], crs=None)
    order = header[roles[tb.ORDER]] if tb.ORDER in roles else None
    group = header[roles[tb.GROUP]] if tb.GROUP in roles else None
    messages = [_msg(f"Định dạng: {fmt}" + (f" (trang tính '{table.sheet}')" if table.sheet else ""),
                     f"Format: {fmt}" + (f" (sheet '{table.sheet}')" if table.sheet else ""))]
    built_points = None
    if kind == POLYGON:
        frame, built_points = _polygons_from_points(path, frame, order, group, messages)
    coords = shapely.get_coordinates(frame.geometry.values) if built_points is None else shapely.get_coordinates(built_points.geometry.values)
    decision, frame, built_points = _project(path, coords, frame, built_points, explicit=crs, areas=kind == POLYGON)
    if built_points is not None:
        built_points["source_file"] = path.name
    frame["source_file"] = path.name
    repair_messages: list[str] = []
    frame, repairs = _repair_invalid(path, frame, repair_messages, built=built_points is not None)
    if axis == "XY":
        if decision.swapped:
            axis_vi = "cột X chứa hoành độ (easting) theo thứ tự GIS, không theo quy ước trắc địa Việt Nam; đã đọc X là hoành độ"
            axis_en = "the X column holds eastings (GIS order), not the Vietnamese survey convention; X was read as the easting"
        else:
            axis_vi = "cột X là tung độ (northing), cột Y là hoành độ (easting) theo quy ước trắc địa Việt Nam"
            axis_en = "column X is the northing and Y the easting, as in the Vietnamese survey convention"
        messages.append(_msg(axis_vi, axis_en))
    messages.append(_msg(f"Hệ tọa độ: {decision.reason_vi}", f"CRS: {decision.reason_en}"))
    messages.append(_msg(*guess.note()))
    messages += notes
    messages += [m for _, m in skipped]
    messages += repair_messages
    messages.append(_msg(f"Đã đọc {len(frame)} đối tượng từ {len(keep)} dòng; bỏ qua {len(skipped)} dòng",
                         f"Read {count_en(len(frame), 'feature')} from {count_en(len(keep), 'row')}; "
                         f"skipped {count_en(len(skipped), 'row')}"))
    return ImportResult(frame=frame, assumed_crs=decision.label, crs_reason=decision.reason, encoding=guess.encoding,
                        messages=messages, source=path, format=fmt, axis_swapped=decision.swapped,
                        crs_ambiguous=decision.ambiguous, skipped_rows=skipped, points=built_points, repairs=repairs)


def _is_number(value) -> bool:
    try:
        return tb.parse_number(value) is not None
    except ValueError:
        return False


def _clean_cell(value):
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value.strip())
        return value or None
    return value


def _maybe_numeric(series: pd.Series) -> pd.Series:
    """Columns whose every filled cell is a number become numbers (decimal commas included)."""
    if series.dtype.kind in "fiub":
        return series
    try:
        parsed = [tb.parse_number(v) for v in series]
    except (ValueError, TypeError):
        return series
    if all(p is None for p in parsed):
        return series
    # codes such as GSO commune codes ("02752") keep their leading zeros
    if any(isinstance(v, str) and len(v.strip()) > 1 and v.strip()[0] == "0" and v.strip()[1].isdigit() for v in series):
        return series
    return pd.Series([np.nan if p is None else p for p in parsed], index=series.index, dtype=float)
