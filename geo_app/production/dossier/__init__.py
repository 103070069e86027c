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
from geo_app.production.dossier.core import DEFAULT_AGENCY, DossierError, DossierResult, make_dossier
from geo_app.production.dossier.layout import SCALE_SERIES, LayoutError
from geo_app.production.dossier.points import BoundaryPoints, FrozenBoundary, boundary_points, freeze_boundary

__all__ = ["make_dossier", "DossierResult", "DossierError", "LayoutError", "SCALE_SERIES", "DEFAULT_AGENCY",
           "boundary_points", "freeze_boundary", "BoundaryPoints", "FrozenBoundary"]
