"""Resolve a product's area definition to geometry in EPSG:9208, exactly wherever the data allows.

Rules (2025 communes are exact unions of former communes, and former communes nest in former
districts — Resolution 1673/NQ-UBTVQH15):
- a 2025 commune named whole → its geometry;
- former communes that together make a whole 2025 commune → that commune's geometry;
- former communes that are all of a 2025 commune's communes in some former district(s) → the 2025
  commune cut by the outline of that district (the cut follows the published district outline);
- any other part of a 2025 commune needs the boundary of the former commune; without a boundary
  file it is reported as unresolved ("needs the boundary of former commune X"), never guessed;
- polygon files are imported and added as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo_app import STORE_CRS, layers
from geo_app.admin.legal_basis import COMMUNES_2025 as LEGAL_BASIS_COMMUNES
from geo_app.admin.legal_basis import FORMER_UNITS as LEGAL_BASIS_FORMER
from geo_app.errors import InputError
from geo_app.production.products import Product

WHOLE = {"vi": "toàn bộ", "en": "wholly"}
PARTLY = {"vi": "một phần", "en": "partly"}


class ResolutionError(InputError):
    pass


@dataclass
class AdminLayers:
    """The administrative layers a resolution reads (from the store, or in-memory during a build)."""

    communes: gpd.GeoDataFrame
    former_communes: pd.DataFrame
    former_districts: gpd.GeoDataFrame
    #: The province outline (the union of the communes); computed on first use when not given.
    province: shapely.Geometry | None = None

    @classmethod
    def from_store(cls) -> AdminLayers:
        return cls(layers.read("communes"), layers.read("former-communes"), layers.read("former-districts"),
                   layers.read("province").geometry.iloc[0])

    def province_outline(self) -> shapely.Geometry:
        if self.province is None:
            self.province = shapely.union_all(self.communes.geometry.values)
        return self.province


@dataclass
class Piece:
    """One part of a production area, lying in one 2025 commune (or from a file)."""

    commune_code: str | None
    commune_name: str | None
    former_codes: tuple[str, ...]
    method: str
    geometry: shapely.Geometry | None
    unresolved: str | None = None
    #: The legal basis of the boundaries this piece follows (every boundary keeps the resolution it follows).
    legal_basis: tuple[str, ...] = ()

    @property
    def area_ha(self) -> float:
        return 0.0 if self.geometry is None else self.geometry.area / 1e4


@dataclass
class ResolvedArea:
    product_id: str
    geometry: shapely.Geometry | None
    pieces: list[Piece]
    former_rows: pd.DataFrame
    messages: list[str] = field(default_factory=list)
    #: Invalid input geometries (repaired for measuring, reported as errors by the check).
    repairs: list[str] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Piece]:
        return [p for p in self.pieces if p.unresolved]

    @property
    def is_complete(self) -> bool:
        return self.geometry is not None and not self.unresolved

    @property
    def area_ha(self) -> float:
        return 0.0 if self.geometry is None else self.geometry.area / 1e4

    @property
    def perimeter_m(self) -> float:
        return 0.0 if self.geometry is None else self.geometry.length

    @property
    def legal_basis(self) -> list[str]:
        return sorted({basis for piece in self.pieces for basis in piece.legal_basis})

    def frame(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"product_id": [self.product_id], "area_ha": [round(self.area_ha, 4)], "perimeter_m": [round(self.perimeter_m, 2)]},
            geometry=[self.geometry],
            crs=STORE_CRS,
        )


def _former_names(admin: AdminLayers) -> pd.DataFrame:
    return admin.former_communes.set_index("code")


def resolve(product: Product, admin: AdminLayers | None = None) -> ResolvedArea:
    admin = admin or AdminLayers.from_store()
    spec = product.area
    former = _former_names(admin)
    communes = admin.communes.set_index("code")
    pieces: list[Piece] = []
    messages: list[str] = []

    unknown = [c for c in spec.former_communes if c not in former.index]
    unknown += [c for c in spec.communes_2025 if c not in communes.index]
    known_districts = set(admin.former_communes["former_district_code"])
    unknown += [d for d in spec.former_districts if d not in known_districts]
    if unknown:
        raise ResolutionError(
            f"{product.id}: mã không có trong dữ liệu hành chính / codes not in the administrative layers: {unknown}"
        )

    whole_2025 = set(spec.communes_2025)
    requested_former = set(spec.former_communes) | set(
        former.index[former["former_district_code"].isin(spec.former_districts)]
    )
    boundaries = _read_boundaries(spec.former_commune_boundaries) if spec.former_commune_boundaries else None

    for code in sorted(whole_2025):
        pieces.append(Piece(code, communes.at[code, "full_name"], tuple(sorted(former.index[former["new_code"] == code])),
                            "toàn bộ xã 2025 / whole 2025 commune", communes.at[code, "geometry"],
                            legal_basis=(LEGAL_BASIS_COMMUNES,)))

    by_commune = former.loc[sorted(requested_former)].groupby("new_code")
    for code, chosen in by_commune:
        if code in whole_2025:
            continue
        all_in_commune = former[former["new_code"] == code]
        chosen_codes = set(chosen.index)
        geom = communes.at[code, "geometry"]
        name = communes.at[code, "full_name"]
        if chosen_codes == set(all_in_commune.index):
            pieces.append(Piece(code, name, tuple(sorted(chosen_codes)),
                                "các xã cũ hợp thành toàn bộ xã 2025 / former communes making the whole 2025 commune", geom,
                                legal_basis=(LEGAL_BASIS_COMMUNES,)))
            continue
        districts = set(chosen["former_district_code"])
        in_those = set(all_in_commune.index[all_in_commune["former_district_code"].isin(districts)])
        # The officer's former-commune boundaries, when they cover the piece, beat the generalised
        # district outline.
        has_boundaries = boundaries is not None and chosen_codes <= set(boundaries.index)
        if chosen_codes == in_those and not has_boundaries:
            shares = split_by_former_districts(geom, sorted(set(all_in_commune["former_district_code"])), admin)
            labels = ", ".join(sorted(chosen["former_district"].unique()))
            pieces.append(Piece(code, name, tuple(sorted(chosen_codes)),
                                f"xã 2025 cắt theo ranh giới {labels} / 2025 commune cut by the former district outline",
                                shapely.union_all([shares[d] for d in sorted(districts)]),
                                legal_basis=(LEGAL_BASIS_COMMUNES, f"{labels}: {LEGAL_BASIS_FORMER}")))
            continue
        for old_code in sorted(chosen_codes):
            old_name = former.at[old_code, "full_name"]
            if boundaries is not None and old_code in boundaries.index:
                pieces.append(Piece(code, name, (old_code,),
                                    "ranh giới xã cũ do người dùng cung cấp / user-supplied former-commune boundary",
                                    shapely.intersection(geom, boundaries.at[old_code, "geometry"]),
                                    legal_basis=(LEGAL_BASIS_COMMUNES, f"{Path(spec.former_commune_boundaries).name}")))
            else:
                pieces.append(Piece(code, name, (old_code,), "chưa xác định / unresolved", None,
                                    unresolved=(f"cần ranh giới xã cũ {old_name} ({old_code}) / needs the boundary of "
                                                f"former commune {old_name} ({old_code}), part of {name}")))

    repairs: list[str] = []
    for path in spec.files:
        for geom in _read_polygon_file(path, messages, repairs):
            pieces.append(Piece(None, None, (), f"tệp / file {Path(path).name}", geom,
                                legal_basis=(f"tệp của cán bộ / officer's file {Path(path).name}",)))

    for piece in pieces:
        if piece.unresolved:
            messages.append(piece.unresolved)

    for piece in pieces:
        if piece.geometry is not None and not piece.geometry.is_valid:
            # Never repaired silently: a signed map must not differ from what the officer drew.
            repairs.append(f"{piece.method}: {shapely.is_valid_reason(piece.geometry)}")
    geoms = [shapely.make_valid(p.geometry) for p in pieces if p.geometry is not None and not p.geometry.is_empty]
    geometry = shapely.union_all(geoms) if geoms else None
    rows = former_rows(pieces, admin, geometry)
    return ResolvedArea(product.id, geometry, pieces, rows, messages, repairs=repairs)


def split_by_former_districts(commune_geom, district_codes: list[str], admin: AdminLayers) -> dict[str, object]:
    """Partition a 2025 commune among the former districts it takes land from.

    The published district outlines are generalised, so they leave slivers of the commune in no
    district (77 ha of xã Bảo Hà) and may overlap. Each overlap goes to the lower district code and
    each sliver to the district it shares the longest edge with, so the shares add up exactly to the
    commune and never overlap.
    """
    outlines = admin.former_districts.set_index("code")["geometry"]
    shares: dict[str, object] = {}
    taken = shapely.Polygon()
    for code in district_codes:
        part = shapely.difference(shapely.intersection(commune_geom, outlines[code]), taken)
        shares[code] = part
        taken = shapely.union(taken, part)
    leftover = shapely.difference(commune_geom, taken)
    for sliver in getattr(leftover, "geoms", [leftover]):
        if sliver.is_empty or sliver.area == 0:
            continue
        edge = sliver.boundary
        best = max(district_codes, key=lambda c: (shapely.intersection(edge, shares[c].buffer(0.01)).length,
                                                 -sliver.distance(shares[c])))
        shares[best] = shapely.union(shares[best], sliver)
    return shares


def former_rows(pieces: list[Piece], admin: AdminLayers, geometry) -> pd.DataFrame:
    """The annex table: former commune | former district | 2025 commune | wholly/partly | area (ha).

    Former communes have no public boundaries, so the area is given for each 2025 commune's part
    (``area_ha_2025_part``) on the first row of that commune's group only, so the column sums to the
    area of the product.
    """
    former = _former_names(admin)
    communes = admin.communes.set_index("code")
    records = []
    covered: dict[str, float] = {}
    if geometry is not None:
        for code, geom in communes.geometry.items():
            if geom.intersects(geometry):
                inter = shapely.intersection(geom, geometry).area
                if inter > 100.0:  # m²: ignore shared-edge noise
                    covered[code] = inter
    listed = set()
    piece_communes = {p.commune_code for p in pieces if p.commune_code}
    for piece in pieces:
        if piece.commune_code is None:
            continue
        for old in piece.former_codes:
            listed.add(old)
            records.append(_row(former, communes, old, piece.commune_code, piece.unresolved is None, covered))
    # Communes reached only by user polygons: list their former communes as "partly".
    for code, area in covered.items():
        if code in piece_communes:
            continue
        for old in former.index[former["new_code"] == code]:
            if old not in listed:
                full = area >= communes.at[code, "geometry"].area * 0.995
                records.append(_row(former, communes, old, code, full, covered))
                listed.add(old)
    frame = pd.DataFrame(records, columns=[
        "former_code", "former_commune", "former_district", "commune_code", "commune_2025",
        "inclusion_vi", "inclusion_en", "area_ha_2025_part",
    ])
    frame = frame.sort_values(["commune_code", "former_code"]).reset_index(drop=True)
    frame.loc[frame["commune_code"].duplicated(), "area_ha_2025_part"] = None
    return frame


def _row(former, communes, old, code, wholly, covered):
    inclusion = WHOLE if wholly else PARTLY
    return {
        "former_code": old,
        "former_commune": former.at[old, "full_name"],
        "former_district": former.at[old, "former_district"],
        "commune_code": code,
        "commune_2025": communes.at[code, "full_name"],
        "inclusion_vi": inclusion["vi"],
        "inclusion_en": inclusion["en"],
        "area_ha_2025_part": round(covered.get(code, 0.0) / 1e4, 2),
    }


def _read_boundaries(path: Path) -> gpd.GeoDataFrame:
    frame = _import(path).frame
    if "code" not in frame.columns:
        raise ResolutionError(f"{path}: tệp ranh giới xã cũ cần cột 'code' (mã GSO) / the former-commune file needs a 'code' column")
    frame["code"] = frame["code"].astype(str).str.zfill(5)
    return frame.dissolve("code")


def _read_polygon_file(path: Path, messages: list[str], repairs: list[str]) -> list:
    result = _import(path)
    messages.extend(result.messages)
    # The importer repairs invalid polygons so they can be measured; the repair is still an error
    # for a map to be signed.
    repairs.extend(f"{Path(path).name}: {r}" for r in getattr(result, "repairs", []))
    polys = [g for g in result.frame.geometry.values if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise ResolutionError(f"{path}: không có vùng (polygon) nào / the file holds no polygon")
    return polys


def _import(path: Path):
    from geo_app.importers import read_features  # the officer's files: CRS and encoding detection

    return read_features(Path(path), kind="polygon")


def production_areas_frame(products: dict[str, Product], admin: AdminLayers) -> gpd.GeoDataFrame:
    """The ``production-areas`` layer: one feature per product, with status and completeness."""
    records, geoms = [], []
    for product in products.values():
        resolved = resolve(product, admin)
        records.append(
            {
                "product_id": product.id,
                "name": product.name["vi"],
                "name_en": product.name["en"],
                "mark_kind": product.mark_kind,
                "status": product.status,
                "complete": resolved.is_complete,
                "unresolved": "; ".join(p.unresolved for p in resolved.unresolved),
                "area_ha": round(resolved.area_ha, 2),
                "perimeter_m": round(resolved.perimeter_m, 1),
                "communes_2025": "; ".join(sorted(resolved.former_rows["commune_2025"].unique())),
                "legal_basis": "; ".join(resolved.legal_basis),
            }
        )
        geoms.append(resolved.geometry)
    return gpd.GeoDataFrame(records, geometry=geoms, crs=STORE_CRS)
