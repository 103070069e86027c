"""Paper, scale and frame geometry of the map sheet. Everything here is in millimetres on paper or
metres on the ground, so the one relation that makes the sheet true is explicit:

    ground metres = paper millimetres / 1000 × scale denominator
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from geo_app.errors import InputError

MM_PER_INCH = 25.4

#: The standard Vietnamese series (topographic and cadastral); a sheet is never at an odd scale.
SCALE_SERIES = (1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000)

#: Clear space kept between the area's bounding box and the map frame, on paper: enough that the
#: outline never touches the neatline, small enough that a 1 mm miss does not halve the scale.
FIT_MARGIN_MM = 2.0


@dataclass(frozen=True)
class Paper:
    """A sheet: the map frame and the panel (on the right in landscape, along the foot in portrait).

    ``k`` scales panel parts so an A4 sheet is a reduced A3 sheet, not a re-design; type never
    goes below 6 pt whatever ``k`` is.
    """

    name: str
    width_mm: float
    height_mm: float
    margin_mm: float
    panel_mm: float  # panel width (landscape) or height (portrait)
    side_band_mm: float  # room for northing and latitude labels left and right of the frame
    top_band_mm: float  # room for easting and longitude labels above and below the frame
    gap_mm: float
    k: float
    orientation: str = "landscape"

    @property
    def frame_x0(self) -> float:
        return self.margin_mm + self.side_band_mm

    @property
    def frame_y0(self) -> float:
        if self.orientation == "portrait":
            return self.panel_y1 + self.gap_mm + self.top_band_mm
        return self.margin_mm + self.top_band_mm

    @property
    def frame_w(self) -> float:
        if self.orientation == "portrait":
            return self.width_mm - 2 * self.margin_mm - 2 * self.side_band_mm
        return self.panel_x0 - self.gap_mm - self.side_band_mm - self.frame_x0

    @property
    def frame_h(self) -> float:
        return self.height_mm - self.margin_mm - self.top_band_mm - self.frame_y0

    @property
    def panel_x0(self) -> float:
        if self.orientation == "portrait":
            return self.margin_mm
        return self.width_mm - self.margin_mm - self.panel_mm

    @property
    def panel_w(self) -> float:
        return self.width_mm - 2 * self.margin_mm if self.orientation == "portrait" else self.panel_mm

    @property
    def panel_y0(self) -> float:
        return self.margin_mm

    @property
    def panel_y1(self) -> float:
        if self.orientation == "portrait":
            return self.margin_mm + self.panel_mm
        return self.height_mm - self.margin_mm

    def turned(self) -> Paper:
        """The same paper the other way up (the portrait panel runs along the foot, in columns)."""
        if self.orientation == "landscape":
            return replace(self, width_mm=self.height_mm, height_mm=self.width_mm, orientation="portrait",
                           panel_mm=PORTRAIT_PANEL_MM[self.name])
        return PAPERS[self.name]


PAPERS = {
    "A3": Paper("A3", 420.0, 297.0, margin_mm=10.0, panel_mm=100.0, side_band_mm=13.0, top_band_mm=6.0, gap_mm=4.0, k=1.0),
    "A4": Paper("A4", 297.0, 210.0, margin_mm=5.0, panel_mm=80.0, side_band_mm=11.0, top_band_mm=4.5, gap_mm=3.0, k=0.74),
}
PORTRAIT_PANEL_MM = {"A3": 74.0, "A4": 70.0}


class LayoutError(InputError):
    pass


def paper(name: str) -> Paper:
    try:
        return PAPERS[name.upper()]
    except KeyError:
        raise LayoutError(
            f"Khổ giấy '{name}' không hỗ trợ; chọn {' hoặc '.join(sorted(PAPERS))}. / Unsupported paper '{name}': "
            f"use one of {', '.join(sorted(PAPERS))}."
        ) from None


def _needs_mm(bounds, scale: int, margin: float) -> tuple[float, float]:
    minx, miny, maxx, maxy = bounds
    return (maxx - minx) * 1000.0 / scale + 2 * margin, (maxy - miny) * 1000.0 / scale + 2 * margin


def _fits(bounds, scale: int, sheet: Paper, margin: float) -> bool:
    w_mm, h_mm = _needs_mm(bounds, scale, margin)
    return w_mm <= sheet.frame_w and h_mm <= sheet.frame_h


def orientations(sheet: Paper) -> tuple[Paper, Paper]:
    landscape = PAPERS[sheet.name]
    return landscape, landscape.turned()


def choose_scale(bounds, sheet: Paper) -> tuple[int, Paper]:
    """The largest scale of the series at which the area's box fits the frame with its margin, in
    landscape or portrait (landscape when both fit)."""
    for scale in SCALE_SERIES:
        for candidate in orientations(sheet):
            if _fits(bounds, scale, candidate, FIT_MARGIN_MM):
                return scale, candidate
    raise LayoutError("Khu vực quá lớn cho khổ giấy ở tỉ lệ 1:1 000 000. / The area is too large for the paper at "
                      "1:1 000 000.")


def check_series(scale: int) -> None:
    if scale not in SCALE_SERIES:
        series = ", ".join(f"1:{fmt_int(s)}" for s in SCALE_SERIES)
        raise LayoutError(
            f"Tỉ lệ 1:{fmt_int(scale)} không thuộc dãy tỉ lệ chuẩn ({series}). / The scale 1:{scale} is not in "
            f"the standard series ({series}); a sheet for confirmation uses one of them."
        )


def check_options(paper_name: str, scale: int | None = None) -> Paper:
    """The options that need no data, checked before any: the paper, and a scale in the series.
    Light to import (no geopandas, no matplotlib), so a caller answers a wrong option at once."""
    sheet = paper(paper_name)
    if scale is not None:
        check_series(int(scale))
    return sheet


def check_scale(scale: int, bounds, sheet: Paper) -> Paper:
    """The orientation of ``sheet`` at which the area fits at ``scale``, or a refusal saying why."""
    check_series(scale)
    for candidate in orientations(sheet):
        if _fits(bounds, scale, candidate, 0.0):
            return candidate
    w_mm, h_mm = _needs_mm(bounds, scale, 0.0)
    land, port = orientations(sheet)
    if sheet.name == "A4":
        advice_vi, advice_en = "hãy chọn tỉ lệ nhỏ hơn hoặc khổ A3", "use a smaller scale or A3"
    else:
        advice_vi, advice_en = "hãy chọn tỉ lệ nhỏ hơn", "use a smaller scale"
    raise LayoutError(
        f"Ở tỉ lệ 1:{fmt_int(scale)} khu vực cần {w_mm:.0f} × {h_mm:.0f} mm, khung bản đồ {sheet.name} chỉ có "
        f"{land.frame_w:.0f} × {land.frame_h:.0f} mm (ngang) hoặc {port.frame_w:.0f} × {port.frame_h:.0f} mm (dọc): "
        f"{advice_vi}. / At 1:{scale} the area needs {w_mm:.0f} × {h_mm:.0f} mm; the {sheet.name} map frame is "
        f"{land.frame_w:.0f} × {land.frame_h:.0f} mm landscape or {port.frame_w:.0f} × {port.frame_h:.0f} mm "
        f"portrait: {advice_en}."
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


def graticule_minutes_for(scale: int, extent) -> float:
    """The graticule step for a frame: the density of ``graticule_minutes``, made finer (halved,
    then to the next round step) until at least two meridians and two parallels cross the frame."""
    from pyproj import Transformer  # pyproj's import is paid only by callers that draw a sheet

    lon0, lat0, lon1, lat1 = Transformer.from_crs("EPSG:9208", "EPSG:4756", always_xy=True).transform_bounds(
        *extent, densify_pts=21)
    # Counted within the lon/lat bounds of the frame (the frame is nearly a lon/lat box at these sizes).
    minutes = graticule_minutes(scale)
    for step in (120.0, 60.0, 30.0, 20.0, 10.0, 5.0, 2.5, 1.0, 0.5):
        if step > minutes:
            continue
        d = step / 60.0
        n_lon = math.floor(lon1 / d + 1e-9) - math.ceil(lon0 / d - 1e-9) + 1
        n_lat = math.floor(lat1 / d + 1e-9) - math.ceil(lat0 / d - 1e-9) + 1
        if n_lon >= 2 and n_lat >= 2:
            return step
    return 0.5


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


def dms_seconds(value_deg: float) -> str:
    """A corner coordinate: degrees, minutes and whole seconds, e.g. 22°05'12"."""
    total_s = round(abs(value_deg) * 3600)
    d, rem = divmod(total_s, 3600)
    m, sec = divmod(rem, 60)
    return f"{'-' if value_deg < 0 else ''}{d}°{m:02d}'{sec:02d}\""


def mm_to_in(mm: float) -> float:
    return mm / MM_PER_INCH


def angle_text(deg: float) -> str:
    """A signed angle in degrees and whole minutes, e.g. "-0°10'"."""
    minutes = round(abs(deg) * 60)
    return f"{'-' if deg < 0 else '+'}{minutes // 60}°{minutes % 60:02d}'"
