"""Point tables (CSV, XLSX): find the coordinate columns, parse Vietnamese-style numbers.

Survey tables name their columns in Vietnamese or English, often under a title row, with decimal
commas ("2471192,35") and sometimes degrees-minutes-seconds. X is the northing in Vietnamese
practice; the CRS decision checks that against the coordinates themselves.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from geo_app.admin.names import fold

X, Y, EASTING, NORTHING, LON, LAT, ORDER, GROUP = "x", "y", "easting", "northing", "lon", "lat", "order", "group"

_ROLE_NAMES = {
    X: {"x", "toa do x", "x vn2000", "x vn 2000", "x m"},
    Y: {"y", "toa do y", "y vn2000", "y vn 2000", "y m"},
    EASTING: {"easting", "east", "e", "hoanh do"},
    NORTHING: {"northing", "north", "n", "tung do"},
    LON: {"lon", "long", "lng", "longitude", "kinh do", "kinhdo", "kinh do e", "lon wgs84", "kinh do dec"},
    LAT: {"lat", "latitude", "vi do", "vido", "vi do n", "lat wgs84", "vi do dec"},
    ORDER: {"stt", "tt", "so tt", "so thu tu", "thu tu", "order", "seq", "sequence", "no", "point no", "thu tu diem"},
    GROUP: {"polygon", "polygon id", "vung", "ma vung", "thua", "khu", "khu vuc", "part", "ring", "zone", "ma khu"},
}


def normalise_header(name: object) -> str:
    text = fold(str(name or ""))
    text = re.sub(r"\([^)]*\)", " ", text)  # units: "X (m)"
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def column_roles(header: list[object]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for i, name in enumerate(header):
        key = normalise_header(name)
        for role, names in _ROLE_NAMES.items():
            if key in names and role not in roles:
                roles[role] = i
    return roles


def has_coordinates(roles: dict[str, int]) -> bool:
    return {X, Y} <= roles.keys() or {LON, LAT} <= roles.keys() or {EASTING, NORTHING} <= roles.keys()


_DMS = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*[°º d]\s*(?:(\d+(?:[.,]\d+)?)\s*['’′m]\s*)?(?:(\d+(?:[.,]\d+)?)\s*(?:\"|''|”|″|s)\s*)?([NSEWnsew]?)\s*$")


def parse_number(value: object) -> float | None:
    """'2 471 192,35', '2.471.192,35', '2,471,192.35', '22°20\\'11"N' → float; blank → None.

    Raises ValueError on text that is not a number.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return None if value != value else float(value)  # NaN → None
    text = str(value).strip().replace("\u00a0", " ")
    if not text:
        return None
    if "°" in text or "º" in text:
        m = _DMS.match(text)
        if not m:
            raise ValueError(text)
        deg, minutes, seconds, hemi = m.groups()
        sign = -1 if deg.startswith("-") or hemi.upper() in ("S", "W") else 1
        total = abs(float(deg.replace(",", "."))) + float((minutes or "0").replace(",", ".")) / 60 + float(
            (seconds or "0").replace(",", ".")) / 3600
        return sign * total
    text = text.replace(" ", "")
    if "," in text and "." in text:
        # the later separator is the decimal one
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif text.count(",") > 1:
        text = text.replace(",", "")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    return float(text)


@dataclass
class Table:
    header: list[str]
    rows: list[list[object]]
    #: the file row (1-based, as a spreadsheet or text editor shows it) of each data row
    row_numbers: list[int]
    roles: dict[str, int]
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


def find_header(rows: list[list[object]], max_scan: int = 15) -> int | None:
    for i, row in enumerate(rows[:max_scan]):
        if has_coordinates(column_roles(row)):
            return i
    return None


def rows_from_csv(text: str) -> list[list[str]]:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = max(",;\t|", key=sample.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def make_table(rows: list[list[object]], roles_override: dict[str, str], sheet: str | None = None) -> Table | None:
    """Split rows into header and data; None when no coordinate columns are found."""
    header_at = None
    if roles_override:
        for i, row in enumerate(rows[:15]):
            names = [str(c).strip() if c is not None else "" for c in row]
            if all(v in names for v in roles_override.values()):
                header_at = i
                break
    if header_at is None:
        header_at = find_header(rows)
    if header_at is None:
        return None
    header = [str(c).strip() if c is not None and str(c).strip() else f"col{j + 1}" for j, c in enumerate(rows[header_at])]
    roles = column_roles(header)
    for role, name in roles_override.items():
        roles[role] = header.index(name)
    data, numbers = [], []
    for offset, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        row = list(row) + [None] * (len(header) - len(row))
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        data.append(row[: len(header)])
        numbers.append(offset)
    return Table(header, data, numbers, roles, sheet)
