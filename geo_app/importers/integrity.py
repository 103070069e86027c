"""Integrity checks made on the user's bytes before GDAL, openpyxl or an XML reader sees them.

A reader given a broken file often reads part of it and says nothing (a shapefile cut short gives
its first features, a .dbf whose header lies gives no attributes). Every check here reads only the
headers and directories the format defines, and raises :class:`ImportFailed` naming the file, what
is wrong and what to do. Formats and their definitions:

- Shapefile: ESRI Shapefile Technical Description (1998): a 100-byte header (file code 9994, file
  length in 16-bit words, big-endian); the .shx holds one 8-byte (offset, length) record per shape.
- dBASE III (.dbf): record count (uint32 LE, byte 4), header length (uint16 LE, byte 8), record
  length (uint16 LE, byte 10); the file is header + count × record length (+ an optional 0x1A).
- GeoPackage (OGC 12-128r18): an SQLite 3 database with ``gpkg_contents``; checked read-only with
  ``PRAGMA integrity_check``.
- Zip (PKWARE APPNOTE): member names, Unix mode bits (symbolic links, devices) and sizes from the
  central directory.
- KML/GPX: XML read by expat with document type declarations (and so every entity) refused, no
  external references, and the element depth bounded.
"""
from __future__ import annotations

import json
import math
import re
import sqlite3
import stat
import struct
import xml.parsers.expat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from geo_app.importers.errors import ImportFailed
from geo_app.importers.tables import parse_number

#: Zip members: at most this many bytes uncompressed in all...
ZIP_MAX_TOTAL = 200 * 1024 * 1024
#: ...no member expanding more than this many times its compressed size (members under
#: ``ZIP_RATIO_FLOOR`` bytes are exempt: tiny files compress unpredictably)...
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR = 1024 * 1024
#: ...and at most this many members.
ZIP_MAX_MEMBERS = 10_000
#: XML (KML, GPX): deeper nesting than this is not a map but an attack on the parser.
XML_MAX_DEPTH = 64
#: GeoJSON nesting (FeatureCollection → Feature → geometry → MultiPolygon arrays is 8 deep).
JSON_MAX_DEPTH = 32
#: GeoJSON up to this size is parsed strictly before GDAL reads it (rings closed, NaN named); a
#: larger file is read by GDAL directly (its coordinates are still checked to be finite), because a
#: parsed JSON document takes about ten times its size in memory.
GEOJSON_PARSE_MAX = 40 * 1024 * 1024
#: Spreadsheet and CSV cells listed by name in a refusal; the rest are counted.
LISTED_CELLS = 12

_RESEND_VI = "Xuất lại tệp từ phần mềm gốc (QGIS, ArcGIS…) và gửi lại."
_RESEND_EN = "Export the file again from the original software (QGIS, ArcGIS…) and send it again."


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


# --- zip --------------------------------------------------------------------------------------------

