"""The map sheet (page 1 of ``sheet.pdf``), drawn with matplotlib on a true scale.

The map axes are placed in millimetres on the paper and their limits are the ground extent, so
``extent / scale = axes size`` holds exactly and nothing is autoscaled. Text is placed in paper
millimetres too; grid labels are computed from the same relation, so a label sits on its line.
"""
from __future__ import annotations

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

from geo_app import STORE_CRS, layers
from geo_app.production.dossier import layout
from geo_app.production.dossier.content import LEGAL_BASIS
from geo_app.production.dossier.labels import PT_TO_MM, Placer, text_size_mm

#: Geographic VN-2000: the graticule of a VN-2000 map is in its own datum, ~200 m from WGS 84 here.
VN2000_GEOG = "EPSG:4756"
#: Lines closer than this on paper are indistinguishable; drawing geometry is simplified to it.
PRINT_RESOLUTION_MM = 0.1

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# Three faces only: each embedded face costs a font subsetting pass (~0.2 s) when the PDF is written.
_FONT_FILES = {"": "DejaVuSans.ttf", "b": "DejaVuSans-Bold.ttf", "i": "DejaVuSans-Oblique.ttf"}

def _layer_colours() -> dict:
    """The colours the sheet shares with the maps, from the layers' YAML: the production area (edge, fill)
    and the former districts, so a sheet and the map an approver confirms on look alike."""
    area, district = layers.info("production-areas").style, layers.info("former-districts").style
    return {"area_edge": area["color"], "area_fill": area["fillColor"], "district": district["color"]}


#: The print palette; the colours of the production area and the former districts come from their layers.
COLOURS = {
    "commune_fill": "#f4f1ea", "commune_edge": "#8a8a8a", **_layer_colours(),
    "province": "#222222", "river": "#2c7fb8", "grid": "#9a9a9a",
    "graticule": "#0b7a75", "text": "#222222", "label": "#4a4a4a", "watermark": "#d62728",
    "point": "#5a0a05", "border": "#1a1a1a", "border_band": "#f2b6b0", "neighbour": "#7a7a7a",
    "neighbour_fill": "#fbfbf8",
}

#: Nothing on a sheet is printed smaller than this (legible at print size on A4 as on A3).
MIN_PT = 6.0
#: The type hierarchy of the map face.
GRID_PT = 6.2
POINT_PT = 6.0
COMMUNE_PT = 6.4
DISTRICT_PT = 7.6
NEIGHBOUR_PT = 7.2
COUNTRY_PT = 9.0
TOWN_PT = 6.4
#: Height of the two signature blocks at the foot of the panel (× k).
BLOCKS_MM = 46.0
#: Diameter of the hollow boundary-point marker.
MARKER_MM = 1.5
#: When not every point number fits, every N-th is shown, N from this series.
POINT_STEPS = (1, 2, 3, 4, 5, 10, 20, 50, 100)
#: A halo: a white knock-out under the text, so a label over lines stays readable (the text stays text).
HALO = {"boxstyle": "square,pad=0.08", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}


def font(size: float, style: str = "") -> FontProperties:
    """DejaVu Sans as shipped with matplotlib (has every Vietnamese letter), by file so the
    embedded font never depends on what the machine has installed; never below ``MIN_PT``."""
    return FontProperties(fname=str(_FONT_DIR / _FONT_FILES[style]), size=max(float(size), MIN_PT))


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
    graticule_minutes: float | None = None
    owner: dict | None = None
    applicant: dict | None = None
    boundary_sha256: str | None = None
    notes: list[str] = field(default_factory=list)
    #: Context layers by id (neighbour-provinces, national-border, towns), when the store has them.
    context: dict = field(default_factory=dict)


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
    """The lines of any geometry (polygon outlines included) as coordinate arrays."""
    if geom is None or geom.is_empty:
        return []
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            part = part.boundary
        for line in shapely.get_parts(part):
            if line.geom_type in ("LineString", "LinearRing") and len(line.coords) > 1:
                out.append(np.asarray(line.coords))
    return out


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


def wrap(text: str, width_mm: float, size_pt: float, style: str = "") -> list[str]:
    """Greedy word wrap by the measured width of the text in its font."""
    prop = font(size_pt, style)
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if current and text_size_mm(trial, prop)[0] > width_mm:
            lines.append(current)
            current = word
        else:
            current = trial
    lines.append(current)
    return lines


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
    placer = Placer(p.width_mm, p.height_mm)
    to_mm = _ToPaper(d)
    area_lines = _draw_map(ax, d, tol, k)
    placer.take_lines([to_mm(line) for line in area_lines], width_mm=0.6)
    _draw_grid_and_graticule(page, ax, d, k, placer)
    step = _draw_points(page, ax, d, k, placer, to_mm)
    _draw_map_labels(page, d, tol, k, placer, to_mm)
    _draw_panel(page, d, tol, k, step)
    if d.is_draft:
        page.text(x0 + fw / 2, y0 + fh / 2, "BẢN NHÁP / DRAFT", 64 * k, "b", color=COLOURS["watermark"],
                  alpha=0.16, rotation=30, ha="center", va="center", zorder=50)
    return page.fig


