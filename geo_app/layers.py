"""The public reader API of the layer store, as notebooks and scripts use it::

    import geo_app.layers
    geo_app.layers.list()                               # catalogue entries
    communes = geo_app.layers.read("communes")          # GeoDataFrame in EPSG:9208
    geo_app.layers.read("communes", crs="EPSG:4326", bbox=(103.8, 22.3, 104.0, 22.5))

The implementation lives in :mod:`geo_app.store.catalogue`; this module only gives it its short public name.
"""
from geo_app.store.catalogue import (
    LayerInfo,
    bbox_to_store,
    catalogue,
    feature_count,
    info,
    list,
    read,
    store_path,
    store_version,
)

__all__ = [
    "LayerInfo", "bbox_to_store", "catalogue", "feature_count", "info", "list", "read", "store_path", "store_version",
]