def _member_problem(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """Why one zip member must not be extracted (vi, en), or None."""
    name = info.filename
    mode = info.external_attr >> 16
    if "\x00" in name:
        return "tên có ký tự NUL", "its name holds a NUL character"
    if stat.S_ISLNK(mode):
        return "là liên kết tượng trưng (symbolic link)", "is a symbolic link"
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "là tệp thiết bị hoặc đường ống, không phải tệp thường", "is a device or pipe, not a regular file"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "có đường dẫn tuyệt đối", "has an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "có đường dẫn trèo ra ngoài thư mục (../)", "has a path climbing out of the folder (../)"
    if info.flag_bits & 0x1:
        return "được mã hoá bằng mật khẩu", "is encrypted with a password"
    return None


def check_zip(path: Path, archive: zipfile.ZipFile, shown: str | None = None) -> None:
    """Check every member of the archive from its central directory, before anything is extracted:
    no links or devices, no absolute or climbing paths, no encrypted members, no two members of one
    name, and bounded size, ratio and member count (zip bombs). Raises ImportFailed."""
    infos = archive.infolist()
    hint_vi, hint_en = ("Chia dữ liệu thành các tệp nhỏ hơn hoặc gửi tệp không nén.",
                        "Split the data into smaller files or send it uncompressed.")
    if len(infos) > ZIP_MAX_MEMBERS:
        raise ImportFailed(path, f"tệp zip có {len(infos)} tệp con (tối đa {ZIP_MAX_MEMBERS})",
                           f"the zip holds {len(infos)} files (at most {ZIP_MAX_MEMBERS})", hint_vi, hint_en)
    bad = [(info.filename, _member_problem(info)) for info in infos]
    bad = [(n, p) for n, p in bad if p]
    if bad:
        listing_vi = "; ".join(f"'{n[:80]}' {p[0]}" for n, p in bad[:LISTED_CELLS])
        listing_en = "; ".join(f"'{n[:80]}' {p[1]}" for n, p in bad[:LISTED_CELLS])
        raise ImportFailed(path, f"tệp zip có tệp con không an toàn, không giải nén tệp nào: {listing_vi}",
                           f"the zip holds unsafe members, none was extracted: {listing_en}",
                           "Nén lại chỉ các tệp dữ liệu thường (không liên kết, không thư mục cha) và gửi lại.",
                           "Zip only the plain data files again (no links, no parent folders) and resend.")
    seen: dict[str, str] = {}
    for info in infos:
        key = info.filename.replace("\\", "/").lower()
        if key in seen and not key.endswith("/"):
            raise ImportFailed(path, f"tệp zip có hai tệp con cùng tên '{info.filename}'",
                               f"the zip holds two members named '{info.filename}'",
                               "Nén lại để mỗi tệp chỉ có một bản.", "Zip it again with one copy of each file.")
        seen[key] = info.filename
    total = 0
    for info in infos:
        total += info.file_size
        if total > ZIP_MAX_TOTAL:
            raise ImportFailed(path, f"dung lượng giải nén vượt quá {_mb(ZIP_MAX_TOTAL)}",
                               f"its uncompressed size exceeds {_mb(ZIP_MAX_TOTAL)}", hint_vi, hint_en)
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ImportFailed(path, f"'{info.filename}' nén với tỉ lệ {ratio}:1 (tối đa {ZIP_MAX_RATIO}:1), "
                               "có thể là tệp zip độc hại (zip bomb)",
                               f"'{info.filename}' is compressed {ratio}:1 (at most {ZIP_MAX_RATIO}:1), "
                               "which looks like a zip bomb", hint_vi, hint_en)


# --- shapefile --------------------------------------------------------------------------------------

@dataclass
class ShapefileParts:
    """The parts of one shapefile as bytes to check: the whole .shx and the first bytes of .shp and
    .dbf (their sizes given separately, so a large file is not read into memory)."""

    name: str
    shp_head: bytes
    shp_size: int
    shx: bytes | None
    dbf_head: bytes | None
    dbf_size: int
    present: set[str] = field(default_factory=set)


_SHAPE_TYPES = {0: "Null", 1: "Point", 3: "PolyLine", 5: "Polygon", 8: "MultiPoint", 11: "PointZ", 13: "PolyLineZ",
                15: "PolygonZ", 18: "MultiPointZ", 21: "PointM", 23: "PolyLineM", 25: "PolygonM", 28: "MultiPointM",
                31: "MultiPatch"}


#: dBASE version bytes written by GIS and office software (dBASE II–V, FoxPro, Visual FoxPro, with or
#: without memo files).
_DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB}


def _main_header(data: bytes) -> tuple[int, int, int] | None:
    """(file code, length in bytes, shape type) of a .shp/.shx header, or None when too short."""
    if len(data) < 100:
        return None
    code, = struct.unpack(">i", data[0:4])
    words, = struct.unpack(">i", data[24:28])
    _version, shape_type = struct.unpack("<ii", data[28:36])
    return code, words * 2, shape_type