class _ToPaper:
    """Ground metres (EPSG:9208) → paper millimetres from the lower-left corner of the page."""

    def __init__(self, d: SheetData):
        self.ex, self.ey = d.extent[0], d.extent[1]
        self.fx, self.fy = d.paper.frame_x0, d.paper.frame_y0
        self.f = 1000.0 / d.scale

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float)
        return np.column_stack([self.fx + (xy[:, 0] - self.ex) * self.f, self.fy + (xy[:, 1] - self.ey) * self.f])

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.fx + (x - self.ex) * self.f, self.fy + (y - self.ey) * self.f


def _draw_map(ax, d: SheetData, tol: float, k: float) -> list[np.ndarray]:
    """The drawing; returns the area's outline (ground metres) for the label placement."""
    ext = d.extent
    context = d.context or {}
    neighbours = context.get("neighbour-provinces")
    if neighbours is not None and len(neighbours):
        geoms = _prepare(neighbours.geometry.values, ext, tol)
        paths = [pth for pth in (polygon_path(g) for g in geoms) if pth is not None]
        ax.add_collection(PathCollection(paths, facecolors=COLOURS["neighbour_fill"], edgecolors=COLOURS["neighbour"],
                                         linewidths=0.5 * k, zorder=0.5), autolim=False)
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
    ax.add_collection(LineCollection(segs, colors=COLOURS["commune_edge"], linewidths=0.35 * k + 0.05,
                                     linestyles=(0, (3, 1.2)), zorder=3), autolim=False)
    rivers = _prepare(d.rivers.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in rivers for s in line_segments(g)], colors=COLOURS["river"],
                                     linewidths=1.1 * k, zorder=4), autolim=False)
    districts = _prepare(d.former_districts.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in districts for s in line_segments(g)], colors=COLOURS["district"],
                                     linewidths=1.3 * k, linestyles=(0, (6, 2, 1.5, 2)), zorder=5), autolim=False)
    province = _prepare(d.province.geometry.values, ext, tol)
    ax.add_collection(LineCollection([s for g in province for s in line_segments(g)], colors=COLOURS["province"],
                                     linewidths=1.6 * k, zorder=6), autolim=False)
    border = context.get("national-border")
    if border is not None and len(border):
        lines = [s for g in _prepare(border.geometry.values, ext, tol) for s in line_segments(g)]
        # The national-border symbol: a broad band with a dash-dot line on it.
        ax.add_collection(LineCollection(lines, colors=COLOURS["border_band"], linewidths=4.0 * k, zorder=6.2,
                                         capstyle="butt"), autolim=False)
        ax.add_collection(LineCollection(lines, colors=COLOURS["border"], linewidths=1.4 * k,
                                         linestyles=(0, (7, 2, 1.5, 2, 1.5, 2)), zorder=6.4), autolim=False)
    if area_path is not None:
        ax.add_patch(PathPatch(area_path, facecolor="none", edgecolor=COLOURS["area_edge"], linewidth=1.6 * k, zorder=7))
    return line_segments(area)


def _grid_values(lo: float, hi: float, step: float, edge_clear: float) -> list[int]:
    first = int(np.ceil((lo + edge_clear) / step))
    last = int(np.floor((hi - edge_clear) / step))
    return [v * int(step) for v in range(first, last + 1)]


def _place_text(page: _Page, placer: Placer, candidates, text: str, size: float, style: str = "", within=None,
                halo: bool = False, **kw):
    prop = font(size, style)
    w, h = text_size_mm(text, prop)
    hit = placer.place(candidates, w, h, within=within)
    if hit is None:
        return None
    (x, y, ha, va), box = hit
    if halo:
        kw["bbox"] = HALO
    page.text(x, y, text, size, style, ha=ha, va=va, **kw)
    return box


