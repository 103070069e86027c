"""Which CRS do these coordinates use? Decided from where they fall against the province.

Field data comes as VN-2000 X/Y without a .prj, with a wrong one, or with the axes swapped
(VN-2000, QĐ 83/2000/QĐ-TTg; Lào Cai's provincial meridian 104°45'). Each hypothesis is projected into EPSG:9208 and scored by the share of points that
fall inside the province (buffered, because the published outline is generalised). The magnitudes
separate lon/lat from metres and northing from easting without doubt. What the province alone can NOT
separate is TM-3 (k 0.9999, EPSG:9208) from the 6° variant (k 0.9996) on the same meridian: they
differ by 0.03 % of the distance from the origin, ~0.7 km in northing here, which leaves almost every
point inside the province under both. For polygons the 2025 commune boundaries decide: most
production areas follow them, and only the right variant puts the vertices on them; when neither
does clearly, :class:`CrsTie` asks the user. For points EPSG:9208 is assumed (the provincial system
for large-scale work) and the caller is told so and can pass ``crs=``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.crs.coordinate_system import Cartesian2DCS
from shapely.geometry import box

from geo_app import STORE_CRS
from geo_app.errors import InputError
from geo_app.importers.text import num_vi

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
VN2000_GEOGRAPHIC = "EPSG:4756"

#: VN-2000 with the 6° projection (k 0.9996) on the provincial meridian 104°45', used by
#: administrative maps. EPSG has no code for it, so it is built on the EPSG:4756 datum; PROJ then
#: picks the VN-2000 → WGS 84 transformation itself (no hand-written +towgs84).
VN2000_6DEG = ProjectedCRS(
    name="VN-2000 / 6-degree 104-45 (k=0.9996)",
    conversion=TransverseMercatorConversion(
        latitude_natural_origin=0,
        longitude_natural_origin=104.75,
        scale_factor_natural_origin=0.9996,
        false_easting=500000,
        false_northing=0,
    ),
    geodetic_crs=CRS.from_epsg(4756),
    cartesian_cs=Cartesian2DCS(),
)
VN2000_6DEG_LABEL = "VN-2000 6° 104°45' (k=0.9996)"

#: Used only when no layer store is built: the extent of the 2025 province (NQ 202/2025/QH15) in
#: WGS 84, measured on the store built from the pinned sources (103.531, 21.326, 105.100, 22.845)
#: and rounded outward by ~2 km.
LAO_CAI_BBOX_WGS84 = (103.51, 21.30, 105.12, 22.87)
#: Points this close outside the province outline still count as inside: the outline is generalised
#: (its symmetric difference with the communes is 129 km², README) and boundary vertices sit on it.
EDGE_TOLERANCE_M = 2000.0
#: "Near the province" for data that is plausible but lies outside it (a neighbouring province).
REGION_MARGIN_M = 100_000.0
#: Below this share of points inside, a declared CRS is doubted.
INSIDE_ENOUGH = 0.5
#: Shares of points inside closer than this are "the same" when comparing TM-3 with the 6° variant.
SAME_SHARE = 0.02


class CrsUndetermined(InputError):
    """No hypothesis puts the coordinates in or near the province.

    ``vi`` / ``en``: the coordinate ranges, written for each language."""

    def __init__(self, en: str, vi: str | None = None):
        self.en, self.vi = en, vi if vi is not None else en
        super().__init__(en)


class CrsTie(InputError):
    """Two candidate CRSs fit the coordinates equally well: the user must say which (never a silent
    default). ``vi`` / ``en``: the evidence, written for each language."""

    def __init__(self, en: str, vi: str):
        self.en, self.vi = en, vi
        super().__init__(en)


class CrsInvalid(InputError):
    """A ``crs=`` the caller gave that names no usable horizontal CRS."""

    def __init__(self, given, detail: str, readable: bool = False):
        #: readable: pyproj read it, but it is not a horizontal CRS (e.g. a vertical datum)
        self.given, self.detail, self.readable = given, detail, readable
        super().__init__(f"{given!r}: {detail}")


#: Names accepted for ``crs=`` besides anything pyproj reads (EPSG:xxxx, WKT, PROJ strings).
#: Keys are compared in upper case with spaces and hyphens turned into underscores.
CRS_NAMES = {
    "VN2000_6DEG": "6deg", "VN2000_6": "6deg", "VN2000_MUI6": "6deg",
    "VN2000_TM3": STORE_CRS, "VN2000_3DEG": STORE_CRS, "VN2000_MUI3": STORE_CRS, "VN2000_104_45": STORE_CRS,
    "WGS84": WGS84, "WGS_84": WGS84,
}
ACCEPTED_CRS_VI = ("VN2000_TM3 (= EPSG:9208, VN-2000 TM-3 104°45', k=0,9999), VN2000_6DEG (VN-2000 múi 6° "
                   "104°45', k=0,9996), WGS84 (= EPSG:4326), EPSG:4756 (VN-2000 địa lý), hoặc một mã EPSG, "
                   "chuỗi WKT hay PROJ khác của hệ tọa độ phẳng hoặc địa lý")
ACCEPTED_CRS_EN = ("VN2000_TM3 (= EPSG:9208, VN-2000 TM-3 104°45', k=0.9999), VN2000_6DEG (VN-2000 6° "
                   "104°45', k=0.9996), WGS84 (= EPSG:4326), EPSG:4756 (geographic VN-2000), or any other "
                   "EPSG code, WKT or PROJ string of a projected or geographic CRS")


def parse_crs(value) -> CRS:
    """The caller's ``crs=`` as a pyproj CRS: a CRS object, one of :data:`CRS_NAMES`, an EPSG code
    (``9208``, ``"EPSG:9208"``), WKT or a PROJ string. Raises :class:`CrsInvalid` otherwise."""
    if isinstance(value, CRS):
        crs = value
    else:
        text = str(value).strip()
        key = text.upper().replace(" ", "_").replace("-", "_")
        named = CRS_NAMES.get(key) or CRS_NAMES.get(key.replace("VN_2000", "VN2000"))
        if named == "6deg":
            return VN2000_6DEG
        if named is not None:
            text = named
        elif text.isdigit():
            text = f"EPSG:{text}"
        if not text:
            raise CrsInvalid(value, "empty")
        try:
            crs = CRS.from_user_input(text)
        except Exception as exc:  # pyproj.exceptions.CRSError and friends
            raise CrsInvalid(value, str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__) from None
    horizontal = crs.source_crs if crs.is_bound else crs
    if horizontal is not None and horizontal.is_compound:
        horizontal = next((c for c in horizontal.sub_crs_list if c.is_projected or c.is_geographic), None)
    if horizontal is None or not (horizontal.is_projected or horizontal.is_geographic):
        raise CrsInvalid(value, f"'{crs.name}' is not a projected or geographic (horizontal) CRS", readable=True)
    return crs


@dataclass(frozen=True)
class CrsDecision:
    crs: CRS
    label: str
    swapped: bool
    reason_vi: str
    reason_en: str
    ambiguous: bool = False
    inside_share: float = 1.0

    @property
    def reason(self) -> str:
        return f"{self.reason_vi} / {self.reason_en}"


def crs_label(crs: CRS | str) -> str:
    crs = CRS.from_user_input(crs)
    if crs == VN2000_6DEG or _same_tm(crs, 0.9996):
        return VN2000_6DEG_LABEL
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def _tm_params(crs: CRS) -> dict | None:
    if crs.is_bound:  # a .prj with TOWGS84: judge the projection underneath
        crs = crs.source_crs
    if not crs.is_projected or crs.coordinate_operation is None:
        return None
    if "transverse mercator" not in crs.coordinate_operation.method_name.lower():
        return None
    params = {p.name.lower(): p.value for p in crs.coordinate_operation.params}
    return {
        "lon_0": params.get("longitude of natural origin"),
        "lat_0": params.get("latitude of natural origin", 0.0),
        "k": params.get("scale factor at natural origin"),
        "x_0": params.get("false easting"),
        "y_0": params.get("false northing"),
    }


def _same_tm(crs: CRS, k: float) -> bool:
    p = _tm_params(crs)
    if not p or None in p.values():
        return False
    return (
        math.isclose(p["lon_0"], 104.75, abs_tol=1e-6)
        and math.isclose(p["lat_0"], 0.0, abs_tol=1e-9)
        and math.isclose(p["k"], k, abs_tol=1e-7)
        and math.isclose(p["x_0"], 500000, abs_tol=1e-3)
        and math.isclose(p["y_0"], 0, abs_tol=1e-3)
    )


def canonical(crs: CRS | str) -> tuple[CRS, str | None]:
    """Replace a declared CRS that describes one of ours by our own definition.

    A .prj written by other software for the Lào Cai meridian often names the datum differently or
    carries a TOWGS84 clause; either way the meridian 104°45' with false easting 500 km only exists in
    VN-2000, so the EPSG definition is used and PROJ chooses the datum transformation.
    Returns the CRS and a note (vi / en) when something was replaced.
    """
    crs = CRS.from_user_input(crs)
    if crs.to_epsg() == 9208:
        return CRS.from_user_input(STORE_CRS), None
    if crs == VN2000_6DEG:
        return VN2000_6DEG, None
    for k, target, label in ((0.9999, CRS.from_user_input(STORE_CRS), STORE_CRS), (0.9996, VN2000_6DEG, VN2000_6DEG_LABEL)):
        if _same_tm(crs, k):
            return target, (
                f"tệp .prj mô tả VN-2000 kinh tuyến trục 104°45' (k={num_vi(k)}); dùng định nghĩa chuẩn {label} "
                f"(bỏ qua tên datum và tham số TOWGS84 nếu có)",
                f"the .prj describes VN-2000 meridian 104°45' (k={k}); using the standard definition {label} "
                f"(its datum name and any TOWGS84 ignored)",
            )
    return crs, None


@lru_cache(maxsize=16)
def _to_store(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(crs_wkt), STORE_CRS, always_xy=True)


def transformer_to_store(crs: CRS) -> Transformer:
    return _to_store(crs.to_wkt())


def province_region() -> tuple[shapely.Geometry, str]:
    """The province in EPSG:9208, buffered by the edge tolerance, and where it came from."""
    try:
        from geo_app.settings import settings

        path = settings().store_path
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if stamp is not None:
            return _province_from_store(str(path), stamp), "store"
    except Exception as exc:  # no store, or a store without the layer: fall back, and say so in the log
        log.info("province extent from the fixed bbox: %s", exc)
    return _province_from_bbox(), "bbox"


@lru_cache(maxsize=4)
def _province_from_store(path: str, stamp: int) -> shapely.Geometry:
    from geo_app import layers

    province = layers.read("province")
    geom = shapely.union_all(province.geometry.values).buffer(EDGE_TOLERANCE_M)
    shapely.prepare(geom)
    return geom


def _store_stamp() -> tuple[str, int] | None:
    try:
        from geo_app.settings import settings

        path = settings().store_path
        return (str(path), path.stat().st_mtime_ns) if path.exists() else None
    except Exception as exc:  # no settings or no store: the callers fall back, and say so
        log.info("no layer store: %s", exc)
        return None


def province_outline() -> shapely.Geometry | None:
    """The 2025 province in EPSG:9208 (not buffered), or None without a layer store."""
    stamp = _store_stamp()
    return _outline_from_store(*stamp) if stamp else None


@lru_cache(maxsize=4)
def _outline_from_store(path: str, stamp: int) -> shapely.Geometry:
    from geo_app import layers

    geom = shapely.union_all(layers.read("province").geometry.values)
    shapely.prepare(geom)
    return geom


#: A vertex within this distance (m) of a 2025 commune boundary "follows" it. The TM-3 and 6°
#: variants put the same numbers ~0.7 km apart, so the right one leaves boundary vertices metres
#: from the commune edges and the wrong one hundreds of metres.
EDGE_MATCH_M = 25.0
#: The commune-edge evidence is clear when the better candidate has at least this share of vertices
#: on commune edges and beats the other by at least ``EDGE_LEAD``.
EDGE_ENOUGH = 0.2
EDGE_LEAD = 0.15
_EDGE_PIECE = 64  # vertices per indexed piece of the commune boundaries


@lru_cache(maxsize=4)
def _commune_edges(path: str, stamp: int):
    """An STRtree over short pieces of the 2025 commune boundaries (EPSG:9208)."""
    from geo_app import layers

    rings = shapely.get_rings(shapely.get_parts(layers.read("communes").geometry.values))
    pieces = []
    for ring in rings:
        coords = shapely.get_coordinates(ring)
        for start in range(0, len(coords) - 1, _EDGE_PIECE):
            pieces.append(shapely.linestrings(coords[start:start + _EDGE_PIECE + 1]))
    return shapely.STRtree(pieces)


def _edge_share(crs: CRS, x: np.ndarray, y: np.ndarray, swapped: bool) -> float | None:
    """The share of vertices within ``EDGE_MATCH_M`` of a 2025 commune boundary under this CRS."""
    stamp = _store_stamp()
    if stamp is None:
        return None
    try:
        tree = _commune_edges(*stamp)
    except Exception as exc:  # a store without communes: no edge evidence
        log.info("no commune edges: %s", exc)
        return None
    xs, ys = (y, x) if swapped else (x, y)
    if len(xs) > 500:
        idx = np.linspace(0, len(xs) - 1, 500).astype(int)
        xs, ys = xs[idx], ys[idx]
    with np.errstate(all="ignore"):
        ex, ny = transformer_to_store(crs).transform(xs, ys, errcheck=False)
    ex, ny = np.asarray(ex, float), np.asarray(ny, float)
    ok = np.isfinite(ex) & np.isfinite(ny)
    if not ok.any():
        return 0.0
    points = shapely.points(ex[ok], ny[ok])
    hits = tree.query(points, predicate="dwithin", distance=EDGE_MATCH_M)
    return float(len(np.unique(hits[0])) / len(ex))


@lru_cache(maxsize=1)
def _province_from_bbox() -> shapely.Geometry:
    t = Transformer.from_crs(WGS84, STORE_CRS, always_xy=True)
    geom = box(*t.transform_bounds(*LAO_CAI_BBOX_WGS84, densify_pts=21))
    shapely.prepare(geom)
    return geom


def _shares(crs: CRS, x: np.ndarray, y: np.ndarray, swapped: bool, region, wide) -> tuple[float, float]:
    xs, ys = (y, x) if swapped else (x, y)
    with np.errstate(all="ignore"):
        ex, ny = transformer_to_store(crs).transform(xs, ys, errcheck=False)
    ex, ny = np.asarray(ex, float), np.asarray(ny, float)
    ok = np.isfinite(ex) & np.isfinite(ny)
    if not ok.any():
        return 0.0, 0.0
    inside = np.zeros(len(ex), bool)
    inside[ok] = shapely.contains_xy(region, ex[ok], ny[ok])
    near = np.zeros(len(ex), bool)
    near[ok] = shapely.contains_xy(wide, ex[ok], ny[ok])
    return float(inside.mean()), float(near.mean())


def _looks_geographic(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 180))


def _sample(x, y, limit: int = 2000):
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) > limit:  # evenly spaced, so a long boundary is sampled all round
        idx = np.linspace(0, len(x) - 1, limit).astype(int)
        x, y = x[idx], y[idx]
    return x, y


def decide_crs(x, y, *, declared: CRS | str | None = None, explicit: CRS | str | None = None,
               declared_by: str | tuple[str, str] = ("tệp .prj", ".prj file"), areas: bool = False) -> CrsDecision:
    """Decide the CRS (and axis order) of coordinates ``x``, ``y`` as they come in the file.

    ``explicit``: the caller's ``crs=``, trusted (only the axis order is still checked).
    ``declared``: what the file says (.prj, GeoPackage metadata), trusted if the points then fall in
    the province. Otherwise every hypothesis is tried.
    ``declared_by``: what declared it, (Vietnamese, English), e.g. ("tệp KML", "KML file").
    ``areas``: the coordinates are polygon vertices. When TM-3 and the 6° variant both put them in
    the province, the one under which the edges follow the 2025 commune boundaries wins; when
    neither does clearly, :class:`CrsTie` is raised (the user must say). Points keep the old rule:
    TM-3 assumed, ``ambiguous`` set and the reason saying so.
    """
    by_vi, by_en = (declared_by, declared_by) if isinstance(declared_by, str) else declared_by
    if explicit is not None:
        explicit = parse_crs(explicit)
    x, y = _sample(x, y)
    if len(x) == 0:
        raise CrsUndetermined("no finite coordinates", "không có tọa độ hữu hạn nào")
    region, region_source = province_region()
    wide = region.buffer(REGION_MARGIN_M - EDGE_TOLERANCE_M)
    extent_vi = "ranh giới tỉnh trong kho lớp" if region_source == "store" else "khung giới hạn cố định của tỉnh"
    extent_en = "the province outline from the layer store" if region_source == "store" else "the fixed province bounding box"

    if explicit is not None:
        crs, _ = canonical(explicit)
        label = crs_label(crs)
        straight, _ = _shares(crs, x, y, False, region, wide)
        swapped, _ = _shares(crs, x, y, True, region, wide)
        if straight < INSIDE_ENOUGH and swapped > straight + 0.25:
            return CrsDecision(crs, label, True,
                               f"hệ tọa độ {label} do người dùng chỉ định; hai trục bị đảo (X là tung độ), đã đổi lại",
                               f"CRS {label} given by the caller; the axes were swapped (X holds northings) and were put back",
                               inside_share=swapped)
        return CrsDecision(crs, label, False, f"hệ tọa độ {label} do người dùng chỉ định",
                           f"CRS {label} given by the caller", inside_share=straight)

    declared_note = None
    if declared is not None:
        crs, declared_note = canonical(declared)
        label = crs_label(crs)
        straight, _ = _shares(crs, x, y, False, region, wide)
        if straight >= INSIDE_ENOUGH:
            vi = f"theo {by_vi}: {label}; {straight * 100:.0f} % số điểm nằm trong tỉnh"
            en = f"from the {by_en}: {label}; {straight:.0%} of the points fall inside the province"
            if declared_note:
                vi, en = f"{vi} ({declared_note[0]})", f"{en} ({declared_note[1]})"
            return CrsDecision(crs, label, False, vi, en, inside_share=straight)

    hypotheses = [
        (CRS.from_user_input(STORE_CRS), STORE_CRS, False),
        (CRS.from_user_input(STORE_CRS), STORE_CRS, True),
        (VN2000_6DEG, VN2000_6DEG_LABEL, False),
        (VN2000_6DEG, VN2000_6DEG_LABEL, True),
    ]
    if _looks_geographic(x, y):
        hypotheses = [(CRS.from_user_input(WGS84), WGS84, False), (CRS.from_user_input(WGS84), WGS84, True)]
    scored = [(h, *_shares(h[0], x, y, h[2], region, wide)) for h in hypotheses]
    best = max(scored, key=lambda s: (round(s[1], 6), round(s[2], 6)))
    (crs, label, swapped), inside, near = best
    if inside == 0 and near < INSIDE_ENOUGH:
        rng = f"X {x.min():.6g}…{x.max():.6g}, Y {y.min():.6g}…{y.max():.6g}"
        rng_vi = f"X {num_vi(x.min())}…{num_vi(x.max())}, Y {num_vi(y.min())}…{num_vi(y.max())}"
        raise CrsUndetermined(rng, rng_vi)
    if declared is not None and inside < INSIDE_ENOUGH:
        # no other CRS does better than the declared one: keep it, and say the data lie outside
        crs, _ = canonical(declared)
        label = crs_label(crs)
        straight, _ = _shares(crs, x, y, False, region, wide)
        vi = (f"theo {by_vi}: {label}; chỉ {straight * 100:.0f} % số điểm nằm trong tỉnh và không hệ tọa độ nào khác "
              f"đặt chúng vào tỉnh — kiểm tra lại dữ liệu")
        en = (f"from the {by_en}: {label}; only {straight:.0%} of the points fall inside the province and no other CRS "
              f"puts them there — check the data")
        return CrsDecision(crs, label, False, vi, en, inside_share=straight)

    prefix_vi, prefix_en = "", ""
    if declared is not None:
        prefix_vi = f"{by_vi} ghi {crs_label(declared)} nhưng khi đó các điểm nằm ngoài tỉnh; "
        prefix_en = f"the {by_en} says {crs_label(declared)} but the points then fall outside the province; "
    swap_vi = swap_en = ""
    if swapped and label == WGS84:
        swap_vi, swap_en = "; vĩ độ đứng trước kinh độ, đã đổi lại", "; latitude came before longitude and was put back"
    elif swapped:
        swap_vi = "; hai trục bị đảo (trục thứ nhất là tung độ X theo quy ước Việt Nam), đã đổi lại"
        swap_en = "; the axes were swapped (the first is the northing, X in the Vietnamese convention) and were put back"
    where_vi = (f"{inside * 100:.0f} % số điểm nằm trong tỉnh hoặc cách ranh giới tỉnh dưới "
                f"{EDGE_TOLERANCE_M / 1000:.0f} km (so với {extent_vi})")
    where_en = (f"{inside:.0%} of the points lie inside the province or within {EDGE_TOLERANCE_M / 1000:.0f} km of "
                f"its outline (tested against {extent_en})")
    if inside == 0:
        where_vi = f"không điểm nào nằm trong tỉnh, nhưng nằm gần tỉnh (trong {REGION_MARGIN_M / 1000:.0f} km) — kiểm tra lại dữ liệu"
        where_en = f"no point falls inside the province, but they are near it (within {REGION_MARGIN_M / 1000:.0f} km) — check the data"

    ambiguous = False
    if label == WGS84:
        vi = (f"{prefix_vi}giả định WGS 84 kinh độ/vĩ độ ({WGS84}): {where_vi}{swap_vi}. Không phân biệt được với "
              f"VN-2000 địa lý (EPSG:4756, lệch ~0,2 km); nếu số liệu đo bằng VN-2000 hãy chỉ định crs='EPSG:4756'")
        en = (f"{prefix_en}assumed WGS 84 lon/lat ({WGS84}): {where_en}{swap_en}. It cannot be told from geographic "
              f"VN-2000 (EPSG:4756, ~0.2 km apart); if the survey used VN-2000 pass crs='EPSG:4756'")
        return CrsDecision(crs, label, swapped, vi, en, ambiguous=True, inside_share=inside)

    other = next(s for s in scored if s[0][2] == swapped and s[0][1] != label)
    if abs(other[1] - inside) <= SAME_SHARE and areas:
        tm3, six = CRS.from_user_input(STORE_CRS), VN2000_6DEG
        e_tm3, e_six = _edge_share(tm3, x, y, swapped), _edge_share(six, x, y, swapped)
        if e_tm3 is not None and e_six is not None:
            evidence_vi = (f"{e_tm3 * 100:.0f} % số đỉnh nằm trên ranh giới xã 2025 (trong {EDGE_MATCH_M:.0f} m) theo TM-3, "
                           f"{e_six * 100:.0f} % theo múi 6°")
            evidence_en = (f"{e_tm3:.0%} of the vertices lie on 2025 commune boundaries (within {EDGE_MATCH_M:.0f} m) "
                           f"under TM-3, {e_six:.0%} under the 6° variant")
            best, second = max(e_tm3, e_six), min(e_tm3, e_six)
            if best >= EDGE_ENOUGH and best - second >= EDGE_LEAD:
                crs, label = (tm3, STORE_CRS) if e_tm3 > e_six else (six, VN2000_6DEG_LABEL)
                vi = (f"{prefix_vi}chọn {label} theo bằng chứng: {where_vi}{swap_vi} dưới cả TM-3 lẫn múi 6°, nhưng "
                      f"{evidence_vi}")
                en = (f"{prefix_en}chose {label} on the evidence: {where_en}{swap_en} under both TM-3 and the 6° variant, "
                      f"but {evidence_en}")
                return CrsDecision(crs, label, swapped, vi, en, inside_share=inside)
        else:
            evidence_vi = "không có ranh giới xã để so (chưa dựng kho lớp)"
            evidence_en = "no commune boundaries to compare with (no layer store)"
        raise CrsTie(
            f"without a usable CRS (.prj) the coordinates fit VN-2000 TM-3 104°45' ({STORE_CRS}, k=0.9999) and the 6° variant on the "
            f"same meridian (k=0.9996, ~0.7 km apart) equally: {where_en} under both; {evidence_en}",
            f"không có hệ tọa độ dùng được (tệp .prj), tọa độ hợp như nhau với VN-2000 TM-3 104°45' ({STORE_CRS}, k=0,9999) và múi 6° cùng "
            f"kinh tuyến (k=0,9996, lệch ~0,7 km): {where_vi} theo cả hai; {evidence_vi}")
    if abs(other[1] - inside) <= SAME_SHARE:
        ambiguous = True
        crs, label = CRS.from_user_input(STORE_CRS), STORE_CRS  # the provincial large-scale system
        vi = (f"{prefix_vi}giả định VN-2000 TM-3 104°45' ({STORE_CRS}, k=0,9999): {where_vi}{swap_vi}. Tọa độ không "
              f"phân biệt được múi 3° (k=0,9999) với múi 6° cùng kinh tuyến (k=0,9996; lệch 0,03 % ≈ 0,7 km): chọn "
              f"{STORE_CRS}, hệ tọa độ tỉnh cho bản đồ tỷ lệ lớn; nếu là bản đồ hành chính múi 6° hãy chỉ định "
              f"crs=VN2000_6DEG (dòng lệnh: --crs VN2000_6DEG)")
        en = (f"{prefix_en}assumed VN-2000 TM-3 104°45' ({STORE_CRS}, k=0.9999): {where_en}{swap_en}. The coordinates "
              f"cannot tell TM-3 (k=0.9999) from the 6° variant on the same meridian (k=0.9996; 0.03 % ≈ 0.7 km "
              f"apart): chose {STORE_CRS}, the provincial system for large-scale work; if the source is a 6° "
              f"administrative map pass crs=VN2000_6DEG (command line: --crs VN2000_6DEG)")
    else:
        vi = (f"{prefix_vi}giả định {label}: {where_vi}{swap_vi}; với hệ còn lại ({other[0][1]}) chỉ "
              f"{other[1] * 100:.0f} % nằm trong tỉnh")
        en = (f"{prefix_en}assumed {label}: {where_en}{swap_en}; under the other variant ({other[0][1]}) only "
              f"{other[1]:.0%} fall inside")
    return CrsDecision(crs, label, swapped, vi, en, ambiguous=ambiguous, inside_share=inside)