def check_shapefile(path: Path, parts: ShapefileParts) -> int:
    """Check that the .shp, .shx and .dbf of one shapefile agree; returns the number of records.

    The .shp and .shx must declare their real lengths, every .shx record must point inside the .shp,
    and the .dbf must hold exactly the records its header announces, one per shape.
    """
    name, stem = parts.name, Path(parts.name).stem
    missing = [ext for ext in (".shx", ".dbf") if ext not in parts.present]
    if missing:
        raise ImportFailed(path, f"Shapefile '{name}' thiếu phần {', '.join(stem + e for e in missing)}",
                           f"the shapefile '{name}' lacks {', '.join(stem + e for e in missing)}",
                           "Một Shapefile cần đủ .shp, .shx và .dbf (nên có .prj, .cpg); gửi tất cả cùng lúc hoặc nén vào một tệp zip.",
                           "A shapefile needs its .shp, .shx and .dbf (and should have .prj and .cpg); send them together or zipped.")
    head = _main_header(parts.shp_head)
    if head is None or head[0] != 9994:
        raise ImportFailed(path, f"'{name}' không phải tệp .shp (phần đầu tệp sai)", f"'{name}' is not a .shp file (bad header)",
                           _RESEND_VI, _RESEND_EN)
    _, declared, shape_type = head
    if shape_type not in _SHAPE_TYPES:
        raise ImportFailed(path, f"'{name}' ghi kiểu hình học {shape_type} không tồn tại", f"'{name}' declares a shape type {shape_type} that does not exist",
                           _RESEND_VI, _RESEND_EN)
    if declared != parts.shp_size:
        cut = declared > parts.shp_size
        vi = (f"'{name}' bị cắt cụt: phần đầu tệp ghi {declared} byte nhưng tệp chỉ có {parts.shp_size} byte" if cut
              else f"'{name}' dài {parts.shp_size} byte, khác với {declared} byte ghi ở phần đầu tệp")
        en = (f"'{name}' is cut short: its header says {declared} bytes but the file has only {parts.shp_size}" if cut
              else f"'{name}' is {parts.shp_size} bytes long, not the {declared} bytes its header says")
        raise ImportFailed(path, vi, en, "Tệp bị hỏng khi sao chép hoặc tải lên; " + _RESEND_VI[0].lower() + _RESEND_VI[1:],
                           "The file was damaged when copied or uploaded; " + _RESEND_EN[0].lower() + _RESEND_EN[1:])
    shx = parts.shx or b""
    shx_head = _main_header(shx)
    shx_name = stem + ".shx"
    if shx_head is None or shx_head[0] != 9994 or shx_head[1] != len(shx) or (len(shx) - 100) % 8:
        raise ImportFailed(path, f"tệp chỉ mục '{shx_name}' hỏng (độ dài không khớp phần đầu tệp)",
                           f"the index '{shx_name}' is damaged (its length does not match its header)", _RESEND_VI, _RESEND_EN)
    count = (len(shx) - 100) // 8
    for i in range(count):
        offset, length = struct.unpack(">ii", shx[100 + 8 * i: 108 + 8 * i])
        if offset < 50 or length < 0 or (offset + 4 + length) * 2 > parts.shp_size:
            raise ImportFailed(path, f"'{shx_name}' trỏ đối tượng số {i + 1} ra ngoài '{name}' (tệp .shp bị cắt hoặc không cùng bộ với .shx)",
                               f"'{shx_name}' points feature {i + 1} outside '{name}' (the .shp is cut short or not from the same set)",
                               _RESEND_VI, _RESEND_EN)
    dbf_name = stem + ".dbf"
    dbf = parts.dbf_head or b""
    if len(dbf) < 32 or dbf[0] not in _DBF_VERSIONS:
        raise ImportFailed(path, f"'{dbf_name}' không phải bảng dBASE (phần đầu tệp sai)", f"'{dbf_name}' is not a dBASE table (bad header)",
                           _RESEND_VI, _RESEND_EN)
    records, = struct.unpack("<I", dbf[4:8])
    header_len, record_len = struct.unpack("<HH", dbf[8:12])
    expected = header_len + records * record_len
    if header_len < 33 or record_len < 1 or parts.dbf_size not in (expected, expected + 1):
        raise ImportFailed(path, f"phần đầu '{dbf_name}' không khớp với tệp: ghi {records} bản ghi × {record_len} byte "
                                 f"+ {header_len} byte đầu = {expected} byte, nhưng tệp có {parts.dbf_size} byte",
                           f"the header of '{dbf_name}' does not match the file: it claims {records} records × {record_len} bytes "
                           f"+ a {header_len}-byte header = {expected} bytes, but the file has {parts.dbf_size}",
                           _RESEND_VI, _RESEND_EN)
    if records != count:
        raise ImportFailed(path, f"'{dbf_name}' có {records} bản ghi nhưng '{name}' có {count} đối tượng: hai tệp không cùng bộ",
                           f"'{dbf_name}' holds {records} records but '{name}' holds {count} shapes: they are not from the same set",
                           "Gửi lại đủ .shp, .shx, .dbf xuất cùng một lần.", "Send the .shp, .shx and .dbf of one export together.")
    return count


