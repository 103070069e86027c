"""The dossier the provincial People's Committee confirms: a true-scale map sheet with its annex,
and the production area as data files, with a manifest of hashes (docs/dossier.md).

    from geo_app.production.dossier import make_dossier
    result = make_dossier("sa-bao-yen", "out/sa-bao-yen", paper="A3")
    result = make_dossier(product, out, boundary=frozen)  # a version's frozen boundary, drawn as given

Package layout (``out_dir``): ``sheet.pdf`` (page 1 the sheet on A3/A4, landscape or portrait,
georeferenced in EPSG:9208; then A4 portrait annex pages: 1 communes, 2 boundary points),
``production-area.gpkg`` (EPSG:9208, layers production_area and boundary_points),
``production-area-shp.zip`` (the area and the boundary points as shapefiles, EPSG:9208, UTF-8),
``production-area.kml`` and ``production-area.geojson`` (WGS 84), ``boundary-points.csv`` (X north,
Y east in EPSG:9208 plus WGS 84 lon/lat), ``communes.csv`` (annex 1), ``manifest.json``.

The boundary points come from the geometry alone (``boundary_points``, ``freeze_boundary``), never
from the paper: every sheet and export of one version lists the same points.
"""
from geo_app.production.dossier.layout import SCALE_SERIES, LayoutError, check_options

# The heavy parts (geopandas, matplotlib) load on first use, so that checking the options
# (``check_options``, the ``layout`` module) answers at once.
_LAZY = {
    "make_dossier": "core", "DossierResult": "core", "DossierError": "core", "DEFAULT_AGENCY": "core",
    "boundary_points": "points", "freeze_boundary": "points", "BoundaryPoints": "points", "FrozenBoundary": "points",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"geo_app.production.dossier.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["make_dossier", "DossierResult", "DossierError", "LayoutError", "SCALE_SERIES", "DEFAULT_AGENCY",
           "boundary_points", "freeze_boundary", "BoundaryPoints", "FrozenBoundary", "check_options"]
