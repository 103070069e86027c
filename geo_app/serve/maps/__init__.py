"""Maps beyond the web page: folium maps for researchers (notebooks) and the standalone offline map file.

Both read the presentation of each layer (style, classes, popups, legend) from its YAML, as the web map does.
"""
from geo_app.serve.maps.folium_map import MapError, RasterOverlay, folium_map, raster_overlay

__all__ = ["MapError", "RasterOverlay", "folium_map", "raster_overlay"]
