"""Paper, scale and frame geometry of the map sheet. Everything here is in millimetres on paper or
metres on the ground, so the one relation that makes the sheet true is explicit:

    ground metres = paper millimetres / 1000 × scale denominator
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from geo_app.errors import InputError

MM_PER_INCH = 25.4

#: The standard Vietnamese series (topographic and cadastral); a sheet is never at an odd scale.
SCALE_SERIES = (1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000)

#: Clear space kept between the area's bounding box and the map frame, on paper.
FIT_MARGIN_MM = 5.0


@dataclass(frozen=True)
class Paper:
    """A landscape sheet: the map frame on the left, a side panel on the right.

    ``k`` scales fonts and panel parts so an A4 sheet is a reduced A3 sheet, not a re-design.
    """

    name: str
    width_mm: float
    height_mm: float
    margin_mm: float
    panel_mm: float
    side_band_mm: float  # room for northing labels left and right of the frame
    top_band_mm: float  # room for easting labels above and below the frame
    gap_mm: float
    k: float

    @property
    def frame_x0(self) -> float:
        return self.margin_mm + self.side_band_mm

    @property
    def frame_y0(self) -> float:
        return self.margin_mm + self.top_band_mm

    @property
    def frame_w(self) -> float:
        return self.panel_x0 - self.gap_mm - self.side_band_mm - self.frame_x0

    @property
    def frame_h(self) -> float:
        return self.height_mm - self.margin_mm - self.top_band_mm - self.frame_y0

    @property
    def panel_x0(self) -> float:
        return self.width_mm - self.margin_mm - self.panel_mm


PAPERS = {
    "A3": Paper("A3", 420.0, 297.0, margin_mm=10.0, panel_mm=100.0, side_band_mm=14.0, top_band_mm=6.0, gap_mm=4.0, k=1.0),
    "A4": Paper("A4", 297.0, 210.0, margin_mm=8.0, panel_mm=78.0, side_band_mm=12.0, top_band_mm=5.0, gap_mm=3.0, k=0.74),
}


class LayoutError(InputError):
    pass


def paper(name: str) -> Paper:
    try:
        return PAPERS[name.upper()]
    except KeyError:
        raise LayoutError(f"Khổ giấy '{name}' không hỗ trợ / unsupported paper; use one of {sorted(PAPERS)}") from None


def choose_scale(bounds, sheet: Paper) -> int:
    """The largest scale of the series at which the area's box fits the frame with its margin."""
    minx, miny, maxx, maxy = bounds
    for scale in SCALE_SERIES:
        w_mm = (maxx - minx) * 1000.0 / scale + 2 * FIT_MARGIN_MM
        h_mm = (maxy - miny) * 1000.0 / scale + 2 * FIT_MARGIN_MM
        if w_mm <= sheet.frame_w and h_mm <= sheet.frame_h:
            return scale
    raise LayoutError("Khu vực quá lớn cho khổ giấy / the area is too large for the paper at 1:1 000 000")


def check_scale(scale: int, bounds, sheet: Paper) -> None:
    minx, miny, maxx, maxy = bounds
    if scale not in SCALE_SERIES:
        series = ", ".join(f"1:{fmt_int(s)}" for s in SCALE_SERIES)
        raise LayoutError(
            f"Tỉ lệ 1:{fmt_int(scale)} không thuộc dãy tỉ lệ chuẩn ({series}). / The scale 1:{scale} is not in "
            f"the standard series ({series}); a sheet for confirmation uses one of them."
        )
    w_mm = (maxx - minx) * 1000.0 / scale
    h_mm = (maxy - miny) * 1000.0 / scale
    if w_mm > sheet.frame_w or h_mm > sheet.frame_h:
        if sheet.name == "A4":
            advice_vi, advice_en = "hãy chọn tỉ lệ nhỏ hơn hoặc khổ A3", "use a smaller scale or A3"
        else:
            advice_vi, advice_en = "hãy chọn tỉ lệ nhỏ hơn", "use a smaller scale"
        raise LayoutError(
            f"Ở tỉ lệ 1:{fmt_int(scale)} khu vực cần {w_mm:.0f} × {h_mm:.0f} mm, khung bản đồ {sheet.name} chỉ có "
            f"{sheet.frame_w:.0f} × {sheet.frame_h:.0f} mm: {advice_vi}. / At 1:{scale} the area needs {w_mm:.0f} × "
            f"{h_mm:.0f} mm; the {sheet.name} map frame is {sheet.frame_w:.0f} × {sheet.frame_h:.0f} mm: {advice_en}."
        )