def shapefile_parts_from_folder(shp: Path) -> ShapefileParts:
    present = {ext for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg") if _sibling(shp, ext) is not None}

    def head(ext, n):
        p = _sibling(shp, ext)
        if p is None:
            return None, 0
        with p.open("rb") as f:
            return f.read(n), p.stat().st_size
    shp_head, shp_size = head(".shp", 100)
    dbf_head, dbf_size = head(".dbf", 32)
    shx_path = _sibling(shp, ".shx")
    return ShapefileParts(shp.name, shp_head or b"", shp_size, shx_path.read_bytes() if shx_path else None,
                          dbf_head, dbf_size, present)


def _sibling(shp: Path, ext: str) -> Path | None:
    """The part of a shapefile with extension ``ext``, in either case (QGIS writes .shp, CAD .SHP)."""
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.is_file():
            return candidate
    return None


def shapefile_parts_from_zip(archive: zipfile.ZipFile, shp: str, lower: dict[str, str]) -> ShapefileParts:
    stem = shp[:-4].lower()
    present = {ext for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg") if stem + ext in lower}

    def head(ext, n):
        member = lower.get(stem + ext)
        if member is None:
            return None, 0
        with archive.open(member) as f:
            return f.read(n), archive.getinfo(member).file_size
    shp_head, shp_size = head(".shp", 100)
    dbf_head, dbf_size = head(".dbf", 32)
    shx_member = lower.get(stem + ".shx")
    shx = None
    if shx_member is not None:
        with archive.open(shx_member) as f:
            shx = f.read(ZIP_MAX_TOTAL)
    return ShapefileParts(PurePosixPath(shp).name, shp_head or b"", shp_size, shx, dbf_head, dbf_size, present)


# --- GeoPackage ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GpkgLayer:
    name: str
    geometry_type: str


def check_geopackage(path: Path) -> list[GpkgLayer]:
    """Check a GeoPackage read-only (SQLite header, ``PRAGMA integrity_check``, ``gpkg_contents``) and
    list its feature layers with their geometry type. Raises ImportFailed."""
    with path.open("rb") as f:
        magic = f.read(16)
    if magic != b"SQLite format 3\x00":
        raise ImportFailed(path, "đây không phải GeoPackage (không phải cơ sở dữ liệu SQLite)",
                           "this is not a GeoPackage (not an SQLite database)", _RESEND_VI, _RESEND_EN)
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise ImportFailed(path, f"không mở được GeoPackage (SQLite: {exc})", f"cannot open the GeoPackage (SQLite: {exc})",
                           _RESEND_VI, _RESEND_EN) from None
    try:
        try:
            problems = [r[0] for r in con.execute("PRAGMA integrity_check(20)").fetchall()]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            detail = "; ".join(problems[:3])[:200]
            raise ImportFailed(path, f"GeoPackage bị hỏng (SQLite integrity_check: {detail})",
                               f"the GeoPackage is damaged (SQLite integrity_check: {detail})",
                               "Tệp bị hỏng khi sao chép; " + _RESEND_VI[0].lower() + _RESEND_VI[1:],
                               "The file was damaged when copied; " + _RESEND_EN[0].lower() + _RESEND_EN[1:])
        try:
            rows = con.execute(
                "SELECT c.table_name, COALESCE(g.geometry_type_name, '?') FROM gpkg_contents c "
                "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
                "WHERE c.data_type = 'features' ORDER BY c.table_name").fetchall()
        except sqlite3.DatabaseError:
            raise ImportFailed(path, "tệp là cơ sở dữ liệu SQLite nhưng không phải GeoPackage (không có bảng gpkg_contents)",
                               "the file is an SQLite database but not a GeoPackage (no gpkg_contents table)",
                               _RESEND_VI, _RESEND_EN) from None
    finally:
        con.close()
    if not rows:
        raise ImportFailed(path, "GeoPackage không có lớp đối tượng (feature layer) nào",
                           "the GeoPackage holds no feature layer",
                           "Lưu lớp ranh giới vào GeoPackage (QGIS: Xuất → Lưu đối tượng thành…) rồi gửi lại.",
                           "Save the boundary layer into the GeoPackage (QGIS: Export → Save Features As…) and send it again.")
    return [GpkgLayer(str(n), str(t).upper()) for n, t in rows]


# --- XML (KML, GPX) -------------------------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, vi: str, en: str):
        self.vi, self.en = vi, en
        super().__init__(en)


def check_xml(path: Path, data: bytes, fmt: str, shown: str | None = None) -> None:
    """Parse KML/GPX bytes with expat, hardened: a document type declaration (and so any entity, the
    way to both "billion laughs" and reading local files) is refused, external references are never
    fetched, and nesting deeper than ``XML_MAX_DEPTH`` is refused. Also refuses KML NetworkLinks,
    which make a reader fetch other documents. Raises ImportFailed."""
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = [0]

    def doctype(*_args):
        raise _Refused("có khai báo DOCTYPE/thực thể (entity) — không được phép vì có thể đọc tệp khác hoặc làm treo máy",
                          "it has a DOCTYPE/entity declaration — refused, as it can read other files or exhaust the server")

    def external(*_args):
        raise _Refused("tham chiếu tới thực thể bên ngoài", "it refers to an external entity")

    def start(name, _attrs):
        depth[0] += 1
        if depth[0] > XML_MAX_DEPTH:
            raise _Refused(f"lồng nhau quá {XML_MAX_DEPTH} cấp", f"it nests more than {XML_MAX_DEPTH} levels deep")
        if fmt.startswith("KML") and name.rsplit(":", 1)[-1] == "NetworkLink":
            raise _Refused("có NetworkLink (liên kết tới tài liệu khác trên mạng)",
                              "it holds a NetworkLink (a link to another document on the network)")

    def end(_name):
        depth[0] -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.UnparsedEntityDeclHandler = doctype
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    hint_vi = f"Mở tệp bằng Google Earth hoặc QGIS rồi lưu lại thành {fmt}."
    hint_en = f"Open it in Google Earth or QGIS and save it again as {fmt}."
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ImportFailed(shown or path, f"tệp {fmt} bị từ chối: {exc.vi}", f"the {fmt} file is refused: {exc.en}",
                           hint_vi, hint_en) from None
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        raise ImportFailed(shown or path, f"tệp {fmt} không phải XML hợp lệ (dòng {exc.lineno}, cột {exc.offset + 1}: {reason}) — "
                                          "có thể bị cắt cụt hoặc sửa tay sai",
                           f"the {fmt} file is not well-formed XML (line {exc.lineno}, column {exc.offset + 1}: {reason}) — "
                           "it may be cut short or hand-edited wrongly", hint_vi, hint_en) from None


def check_office_xml(path: Path, archive: zipfile.ZipFile) -> None:
    """An XLSX is a zip of XML parts; none may declare a document type (entities), which the
    spreadsheet reader would otherwise have to be trusted to ignore."""
    for info in archive.infolist():
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(info) as src:
            head = src.read(ZIP_MAX_TOTAL)
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise ImportFailed(path, f"bảng tính bị từ chối: phần '{info.filename}' có khai báo DOCTYPE/thực thể (entity), "
                                     "không có trong tệp Excel thật",
                               f"the spreadsheet is refused: its part '{info.filename}' has a DOCTYPE/entity declaration, "
                               "which no real Excel file has",
                               "Mở bằng Excel hoặc LibreOffice, lưu lại thành .xlsx rồi gửi lại.",
                               "Open it in Excel or LibreOffice, save it again as .xlsx and resend.")


# --- GeoJSON ------------------------------------------------------------------------------------------

@dataclass
class JsonRepair:
    feature: int
    rings_closed: int


def _refuse_constant(token: str):
    raise _Refused(f"có giá trị '{token}' (không phải số hữu hạn)", f"it holds the value '{token}' (not a finite number)")


def _depth_ok(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, d = stack.pop()
        if d > limit:
            return False
        if isinstance(item, dict):
            stack += [(v, d + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, d + 1) for v in item]
    return True


def check_geojson(path: Path, data: bytes) -> tuple[dict | None, list[JsonRepair]]:
    """Parse GeoJSON strictly: NaN/Infinity refused, nesting bounded, every coordinate a finite
    number. Rings written without their closing vertex are closed (certain: a ring ends where it
    starts); returns the repaired document (or None when nothing changed) and what was closed."""
    hint_vi, hint_en = "Xuất lại tệp GeoJSON từ QGIS.", "Export the GeoJSON again from QGIS."
    try:
        doc = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except _Refused as exc:
        raise ImportFailed(path, f"tọa độ không hợp lệ: {exc.vi}", f"invalid coordinates: {exc.en}", hint_vi, hint_en) from None
    except UnicodeDecodeError:
        raise ImportFailed(path, "GeoJSON phải ở bảng mã UTF-8", "GeoJSON must be UTF-8 text", hint_vi, hint_en) from None
    except RecursionError:
        raise ImportFailed(path, f"GeoJSON lồng nhau quá {JSON_MAX_DEPTH} cấp", f"the GeoJSON nests more than {JSON_MAX_DEPTH} levels",
                           hint_vi, hint_en) from None
    except json.JSONDecodeError as exc:
        raise ImportFailed(path, f"không phải JSON hợp lệ (dòng {exc.lineno}, cột {exc.colno}: {exc.msg}) — có thể bị cắt cụt",
                           f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}) — it may be cut short",
                           hint_vi, hint_en) from None
    if not _depth_ok(doc, JSON_MAX_DEPTH):
        raise ImportFailed(path, f"GeoJSON lồng nhau quá {JSON_MAX_DEPTH} cấp", f"the GeoJSON nests more than {JSON_MAX_DEPTH} levels",
                           hint_vi, hint_en)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature", "Polygon", "MultiPolygon", "Point",
                                                             "MultiPoint", "LineString", "MultiLineString", "GeometryCollection"):
        raise ImportFailed(path, "không phải GeoJSON (thiếu \"type\": \"FeatureCollection\")",
                           "not GeoJSON (no \"type\": \"FeatureCollection\")", hint_vi, hint_en)
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise ImportFailed(path, "\"features\" không phải danh sách", "\"features\" is not a list", hint_vi, hint_en)
    repairs: list[JsonRepair] = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) and feature.get("type") == "Feature" else feature
        closed = _check_geometry(path, geometry, number)
        if closed:
            repairs.append(JsonRepair(number, closed))
    return (doc if repairs else None), repairs


