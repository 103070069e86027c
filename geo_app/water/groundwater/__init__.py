"""Groundwater: AHP weights, reclass tables, the potential model, and the level surface.

::

    from geo_app import groundwater
    result = groundwater.groundwater_potential("dem.tif", out_dir="out/", springs="springs.gpkg")
    result.provenance["ahp"]["CR"], result.auc, result.commune_areas
    level = groundwater.groundwater_distribution("wells.csv", extent=..., aquifers="aquifers.zip", out_dir="lvl/")
    level.cv["rmse_m"], level.cv_table
"""
from geo_app.water.groundwater.ahp import AhpError, AhpResult, ahp_weights, load_ahp, renormalise
from geo_app.water.groundwater.areas import (
    MIN_COMMUNE_OVERLAP_FRACTION,
    MIN_COMMUNE_OVERLAP_HA,
    commune_class_areas,
    commune_class_areas_with_slivers,
)
from geo_app.water.groundwater.classes import CLASS_NAMES, Classification, classify
from geo_app.water.groundwater.distribution import (
    DistributionResult,
    find_level_field,
    groundwater_distribution,
    well_columns,
)
from geo_app.water.groundwater.errors import PotentialError
from geo_app.water.groundwater.inputs import (
    INVENTORY,
    INVENTORY_POINT_KINDS,
    InputError,
    VectorFactor,
    inventory_points,
    rasterize_factor,
)
from geo_app.water.groundwater.level import LevelError, LevelSurface, aquifer_units, interpolate_level
from geo_app.water.groundwater.polygons import class_polygons
from geo_app.water.groundwater.potential import (
    DEFAULT_AHP,
    DEFAULT_RECLASS,
    PotentialInputs,
    PotentialResult,
    default_extent,
    groundwater_potential,
)
from geo_app.water.groundwater.reclass import ReclassError, ReclassTable, load_reclass, parse_tables
from geo_app.water.groundwater.roc import roc_auc

__all__ = [
    "DistributionResult", "INVENTORY", "INVENTORY_POINT_KINDS", "InputError", "VectorFactor", "find_level_field",
    "groundwater_distribution", "inventory_points", "rasterize_factor", "well_columns",
    "AhpError", "AhpResult", "CLASS_NAMES", "DEFAULT_AHP", "DEFAULT_RECLASS", "LevelError", "LevelSurface",
    "Classification", "MIN_COMMUNE_OVERLAP_FRACTION", "MIN_COMMUNE_OVERLAP_HA", "PotentialError", "PotentialInputs", "PotentialResult", "ReclassError", "ReclassTable", "ahp_weights", "aquifer_units", "classify",
    "class_polygons", "commune_class_areas", "commune_class_areas_with_slivers", "default_extent", "groundwater_potential", "interpolate_level", "load_ahp",
    "load_reclass", "parse_tables", "renormalise", "roc_auc",
]
