"""Natural Earth context layers (rivers, named peaks), clipped to the province."""
from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import py7zr

from geo_app import STORE_CRS


def read_rivers(archive: Path, province: gpd.GeoDataFrame, margin_m: float = 5000) -> gpd.GeoDataFrame:
    """Rivers from the Natural Earth 7z archive (one GeoJSON inside), clipped to the province + margin."""
    with tempfile.TemporaryDirectory() as tmp:
        with py7zr.SevenZipFile(archive, mode="r") as z:
            z.extractall(path=tmp)
        inner = sorted(Path(tmp).rglob("*.json")) + sorted(Path(tmp).rglob("*.geojson"))
        if not inner:
            raise RuntimeError(f"{archive.name}: the archive holds no GeoJSON file")
        # A generous pre-filter in degrees (only to skip the rest of the world); the clip is in metres.
        west, south, east, north = province.to_crs("EPSG:4326").total_bounds
        rivers = gpd.read_file(inner[0], bbox=(west - 0.2, south - 0.2, east + 0.2, north + 0.2))
    rivers = rivers.to_crs(STORE_CRS)
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
