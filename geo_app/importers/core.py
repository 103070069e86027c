"""``read_features``: one entry point for the user's own files, whatever the format.

Reads only: it never writes to the layer store, so a file that fails leaves everything as it was.
Everything it assumed (CRS, axis order, text encoding, dropped rows) goes into ``messages``.
"""
from __future__ import annotations

import logging
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
from geo_app.importers import encodings as enc
from geo_app.importers import tables as tb
from geo_app.importers.crs import ACCEPTED_CRS_EN, ACCEPTED_CRS_VI, CrsInvalid, CrsUndetermined, decide_crs, parse_crs
from geo_app.importers.errors import ImportFailed
from geo_app.importers.text import count_en, msg, num_en, num_vi

log = logging.getLogger(__name__)

POLYGON, POINT = "polygon", "point"
FORMATS = {
    ".gpkg": "GeoPackage", ".zip": "Shapefile (zip)", ".shp": "Shapefile", ".kml": "KML", ".kmz": "KMZ",
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpx": "GPX", ".csv": "CSV", ".txt": "CSV", ".xlsx": "XLSX",
}
_SUPPORTED = "GeoPackage (.gpkg), Shapefile (.zip/.shp), KML/KMZ, GeoJSON, GPX, CSV, XLSX"
#: Zip archives (.zip, .kmz, .xlsx) are checked against their central directory before anything is
#: extracted (zip bombs): at most this many bytes uncompressed in all...
ZIP_MAX_TOTAL = 200 * 1024 * 1024
#: ...no member expanding more than this many times its compressed size (members under
#: ``ZIP_RATIO_FLOOR`` bytes are exempt: tiny files compress unpredictably)...
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR = 1024 * 1024
#: ...and at most this many members.
ZIP_MAX_MEMBERS = 10_000
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
    #: invalid polygons found in the file and repaired with make_valid (each also in ``messages``);
    #: validation reports them so the officer corrects the source file
    repairs: list[GeometryRepair] = field(default_factory=list)


_msg = msg


def _project(path: Path, coords, frame, built_points, **decide_args):
    """Decide the CRS from the coordinates (and what the file declares), then project the features
    and any boundary points to EPSG:9208."""
    try:
        decision = decide_crs(coords[:, 0], coords[:, 1], **decide_args)
    except CrsUndetermined as exc:
        raise _crs_failure(path, exc) from None
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

    Raises :class:`ImportFailed` (one message naming the file, the problem and what to do).
    """
    path = Path(path)
    if kind not in (None, POLYGON, POINT):
        raise ValueError(f"kind must be 'polygon', 'point' or None, not {kind!r}")
    if encoding is not None and encoding not in enc.DECODERS:
        raise ValueError(f"encoding must be one of {', '.join(enc.DECODERS)}, not {encoding!r}")
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
        except zipfile.BadZipFile:
            pass  # the reader says what is wrong with the file
    options = dict(kind=kind, crs=crs, encoding=encoding, layer=layer)
    if suffix in (".csv", ".txt", ".xlsx"):
        overrides = {role: name for role, name in ((tb.X, x_col), (tb.Y, y_col), (tb.LON, lon_col), (tb.LAT, lat_col),
                                                     (tb.ORDER, order_col), (tb.GROUP, group_col)) if name}
        return _read_table(path, sheet=sheet, overrides=overrides, **options)
    if suffix == ".zip":
        return _read_zip(path, order_col=order_col, group_col=group_col, **options)
    return _read_vector(path, FORMATS[suffix], str(path), order_col=order_col, group_col=group_col, **options)


# --- vector formats ----------------------------------------------------------------------------------

def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_zip(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb from the archive's directory, before anything is decompressed: too many
    members, more than ``ZIP_MAX_TOTAL`` bytes uncompressed, or a member expanding more than
    ``ZIP_MAX_RATIO`` times. Raises ImportFailed."""
    infos = archive.infolist()
    hint_vi, hint_en = ("Chia dữ liệu thành các tệp nhỏ hơn hoặc gửi tệp không nén.",
                        "Split the data into smaller files or send it uncompressed.")
    if len(infos) > ZIP_MAX_MEMBERS:
        raise ImportFailed(path, f"tệp zip có {len(infos)} tệp con (tối đa {ZIP_MAX_MEMBERS})",
                           f"the zip holds {len(infos)} files (at most {ZIP_MAX_MEMBERS})", hint_vi, hint_en)
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
                        try:
                            result = read_features(inner, **{k: v for k, v in options.items() if v is not None})
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
            declared_by=None, order_col=None, group_col=None):
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
    frame["geometry"] = shapely.force_2d(frame.geometry.values)
    dropped = sum(len(f) for f in frames) - len(frame)
    if dropped:
        messages.append(_msg(f"bỏ qua {dropped} đối tượng không có hình học",
                             f"skipped {count_en(dropped, 'feature')} without geometry"))

    frame, built_points = _apply_kind(path, frame, kind, messages, order_col, group_col)
    built = built_points is not None or bool(frame.attrs.get("closed_lines"))

    coords = shapely.get_coordinates(frame.geometry.values)
    decision, frame, built_points = _project(path, coords, frame, built_points, declared=declared, explicit=crs,
                                             declared_by=declared_by or (f"tệp {fmt}", f"{fmt} file"))
    frame["source_file"] = path.name
    messages.append(_msg(f"Hệ tọa độ: {decision.reason_vi}", f"CRS: {decision.reason_en}"))
    vi_note, en_note = guess.note()
    messages.append(_msg(vi_note, en_note))
    messages += notes
    frame, repairs = _repair_invalid(path, frame, messages, built=built, table=False)
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


def _apply_kind(path, frame, kind, messages, order_col, group_col):
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
    found = ", ".join(sorted(set(types))) or "—"
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


# --- tables ------------------------------------------------------------------------------------------

def _read_table(path: Path, *, sheet, overrides, kind, crs, encoding, layer) -> ImportResult:
    notes = []
    if path.suffix.lower() == ".xlsx":
        sheets = _xlsx_sheets(path, sheet)
        guess = enc.EncodingGuess(encoding or enc.UTF8, {})
        table = None
        for name, rows in sheets:
            table = tb.make_table(rows, overrides, sheet=name)
            if table is not None:
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
        table = tb.make_table(tb.rows_from_csv(unicodedata.normalize("NFC", text)), overrides)
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

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFailed(path, f"không mở được bảng tính ({_short(exc)})", f"cannot open the spreadsheet ({_short(exc)})",
                           "Lưu lại thành .xlsx bằng Excel hoặc LibreOffice.", "Save it again as .xlsx from Excel or LibreOffice.") from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise ImportFailed(path, f"không có trang tính '{sheet}' (có: {', '.join(names)})", f"no sheet '{sheet}' (sheets: {', '.join(names)})")
        return [(n, [list(r) for r in book[n].iter_rows(values_only=True)]) for n in ([sheet] if sheet else names)]
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
    decision, frame, built_points = _project(path, coords, frame, built_points, explicit=crs)
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