def _bad_coordinates(path, number, detail_vi, detail_en):
    return ImportFailed(path, f"đối tượng số {number}: {detail_vi}", f"feature {number}: {detail_en}",
                        "Sửa tọa độ của đối tượng đó trong phần mềm gốc rồi xuất lại.",
                        "Correct that feature's coordinates in the original software and export again.")


def _position_ok(pos) -> bool:
    return (isinstance(pos, list) and 2 <= len(pos) <= 4
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in pos))


def _check_geometry(path, geometry, number) -> int:
    """Check one GeoJSON geometry's coordinates; close unclosed rings in place. Returns rings closed."""
    if geometry is None:
        return 0
    if not isinstance(geometry, dict):
        raise _bad_coordinates(path, number, "hình học không phải đối tượng JSON", "the geometry is not a JSON object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        return sum(_check_geometry(path, g, number) for g in geometry.get("geometries") or [])
    coords = geometry.get("coordinates")
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}.get(kind)
    if depth is None:
        raise _bad_coordinates(path, number, f"kiểu hình học '{kind}' không có trong GeoJSON", f"geometry type '{kind}' is not GeoJSON")

    def positions(value, d):
        if d == 0:
            if not _position_ok(value):
                raise _bad_coordinates(path, number, f"tọa độ {json.dumps(value)[:60]} không phải cặp số hữu hạn",
                                       f"the position {json.dumps(value)[:60]} is not a pair of finite numbers")
            return
        if not isinstance(value, list):
            raise _bad_coordinates(path, number, "mảng tọa độ sai cấu trúc", "the coordinate arrays are malformed")
        for v in value:
            positions(v, d - 1)

    positions(coords, depth)
    closed = 0
    if kind in ("Polygon", "MultiPolygon"):
        polygons = [coords] if kind == "Polygon" else coords
        for rings in polygons:
            for ring in rings:
                if len(ring) >= 3 and ring[0][:2] != ring[-1][:2]:
                    ring.append(list(ring[0]))
                    closed += 1
    return closed


