"""Administrative layers of Lào Cai: the 2025 communes, the province, the former districts and
the old→new commune crosswalk, read from the pinned sources and projected to EPSG:9208.

Plain functions over paths and frames; ``geo_app.build`` orders them and writes the store.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape

from geo_app import STORE_CRS
from geo_app.admin import legal_basis
from geo_app.admin.names import normalise_unit_name, split_name_list
from geo_app.errors import SourceDataError

log = logging.getLogger(__name__)

NEW_PROVINCE_CODE = "15"
#: Pre-2025 provinces merged into the new Lào Cai: old Lào Cai (10) and old Yên Bái (15).
FORMER_PROVINCES = {"10": "Lào Cai", "15": "Yên Bái"}
LEGAL_BASIS_COMMUNES = legal_basis.COMMUNES_2025
LEGAL_BASIS_PROVINCE = legal_basis.PROVINCE_2025
LEGAL_BASIS_FORMER = legal_basis.FORMER_UNITS


class BuildCheckError(SourceDataError):
    """A source failed a check the layers rely on; the message names the unit and the check."""


@dataclass
class Repair:
    layer: str
    feature: str
    reason: str


def _kind(full_name: str) -> str:
    lowered = full_name.lower()
    if lowered.startswith("phường"):
        return "phường"
    if lowered.startswith("thị trấn"):
        return "thị trấn"
    return "xã"


def repair_geometries(frame: gpd.GeoDataFrame, layer: str, label_col: str, repairs: list[Repair]) -> gpd.GeoDataFrame:
    """Repair invalid geometries with ``make_valid``, logging why; fail if one stays invalid."""
    invalid = ~frame.geometry.is_valid
    for idx in frame.index[invalid]:
        geom = frame.at[idx, "geometry"]
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        if fixed.geom_type == "GeometryCollection":
            fixed = shapely.union_all([g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        if not fixed.is_valid or fixed.is_empty:
            raise BuildCheckError(
                f"{layer}: the geometry of {frame.at[idx, label_col]} is invalid ({reason}) and could not be repaired."
            )
        repairs.append(Repair(layer, str(frame.at[idx, label_col]), reason))
        log.info("repaired %s %s: %s", layer, frame.at[idx, label_col], reason)
        frame.at[idx, "geometry"] = fixed
    return frame


def read_communes_2025(ward_files: list[Path]) -> gpd.GeoDataFrame:
    """The 99 communes and wards of 2025, in EPSG:4326 as published."""
    records, geoms = [], []
    for path in ward_files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for feature in data["features"]:
            p = feature["properties"]
            records.append(
                {
                    "code": p["code"],
                    "name": p["name"],
                    "full_name": p["fullName"],
                    "name_en": p["nameEn"],
                    "full_name_en": p["fullNameEn"],
                    "kind": _kind(p["fullName"]),
                    "source_area_km2": float(p["areaKm2"]) if p.get("areaKm2") is not None else None,
                }
            )
            geoms.append(shape(feature["geometry"]))
    frame = gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:4326")
    return frame.sort_values("code").reset_index(drop=True)


def read_province(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)
    frame = frame.rename(columns={"fullName": "full_name", "nameEn": "name_en", "fullNameEn": "full_name_en"})
    frame["legal_basis"] = LEGAL_BASIS_PROVINCE
    return frame[["code", "name", "full_name", "name_en", "full_name_en", "legal_basis", "geometry"]]


def read_former_units(units_json: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Former districts and communes (March 2025) of the provinces merged into the new Lào Cai."""
    data = json.loads(units_json.read_text(encoding="utf-8"))
    districts, communes = [], []
    for province in data:
        if province["Code"] not in FORMER_PROVINCES:
            continue
        for district in province["District"]:
            districts.append(
                {
                    "code": district["Code"],
                    "name": district["Name"],
                    "full_name": district["FullName"],
                    "former_province_code": province["Code"],
                    "former_province": province["FullName"],
                }
            )
            for ward in district["Ward"]:
                communes.append(
                    {
                        "code": ward["Code"],
                        "name": ward["Name"],
                        "full_name": ward["FullName"],
                        "kind": _kind(ward["FullName"]),
                        "former_district_code": district["Code"],
                        "former_district": former_label(district["FullName"]),
                        "former_province_code": province["Code"],
                        "former_province": province["FullName"],
                    }
                )
    return pd.DataFrame(districts), pd.DataFrame(communes)


def former_label(full_name: str) -> str:
    """'Huyện Bảo Yên' → 'Huyện Bảo Yên (cũ)': a former district is never today's commune of that name."""
    return f"{full_name} (cũ)"


