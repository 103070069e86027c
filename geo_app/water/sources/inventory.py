"""The water-source inventory (what a spring/source survey records): schema, import, and the QA report.

Import goes through ``geo_app.importers.read_features`` (same CRS and text-encoding detection as the
production-area import); columns are matched to the schema by their Vietnamese or English names.
Each record keeps ``source_file`` and ``source_row`` so every QA finding points at a row the user
can open.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app import STORE_CRS
from geo_app.importers import ImportResult, read_features
from geo_app.importers.crs import EDGE_TOLERANCE_M, province_region
from geo_app.importers.tables import normalise_header, parse_number
from geo_app.importers.text import num_en, num_vi

KINDS = {
    "spring": ("mó / mạch lộ", "spring"),
    "cave_stream": ("suối hang / sông ngầm", "cave stream"),
    "well": ("giếng đào", "dug well"),
    "borehole": ("giếng khoan", "borehole"),
    "intake": ("công trình thu nước", "intake"),
}
_KIND_WORDS = {
    "spring": {"spring", "mo", "mo nuoc", "mach lo", "mach nuoc", "nguon lo", "khe"},
    "cave_stream": {"cave stream", "cave_stream", "suoi hang", "song ngam", "suoi ngam", "hang", "cave"},
    "well": {"well", "gieng", "gieng dao", "dug well"},
    "borehole": {"borehole", "gieng khoan", "lo khoan", "khoan", "bore", "tube well"},
    "intake": {"intake", "cong trinh thu", "cong trinh thu nuoc", "dap dang", "diem lay nuoc", "thu nuoc", "dap"},
}
SEASONS = {"dry": {"dry", "mua kho", "kho"}, "wet": {"wet", "mua mua", "mua", "rainy"}}
PERMANENCE = {
    "permanent": {"permanent", "perennial", "thuong xuyen", "quanh nam", "lien tuc"},
    "seasonal": {"seasonal", "theo mua", "mua", "tam thoi"},
    "intermittent": {"intermittent", "gian doan", "khong thuong xuyen", "can", "dried", "dry"},
}

#: schema field → (type, accepted column names, normalised with tables.normalise_header)
SCHEMA: dict[str, tuple[str, set[str]]] = {
    "id": ("str", {"id", "ma", "ma nguon", "ky hieu", "so hieu", "code", "source id"}),
    "name": ("str", {"name", "ten", "ten nguon", "ten nguon nuoc"}),
    "kind": ("str", {"kind", "loai", "loai nguon", "type", "kieu"}),
    "elevation_m": ("float", {"elevation", "elevation m", "elev", "ele", "cao do", "do cao", "z", "h"}),
    "aquifer": ("str", {"aquifer", "tang chua nuoc", "lithology", "thach hoc", "formation", "nham thach"}),
    "discharge_ls": ("float", {"discharge", "discharge ls", "q", "q l s", "luu luong", "flow", "flow ls"}),
    "discharge_date": ("date", {"date", "discharge date", "ngay do", "ngay", "thoi gian do", "time", "measured"}),
    "season": ("str", {"season", "mua", "mua do"}),
    "permanence": ("str", {"permanence", "tinh chat", "che do", "che do dong chay", "regime"}),
    "ec_us_cm": ("float", {"ec", "ec us cm", "do dan dien", "dan dien"}),
    "ph": ("float", {"ph", "do ph"}),
    "temperature_c": ("float", {"temperature", "temperature c", "nhiet do", "t", "temp", "nhiet do nuoc"}),
    "use": ("str", {"use", "muc dich", "muc dich su dung", "su dung"}),
    "population_served": ("float", {"population served", "so dan", "so dan huong loi", "dan so huong loi", "so nguoi"}),
    "protection": ("str", {"protection", "bao ve", "tinh trang bao ve", "vung bao ho", "protection status"}),
}
REQUIRED = ("id", "name", "kind")
#: schema field → (Vietnamese label, English label, unit) for messages: "lưu lượng (discharge_ls) = −3 L/s"
FIELD_LABELS: dict[str, tuple[str, str, str]] = {
    "id": ("mã nguồn", "source id", ""),
    "name": ("tên nguồn", "source name", ""),
    "kind": ("loại nguồn", "kind of source", ""),
    "elevation_m": ("cao độ", "elevation", "m"),
    "aquifer": ("tầng chứa nước", "aquifer", ""),
    "discharge_ls": ("lưu lượng", "discharge", "L/s"),
    "discharge_date": ("ngày đo", "measurement date", ""),
    "season": ("mùa đo", "season", ""),
    "permanence": ("chế độ dòng chảy", "permanence", ""),
    "ec_us_cm": ("độ dẫn điện", "electrical conductivity", "µS/cm"),
    "ph": ("độ pH", "pH", ""),
    "temperature_c": ("nhiệt độ nước", "water temperature", "°C"),
    "use": ("mục đích sử dụng", "use", ""),
    "population_served": ("số dân hưởng lợi", "population served", "người / people"),
    "protection": ("tình trạng bảo vệ", "protection status", ""),
}
#: Physically impossible (error) or implausible here (warning) values: (field, low, high, severity).
#: Elevation: the province runs from ~70 m on the Red River to 3,143 m on Fansipan.
RANGES = [
    ("discharge_ls", 0, None, "error"),
    ("discharge_ls", None, 5000, "warning"),
    ("ph", 0, 14, "error"),
    ("ec_us_cm", 0, None, "error"),
    ("ec_us_cm", None, 5000, "warning"),
    ("temperature_c", -5, 100, "error"),
    ("elevation_m", 0, 3200, "warning"),
    ("population_served", 0, None, "error"),
]
DUPLICATE_DISTANCE_M = 10.0
#: dry season months in Lào Cai [open]; the water-balance config can override them
DRY_MONTHS = (11, 12, 1, 2, 3, 4)


def field_label(name: str) -> tuple[str, str]:
    """("lưu lượng (discharge_ls)", "discharge (discharge_ls)") for a schema field."""
    vi, en, _ = FIELD_LABELS.get(name, (name, name, ""))
    return f"{vi} ({name})", f"{en} ({name})"


def _value_text(name: str, value: float) -> tuple[str, str]:
    unit = FIELD_LABELS.get(name, ("", "", ""))[2]
    unit_vi, unit_en = (unit.split(" / ") + [unit])[:2] if " / " in unit else (unit, unit)
    return (f"{num_vi(value)} {unit_vi}".rstrip(), f"{num_en(value)} {unit_en}".rstrip())


def _bound_text(low, high, value) -> tuple[str, str]:
    if low is not None and value < low:
        return f"< {num_vi(low)}", f"< {num_en(low)}"
    return f"> {num_vi(high)}", f"> {num_en(high)}"


def impossible(frame: pd.DataFrame, name: str) -> np.ndarray:
    """True where ``frame[name]`` holds a value the QA marks impossible (an error in RANGES)."""
    if name not in frame:
        return np.zeros(len(frame), bool)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = np.zeros(len(frame), bool)
    for field_name, low, high, severity in RANGES:
        if field_name != name or severity != "error":
            continue
        with np.errstate(invalid="ignore"):
            if low is not None:
                bad |= values < low
            if high is not None:
                bad |= values > high
    return bad


def _has_id(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value).strip() != ""


def source_keys(frame: pd.DataFrame) -> tuple[list[str], list[bool]]:
    """A stable key per record: its ``id``, or for a record without one a key generated from its source
    file and row ("nguon_nuoc.csv#12"), so it is neither dropped nor merged with other id-less records.

    Returns the keys and, per record, whether the key was generated.
    """
    ids = frame["id"].tolist() if "id" in frame else [None] * len(frame)
    files = frame["source_file"].tolist() if "source_file" in frame else [None] * len(frame)
    rows = frame["source_row"].tolist() if "source_row" in frame else [None] * len(frame)
    keys, generated = [], []
    for n, (ident, file, row) in enumerate(zip(ids, files, rows)):
        if _has_id(ident):
            keys.append(str(ident).strip())
            generated.append(False)
        elif _has_id(file) and _has_id(row):
            keys.append(f"{file}#{int(row) if isinstance(row, float) and row.is_integer() else row}")
            generated.append(True)
        else:
            keys.append(f"#{n + 1}")
            generated.append(True)
    return keys, generated


@dataclass
class Inventory:
    """An imported inventory: records in the schema (EPSG:9208) and what the import said."""

    frame: gpd.GeoDataFrame
    messages: list[str]
    skipped_rows: list[tuple[str, int, str]] = field(default_factory=list)  # (file, row, message)
    imports: list[ImportResult] = field(default_factory=list)


def _lookup(value, table: dict[str, set[str]]) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    key = normalise_header(value)
    for code, words in table.items():
        if key == code or key in words:
            return code
    return None


def _parse_date(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Timestamp(value).date()
    text = str(value).strip()
    for dayfirst in (True,):
        try:
            # Vietnamese dates are day-first (15/03/2024); ISO dates parse either way
            return pd.to_datetime(text, dayfirst=dayfirst, format="mixed").date()
        except (ValueError, TypeError):
            return "invalid:" + text
    return None


def to_schema(result: ImportResult, dry_months=DRY_MONTHS) -> gpd.GeoDataFrame:
    """Map an import's columns onto the schema; unknown columns are kept as they are."""
    frame = result.frame
    rename, used = {}, set()
    for col in frame.columns:
        if col in ("geometry", "source_file", "source_row"):
            continue
        key = normalise_header(col)
        for name, (_, aliases) in SCHEMA.items():
            if name not in used and (key == name.replace("_", " ") or key == name or key in aliases):
                rename[col] = name
                used.add(name)
                break
    out = frame.rename(columns=rename)
    for name, (kind, _) in SCHEMA.items():
        if name not in out:
            out[name] = None
        if kind == "float":
            out[name] = [_num(v) for v in out[name]]
        elif kind == "str":
            out[name] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() or None
                         for v in out[name]]
    out["id"] = [_id_text(v) for v in out["id"]]
    out["kind_raw"] = out["kind"]
    out["kind"] = [_lookup(v, _KIND_WORDS) for v in out["kind"]]
    out["season"] = [_lookup(v, SEASONS) for v in out["season"]]
    out["permanence"] = [_lookup(v, PERMANENCE) or v for v in out["permanence"]]
    dates = [_parse_date(v) for v in out["discharge_date"]]
    out["date_problem"] = [d[8:] if isinstance(d, str) else None for d in dates]
    out["discharge_date"] = [None if isinstance(d, str) or d is None else d.isoformat() for d in dates]
    out["season"] = [
        s if s else ("dry" if d and int(d[5:7]) in dry_months else "wet") if d else None
        for s, d in zip(out["season"], out["discharge_date"])
    ]
    out["elevation_m"] = [e if e is not None and not np.isnan(e) else _z(g) for e, g in zip(out["elevation_m"], out.geometry)]
    out["geometry"] = shapely.force_2d(out.geometry.values)
    ordered = list(SCHEMA) + ["kind_raw", "date_problem", "source_file", "source_row"]
    extra = [c for c in out.columns if c not in ordered and c != "geometry"]
    return gpd.GeoDataFrame(out[ordered + extra + ["geometry"]], geometry="geometry", crs=STORE_CRS)


