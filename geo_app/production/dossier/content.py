"""What a dossier says besides the drawing: Annex 1, the former-district outlines drawn on the
sheet, the official names of the sources, the mark's owner and applicant, and what to do when an
area cannot be resolved yet."""
from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely
import yaml

from geo_app import STORE_CRS, layers
from geo_app.production.area import PARTLY, WHOLE, AdminLayers, split_by_former_districts
from geo_app.production.products import Product

#: Sources by their official names, as a reviewer looks them up (the repository URLs and hashes
#: are in the manifest).
OFFICIAL_SOURCES = (
    "Bản đồ đơn vị hành chính sau sắp xếp 2025 (sapnhap.bando.com.vn) / government reference map",
    "Mã đơn vị hành chính, Tổng cục Thống kê / GSO unit codes",
    "hai nghị quyết trên / the two resolutions",
    "ranh giới huyện 2019 (gis.chinhphu.vn) chỉ để chia xã 2025 nằm trên hai huyện cũ / 2019 district outlines, "
    "only to cut straddling communes",
    "Natural Earth 1:10m",
)
#: The legal basis printed on every sheet: the province and the communes it shows.
LEGAL_BASIS = ("Căn cứ / legal basis: NQ 202/2025/QH15 (tỉnh Lào Cai mới / new province); NQ 1673/NQ-UBTVQH15 "
               "ngày 16/06/2025 (xã, phường 2025 / 2025 communes)")

#: Abbreviations some sources use in unit names, written out on a sheet that is signed.
_ABBREVIATIONS = (("Thị trấn N.T ", "Thị trấn Nông trường "), ("Thị trấn NT ", "Thị trấn Nông trường "))


def full_name(name: str) -> str:
    for short, full in _ABBREVIATIONS:
        if name.startswith(short):
            return full + name[len(short):]
    return name


def source_names() -> list[str]:
    return list(OFFICIAL_SOURCES)


def product_people(product: Product) -> dict:
    """The mark's owner and the applicant, from the product file (``owner:``, ``applicant:``)."""
    raw = {}
    if product.path is not None and product.path.exists():
        raw = yaml.safe_load(product.path.read_text(encoding="utf-8")) or {}
    owner = product.owner or raw.get("owner")
    applicant = raw.get("applicant") or owner
    return {"owner": owner, "applicant": applicant}


# --- former districts as the 2025 communes make them -----------------------------------------

#: The outlines of the last administrative layers seen: a web app or a notebook making several
#: dossiers from one ``AdminLayers`` cuts the straddling communes once (it is the slow part).
_LAST_OUTLINES: list = []


def former_district_outlines(admin: AdminLayers) -> gpd.GeoDataFrame:
    """Each former district as the union of what the 2025 communes contribute to it: whole
    communes, and the cut part of each commune that straddles two former districts (cut by the
    2019 outlines exactly as ``resolve`` cuts it), so "the whole former district" and its drawn
    outline are one geometry."""
    if _LAST_OUTLINES and _LAST_OUTLINES[0] is admin:
        return _LAST_OUTLINES[1].copy()
    outlines = _former_district_outlines(admin)
    _LAST_OUTLINES[:] = [admin, outlines]
    return outlines.copy()