# --- spreadsheets and CSV -----------------------------------------------------------------------------

def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (spreadsheet column names)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_SIGNED_EXPRESSION = re.compile(r"^[+-][\d.,\s]+[-+*/^&]")


def _is_number(text: str) -> bool:
    try:
        return parse_number(text) is not None
    except ValueError:
        return False


def csv_formula_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet program would run as a formula when the CSV is opened: "=…" and "@…",
    and "+…"/"-…" that are not numbers but look like an expression (a call, a sheet reference, an
    operator after a number), also after a leading tab or carriage return. "- ghi chú" stays text."""
    found = []
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(row):
            text = (cell or "").lstrip("\t\r ")
            if not text:
                continue
            signed = text[0] in "+-" and len(text) > 1 and not _is_number(text)
            if text[0] in "=@" or (signed and (any(ch in text for ch in "()!=") or _SIGNED_EXPRESSION.match(text))):
                found.append(f"{column_letter(c)}{r}")
    return found


def refuse_formulas(path: Path, cells: list[str], sheet: str | None = None) -> None:
    if not cells:
        return
    where = f"trang '{sheet}' " if sheet else ""
    where_en = f"sheet '{sheet}' " if sheet else ""
    listed = ", ".join(cells[:LISTED_CELLS]) + (f" (+{len(cells) - LISTED_CELLS})" if len(cells) > LISTED_CELLS else "")
    raise ImportFailed(path, f"{where}có {len(cells)} ô chứa công thức, không được tính hay đọc: {listed}",
                       f"{where_en}has {len(cells)} cells holding formulas, which are never evaluated or read: {listed}",
                       "Trong Excel/LibreOffice: chọn các ô → Sao chép → Dán đặc biệt → Chỉ giá trị, lưu lại rồi gửi lại.",
                       "In Excel/LibreOffice: select the cells → Copy → Paste Special → Values only, save and send again.")
