"""The map sheet (page 1 of ``sheet.pdf``), drawn with matplotlib on a true scale.

The map axes are placed in millimetres on the paper and their limits are the ground extent, so
``extent / scale = axes size`` holds exactly and nothing is autoscaled. Text is placed in paper
millimetres too; grid labels are computed from the same relation, so a label sits on its line.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Affine2D
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Proj, Transformer

from geo_app import STORE_CRS
from geo_app.production.dossier import layout

#: Geographic VN-2000: the graticule of a VN-2000 map is in its own datum, ~200 m from WGS 84 here.
VN2000_GEOG = "EPSG:4756"
#: Lines closer than this on paper are indistinguishable; drawing geometry is simplified to it.
PRINT_RESOLUTION_MM = 0.1

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# Three faces only: each embedded face costs a font subsetting pass (~0.2 s) when the PDF is written.
_FONT_FILES = {"": "DejaVuSans.ttf", "b": "DejaVuSans-Bold.ttf", "i": "DejaVuSans-Oblique.ttf"}

COLOURS = {
    "commune_fill": "#f4f1ea", "commune_edge": "#8a8a8a", "area_fill": "#f16913", "area_edge": "#c0281b",
    "district": "#7b3294", "province": "#222222", "river": "#2c7fb8", "grid": "#6b6b6b",
    "graticule": "#0b7a75", "text": "#222222", "label": "#4a4a4a", "watermark": "#d62728",
}


def font(size: float, style: str = "") -> FontProperties:
    """DejaVu Sans as shipped with matplotlib (has every Vietnamese letter), by file so the
    embedded font never depends on what the machine has installed."""
    return FontProperties(fname=str(_FONT_DIR / _FONT_FILES[style]), size=size)


@dataclass
class SheetData:
    product: object
    geometry: object  # production area, EPSG:9208
    paper: layout.Paper
    scale: int
    extent: tuple[float, float, float, float]
    communes: object  # GeoDataFrame, EPSG:9208
    former_districts: object
    province: object
    rivers: object
    points: object  # BoundaryPoints
    area_ha: float
    perimeter_m: float
    date_vi: str
    agency: str
    governing: str
    dossier_id: str
    package_hash: str
    sources: list[str] = field(default_factory=list)
    is_draft: bool = True


# --- geometry → matplotlib --------------------------------------------------------------------

def polygon_path(geom) -> MplPath | None:
    """One compound path for (multi)polygons; rings oriented so the non-zero rule leaves holes."""
    if geom is None or geom.is_empty:
        return None
    geom = _orient(geom)
    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 4:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _orient(geom):
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.orient_polygons(geom)
    from shapely.geometry.polygon import orient

    return shapely.multipolygons([orient(p) for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


def line_segments(geom) -> list[np.ndarray]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        geom = geom.boundary
    return [np.asarray(g.coords) for g in shapely.get_parts(geom) if not g.is_empty and len(g.coords) > 1]


def _prepare(geoms, extent, tolerance):
    """Clip to a slightly larger box than the frame (so outlines never end at the edge) and simplify."""
    pad = tolerance * 20
    box = (extent[0] - pad, extent[1] - pad, extent[2] + pad, extent[3] + pad)
    clipped = shapely.clip_by_rect(np.asarray(geoms, dtype=object), *box)
    return shapely.simplify(clipped, tolerance)


# --- the page ---------------------------------------------------------------------------------

class _Page:
    """Paper-millimetre helpers over a matplotlib Figure."""

    def __init__(self, width_mm: float, height_mm: float):
        self.w, self.h = width_mm, height_mm
        self.fig = Figure(figsize=(layout.mm_to_in(width_mm), layout.mm_to_in(height_mm)))
        self.mm = Affine2D().scale(1 / layout.MM_PER_INCH) + self.fig.dpi_scale_trans

    def axes_mm(self, x: float, y: float, w: float, h: float):
        return self.fig.add_axes((x / self.w, y / self.h, w / self.w, h / self.h))

    def text(self, x, y, s, size, style="", **kw):
        kw.setdefault("color", COLOURS["text"])
        return self.fig.text(x, y, s, fontproperties=font(size, style), transform=self.mm, **kw)

    def rect(self, x, y, w, h, **kw):
        kw.setdefault("fill", False)
        kw.setdefault("linewidth", 0.6)
        kw.setdefault("edgecolor", COLOURS["text"])
        self.fig.add_artist(Rectangle((x, y), w, h, transform=self.mm, **kw))

    def hline(self, x0, x1, y, lw=0.4):
        self.fig.add_artist(Line2D([x0, x1], [y, y], transform=self.mm, linewidth=lw, color=COLOURS["text"]))


def wrap(text: str, width_mm: float, size_pt: float) -> list[str]:
    chars = max(10, int(width_mm / (size_pt * 0.3528 * 0.56)))
    return textwrap.wrap(text, chars) or [""]


def render_sheet(d: SheetData) -> Figure:
    p = d.paper
    k = p.k
    page = _Page(p.width_mm, p.height_mm)
    x0, y0, fw, fh = p.frame_x0, p.frame_y0, p.frame_w, p.frame_h
    ext = d.extent
    # The one relation the sheet stands on; checked, not assumed.
    assert abs((ext[2] - ext[0]) * 1000.0 / d.scale - fw) < 1e-6 and abs((ext[3] - ext[1]) * 1000.0 / d.scale - fh) < 1e-6

    ax = page.axes_mm(x0, y0, fw, fh)
    ax.set_xlim(ext[0], ext[2])
    ax.set_ylim(ext[1], ext[3])
    ax.set_autoscale_on(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.9 * k + 0.2)
        spine.set_zorder(20)
    ax.set_facecolor("white")

    tol = PRINT_RESOLUTION_MM * d.scale / 1000.0
    _draw_map(ax, d, tol, k)
    _draw_grid(page, ax, d, k)
    _draw_graticule(page, ax, d, k)
    _draw_points(ax, d, k)
    _draw_panel(page, d, tol, k)
    if d.is_draft:
        page.text(x0 + fw / 2, y0 + fh / 2, "BẢN NHÁP / DRAFT", 64 * k, "b", color=COLOURS["watermark"],
                  alpha=0.16, rotation=30, ha="center", va="center", zorder=50)
    return page.fig


def _draw_map(ax, d: SheetData, tol: float, k: float) -> None:
    ext = d.extent
    communes = d.communes
    comm_geoms = _prepare(communes.geometry.values, ext, tol)
    visible = ~shapely.is_empty(comm_geoms)
    paths = [polygon_path(g) for g in comm_geoms[visible]]
    paths = [pth for pth in paths if pth is not None]
    ax.add_collection(PathCollection(paths, facecolors=COLOURS["commune_fill"], edgecolors="none", zorder=1),
                      autolim=False)
    area = _prepare([d.geometry], ext, tol)[0]
    area_path = polygon_path(area)
    if area_path is not None:
        ax.add_patch(PathPatch(area_path, facecolor=COLOURS["area_fill"], alpha=0.28, edgecolor="none", zorder=2))
    segs = [s for g in comm_geoms[visible] for s in line_segments(g)]
    ax.add_collection(LineCollection(segs, colors=COLOURS["commune_edge"], linewidths=0.35 * k + 0.05, zorder=3),
                      autolim=False)
    rivers = _prepare(d.rivers.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in rivers for s in line_segments(g)], colors=COLOURS["river"],
                                     linewidths=1.1 * k, zorder=4), autolim=False)
    districts = _prepare(d.former_districts.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in districts for s in line_segments(g)], colors=COLOURS["district"],
                                     linewidths=1.3 * k, linestyles=(0, (6, 2, 1.5, 2)), zorder=5), autolim=False)
    province = _prepare(d.province.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in province for s in line_segments(g)], colors=COLOURS["province"],
                                     linewidths=1.6 * k, zorder=6), autolim=False)
    if area_path is not None:
        ax.add_patch(PathPatch(area_path, facecolor="none", edgecolor=COLOURS["area_edge"], linewidth=1.6 * k, zorder=7))

    # Names of the 2025 communes, where enough of the commune shows to hold one.
    frame_box = shapely.box(*ext)
    min_area = (18.0 * d.scale / 1000.0) ** 2
    names = communes["full_name"].values[visible]
    for geom, name in zip(comm_geoms[visible], names):
        inside = shapely.intersection(geom, frame_box)
        if inside.area < min_area:
            continue
        pt = inside.representative_point()
        ax.text(pt.x, pt.y, name, fontproperties=font(5.6 * k), color=COLOURS["label"], ha="center", va="center",
                zorder=10, clip_on=True)
    # Former districts: the name with "(cũ)", offset below the commune name at the same spot.
    offset = 3.2 * k * d.scale / 1000.0
    for geom, label in zip(districts, d.former_districts["label"].values):
        inside = shapely.intersection(geom, frame_box)
        if inside.is_empty or inside.area < 4 * min_area:
            continue
        pt = inside.representative_point()
        # Keep the whole label inside the frame: a name cut by the neatline misreads.
        half = len(label) * 7.5 * k * 0.3528 * 0.62 / 2 * d.scale / 1000.0
        lx = min(max(pt.x, ext[0] + half + offset / 2), ext[2] - half - offset / 2)
        ax.text(lx, pt.y - offset, label, fontproperties=font(7.5 * k, "b"), color=COLOURS["district"],
                ha="center", va="center", zorder=11, clip_on=True)


def _grid_values(lo: float, hi: float, step: float, edge_clear: float) -> list[int]:
    first = int(np.ceil((lo + edge_clear) / step))
    last = int(np.floor((hi - edge_clear) / step))
    return [v * int(step) for v in range(first, last + 1)]


def _draw_grid(page: _Page, ax, d: SheetData, k: float) -> None:
    """The VN-2000 kilometre grid; labels are the coordinates of their lines, in metres."""
    p, ext, s = d.paper, d.extent, d.scale
    step = layout.grid_interval_m(s)
    clear = 4.0 * s / 1000.0  # keep labels 4 mm clear of the corners
    eastings = _grid_values(ext[0], ext[2], step, clear)
    northings = _grid_values(ext[1], ext[3], step, clear)
    lines = [np.array([[e, ext[1]], [e, ext[3]]]) for e in eastings]
    lines += [np.array([[ext[0], n], [ext[2], n]]) for n in northings]
    ax.add_collection(LineCollection(lines, colors=COLOURS["grid"], linewidths=0.25, zorder=2.5), autolim=False)
    size = 6.2 * k
    x1, y1 = p.frame_x0 + p.frame_w, p.frame_y0 + p.frame_h
    for e in eastings:
        x = p.frame_x0 + (e - ext[0]) * 1000.0 / s
        page.text(x, p.frame_y0 - 1.0, f"{e}", size, ha="center", va="top")
        page.text(x, y1 + 1.0, f"{e}", size, ha="center", va="bottom")
    for n in northings:
        y = p.frame_y0 + (n - ext[1]) * 1000.0 / s
        page.text(p.frame_x0 - 1.0, y, f"{n}", size, ha="right", va="center")
        page.text(x1 + 1.0, y, f"{n}", size, ha="left", va="center")
    page.text(p.frame_x0 - 1.0, y1 + 1.0, "X (m)", size, "i", ha="right", va="bottom")
    page.text(x1 + 1.0, p.frame_y0 - 1.0, "Y (m)", size, "i", ha="left", va="top")


def _draw_graticule(page: _Page, ax, d: SheetData, k: float) -> None:
    """Meridians and parallels of VN-2000, densified then projected, so they curve as they should."""
    ext, s = d.extent, d.scale
    step = layout.graticule_minutes(s) / 60.0
    to_geog = Transformer.from_crs(STORE_CRS, VN2000_GEOG, always_xy=True)
    to_map = Transformer.from_crs(VN2000_GEOG, STORE_CRS, always_xy=True)
    lon0, lat0, lon1, lat1 = to_geog.transform_bounds(*ext, densify_pts=21)
    lons = np.arange(np.ceil(lon0 / step - 1e-9), np.floor(lon1 / step + 1e-9) + 1) * step
    lats = np.arange(np.ceil(lat0 / step - 1e-9), np.floor(lat1 / step + 1e-9) + 1) * step
    t = np.linspace(0.0, 1.0, 101)
    lines = []
    size = 5.6 * k
    pad = 1.0 * s / 1000.0
    colour = COLOURS["graticule"]
    for lon in lons:
        x, y = to_map.transform(np.full_like(t, lon), lat0 + (lat1 - lat0) * t)
        lines.append(np.column_stack([x, y]))
        xb = float(np.interp(ext[1], y, x))
        if ext[0] + 8 * pad < xb < ext[2] - 8 * pad:
            ax.text(xb + pad * 0.6, ext[1] + pad, layout.dms(lon, step * 60), fontproperties=font(size, "i"),
                    color=colour, ha="left", va="bottom", zorder=12, clip_on=True)
    for lat in lats:
        x, y = to_map.transform(lon0 + (lon1 - lon0) * t, np.full_like(t, lat))
        lines.append(np.column_stack([x, y]))
        yl = float(np.interp(ext[0], x, y))
        if ext[1] + 8 * pad < yl < ext[3] - 8 * pad:
            ax.text(ext[0] + pad, yl + pad * 0.6, layout.dms(lat, step * 60), fontproperties=font(size, "i"),
                    color=colour, ha="left", va="bottom", zorder=12, clip_on=True)
    ax.add_collection(LineCollection(lines, colors=colour, linewidths=0.45 * k, linestyles=(0, (4, 2)), zorder=8),
                      autolim=False)


def _draw_points(ax, d: SheetData, k: float) -> None:
    table = d.points.table
    if table.empty:
        return
    xs, ys = table["y_east"].to_numpy(), table["x_north"].to_numpy()
    ax.scatter(xs, ys, s=(1.6 * k) ** 2, c=COLOURS["area_edge"], edgecolors="none", zorder=9)
    # Numbers sit outside the area: pushed away from it along the outward direction.
    c = d.geometry.centroid
    vx, vy = xs - c.x, ys - c.y
    norm = np.hypot(vx, vy)
    norm[norm == 0] = 1.0
    off = 1.7 * k * d.scale / 1000.0
    for no, x, y, ux, uy in zip(table["no"], xs, ys, vx / norm, vy / norm):
        ax.text(x + ux * off, y + uy * off, str(no), fontproperties=font(4.4 * k), color=COLOURS["area_edge"],
                ha="center", va="center", zorder=13, clip_on=True)


# --- the side panel ---------------------------------------------------------------------------

def _draw_panel(page: _Page, d: SheetData, tol: float, k: float) -> None:
    p = d.paper
    px, pw = p.panel_x0, p.panel_mm
    top = p.height_mm - p.margin_mm
    bottom = p.margin_mm
    page.rect(px, bottom, pw, top - bottom, linewidth=0.8)
    inner = px + 3 * k
    iw = pw - 6 * k
    cx = px + pw / 2
    y = top - 4 * k

    def lines(text, size, style="", centre=False, colour=None, gap=1.35):
        nonlocal y
        for line in wrap(text, iw, size):
            page.text(cx if centre else inner, y, line, size, style, ha="center" if centre else "left", va="top",
                      color=colour or COLOURS["text"])
            y -= size * 0.3528 * gap
        return y

    product = d.product
    lines("BẢN ĐỒ KHU VỰC ĐỊA LÝ", 12.5 * k, "b", centre=True)
    lines("Map of the geographical area", 7.5 * k, "i", centre=True)
    y -= 1.5 * k
    lines(product.name["vi"].upper(), 11.5 * k, "b", centre=True, colour=COLOURS["area_edge"])
    lines(product.name["en"], 7.5 * k, "i", centre=True)
    y -= 1.0 * k
    if product.mark_text:
        lines(product.mark_text.get("vi", ""), 7.2 * k, centre=True)
        lines(product.mark_text.get("en", ""), 6.2 * k, "i", centre=True)
    lines("Tỉnh Lào Cai / Lào Cai province", 8 * k, "b", centre=True)
    note = product.area.note or {}
    if note.get("vi"):
        y -= 0.8 * k
        lines(note["vi"], 6 * k, centre=True)
        lines(note.get("en", ""), 5.4 * k, "i", centre=True)
    y -= 1.5 * k
    lines(f"Tỉ lệ 1:{layout.fmt_int(d.scale)}", 11 * k, "b", centre=True)
    lines(f"Scale 1:{layout.fmt_int(d.scale)}", 6.5 * k, "i", centre=True)
    y -= 0.5 * k

    # Scale bar in its own axes, on the same true scale as the map, beside the north arrow.
    bar_w, bar_h = 62.0 * k, 9.0 * k
    sb_ax = page.axes_mm(inner, y - bar_h, bar_w, bar_h)
    sb_ax.set_xlim(0, bar_w * d.scale / 1000.0)
    sb_ax.set_ylim(0, bar_h * d.scale / 1000.0)
    sb_ax.set_axis_off()
    sb_ax.set_aspect("equal")
    bar_m = _scalebar_length(d.scale, bar_w * 0.85)
    sb_ax.add_artist(ScaleBar(1.0, "m", dimension="si-length", fixed_value=bar_m, fixed_units="m", location="center",
                              frameon=False, color=COLOURS["text"], length_fraction=None, width_fraction=0.09,
                              scale_loc="top", scale_formatter=lambda v, u: _scalebar_label(bar_m),
                              font_properties={"family": "DejaVu Sans", "size": 6.5 * k}))
    _north_arrow(page, inner + iw - 8 * k, y - bar_h + 1 * k, k, d)
    y -= bar_h + 5.5 * k

    # Legend.
    lines("CHÚ GIẢI / LEGEND", 7.5 * k, "b")
    y -= 0.5 * k
    entries = [
        ("patch", "Khu vực sản xuất (vùng địa lý)", "Production area"),
        ("point", "Điểm ranh giới (số hiệu, xem Phụ lục 2)", "Boundary point (no., Annex 2)"),
        ("line:commune", "Ranh giới xã, phường 2025", "2025 commune boundary"),
        ("line:district", "Ranh giới huyện (cũ)", "Former district boundary"),
        ("line:province", "Ranh giới tỉnh", "Province boundary"),
        ("line:river", "Sông", "River"),
        ("line:grid", f"Lưới tọa độ VN-2000, {layout.fmt_int(layout.grid_interval_m(d.scale))} m", "VN-2000 grid"),
        ("line:graticule", "Lưới kinh vĩ độ VN-2000", "VN-2000 graticule"),
    ]
    row = 4.6 * k
    for kind, vi, en in entries:
        _legend_symbol(page, kind, inner, y - row / 2 - 0.3 * k, 8 * k, 3.2 * k, k)
        page.text(inner + 10.5 * k, y - 0.4 * k, vi, 6.3 * k, va="top")
        page.text(inner + 10.5 * k, y - 2.9 * k, en, 5.2 * k, "i", va="top", color=COLOURS["label"])
        y -= row + 0.5 * k
    y -= 1.5 * k

    # Locator inset: the province, the area and the frame of the sheet.
    loc_h = 38.0 * k
    lines("Vị trí trong tỉnh / Location in the province", 6.3 * k, "b")
    _locator(page, d, inner, y - loc_h, iw, loc_h)
    y -= loc_h + 2.5 * k

    # Statements: CRS, grid and graticule, area, sources, date, agencies, identity.
    lines("Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208)", 6.3 * k, "b")
    lines("Coordinate system VN-2000, central meridian 104°45', 3° zone (EPSG:9208)", 5.3 * k, "i")
    gam = Proj(STORE_CRS).get_factors(*Transformer.from_crs(STORE_CRS, "EPSG:4756", always_xy=True).transform(
        (d.extent[0] + d.extent[2]) / 2, (d.extent[1] + d.extent[3]) / 2)).meridian_convergence
    lines(f"Lưới {layout.fmt_int(layout.grid_interval_m(d.scale))} m, nhãn là tọa độ X (bắc), Y (đông) của đường lưới; "
          f"kinh vĩ tuyến mỗi {layout.dms(layout.graticule_minutes(d.scale) / 60, layout.graticule_minutes(d.scale))}. "
          f"Độ hội tụ kinh tuyến tại tâm tờ {layout.angle_text(gam)}. / Grid labels are the X (north), Y (east) "
          f"of their lines; meridian convergence at the centre {layout.angle_text(gam)}.", 5.4 * k)
    lines(f"Diện tích / area: {layout.fmt_dec(d.area_ha)} ha · chu vi / perimeter: {layout.fmt_dec(d.perimeter_m, 0)} m",
          6.3 * k, "b")
    lines("Nguồn / sources: " + "; ".join(d.sources), 5.2 * k)
    lines(f"Ngày lập / date: {d.date_vi}", 6 * k)
    lines(f"Đơn vị thành lập / prepared by: {d.agency}", 6 * k, "b")
    lines(f"Cơ quan quản lý / governing body: {d.governing}", 6 * k)
    lines(f"Mã hồ sơ / dossier id: {d.dossier_id} · gói dữ liệu / package sha256: {d.package_hash[:12]}", 5.6 * k)
    status = "Bản nháp / Draft" if d.is_draft else "Bản trình xác nhận / For confirmation"
    lines(f"Trạng thái / status: {status}", 6 * k, "b", colour=COLOURS["watermark"] if d.is_draft else None)

    # Confirmation block at the foot of the panel: room for signature and seal.
    box_h = max(min(y - bottom - 3 * k, 46.0 * k), 30.0 * k)
    by = bottom + 2 * k
    page.rect(inner, by, iw, box_h, linewidth=0.6)
    yy = by + box_h - 2.5 * k
    for text, size, style in (("XÁC NHẬN CỦA ỦY BAN NHÂN DÂN TỈNH LÀO CAI", 7.0 * k, "b"),
                              ("Confirmation by the People's Committee of Lào Cai province", 5.4 * k, "i"),
                              ("Lào Cai, ngày ..... tháng ..... năm ........", 6.0 * k, "i"),
                              ("(Ký tên, đóng dấu / signature and seal)", 5.4 * k, "i")):
        page.text(cx, yy, text, size, style, ha="center", va="top")
        yy -= size * 0.3528 * 1.5


def _scalebar_length(scale: int, max_mm: float) -> float:
    best = None
    for metres in (50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000, 100_000):
        if metres * 1000.0 / scale <= max_mm:
            best = metres
    return float(best or 50)


def _scalebar_label(metres: float) -> str:
    return f"{layout.fmt_int(metres / 1000)} km" if metres >= 1000 else f"{layout.fmt_int(metres)} m"


def _north_arrow(page: _Page, x: float, y: float, k: float, d: SheetData) -> None:
    h, w = 9.0 * k, 3.2 * k
    page.fig.add_artist(MplPolygon([(x, y + h), (x - w, y), (x, y + h * 0.3)], closed=True, transform=page.mm,
                                   facecolor=COLOURS["text"], edgecolor=COLOURS["text"], linewidth=0.4))
    page.fig.add_artist(MplPolygon([(x, y + h), (x + w, y), (x, y + h * 0.3)], closed=True, transform=page.mm,
                                   facecolor="white", edgecolor=COLOURS["text"], linewidth=0.4))
    page.text(x, y + h + 0.6 * k, "B", 8 * k, "b", ha="center", va="bottom")
    page.text(x, y - 0.5 * k, "Bắc lưới / grid north", 4.4 * k, "i", ha="center", va="top")


def _legend_symbol(page: _Page, kind: str, x: float, yc: float, w: float, h: float, k: float) -> None:
    if kind == "patch":
        page.rect(x, yc - h / 2, w, h, fill=True, facecolor=COLOURS["area_fill"], alpha=0.28, linewidth=0)
        page.rect(x, yc - h / 2, w, h, edgecolor=COLOURS["area_edge"], linewidth=1.6 * k)
        return
    if kind == "point":
        page.fig.add_artist(Line2D([x + w / 2], [yc], transform=page.mm, marker="o", markersize=1.6 * k,
                                   color=COLOURS["area_edge"], linestyle="none"))
        page.text(x + w / 2 + 1.2 * k, yc, "12", 4.4 * k, ha="left", va="center", color=COLOURS["area_edge"])
        return
    style = {
        "line:commune": dict(color=COLOURS["commune_edge"], linewidth=0.35 * k + 0.05),
        "line:district": dict(color=COLOURS["district"], linewidth=1.3 * k, linestyle=(0, (6, 2, 1.5, 2))),
        "line:province": dict(color=COLOURS["province"], linewidth=1.6 * k),
        "line:river": dict(color=COLOURS["river"], linewidth=1.1 * k),
        "line:grid": dict(color=COLOURS["grid"], linewidth=0.25),
        "line:graticule": dict(color=COLOURS["graticule"], linewidth=0.45 * k, linestyle=(0, (4, 2))),
    }[kind]
    page.fig.add_artist(Line2D([x, x + w], [yc, yc], transform=page.mm, **style))


def _locator(page: _Page, d: SheetData, x: float, y: float, w: float, h: float) -> None:
    ax = page.axes_mm(x, y, w, h)
    prov = d.province.geometry.values
    minx, miny, maxx, maxy = shapely.total_bounds(prov)
    # Fit the province in the box without distortion: one scale for both axes.
    s = max((maxx - minx) / w, (maxy - miny) / h) * 1.04
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - w * s / 2, cx + w * s / 2)
    ax.set_ylim(cy - h * s / 2, cy + h * s / 2)
    ax.set_autoscale_on(False)
    ax.set_axis_off()
    tol = 0.2 * s
    for geom in shapely.simplify(prov, tol):
        pth = polygon_path(geom)
        if pth is not None:
            ax.add_patch(PathPatch(pth, facecolor=COLOURS["commune_fill"], edgecolor=COLOURS["province"], linewidth=0.6))
    ax.add_collection(LineCollection([sg for g in shapely.simplify(d.former_districts.geometry.values, tol)
                                      for sg in line_segments(g)], colors=COLOURS["district"], linewidths=0.3),
                      autolim=False)
    pth = polygon_path(shapely.simplify(d.geometry, tol))
    if pth is not None:
        ax.add_patch(PathPatch(pth, facecolor=COLOURS["area_fill"], edgecolor=COLOURS["area_edge"], linewidth=0.5, alpha=0.8))
    e = d.extent
    ax.add_patch(Rectangle((e[0], e[1]), e[2] - e[0], e[3] - e[1], fill=False, edgecolor=COLOURS["text"], linewidth=0.6))