def _draw_grid_and_graticule(page: _Page, ax, d: SheetData, k: float, placer: Placer) -> None:
    """The VN-2000 kilometre grid (labels: coordinates of their lines, in metres) and the VN-2000
    graticule with its ticks and labels on the frame and the corner coordinates."""
    p, ext, s = d.paper, d.extent, d.scale
    x0, y0 = p.frame_x0, p.frame_y0
    x1, y1 = x0 + p.frame_w, y0 + p.frame_h
    size = GRID_PT
    # Corner coordinates first: they are fixed, everything on the frame gives way to them.
    to_geog = Transformer.from_crs(STORE_CRS, VN2000_GEOG, always_xy=True)
    colour = COLOURS["graticule"]
    for cx, cy, ex, ey in ((x0, y0, ext[0], ext[1]), (x1, y0, ext[2], ext[1]), (x0, y1, ext[0], ext[3]),
                           (x1, y1, ext[2], ext[3])):
        lon, lat = to_geog.transform(ex, ey)
        left, bottom = cx == x0, cy == y0
        lon_pos = (cx, cy - 1.0 if bottom else cy + 1.0, "right" if left else "left", "top" if bottom else "bottom")
        lat_pos = (cx - 1.0 if left else cx + 1.0, cy + 0.6 if bottom else cy - 0.6, "right" if left else "left",
                   "bottom" if bottom else "top")
        _place_text(page, placer, [lon_pos], layout.dms_seconds(lon), size, "i", color=colour)
        _place_text(page, placer, [lat_pos], layout.dms_seconds(lat), size, "i", color=colour)

    step = layout.grid_interval_m(s)
    clear = 8.0 * s / 1000.0  # grid labels keep 8 mm clear of the corners (the corner coordinates are there)
    eastings = _grid_values(ext[0], ext[2], step, clear)
    northings = _grid_values(ext[1], ext[3], step, clear)
    lines = [np.array([[e, ext[1]], [e, ext[3]]]) for e in eastings]
    lines += [np.array([[ext[0], n], [ext[2], n]]) for n in northings]
    ax.add_collection(LineCollection(lines, colors=COLOURS["grid"], linewidths=0.3, linestyles=(0, (1, 1.5)),
                                     zorder=2.5), autolim=False)
    for e in eastings:
        x = x0 + (e - ext[0]) * 1000.0 / s
        _place_text(page, placer, [(x, y0 - 1.0, "center", "top")], f"{e}", size)
        _place_text(page, placer, [(x, y1 + 1.0, "center", "bottom")], f"{e}", size)
    for n in northings:
        y = y0 + (n - ext[1]) * 1000.0 / s
        _place_text(page, placer, [(x0 - 1.0, y, "right", "center")], f"{n}", size)
        _place_text(page, placer, [(x1 + 1.0, y, "left", "center")], f"{n}", size)

    # Graticule: meridians and parallels of VN-2000, densified then projected, so they curve.
    minutes = d.graticule_minutes or layout.graticule_minutes(s)
    gstep = minutes / 60.0
    to_map = Transformer.from_crs(VN2000_GEOG, STORE_CRS, always_xy=True)
    lon0, lat0, lon1, lat1 = to_geog.transform_bounds(*ext, densify_pts=21)
    lons = np.arange(np.ceil(lon0 / gstep - 1e-9), np.floor(lon1 / gstep + 1e-9) + 1) * gstep
    lats = np.arange(np.ceil(lat0 / gstep - 1e-9), np.floor(lat1 / gstep + 1e-9) + 1) * gstep
    t = np.linspace(0.0, 1.0, 101)
    glines, ticks = [], []
    f = 1000.0 / s
    tick = 1.6
    row2 = 1.0 + size * 1.17 * PT_TO_MM + 0.8  # the second row, beyond the grid labels
    for lon in lons:
        x, y = to_map.transform(np.full_like(t, lon), lat0 + (lat1 - lat0) * t)
        glines.append(np.column_stack([x, y]))
        label = layout.dms(lon, minutes)
        for edge_y, sign, va in ((ext[1], -1, "top"), (ext[3], 1, "bottom")):
            xb = float(np.interp(edge_y, y, x))
            if not ext[0] < xb < ext[2]:
                continue
            px = x0 + (xb - ext[0]) * f
            py = y0 if sign < 0 else y1
            ticks.append([(px, py), (px, py + sign * tick)])
            _place_text(page, placer, [(px, py + sign * 1.0, "center", va), (px, py + sign * row2, "center", va)],
                        label, size, "i", color=colour)
    for lat in lats:
        x, y = to_map.transform(lon0 + (lon1 - lon0) * t, np.full_like(t, lat))
        glines.append(np.column_stack([x, y]))
        label = layout.dms(lat, minutes)
        for edge_x, sign, ha in ((ext[0], -1, "right"), (ext[2], 1, "left")):
            yb = float(np.interp(edge_x, x, y))
            if not ext[1] < yb < ext[3]:
                continue
            px = x0 if sign < 0 else x1
            py = y0 + (yb - ext[1]) * f
            ticks.append([(px, py), (px + sign * tick, py)])
            shifts = [0.0, 2.6, -2.6, 5.2, -5.2]
            _place_text(page, placer, [(px + sign * 1.0, py + dy, ha, "center") for dy in shifts], label, size, "i",
                        color=colour)
    ax.add_collection(LineCollection(glines, colors=colour, linewidths=0.45 * k, linestyles=(0, (4, 2)), zorder=8),
                      autolim=False)
    page.fig.add_artist(LineCollection(ticks, colors=colour, linewidths=0.6, transform=page.mm))
    # Axis names: X is the northing (the side labels), Y the easting (top and bottom), as in VN-2000 tables.
    _place_text(page, placer, [(x0 - 1.0, y1 - 4.0 - i, "right", "top") for i in range(0, 40)], "X (m)", size, "i")
    _place_text(page, placer, [(x1 - 2.0 - i, y0 - 1.0, "right", "top") for i in range(0, 80, 2)], "Y (m)", size, "i")


def _ring_normals(xy: np.ndarray) -> np.ndarray:
    """Outward unit normals at the vertices of a clockwise ring (the interior lies to the right)."""
    prev, nxt = np.roll(xy, 1, axis=0), np.roll(xy, -1, axis=0)
    tangent = nxt - prev
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    norm = np.hypot(normal[:, 0], normal[:, 1])
    norm[norm == 0] = 1.0
    return normal / norm[:, None]


