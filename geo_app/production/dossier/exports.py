"""The data files of a dossier, each written so the same inputs give the same bytes.

GDAL stamps the current date into GeoPackage metadata and DBF headers, and zip entries carry file
times; every such stamp is set to the dossier date instead.
"""
from __future__ import annotations

import csv
import io
import zipfile
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo_app import STORE_CRS

WGS84 = "EPSG:4326"


@contextmanager
def gdal_date(date_iso: str):
    """Pin GDAL's notion of "now" (``OGR_CURRENT_DATE``) for the files written in the block."""
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{date_iso}T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def write_gpkg(path: Path, area: gpd.GeoDataFrame, points: gpd.GeoDataFrame, date_iso: str) -> None:
    with gdal_date(date_iso):
        pyogrio.write_dataframe(area, path, layer="production_area", driver="GPKG")
        pyogrio.write_dataframe(points, path, layer="boundary_points", driver="GPKG", append=False)


def write_shapefile_zip(path: Path, area: gpd.GeoDataFrame, points: gpd.GeoDataFrame, stem: str, points_stem: str,
                        date_iso: str, work: Path) -> None:
    """A zipped pair of shapefiles, the area and its boundary points: .shp .shx .dbf .prj (ESRI WKT
    of EPSG:9208) and .cpg (UTF-8) each."""
    shp_dir = work / "shp"
    shp_dir.mkdir()
    options = {"ENCODING": "UTF-8", "DBF_DATE_LAST_UPDATE": date_iso}
    with gdal_date(date_iso):
        pyogrio.write_dataframe(area, shp_dir / f"{stem}.shp", driver="ESRI Shapefile", layer_options=options)
        pyogrio.write_dataframe(points, shp_dir / f"{points_stem}.shp", driver="ESRI Shapefile", layer_options=options)
    zip_files(path, sorted(shp_dir.iterdir()), date_iso)


def zip_files(path: Path, files: list[Path], date_iso: str) -> None:
    y, m, d = (int(p) for p in date_iso.split("-"))
    with zipfile.ZipFile(path, "w") as zf:
        for file in files:
            info = zipfile.ZipInfo(file.name, date_time=(max(y, 1980), m, d, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the machine
            zf.writestr(info, file.read_bytes())


def write_kml(path: Path, area_wgs84: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(area_wgs84, path, driver="KML", layer="production_area")


def write_geojson(path: Path, area_wgs84: gpd.GeoDataFrame) -> None:
    """RFC 7946: WGS 84 lon/lat, right-hand winding, 7 decimals (~1 cm)."""
    pyogrio.write_dataframe(
        area_wgs84, path, driver="GeoJSON", layer="production_area",
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"},
    )


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None or frame.crs.to_epsg() != int(STORE_CRS.split(":")[1]):
        raise ValueError("expected a frame in EPSG:9208")
    return frame.to_crs(WGS84)
