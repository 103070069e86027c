"""geo_app: the Lào Cai geospatial system.

Data flows one way: sources (``geo_app.store.sources``) → build (``geo_app.build``) → layer store
(``geo_app.store.layer_store``) → readers (``geo_app.layers``, the web app, dossiers, notebooks).
"""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("geo-app")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

#: The one CRS every stored layer uses: VN-2000 / TM-3 104°45' (Lào Cai's provincial meridian).
STORE_CRS = "EPSG:9208"