def _draw_points(page: _Page, ax, d: SheetData, k: float, placer: Placer, to_mm: _ToPaper) -> int:
    """Hollow markers at every point; numbers with halos off the line and off each other. When
    they cannot all be placed, every N-th number is shown (N = 2, 3, 5, 10, …) and the panel says
    so; the annex lists every point. Returns N."""
    table = d.points.table
    if table.empty:
        return 1
    xy = to_mm(np.column_stack([table["y_east"].to_numpy(), table["x_north"].to_numpy()]))
    normals = np.zeros_like(xy)
    rings = table["ring"].to_numpy()
    for ring in np.unique(rings):
        sel = rings == ring
        normals[sel] = _ring_normals(xy[sel]) if sel.sum() > 2 else np.array([0.0, 1.0])
    radius = MARKER_MM * max(k, 0.85) / 2
    for px, py in xy:
        placer.take((px - radius, py - radius, px + radius, py + radius), pad=0.2)
    frame = (d.paper.frame_x0 + 0.5, d.paper.frame_y0 + 0.5, d.paper.frame_x0 + d.paper.frame_w - 0.5,
             d.paper.frame_y0 + d.paper.frame_h - 0.5)
    prop = font(POINT_PT, "b")
    numbers = table["no"].to_numpy()
    sizes = [text_size_mm(str(n), prop) for n in numbers]
    angles = np.radians([0, 35, -35, 70, -70, 105, -105, 145, -145, 180])
    chosen, placed = 1, []
    for step in POINT_STEPS:
        trial, placed = placer.copy(), []
        ok = True
        for i in range(0, len(numbers), step):
            (w, h), (px, py), (nx, ny) = sizes[i], xy[i], normals[i]
            candidates = []
            for dist in (radius + 0.5, radius + 2.2, radius + 4.0):
                for a in angles:
                    ux, uy = nx * np.cos(a) - ny * np.sin(a), nx * np.sin(a) + ny * np.cos(a)
                    reach = dist + abs(ux) * w / 2 + abs(uy) * h / 2
                    candidates.append((px + ux * reach, py + uy * reach, "center", "center"))
            hit = trial.place(candidates, w, h, within=frame)
            if hit is None:
                ok = False
                break
            placed.append((i, hit[0], hit[1]))
        if ok:
            chosen = step
            placer.taken = trial.taken
            break
    ax.scatter(table["y_east"].to_numpy(), table["x_north"].to_numpy(), s=(MARKER_MM * max(k, 0.85) / PT_TO_MM) ** 2,
               facecolors="white", edgecolors=COLOURS["point"], linewidths=0.8, zorder=9)
    leaders = []
    for i, (x, y, _, _), box in placed:
        px, py = xy[i]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if np.hypot(cx - px, cy - py) > radius + 2.0 + max(box[2] - box[0], box[3] - box[1]) / 2:
            leaders.append([(px, py), (cx, cy)])
        page.text(x, y, str(numbers[i]), POINT_PT, "b", ha="center", va="center", color=COLOURS["point"], bbox=HALO,
                  zorder=13)
    if leaders:
        page.fig.add_artist(LineCollection(leaders, colors=COLOURS["point"], linewidths=0.35, transform=page.mm,
                                           zorder=12))
    return chosen


