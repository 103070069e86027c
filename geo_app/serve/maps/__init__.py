"""Maps beyond the web page: folium maps for researchers (notebooks) and the standalone offline map file.

Both read the presentation of each layer (style, classes, popups, legend) from its YAML, as the web map does.
"""
from geo_app.serve.maps.folium_map import MapError, MapLayer, RasterOverlay, folium_map, raster_overlay, render_page

__all__ = ["MapError", "MapLayer", "RasterOverlay", "folium_map", "raster_overlay", "render_page"]
