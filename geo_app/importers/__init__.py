"""Import the user's own files (production-area polygons, water sources, karst units).

One framework-free entry point::

    from geo_app.importers import read_features
    result = read_features("ranh_gioi.zip", kind="polygon")
    result.frame          # GeoDataFrame in EPSG:9208, with source_file and source_row columns
    result.assumed_crs    # "EPSG:9208", "EPSG:4326", "VN-2000 6° 104°45' (k=0.9996)", ...
    result.crs_reason     # why (Vietnamese / English)
    result.encoding       # "UTF-8", "CP1258", "TCVN3" or "VNI"
    result.messages       # every assumption, Vietnamese first

It only reads; a file it cannot read raises :class:`ImportFailed` with one message naming the file,
the problem and what to do.
"""
from .core import FORMATS, POINT, POLYGON, ImportResult, read_features
from .crs import LAO_CAI_BBOX_WGS84, VN2000_6DEG, CrsDecision, decide_crs
from .encodings import CP1258, TCVN3, UTF8, VNI, decode_tcvn3, decode_vni, encode_cp1258, encode_tcvn3, encode_vni
from .errors import ImportFailed

__all__ = [
    "read_features", "ImportResult", "ImportFailed", "FORMATS", "POINT", "POLYGON",
    "VN2000_6DEG", "LAO_CAI_BBOX_WGS84", "CrsDecision", "decide_crs",
    "UTF8", "CP1258", "TCVN3", "VNI", "decode_tcvn3", "decode_vni", "encode_tcvn3", "encode_vni", "encode_cp1258",
]