def _draw_map_labels(page: _Page, d: SheetData, tol: float, k: float, placer: Placer, to_mm: _ToPaper) -> None:
    """Names of the former districts, the 2025 communes, neighbouring provinces, the country
    beyond the border and towns, each placed where it overlaps no other label."""
    ext = d.extent
    p = d.paper
    frame = (p.frame_x0 + 0.8, p.frame_y0 + 0.8, p.frame_x0 + p.frame_w - 0.8, p.frame_y0 + p.frame_h - 0.8)
    frame_box = shapely.box(*ext)
    context = d.context or {}

    def spots(geom, w, h):
        pt = geom.representative_point()
        cx, cy = to_mm.point(pt.x, pt.y)
        c = shapely.centroid(geom)
        gx, gy = to_mm.point(c.x, c.y)
        out = []
        for bx, by in ((cx, cy), (gx, gy)):
            for dx, dy in ((0, 0), (0, h * 1.2), (0, -h * 1.2), (w * 0.6, 0), (-w * 0.6, 0), (0, h * 2.4),
                           (0, -h * 2.4), (w * 0.6, h * 1.2), (-w * 0.6, -h * 1.2)):
                out.append((bx + dx, by + dy, "center", "center"))
        return out

    border = context.get("national-border")
    if border is not None and len(border):
        # "TRUNG QUỐC" beyond the border: on the far side of the province from its interior.
        china_side = shapely.difference(frame_box, shapely.buffer(d.province.geometry.iloc[0], 500))
        china_side = shapely.difference(china_side, shapely.union_all(context["neighbour-provinces"].geometry.values)) \
            if context.get("neighbour-provinces") is not None else china_side
        parts = sorted(shapely.get_parts(china_side), key=lambda g: -g.area)
        near = shapely.union_all(border.geometry.values)
        parts = [g for g in parts if g.distance(near) < 2000 and g.area > (15 * d.scale / 1000.0) ** 2]
        if parts:
            prop = font(COUNTRY_PT, "b")
            w, h = text_size_mm("TRUNG QUỐC", prop)
            _place_text(page, placer, spots(parts[0], w, h), "TRUNG QUỐC", COUNTRY_PT, "b", within=frame,
                        color=COLOURS["border"])
    neighbours = context.get("neighbour-provinces")
    if neighbours is not None:
        for geom, name in zip(neighbours.geometry.values, neighbours["full_name"].values):
            inside = shapely.intersection(geom, frame_box)
            if inside.is_empty or inside.area < (12 * d.scale / 1000.0) ** 2:
                continue
            label = f"TỈNH {str(name).upper().removeprefix('TỈNH ')}"
            w, h = text_size_mm(label, font(NEIGHBOUR_PT))
            _place_text(page, placer, spots(inside, w, h), label, NEIGHBOUR_PT, within=frame, color=COLOURS["neighbour"])
    for geom, label in zip(d.former_districts.geometry.values, d.former_districts["label"].values):
        inside = shapely.intersection(geom, frame_box)
        if inside.is_empty or inside.area < (25 * d.scale / 1000.0) ** 2:
            continue
        w, h = text_size_mm(label, font(DISTRICT_PT, "b"))
        _place_text(page, placer, spots(inside, w, h), label, DISTRICT_PT, "b", within=frame, halo=True,
                    color=COLOURS["district"], zorder=11)
    min_area = (14.0 * d.scale / 1000.0) ** 2
    communes = d.communes
    hits = communes.sindex.query(frame_box, predicate="intersects")
    for idx in sorted(hits):
        geom, name = communes.geometry.iat[idx], communes["full_name"].iat[idx]
        inside = shapely.intersection(geom, frame_box)
        if inside.area < min_area:
            continue
        w, h = text_size_mm(name, font(COMMUNE_PT))
        _place_text(page, placer, spots(inside, w, h), name, COMMUNE_PT, within=frame, halo=True,
                    color=COLOURS["label"], zorder=10)
    towns = context.get("towns")
    if towns is not None:
        for geom, name in zip(towns.geometry.values, towns["name"].values):
            if not frame_box.contains(geom):
                continue
            px, py = to_mm.point(geom.x, geom.y)
            if not placer.free((px - 0.8, py - 0.8, px + 0.8, py + 0.8), pad=0.1):
                continue
            w, h = text_size_mm(str(name), font(TOWN_PT, "i"))
            box = _place_text(page, placer, [(px + 1.4, py, "left", "center"), (px - 1.4, py, "right", "center"),
                                             (px, py + 1.4, "center", "bottom"), (px, py - 1.4, "center", "top")],
                              str(name), TOWN_PT, "i", within=frame, halo=True, color=COLOURS["text"], zorder=10)
            if box is not None:
                placer.take((px - 0.8, py - 0.8, px + 0.8, py + 0.8))
                page.fig.add_artist(Line2D([px], [py], transform=page.mm, marker="s", markersize=3.0,
                                           markerfacecolor=COLOURS["text"], markeredgecolor="white",
                                           markeredgewidth=0.5, linestyle="none", zorder=10))


# --- the side panel ---------------------------------------------------------------------------

class _Column:
    """A column of the panel: text flows down from ``y``."""

    def __init__(self, page: _Page | None, x: float, w: float, y: float, k: float):
        # page None: a dry run that only measures how far the text would reach.
        self.page, self.x, self.w, self.y, self.k = page, x, w, y, k

    def lines(self, text, size, style="", centre=False, colour=None, gap=1.35):
        size = max(size, MIN_PT)
        for line in wrap(text, self.w, size, style):
            if self.page is not None:
                self.page.text(self.x + self.w / 2 if centre else self.x, self.y, line, size, style,
                               ha="center" if centre else "left", va="top", color=colour or COLOURS["text"])
            self.y -= size * PT_TO_MM * gap

    def skip(self, mm):
        self.y -= mm


