"""Import the user's own files (production-area polygons, water sources, karst units).

One framework-free entry point::

    from geo_app.importers import read_features
    result = read_features("ranh_gioi.zip", kind="polygon")
    result.frame          # GeoDataFrame in EPSG:9208, with source_file and source_row columns
    result.assumed_crs    # "EPSG:9208", "EPSG:4326", "VN-2000 6° 104°45' (k=0.9996)", ...
    result.crs_reason     # why (Vietnamese / English)
    result.encoding       # "UTF-8", "CP1258", "TCVN3" or "VNI"
    result.messages       # every assumption, Vietnamese first
    result.repairs        # what was repaired (row, reason, area before/after): make_valid, unclosed rings,
                          # repeated vertices, Z/M, parts/holes below MIN_PART_M2, clipping
    result.outside_ha     # area outside the province (ha) and result.outside_share

Options: ``layer=`` (a file with several candidate layers is refused without it), ``clip=True`` (cut
to the province), ``boundary_points=True`` (read a vector file's points or lines as the boundary).
Every file is checked by :mod:`geo_app.importers.integrity` before GDAL, openpyxl or an XML parser
reads it.

``crs=`` takes a pyproj CRS, a name ("VN2000_6DEG", "VN2000_TM3" = EPSG:9208, "WGS84"), an EPSG code,
WKT or a PROJ string; anything else is an :class:`ImportFailed` listing the accepted values.

It only reads; a file it cannot read raises :class:`ImportFailed` with one message naming the file,
the problem and what to do.
"""
from geo_app.importers.core import (
    FORMATS,
    MIN_PART_M2,
    POINT,
    POLYGON,
    GeometryRepair,
    ImportResult,
    original_names,
    read_features,
)
from geo_app.importers.crs import (
    CRS_NAMES,
    LAO_CAI_BBOX_WGS84,
    VN2000_6DEG,
    CrsDecision,
    CrsInvalid,
    CrsTie,
    decide_crs,
    parse_crs,
)
from geo_app.importers.encodings import (
    CP1258,
    TCVN3,
    UTF8,
    VNI,
    decode_tcvn3,
    decode_vni,
    encode_cp1258,
    encode_tcvn3,
    encode_vni,
)
from geo_app.importers.errors import ImportFailed

__all__ = [
    "read_features", "original_names", "ImportResult", "GeometryRepair", "ImportFailed", "FORMATS", "POINT", "POLYGON",
    "VN2000_6DEG", "LAO_CAI_BBOX_WGS84", "CrsDecision", "decide_crs", "parse_crs", "CrsInvalid", "CrsTie", "CRS_NAMES", "MIN_PART_M2",
    "UTF8", "CP1258", "TCVN3", "VNI", "decode_tcvn3", "decode_vni", "encode_tcvn3", "encode_vni", "encode_cp1258",
]