def _num(value):
    try:
        parsed = parse_number(value)
    except (ValueError, TypeError):
        return np.nan
    return np.nan if parsed is None else parsed


def _id_text(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _z(geom):
    return float(geom.z) if geom is not None and geom.has_z else np.nan


def import_inventory(paths, **options) -> Inventory:
    """Read one or more inventory files (any format ``read_features`` takes) into the schema.

    ``options`` go to ``read_features`` (``crs=``, ``encoding=``, ``lon_col=``...). An unreadable
    file raises ``ImportFailed``; rows without coordinates are kept in ``skipped_rows`` for the QA.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames, messages, skipped, imports = [], [], [], []
    for path in paths:
        result = read_features(path, kind="point", **options)
        imports.append(result)
        messages += [f"[{Path(path).name}] {m}" for m in result.messages]
        skipped += [(Path(path).name, row, msg) for row, msg in result.skipped_rows]
        frames.append(to_schema(result))
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORE_CRS)
    return Inventory(frame, messages, skipped, imports)


# --- QA ----------------------------------------------------------------------------------------------

@dataclass
class QAReport:
    issues: pd.DataFrame  # source_file, source_row, id, check, severity, message

    @property
    def errors(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "error"]

    @property
    def ok(self) -> bool:
        return self.errors.empty

    def summary(self) -> str:
        if self.issues.empty:
            return "Không có lỗi / no issues"
        counts = self.issues.groupby(["severity", "check"]).size()
        lines = [f"{sev:<8} {check:<22} {n}" for (sev, check), n in counts.items()]
        return "\n".join(lines)

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.issues.to_csv(path, index=False, encoding="utf-8")
        return path


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and value != ""


def _where(rec) -> tuple[str, str]:
    return (f"tệp '{rec['source_file']}', dòng {rec['source_row']}", f"file '{rec['source_file']}', row {rec['source_row']}")


def qa(inventory: Inventory | gpd.GeoDataFrame, *, required=REQUIRED) -> QAReport:
    """Check an inventory: outside the province, duplicates within 10 m, impossible values, missing
    required fields, unknown kinds, bad dates, rows without coordinates. Each finding names the file
    and row."""
    frame = inventory.frame if isinstance(inventory, Inventory) else inventory
    skipped = inventory.skipped_rows if isinstance(inventory, Inventory) else []
    issues = []

    def add(rec, check, severity, vi, en):
        where_vi, where_en = _where(rec)
        issues.append({"source_file": rec["source_file"], "source_row": rec["source_row"], "id": rec.get("id"),
                       "check": check, "severity": severity, "message": f"{where_vi}: {vi} / {where_en}: {en}"})

    for file, row, msg in skipped:
        issues.append({"source_file": file, "source_row": row, "id": None, "check": "no_coordinates",
                       "severity": "error", "message": msg})

    region, region_source = province_region()
    records = frame.to_dict("records")
    for rec in records:
        for name in required:
            value = rec.get(name)
            if not _present(value):
                if name == "kind" and _present(rec.get("kind_raw")):
                    continue
                label_vi, label_en = field_label(name)
                if name == "id":
                    key = f"{rec['source_file']}#{rec['source_row']}"
                    add(rec, "missing_field", "error",
                        f"thiếu trường bắt buộc {label_vi}; dùng mã tạm '{key}' (theo tệp và dòng) để không bỏ sót nguồn",
                        f"required field {label_en} is missing; the temporary id '{key}' (from file and row) is used "
                        f"so the source is not left out")
                else:
                    add(rec, "missing_field", "error", f"thiếu trường bắt buộc {label_vi}",
                        f"required field {label_en} is missing")
        if not _present(rec.get("kind")) and _present(rec.get("kind_raw")):
            known = ", ".join(f"{k} ({v[0]})" for k, v in KINDS.items())
            known_en = ", ".join(f"{k} ({v[1]})" for k, v in KINDS.items())
            add(rec, "unknown_kind", "error", f"loại nguồn (kind) '{rec['kind_raw']}' không rõ (dùng: {known})",
                f"unknown kind of source '{rec['kind_raw']}' (use: {known_en})")
        for name, low, high, severity in RANGES:
            value = rec.get(name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if (low is not None and value < low) or (high is not None and value > high):
                bound_vi, bound_en = _bound_text(low, high, value)
                label_vi, label_en = field_label(name)
                value_vi, value_en = _value_text(name, value)
                word_vi = "không thể có" if severity == "error" else "khó tin"
                word_en = "impossible" if severity == "error" else "implausible"
                tail_vi = "; giá trị này không được tính vào cân bằng nước" if severity == "error" else ""
                tail_en = "; it is left out of the water balance" if severity == "error" else ""
                add(rec, f"value_{name}", severity, f"{label_vi} = {value_vi} {word_vi} ({bound_vi}){tail_vi}",
                    f"{label_en} = {value_en} is {word_en} ({bound_en}){tail_en}")
        if _present(rec.get("date_problem")):
            add(rec, "bad_date", "warning", f"ngày đo (discharge_date) '{rec['date_problem']}' không đọc được",
                f"measurement date (discharge_date) '{rec['date_problem']}' cannot be read")
        elif _present(rec.get("discharge_date")) and str(rec["discharge_date"]) > dt.date.today().isoformat():
            add(rec, "future_date", "error", f"ngày đo (discharge_date) {rec['discharge_date']} ở tương lai",
                f"measurement date (discharge_date) {rec['discharge_date']} is in the future")
        if not np.isnan(_num(rec.get("discharge_ls"))) and not _present(rec.get("discharge_date")) and not _present(rec.get("season")):
            add(rec, "discharge_undated", "warning", "lưu lượng (discharge_ls) không có ngày đo hay mùa đo",
                "discharge (discharge_ls) has neither a measurement date nor a season")

    if len(frame):
        geoms = frame.geometry.values
        inside = shapely.contains_xy(region, shapely.get_x(geoms), shapely.get_y(geoms))
        for rec, ok in zip(records, inside):
            if not ok:
                tol_vi, tol_en = f"{num_vi(EDGE_TOLERANCE_M / 1000)} km", f"{num_en(EDGE_TOLERANCE_M / 1000)} km"
                ref_vi = "ranh giới tỉnh" if region_source == "store" else "khung giới hạn cố định của tỉnh"
                ref_en = "the province outline" if region_source == "store" else "the fixed province bounding box"
                add(rec, "outside_province", "error", f"nằm ngoài tỉnh (cách {ref_vi} hơn {tol_vi}) — kiểm tra tọa độ",
                    f"outside the province (more than {tol_en} beyond {ref_en}) — check the coordinates")
        _duplicates(frame, records, add)

    table = pd.DataFrame(issues, columns=["source_file", "source_row", "id", "check", "severity", "message"])
    return QAReport(table)


def _duplicates(frame, records, add):
    tree = shapely.STRtree(frame.geometry.values)
    left, right = tree.query(frame.geometry.values, predicate="dwithin", distance=DUPLICATE_DISTANCE_M)
    seen_pairs = set()
    for i, j in zip(left, right):
        if i >= j:
            continue
        a, b = records[i], records[j]
        dist = a["geometry"].distance(b["geometry"])
        other_vi, other_en = _where(b)
        if _present(a.get("id")) and a.get("id") == b.get("id"):
            if a.get("discharge_date") != b.get("discharge_date"):
                continue  # the same source measured on another date: not a duplicate
            add(a, "duplicate", "error", f"trùng bản ghi với {other_vi} (cùng mã, cùng ngày)",
                f"duplicate of {other_en} (same id, same date)")
        else:
            pair = tuple(sorted((str(a.get("id") or f"#{i}"), str(b.get("id") or f"#{j}"))))
            if pair in seen_pairs:  # repeat measurements of the same two sources: say it once
                continue
            seen_pairs.add(pair)
            b_id = b.get("id") if _present(b.get("id")) else f"{b['source_file']}#{b['source_row']}"
            add(a, "duplicate_nearby", "warning",
                f"cách {other_vi} (mã {b_id}) {num_vi(dist, 1)} m < {num_vi(DUPLICATE_DISTANCE_M)} m — có thể trùng",
                f"{num_en(dist, 1)} m from {other_en} (id {b_id}) < {num_en(DUPLICATE_DISTANCE_M)} m — possible duplicate")
    by_id = {}
    for rec in records:
        if _present(rec.get("id")):
            by_id.setdefault(rec["id"], []).append(rec)
    for ident, recs in by_id.items():
        for other in recs[1:]:
            if recs[0]["geometry"].distance(other["geometry"]) > DUPLICATE_DISTANCE_M:
                where_vi, where_en = _where(recs[0])
                add(other, "id_conflict", "error", f"mã '{ident}' đã dùng cho điểm khác ở {where_vi}",
                    f"id '{ident}' is already used by another place at {where_en}")