def _draw_panel(page: _Page, d: SheetData, tol: float, k: float, step: int) -> None:
    p = d.paper
    page.rect(p.panel_x0, p.panel_y0, p.panel_w, p.panel_y1 - p.panel_y0, linewidth=0.8)
    pad = 3 * k
    top = p.panel_y1 - 4 * k
    if p.orientation == "landscape":
        col = _Column(page, p.panel_x0 + pad, p.panel_w - 2 * pad, top, k)
        _title(col, d)
        _scale(page, col, d)
        blocks_h = BLOCKS_MM * k
        # Measure first: the legend goes in two columns when one would push the statements into
        # the signature blocks.
        dry = _Column(None, col.x, col.w, col.y, k)
        _legend(None, dry, d, step)
        _statements(dry, d)
        columns = 1 if dry.y >= p.panel_y0 + 2 * k + blocks_h + 2 * k else 2
        _legend(page, col, d, step, columns)
        _statements(col, d)
        # The locator takes what room is left between the statements and the signature blocks.
        room = col.y - (p.panel_y0 + 2 * k + blocks_h) - 6 * k
        if room >= 12 * k:
            _locator_section(page, col, d, min(room, 40 * k))
        _blocks(page, d, p.panel_x0 + pad, p.panel_y0 + 2 * k, p.panel_w - 2 * pad, blocks_h)
        return
    # Portrait: the panel runs along the foot in four columns, the signature blocks in the last.
    width = (p.panel_w - 5 * pad) / 4
    cols = [_Column(page, p.panel_x0 + pad + i * (width + pad), width, top, k) for i in range(4)]
    _title(cols[0], d)
    _scale(page, cols[0], d)
    _legend(page, cols[1], d, step)
    _statements(cols[2], d)
    room = cols[1].y - p.panel_y0 - 6 * k
    if room >= 14 * k:
        _locator_section(page, cols[1], d, min(room, 36 * k))
    _blocks(page, d, cols[3].x, p.panel_y0 + 2 * k, width, top - p.panel_y0 - 2 * k)


def _title(col: _Column, d: SheetData) -> None:
    k = col.k
    product = d.product
    col.lines("BẢN ĐỒ KHU VỰC ĐỊA LÝ", 12.5 * k, "b", centre=True)
    col.lines("Map of the geographical area", 7.5 * k, "i", centre=True)
    col.skip(1.5 * k)
    col.lines(product.name["vi"].upper(), 11.5 * k, "b", centre=True, colour=COLOURS["area_edge"])
    col.lines(product.name["en"], 7.5 * k, "i", centre=True)
    col.skip(1.0 * k)
    if product.mark_text:
        col.lines(product.mark_text.get("vi", ""), 7.2 * k, centre=True)
        col.lines(product.mark_text.get("en", ""), 6.2 * k, "i", centre=True)
    owner = d.owner or {}
    col.lines(f"Chủ sở hữu nhãn hiệu / mark owner: {owner.get('vi') or 'chưa xác định / not yet named'}"
              + (f" ({owner['en']})" if owner.get("en") else ""), 6.4 * k, centre=True)
    applicant = d.applicant or {}
    if applicant and applicant != owner:
        col.lines(f"Tổ chức nộp đơn / applicant: {applicant.get('vi', '')}", 6.4 * k, centre=True)
    col.lines("Tỉnh Lào Cai / Lào Cai province", 8 * k, "b", centre=True)
    note = d.product.area.note or {}
    if note.get("vi"):
        col.skip(0.8 * k)
        col.lines(note["vi"], 6 * k, centre=True)
        col.lines(note.get("en", ""), 6 * k, "i", centre=True)
    col.skip(1.5 * k)


def _scale(page: _Page, col: _Column, d: SheetData) -> None:
    k = col.k
    col.lines(f"Tỉ lệ 1:{layout.fmt_int(d.scale)}", 11 * k, "b", centre=True)
    col.lines(f"Scale 1:{layout.fmt_int(d.scale)}", 6.5 * k, "i", centre=True)
    col.skip(0.5 * k)
    # Scale bar in its own axes, on the same true scale as the map, beside the north arrow.
    bar_w, bar_h = min(62.0 * k, col.w - 14), 9.0 * k
    y = col.y
    sb_ax = page.axes_mm(col.x, y - bar_h, bar_w, bar_h)
    sb_ax.set_xlim(0, bar_w * d.scale / 1000.0)
    sb_ax.set_ylim(0, bar_h * d.scale / 1000.0)
    sb_ax.set_axis_off()
    sb_ax.set_aspect("equal")
    bar_m = _scalebar_length(d.scale, bar_w * 0.85)
    sb_ax.add_artist(ScaleBar(1.0, "m", dimension="si-length", fixed_value=bar_m, fixed_units="m", location="center",
                              frameon=False, color=COLOURS["text"], length_fraction=None, width_fraction=0.09,
                              scale_loc="top", scale_formatter=lambda v, u: _scalebar_label(bar_m),
                              font_properties={"fname": str(_FONT_DIR / _FONT_FILES[""]), "size": max(6.5 * k, MIN_PT)}))
    _north_arrow(page, col.x + col.w - 8 * k, y - bar_h + 1 * k, k, d)
    col.skip(bar_h + 5.5 * k)