def _former_district_outlines(admin: AdminLayers) -> gpd.GeoDataFrame:
    former = admin.former_communes
    communes = admin.communes.set_index("code")
    districts = admin.former_districts.sort_values("code").reset_index(drop=True)
    outlines = districts.set_index("code")["geometry"]
    shares_of: dict[str, dict] = {}
    rows, geoms = [], []
    for district in districts.itertuples(index=False):
        in_district = former[former["former_district_code"] == district.code]
        parts = []
        for code in sorted(set(in_district["new_code"])):
            all_in_commune = former[former["new_code"] == code]
            codes = sorted(set(all_in_commune["former_district_code"]))
            if codes == [district.code]:
                parts.append(communes.at[code, "geometry"])
                continue
            if not set(codes) <= set(outlines.index):
                # A commune that also takes land from a district with no 2019 polygon here (old
                # Yên Bái): only the part inside this district's polygon is known to be in it.
                parts.append(shapely.intersection(communes.at[code, "geometry"], outlines[district.code]))
                continue
            if code not in shares_of:
                shares_of[code] = split_by_former_districts(communes.at[code, "geometry"], codes, admin)
            parts.append(shares_of[code][district.code])
        geoms_valid = [shapely.make_valid(g) for g in parts if g is not None and not g.is_empty]
        geoms.append(polygonal(shapely.union_all(geoms_valid)) if geoms_valid else shapely.Polygon())
        rows.append({"code": district.code, "full_name": district.full_name, "label": district.label})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORE_CRS)


def polygonal(geom):
    """Only the polygons of a geometry (a union can leave stray lines where edges touch)."""
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


# --- Annex 1 -----------------------------------------------------------------------------------

def _round_to_total(values: list[float], decimals: int = 2) -> list[float]:
    """Round so the rounded parts add up to the rounded total (largest remainder)."""
    unit = 10.0**-decimals
    total = round(sum(values), decimals)
    floors = [math.floor(v / unit + 1e-9) for v in values]
    short = int(round(total / unit)) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: -(values[i] / unit - floors[i]))
    for i in order[:max(short, 0)]:
        floors[i] += 1
    return [round(f * unit, decimals) for f in floors]


def requested_former(product: Product, admin: AdminLayers) -> set[str]:
    spec = product.area
    former = admin.former_communes
    chosen = set(spec.former_communes)
    chosen |= set(former.loc[former["former_district_code"].isin(spec.former_districts), "code"])
    chosen |= set(former.loc[former["new_code"].isin(spec.communes_2025), "code"])
    return chosen


def annex_rows(product: Product, geometry, admin: AdminLayers) -> pd.DataFrame:
    """Annex 1, one row per former commune: its 2025 commune, whether that 2025 commune is wholly
    or partly in the area and the area of its part, whether the former commune is wholly in, and
    the former commune's own area where it is known (the only former commune of its part; there
    are no public former-commune boundaries to measure the others)."""
    former = admin.former_communes.set_index("code")
    communes = admin.communes.set_index("code")
    chosen = requested_former(product, admin)
    hits = admin.communes.sindex.query(geometry, predicate="intersects")
    covered = {}
    for idx in sorted(hits):
        code = admin.communes["code"].iat[idx]
        inter = shapely.intersection(admin.communes.geometry.iat[idx], geometry).area
        if inter > 100.0:  # m²: shared edges and digitising noise are not land in the area
            covered[code] = inter
    codes = sorted(covered)
    areas_ha = dict(zip(codes, _round_to_total([covered[c] / 1e4 for c in codes])))
    records = []
    for code in codes:
        commune_area = communes.at[code, "geometry"].area
        whole_commune = covered[code] >= commune_area * 0.999
        olds = sorted(former.index[former["new_code"] == code])
        named = [o for o in olds if o in chosen]
        # A commune reached only by an officer's polygon: which former communes it takes is unknown.
        listed = olds if whole_commune or not named else named
        for old in listed:
            wholly = whole_commune or old in chosen
            inclusion = WHOLE if wholly else PARTLY
            own = areas_ha[code] if len(listed) == 1 and wholly else float("nan")
            records.append({
                "commune_code": code,
                "commune_2025": communes.at[code, "full_name"],
                "commune_inclusion_vi": (WHOLE if whole_commune else PARTLY)["vi"],
                "commune_inclusion_en": (WHOLE if whole_commune else PARTLY)["en"],
                "commune_area_ha": areas_ha[code],
                "former_code": old,
                "former_commune": full_name(former.at[old, "full_name"]),
                "former_district": former.at[old, "former_district"],
                "inclusion_vi": inclusion["vi"],
                "inclusion_en": inclusion["en"],
                "former_area_ha": own,
            })
    return pd.DataFrame(records, columns=[
        "commune_code", "commune_2025", "commune_inclusion_vi", "commune_inclusion_en", "commune_area_ha",
        "former_code", "former_commune", "former_district", "inclusion_vi", "inclusion_en", "former_area_ha",
    ])


