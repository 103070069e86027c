"""Checks of a production area before it goes to the province (``geo-app check PRODUCT``).

Everything is measured in EPSG:9208. A finding is an error (the dossier must not be made) or a
warning (the officer should look). Thresholds are parameters with documented defaults.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import shapely

from geo_app.io.jsontext import clean
from geo_app.production.area import AdminLayers, ResolvedArea, resolve
from geo_app.production.products import Product, load_products

#: Parts and holes smaller than this (ha) are slivers: digitising noise, not land to certify.
SLIVER_HA = 1.0
#: Area outside the province beyond this (ha) is an error; below it, boundary noise.
OUTSIDE_TOLERANCE_HA = 1.0
#: Overlap with another product's area beyond this (ha) is reported.
OVERLAP_TOLERANCE_HA = 0.1


@dataclass
class Finding:
    level: str  # "error" | "warning" | "info"
    code: str
    message: str


@dataclass
class ValidationReport:
    product_id: str
    area_ha: float
    perimeter_m: float
    valid: bool
    findings: list[Finding] = field(default_factory=list)
    communes: list[dict] = field(default_factory=list)
    former_communes: list[dict] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def to_dict(self) -> dict:
        # Missing numbers (pandas' NaN, e.g. the annex's per-commune area on all but a group's first
        # row) become null: the report is stored and served as JSON, which has no NaN.
        data = clean(asdict(self))
        data["ok"] = self.ok
        return data


def check(product: Product, admin: AdminLayers | None = None, others: dict[str, Product] | None = None,
          resolved: ResolvedArea | None = None, sliver_ha: float = SLIVER_HA) -> ValidationReport:
    admin = admin or AdminLayers.from_store()
    resolved = resolved or resolve(product, admin)
    findings: list[Finding] = []
    geom = resolved.geometry
    for piece in resolved.unresolved:
        findings.append(Finding("error", "unresolved", piece.unresolved))
    if geom is None or geom.is_empty:
        findings.append(Finding("error", "empty", "Vùng sản xuất chưa có hình học. / The production area has no geometry yet."))
        return ValidationReport(product.id, 0.0, 0.0, False, findings, former_communes=resolved.former_rows.to_dict("records"))

    for repair in resolved.repairs:
        findings.append(Finding("error", "invalid",
                                f"Hình học không hợp lệ, cần sửa tệp nguồn / invalid geometry, correct the source file: {repair}"))
    valid = bool(geom.is_valid) and not resolved.repairs
    if not geom.is_valid:
        findings.append(Finding("error", "invalid", f"Hình học không hợp lệ / invalid geometry: {shapely.is_valid_reason(geom)}"))

    province = admin.province_outline()
    outside_ha = shapely.difference(geom, province).area / 1e4
    if outside_ha > OUTSIDE_TOLERANCE_HA:
        findings.append(Finding("error", "outside-province",
                                f"{outside_ha:.2f} ha nằm ngoài tỉnh Lào Cai / {outside_ha:.2f} ha lie outside Lào Cai province"))

    parts = list(getattr(geom, "geoms", [geom]))
    for i, part in enumerate(parts, start=1):
        if part.area / 1e4 < sliver_ha:
            findings.append(Finding("warning", "sliver",
                                    f"Mảnh {i} chỉ {part.area / 1e4:.3f} ha (< {sliver_ha} ha) / part {i} is a sliver of {part.area / 1e4:.3f} ha"))
        for ring in getattr(part, "interiors", []):
            hole_ha = shapely.Polygon(ring).area / 1e4
            if hole_ha < sliver_ha:
                findings.append(Finding("warning", "hole",
                                        f"Lỗ hổng {hole_ha:.3f} ha trong mảnh {i} (< {sliver_ha} ha) / a {hole_ha:.3f} ha hole in part {i}"))

    communes = []
    for row in admin.communes.itertuples():
        if not row.geometry.intersects(geom):
            continue
        inside = shapely.intersection(row.geometry, geom).area
        if inside / 1e4 < 0.01:  # shared edges only
            continue
        share = inside / row.geometry.area
        communes.append({
            "code": row.code, "commune_2025": row.full_name, "area_ha": round(inside / 1e4, 2),
            "share_of_commune": round(share, 4), "inclusion": "toàn bộ / wholly" if share > 0.995 else "một phần / partly",
        })

    overlaps = []
    others = others if others is not None else load_products()
    for other_id, other in others.items():
        if other_id == product.id:
            continue
        other_geom = resolve(other, admin).geometry
        if other_geom is None or not other_geom.intersects(geom):
            continue
        overlap_ha = shapely.intersection(geom, other_geom).area / 1e4
        if overlap_ha > OVERLAP_TOLERANCE_HA:
            overlaps.append({"product_id": other_id, "name": other.name["vi"], "area_ha": round(overlap_ha, 2)})
            findings.append(Finding("warning", "overlap",
                                    f"Chồng lấn {overlap_ha:.2f} ha với {other.name['vi']} / overlaps {other.name['en']} by {overlap_ha:.2f} ha"))

    if product.status == "draft":
        findings.append(Finding("info", "draft", "Bản nháp, chưa được UBND tỉnh xác nhận. / Draft, not confirmed by the provincial People's Committee."))

    return ValidationReport(
        product.id, round(geom.area / 1e4, 4), round(geom.length, 2), valid, findings, communes,
        resolved.former_rows.to_dict("records"), overlaps,
    )