def _legend_entries(d: SheetData, step: int) -> list[tuple[str, str, str]]:
    point_vi = "Điểm ranh giới (số hiệu, xem Phụ lục 2)"
    point_en = "Boundary point (no., Annex 2)"
    if step > 1:
        point_vi = f"Điểm ranh giới; ghi số mỗi {step} điểm (đủ ở Phụ lục 2)"
        point_en = f"Boundary point; 1 in {step} numbered (all in Annex 2)"
    entries = [
        ("patch", "Khu vực sản xuất (vùng địa lý)", "Production area"),
        ("point", point_vi, point_en),
        ("line:commune", "Ranh giới xã, phường 2025", "2025 commune boundary"),
        ("line:district", "Ranh giới huyện (cũ), theo các xã 2025", "Former district, as the 2025 communes make it"),
        ("line:province", "Ranh giới tỉnh", "Province boundary"),
    ]
    context = d.context or {}
    frame = shapely.box(*d.extent)

    def shown(layer_id: str) -> bool:  # a context layer has a legend entry only when it is on the map
        frame_ = context.get(layer_id)
        return frame_ is not None and bool(shapely.intersects(frame_.geometry.values, frame).any())

    if shown("national-border"):
        entries.append(("line:border", "Biên giới quốc gia", "National border"))
    if shown("neighbour-provinces"):
        entries.append(("patch:neighbour", "Tỉnh lân cận", "Neighbouring province"))
    if shown("towns"):
        entries.append(("town", "Đô thị, điểm dân cư", "Town"))
    entries += [
        ("line:river", "Sông", "River"),
        ("line:grid", f"Lưới tọa độ VN-2000, {layout.fmt_int(layout.grid_interval_m(d.scale))} m", "VN-2000 grid"),
        ("line:graticule", "Lưới kinh vĩ độ VN-2000", "VN-2000 graticule"),
    ]
    return entries


