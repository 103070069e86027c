"""Context layers: Natural Earth rivers, named peaks, towns and the national border; the
neighbouring provinces."""
from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import py7zr
import shapely

from geo_app import STORE_CRS


def read_7z_geojson(archive: Path, province: gpd.GeoDataFrame, pad_deg: float) -> gpd.GeoDataFrame:
    """The features of the one GeoJSON in a Natural Earth 7z archive within the province's box
    plus ``pad_deg`` (a generous pre-filter in degrees, only to skip the rest of the world)."""
    with tempfile.TemporaryDirectory() as tmp:
        with py7zr.SevenZipFile(archive, mode="r") as z:
            z.extractall(path=tmp)
        inner = sorted(Path(tmp).rglob("*.json")) + sorted(Path(tmp).rglob("*.geojson"))
        if not inner:
            raise RuntimeError(f"{archive.name}: the archive holds no GeoJSON file")
        west, south, east, north = province.to_crs("EPSG:4326").total_bounds
        return gpd.read_file(inner[0], bbox=(west - pad_deg, south - pad_deg, east + pad_deg, north + pad_deg))


def read_rivers(archive: Path, province: gpd.GeoDataFrame, margin_m: float = 5000) -> gpd.GeoDataFrame:
    """Rivers from the Natural Earth 7z archive (one GeoJSON inside), clipped to the province + margin."""
    rivers = read_7z_geojson(archive, province, 0.2).to_crs(STORE_CRS)
    clip_to = province.buffer(margin_m)
    rivers = gpd.clip(rivers, clip_to)
    keep = [c for c in ("name", "name_vi", "name_en", "featurecla", "scalerank") if c in rivers.columns]
    rivers = rivers[keep + ["geometry"]].reset_index(drop=True)
    return rivers.explode(index_parts=False).reset_index(drop=True)


def read_peaks(points: Path, province: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    peaks = gpd.read_file(points).to_crs(STORE_CRS)
    peaks = gpd.clip(peaks, province)
    keep = [c for c in ("name", "name_vi", "name_en", "elevation", "featurecla") if c in peaks.columns]
    return peaks[keep + ["geometry"]].reset_index(drop=True)


#: Natural Earth spells a few Vietnamese towns without their diacritics or under an old name.
TOWN_NAMES = {"Lao Chi": "Lào Cai", "Ha Giang": "Hà Giang", "Yen Bai": "Yên Bái"}
#: How far the province outline may lie from Natural Earth's generalised (~1 km) border line and
#: still be the national border; and how close to a neighbouring province it stops being it.
BORDER_SEARCH_M = 3000.0
NEIGHBOUR_CLEAR_M = 500.0


def read_neighbours(paths: list[Path]) -> gpd.GeoDataFrame:
    """The provinces bordering Lào Cai (2025 state), one polygon each, in EPSG:9208."""
    frames = [gpd.read_file(path) for path in sorted(paths)]
    merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs).to_crs(STORE_CRS)
    out = gpd.GeoDataFrame(
        {"code": merged["code"].astype(str).str.zfill(2), "name": merged["name"], "full_name": merged["fullName"],
         "name_en": merged["nameEn"]},
        geometry=merged.geometry.make_valid(), crs=STORE_CRS,
    )
    return out.sort_values("code").reset_index(drop=True)


def national_border(lines_path: Path, province: gpd.GeoDataFrame, neighbours: gpd.GeoDataFrame,
                    country: str = "China") -> gpd.GeoDataFrame:
    """The stretch of the province outline that is Vietnam's land border with ``country``.

    Natural Earth's line is generalised to about 1 km, so it only picks the stretch: the line drawn
    is the province outline itself (the commune boundaries), where it lies within BORDER_SEARCH_M of
    Natural Earth's Vietnam–China line and away from every neighbouring Vietnamese province.
    """
    west, south, east, north = province.to_crs("EPSG:4326").total_bounds
    lines = gpd.read_file(lines_path, bbox=(west - 0.3, south - 0.3, east + 0.3, north + 0.3))
    pair = ((lines["adm0_left"] == "Vietnam") & (lines["adm0_right"] == country)) | (
        (lines["adm0_right"] == "Vietnam") & (lines["adm0_left"] == country))
    ne_line = shapely.union_all(lines[pair].to_crs(STORE_CRS).geometry.values)
    outline = shapely.union_all(province.geometry.values).boundary
    stretch = shapely.intersection(outline, shapely.buffer(ne_line, BORDER_SEARCH_M))
    if len(neighbours):
        stretch = shapely.difference(stretch, shapely.buffer(shapely.union_all(neighbours.geometry.values),
                                                             NEIGHBOUR_CLEAR_M))
    stretch = shapely.line_merge(stretch) if not stretch.is_empty else stretch
    parts = [g for g in shapely.get_parts(stretch) if g.geom_type == "LineString" and g.length > 0]
    return gpd.GeoDataFrame(
        {"country": ["Trung Quốc"] * len(parts), "country_en": [country] * len(parts),
         "source": ["Natural Earth admin-0 (chọn đoạn) / picks the stretch"] * len(parts)},
        geometry=parts, crs=STORE_CRS,
    )


def read_towns(archive: Path, province: gpd.GeoDataFrame, margin_m: float = 40_000) -> gpd.GeoDataFrame:
    """Natural Earth populated places in and around the province, for orientation."""
    towns = read_7z_geojson(archive, province, 0.5).to_crs(STORE_CRS)
    towns = towns[towns.geometry.within(shapely.buffer(shapely.union_all(province.geometry.values), margin_m))]
    out = gpd.GeoDataFrame(
        {"name": [TOWN_NAMES.get(n, n) for n in towns["name"]], "name_ne": towns["name"].values,
         "featurecla": towns["featurecla"].values, "pop_max": towns["pop_max"].astype("int64").values},
        geometry=towns.geometry.values, crs=STORE_CRS,
    )
    return out.sort_values(["pop_max", "name"], ascending=[False, True]).reset_index(drop=True)