# --- an area that cannot be resolved yet -------------------------------------------------------

def unresolved_message(product: Product, resolved, admin: AdminLayers) -> str:
    """What is missing, the file that would resolve it, where such boundaries come from, and the
    definitions that resolve today."""
    communes = admin.communes.set_index("code")
    former = admin.former_communes.set_index("code")
    missing = resolved.unresolved
    lines = [
        f"Không lập được hồ sơ '{product.id}': khu vực sản xuất chưa xác định đầy đủ. / Cannot make the dossier of "
        f"'{product.id}': its production area cannot be drawn yet.",
        "Thiếu / missing:",
    ]
    lines += [f"  - {p.unresolved}" for p in missing] or ["  - (không có hình học / no geometry)"]
    where = product.path.name if product.path is not None else "tệp sản phẩm / the product file"
    lines += [
        "Cách giải quyết 1 / way 1: cung cấp tệp ranh giới xã cũ (vùng/polygon; cột 'code' = mã GSO 5 chữ số của xã cũ, "
        "cột 'name' = tên xã; GeoPackage, Shapefile, GeoJSON, KML hoặc tệp khác mà `geo-app import` đọc được), rồi ghi "
        f"đường dẫn vào area.former_commune_boundaries trong {where}. Ranh giới xã cũ lấy từ Văn phòng đăng ký đất đai / "
        "phòng địa chính của xã hoặc Sở Nông nghiệp và Môi trường tỉnh (hồ sơ địa giới hành chính trước 01/07/2025). / "
        "Supply the former-commune boundaries: polygons with a 'code' column (the 5-digit GSO code of the former commune) "
        "and a 'name' column, in any format `geo-app import` reads, and set area.former_commune_boundaries in "
        f"{where}. Such boundaries come from the commune's or the provincial land office (the administrative-boundary "
        "records before 1 July 2025).",
    ]
    for code in sorted({p.commune_code for p in missing if p.commune_code}):
        olds = former[former["new_code"] == code]
        others = [full_name(n) for c, n in olds["full_name"].items() if c not in requested_former(product, admin)]
        area = communes.at[code, "geometry"].area / 1e4
        name = communes.at[code, "full_name"]
        also = f", gồm cả / which also holds {', '.join(others)}" if others else ""
        lines.append(
            f"Cách giải quyết 2 / way 2 (xác định được ngay / resolves today): toàn bộ {name} 2025 "
            f"({_ha(area)} ha{also}): ghi `communes_2025: [\"{code}\"]` thay cho `former_communes` trong {where}, "
            f"hoặc chọn định nghĩa này trên trang sản phẩm. / the whole 2025 {name} ({_ha(area)} ha): set "
            f"`communes_2025: [\"{code}\"]` instead of `former_communes` in {where}, or adopt it on the product page."
        )
    return "\n".join(lines)


def _ha(value: float) -> str:
    return f"{int(round(value)):,}".replace(",", " ")


def read_context(stored: dict | None = None) -> dict:
    """Context layers of the sheet that the store holds (neighbouring provinces, the national
    border, towns); a store built before they existed gives none, and the sheet goes without.
    ``stored`` is the store's layer list (its metadata ``layers``)."""
    context = {}
    available = {info.id for info in layers.list()} & set(stored if stored is not None else ())
    for layer_id in ("neighbour-provinces", "national-border", "towns"):
        if layer_id in available:
            context[layer_id] = layers.read(layer_id)
    return context