def _legend(page: _Page | None, col: _Column, d: SheetData, step: int, columns: int = 1) -> None:
    """The legend, in one column or two (when the panel is short of room); ``page`` None measures."""
    k = col.k
    col.lines("CHÚ GIẢI / LEGEND", 7.5 * k, "b")
    col.skip(0.5 * k)
    entries = _legend_entries(d, step)
    size = max(6.3 * k, MIN_PT)
    line_h = size * PT_TO_MM * 1.2
    gap = 2.0
    sub_w = (col.w - gap * (columns - 1)) / columns
    text_w = sub_w - 10.5 * k
    per_column = -(-len(entries) // columns)
    top, lowest = col.y, col.y
    for c in range(columns):
        x, y = col.x + c * (sub_w + gap), top
        for kind, vi, en in entries[c * per_column:(c + 1) * per_column]:
            # One line when the Vietnamese and English fit side by side, else two.
            both = f"{vi} / {en}"
            one_line = text_size_mm(both, font(size))[0] <= text_w
            vi_lines = [both] if one_line else wrap(vi, text_w, size)
            en_lines = [] if one_line else wrap(en, text_w, MIN_PT, "i")
            row = line_h * (len(vi_lines) + len(en_lines)) + 0.4
            if page is not None:
                _legend_symbol(page, kind, x, y - min(row, 2 * line_h) / 2, 8 * k, 3.2 * k, k)
                yy = y
                for text in vi_lines:
                    page.text(x + 10.5 * k, yy, text, size, va="top")
                    yy -= line_h
                for text in en_lines:
                    page.text(x + 10.5 * k, yy, text, MIN_PT, "i", va="top", color=COLOURS["label"])
                    yy -= line_h
            y -= row + 0.5 * k
        lowest = min(lowest, y)
    col.y = lowest
    col.skip(1.5 * k)


def _locator_section(page: _Page, col: _Column, d: SheetData, loc_h: float | None = None) -> None:
    k = col.k
    loc_h = loc_h or 36.0 * k
    col.lines("Vị trí trong tỉnh / Location in the province", 6.3 * k, "b")
    _locator(page, d, col.x, col.y - loc_h, col.w, loc_h)
    col.skip(loc_h + 2.0 * k)


def _statements(col: _Column, d: SheetData) -> None:
    k = col.k
    col.lines("Hệ tọa độ VN-2000, kinh tuyến trục 104°45', múi chiếu 3° (EPSG:9208)", 6.3 * k, "b")
    gam = Proj(STORE_CRS).get_factors(*Transformer.from_crs(STORE_CRS, "EPSG:4756", always_xy=True).transform(
        (d.extent[0] + d.extent[2]) / 2, (d.extent[1] + d.extent[3]) / 2)).meridian_convergence
    minutes = d.graticule_minutes or layout.graticule_minutes(d.scale)
    col.lines(f"Lưới {layout.fmt_int(layout.grid_interval_m(d.scale))} m (X bắc, Y đông / X north, Y east); kinh vĩ "
              f"tuyến mỗi {layout.dms(minutes / 60, minutes)}; hội tụ kinh tuyến / convergence {layout.angle_text(gam)}",
              6 * k)
    col.lines(f"Diện tích / area: {layout.fmt_dec(d.area_ha)} ha · chu vi / perimeter: "
              f"{layout.fmt_dec(d.perimeter_m, 0)} m", 6.3 * k, "b")
    if d.notes:
        col.lines("Đã bỏ lỗ/mảnh < 1 m² (xem Phụ lục 2) / slivers under 1 m² removed (Annex 2)", 6 * k)
    col.lines(LEGAL_BASIS, 6 * k)
    col.lines("Nguồn / sources: " + "; ".join(d.sources), 6 * k)
    col.lines(f"Ngày lập / date: {d.date_vi} · {d.dossier_id}", 6 * k)
    col.lines(f"sha256 gói / package {d.package_hash[:12]} · ranh giới / boundary {(d.boundary_sha256 or '')[:12]}",
              6 * k)
    status = "Bản nháp / Draft" if d.is_draft else "Bản trình xác nhận / For confirmation"
    col.lines(f"Trạng thái / status: {status}", 6 * k, "b", colour=COLOURS["watermark"] if d.is_draft else None)


def _blocks(page: _Page, d: SheetData, x: float, y: float, w: float, h: float) -> None:
    """Two blocks side by side (stacked when narrow): the producing agency, and the People's
    Committee with "TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH", as on the province's decisions;
    each with room for signature and seal."""
    k = d.paper.k
    side_by_side = w > 70
    bw = (w - 2 * k) / 2 if side_by_side else w
    bh = h if side_by_side else (h - 2 * k) / 2
    agency_upper = d.agency.upper()
    governing_upper = d.governing.upper()
    blocks = (
        [("ĐƠN VỊ THÀNH LẬP", "b"), ("Producing agency", "i"), (agency_upper, "b"), ("GIÁM ĐỐC / director", ""),
         ("(Ký, ghi rõ họ tên, đóng dấu)", "i"), ("(signature, name, seal)", "i")],
        [("XÁC NHẬN CỦA " + governing_upper, "b"), ("Confirmation by the People's Committee", "i"),
         ("Lào Cai, ngày ..... tháng ..... năm ........", "i"), ("TM. ỦY BAN NHÂN DÂN", "b"), ("KT. CHỦ TỊCH", "b"),
         ("PHÓ CHỦ TỊCH", "b"), ("(Ký, ghi rõ họ tên, đóng dấu)", "i"), ("(signature, name, seal)", "i")],
    )
    for i, lines in enumerate(blocks):
        bx = x + i * (bw + 2 * k) if side_by_side else x
        by = y if side_by_side else y + (1 - i) * (bh + 2 * k)
        page.rect(bx, by, bw, bh, linewidth=0.6)
        yy = by + bh - 2.0 * k
        for text, style in lines:
            size = MIN_PT if style == "i" else 6.4
            for line in wrap(text, bw - 2, size, style):
                page.text(bx + bw / 2, yy, line, size, style, ha="center", va="top")
                yy -= size * PT_TO_MM * 1.3
            if text.startswith("PHÓ CHỦ TỊCH") or text.startswith("GIÁM ĐỐC"):
                yy -= 1.0  # the signature and the seal go below the title, before the name


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
    page.text(x, y - 0.5 * k, "Bắc lưới / grid north", MIN_PT, "i", ha="center", va="top")


def _legend_symbol(page: _Page, kind: str, x: float, yc: float, w: float, h: float, k: float) -> None:
    if kind.startswith("patch"):
        fill, edge, lw, alpha = ((COLOURS["neighbour_fill"], COLOURS["neighbour"], 0.5 * k, 1.0) if kind == "patch:neighbour"
                                 else (COLOURS["area_fill"], COLOURS["area_edge"], 1.6 * k, 0.28))
        page.rect(x, yc - h / 2, w, h, fill=True, facecolor=fill, alpha=alpha, linewidth=0)
        page.rect(x, yc - h / 2, w, h, edgecolor=edge, linewidth=lw)
        return
    if kind == "point":
        page.fig.add_artist(Line2D([x, x + w], [yc, yc], transform=page.mm, color=COLOURS["area_edge"],
                                   linewidth=1.6 * k))
        page.fig.add_artist(Line2D([x + w / 2], [yc], transform=page.mm, marker="o",
                                   markersize=MARKER_MM * max(k, 0.85) / PT_TO_MM, markerfacecolor="white",
                                   markeredgecolor=COLOURS["point"], markeredgewidth=0.8, linestyle="none"))
        return
    if kind == "town":
        page.fig.add_artist(Line2D([x + w / 2], [yc], transform=page.mm, marker="s", markersize=3.0,
                                   markerfacecolor=COLOURS["text"], markeredgecolor="white", linestyle="none"))
        return
    if kind == "line:border":
        page.fig.add_artist(Line2D([x, x + w], [yc, yc], transform=page.mm, color=COLOURS["border_band"],
                                   linewidth=4.0 * k, solid_capstyle="butt"))
        page.fig.add_artist(Line2D([x, x + w], [yc, yc], transform=page.mm, color=COLOURS["border"], linewidth=1.4 * k,
                                   linestyle=(0, (7, 2, 1.5, 2, 1.5, 2))))
        return
    style = {
        "line:commune": dict(color=COLOURS["commune_edge"], linewidth=0.35 * k + 0.05, linestyle=(0, (3, 1.2))),
        "line:district": dict(color=COLOURS["district"], linewidth=1.3 * k, linestyle=(0, (6, 2, 1.5, 2))),
        "line:province": dict(color=COLOURS["province"], linewidth=1.6 * k),
        "line:river": dict(color=COLOURS["river"], linewidth=1.1 * k),
        "line:grid": dict(color=COLOURS["grid"], linewidth=0.3, linestyle=(0, (1, 1.5))),
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