def map_extent(bounds, sheet: Paper, scale: int) -> tuple[float, float, float, float]:
    """The ground extent of the frame, centred on the area; the centre is snapped to whole metres
    so the extent is exact in binary floating point (the frame is a whole number of mm)."""
    minx, miny, maxx, maxy = bounds
    cx, cy = round((minx + maxx) / 2.0), round((miny + maxy) / 2.0)
    half_w = sheet.frame_w * scale / 2000.0
    half_h = sheet.frame_h * scale / 2000.0
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def grid_interval_m(scale: int) -> int:
    """Kilometre-grid spacing: the smallest round interval at least 20 mm apart on paper
    (1 km at 1:50 000, 2 km at 1:100 000, 5 km at 1:250 000)."""
    for step in (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000):
        if step * 1000.0 / scale >= 20.0 - 1e-9:
            return step
    return 100_000


def graticule_minutes(scale: int) -> float:
    """Graticule density. 1:26 000–1:80 000 → 10' and 1:81 000–1:150 000 → 20' follow Circular
    47/2014/TT-BTNMT; the other bands are this project's choice (stated on the sheet), keeping the
    lines roughly 100–200 mm apart."""
    if scale <= 10_000:
        return 1.0
    if scale < 26_000:
        return 2.5
    if scale <= 80_000:
        return 10.0
    if scale <= 150_000:
        return 20.0
    if scale <= 300_000:
        return 30.0
    if scale <= 600_000:
        return 60.0
    return 120.0


GRATICULE_RULE = {
    "vi": "Lưới kinh vĩ độ VN-2000: 1:26 000–1:80 000 → 10'; 1:81 000–1:150 000 → 20' (TT 47/2014/TT-BTNMT); "
    "≤1:10 000 → 1'; ≤1:25 000 → 2'30\"; 1:151 000–1:300 000 → 30'; lớn hơn → 1° (lựa chọn của hệ thống).",
    "en": "VN-2000 graticule: 10' and 20' per Circular 47/2014/TT-BTNMT; other bands are this system's choice.",
}


def fmt_int(value: float) -> str:
    """Group thousands with a space (TCVN 7870-1 / ISO 80000-1), as in "1:50 000"."""
    return f"{int(round(value)):,}".replace(",", " ")


def fmt_dec(value: float, decimals: int = 2) -> str:
    """A Vietnamese decimal: space-grouped thousands, comma as the decimal sign (TCVN 7870-1)."""
    text = f"{value:,.{decimals}f}"
    whole, _, frac = text.partition(".")
    whole = whole.replace(",", " ")
    return f"{whole},{frac}" if frac else whole


def dms(value_deg: float, step_minutes: float) -> str:
    """A graticule label: degrees and minutes (and seconds when the step needs them)."""
    total_s = round(value_deg * 3600)
    d, rem = divmod(abs(total_s), 3600)
    m, s = divmod(rem, 60)
    sign = "-" if total_s < 0 else ""
    if s or (step_minutes != int(step_minutes)):
        return f"{sign}{d}°{m:02d}'{s:02d}\""
    return f"{sign}{d}°{m:02d}'"


def mm_to_in(mm: float) -> float:
    return mm / MM_PER_INCH


def angle_text(deg: float) -> str:
    """A signed angle in degrees and whole minutes, e.g. "-0°10'"."""
    minutes = round(abs(deg) * 60)
    return f"{'-' if deg < 0 else '+'}{minutes // 60}°{minutes % 60:02d}'"


def snap_down(value: float, step: float) -> float:
    return math.floor(value / step) * step