def read_splits(splits_json: Path) -> pd.DataFrame:
    """Crosswalk A (nationwide mapping from the NQ 16xx resolutions): old code → new code(s)."""
    data = json.loads(splits_json.read_text(encoding="utf-8"))["data"]
    rows = []
    for province in data:
        if province["level1_id"] not in FORMER_PROVINCES:
            continue
        for unit in province["level3s"]:
            for split in unit["splits"]:
                rows.append(
                    {
                        "old_code": unit["level3_id"],
                        "old_name": unit["name"],
                        "new_code": split["new_id"],
                        "new_name": split["name"],
                        "n_splits": len(unit["splits"]),
                    }
                )
    return pd.DataFrame(rows)


_SQL_ROW = re.compile(
    r"\('(?P<ma>[^']*)',\s*'(?P<ten>[^']*)',\s*(?:'(?P<magoc>[^']*)'|NULL),\s*'[^']*',\s*'(?P<truoc>[^']*)'"
)


def read_reference_merges(sql_file: Path) -> pd.DataFrame:
    """Crosswalk B (the reference map's "trước sáp nhập" text): new code → names of old units."""
    rows = []
    for match in _SQL_ROW.finditer(sql_file.read_text(encoding="utf-8")):
        if match["magoc"] != NEW_PROVINCE_CODE:
            continue
        text = match["truoc"].strip()
        # "giữ nguyên" = kept as it was: the new unit is the old unit of the same name.
        names = [match["ten"]] if text.lower() == "giữ nguyên" else split_name_list(text)
        for name in names:
            rows.append({"new_code": match["ma"], "new_name": match["ten"], "old_name": name})
    return pd.DataFrame(rows)


def compare_crosswalks(splits: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Each disagreement between the two crosswalks, after normalising names.

    Returns one row per (new commune, normalised old name) present in only one source.
    """
    a = splits.assign(key=splits["old_name"].map(normalise_unit_name))[["new_code", "new_name", "key", "old_name"]]
    b = reference.assign(key=reference["old_name"].map(normalise_unit_name))[["new_code", "new_name", "key", "old_name"]]
    merged = a.merge(b, on=["new_code", "key"], how="outer", suffixes=("_splits", "_reference"), indicator=True)
    diff = merged[merged["_merge"] != "both"].copy()
    diff["only_in"] = diff["_merge"].map({"left_only": "splits.json", "right_only": "sapnhap reference"})
    diff["new_name"] = diff["new_name_splits"].fillna(diff["new_name_reference"])
    diff = diff[["new_code", "new_name", "key", "old_name_splits", "old_name_reference", "only_in"]]
    diff = diff.astype(object).where(diff.notna(), None)  # None, not NaN, in the JSON report
    return diff.sort_values(["new_code", "key"]).reset_index(drop=True)


def former_communes_table(former: pd.DataFrame, splits: pd.DataFrame, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each pre-2025 commune with the 2025 commune it went into (from crosswalk A, which has codes)."""
    one_to_one = splits[splits["n_splits"] == 1][["old_code", "new_code"]]
    multi = splits[splits["n_splits"] > 1]
    if not multi.empty:
        raise BuildCheckError(
            "splits.json: these former communes map to more than one 2025 commune, which NQ 1673 does not "
            f"allow for Lào Cai: {sorted(multi['old_code'].unique())}"
        )
    table = former.merge(one_to_one, left_on="code", right_on="old_code", how="left").drop(columns="old_code")
    missing = table[table["new_code"].isna()]
    if not missing.empty:
        raise BuildCheckError(
            "These former communes have no 2025 commune in splits.json: "
            + ", ".join(f"{r.code} {r.full_name}" for r in missing.itertuples())
        )
    names = communes.set_index("code")["full_name"]
    unknown = set(table["new_code"]) - set(names.index)
    if unknown:
        raise BuildCheckError(f"splits.json names 2025 communes that are not in the ward files: {sorted(unknown)}")
    table["new_commune"] = table["new_code"].map(names)
    table["legal_basis"] = LEGAL_BASIS_COMMUNES
    return table.sort_values("code").reset_index(drop=True)


def attach_former_districts(communes: gpd.GeoDataFrame, former_communes: pd.DataFrame) -> gpd.GeoDataFrame:
    grouped = former_communes.groupby("new_code")
    communes = communes.copy()
    communes["former_districts"] = communes["code"].map(
        grouped["former_district"].agg(lambda s: "; ".join(sorted(set(s))))
    )
    communes["former_district_codes"] = communes["code"].map(
        grouped["former_district_code"].agg(lambda s: ",".join(sorted(set(s))))
    )
    communes["former_communes"] = communes["code"].map(
        grouped["full_name"].agg(lambda s: "; ".join(sorted(s)))
    )
    communes["legal_basis"] = LEGAL_BASIS_COMMUNES
    return communes


def read_former_districts(gis_json: Path, districts: pd.DataFrame) -> gpd.GeoDataFrame:
    data = json.loads(gis_json.read_text(encoding="utf-8"))
    geoms, codes = [], []
    for unit in data["level2s"]:
        geoms.append(shape({"type": unit["type"], "coordinates": unit["coordinates"]}))
        codes.append(unit["level2_id"])
    frame = gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs="EPSG:4326")
    frame = frame.merge(districts, on="code", how="left")
    if frame["name"].isna().any():
        raise BuildCheckError(f"former districts without a name in the unit list: {list(frame.loc[frame['name'].isna(), 'code'])}")
    frame["label"] = frame["full_name"].map(former_label)
    frame["legal_basis"] = LEGAL_BASIS_FORMER
    return frame[["code", "name", "full_name", "label", "former_province_code", "legal_basis", "geometry"]]


def province_from_communes(communes: gpd.GeoDataFrame, published: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The province layer: the published attributes over the exact union of the 2025 communes,
    so that the province and its communes share one boundary at full resolution."""
    union = shapely.union_all(communes.geometry.values)
    return gpd.GeoDataFrame(published.drop(columns="geometry").iloc[[0]].reset_index(drop=True),
                            geometry=[union], crs=communes.crs)


def check_topology(communes: gpd.GeoDataFrame, province: gpd.GeoDataFrame, overlap_tolerance: float, union_tolerance: float) -> dict:
    """Overlaps between communes and the gap between their union and the published province.

    Both tolerances are fractions of the province area. Raises BuildCheckError beyond them.
    """
    geoms = communes.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right) if i < j]
    overlaps = []
    for i, j in pairs:
        area = shapely.intersection(geoms[i], geoms[j]).area
        if area > 0:
            overlaps.append((communes.iloc[i]["code"], communes.iloc[j]["code"], area))
    published = shapely.union_all(province.geometry.values)
    province_area = published.area
    overlap_area = sum(a for *_, a in overlaps)
    union = shapely.union_all(geoms)
    # The published province outline is generalised (~1,400 vertices against ~37,000 on the
    # communes' union), so its symmetric difference with the union measures the generalisation;
    # the check compares areas and reports the symmetric difference beside it.
    difference = abs(union.area - province_area)
    gaps = sum(shapely.Polygon(ring).area for poly in getattr(union, "geoms", [union]) for ring in poly.interiors)
    report = {
        "province_area_km2": round(province_area / 1e6, 3),
        "communes_area_km2": round(float(communes.area.sum()) / 1e6, 3),
        "overlap_area_m2": round(overlap_area, 1),
        "overlap_fraction": overlap_area / province_area,
        "overlap_tolerance": overlap_tolerance,
        "largest_overlaps": [
            {"a": a, "b": b, "area_m2": round(x, 1)} for a, b, x in sorted(overlaps, key=lambda t: -t[2])[:10]
        ],
        "union_area_km2": round(union.area / 1e6, 3),
        "union_vs_province_fraction": difference / province_area,
        "symmetric_difference_km2": round(shapely.symmetric_difference(union, published).area / 1e6, 3),
        "gaps_inside_union_m2": round(gaps, 1),
        "union_tolerance": union_tolerance,
    }
    if report["overlap_fraction"] > overlap_tolerance:
        worst = report["largest_overlaps"][0]
        raise BuildCheckError(
            f"Communes overlap by {overlap_area / 1e4:.1f} ha ({report['overlap_fraction']:.4%} of the province), "
            f"beyond the tolerance {overlap_tolerance:.4%}; largest: {worst['a']} × {worst['b']} "
            f"{worst['area_m2'] / 1e4:.2f} ha."
        )
    if report["union_vs_province_fraction"] > union_tolerance:
        raise BuildCheckError(
            f"The union of the communes differs in area from the published province by {difference / 1e6:.1f} km² "
            f"({report['union_vs_province_fraction']:.3%}), beyond {union_tolerance:.1%}."
        )
    return report


def to_store_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project to EPSG:9208, letting PROJ choose the transformation (never a hand-written towgs84)."""
    return frame.to_crs(STORE_CRS)
